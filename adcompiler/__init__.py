"""adcompiler: gradients of Python + NumPy functions as readable generated NumPy code.

>>> import numpy as np
>>> import adcompiler as ad
>>> def f(x):
...     return np.sum(x ** 2)
>>> ad.grad(f)  # doctest: +ELLIPSIS
<adcompiler grad of f wrt=0>
"""

from .api import (
    differentiable,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    source,
    value_and_grad,
    vjp,
)
from .backend.cache import cache_info, cache_size, clear_cache, set_cache_size
from .control import checkpoint, derivative, stop_gradient, with_derivative
from .errors import ADError, NonDifferentiableError, NonScalarOutputError, UnsupportedSyntaxError
from .export import export
from .pytree import register_pytree
from .testing import check_grads

__all__ = [
    "ADError",
    "NonDifferentiableError",
    "NonScalarOutputError",
    "UnsupportedSyntaxError",
    "cache_info",
    "cache_size",
    "check_grads",
    "checkpoint",
    "clear_cache",
    "derivative",
    "differentiable",
    "export",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "register_pytree",
    "set_cache_size",
    "source",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "with_derivative",
]

__version__ = "0.1.0"
