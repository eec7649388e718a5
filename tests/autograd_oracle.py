"""An independent oracle: HIPS autograd, run on the same programs and rule-table cases.

Finite differences blur errors below ~1e-6; two AD systems computing the same derivative
agree to rounding. So every random program (tests/test_random_programs.py) and every
rule-table case (tests/test_autograd_oracle.py) is also differentiated by autograd and the
results compared at :data:`RTOL`. autograd is an implementation we did not write: a bug in
our rules or transformation would have to be repeated there to pass.

A program is run through autograd by importing its source a second time with ``import
numpy as np`` replaced by ``import autograd.numpy as np``. A program or case autograd
cannot run (a function it has no derivative for, an in-place update of a plain array with
a traced value, ...) returns ``None`` and is compared with finite differences only;
:data:`COUNTS` says how many were compared each way.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

try:
    import autograd
    import autograd.numpy as anp
    from autograd.differential_operators import make_jvp_reversemode
except ImportError:  # pragma: no cover - autograd is in the test extra
    autograd = None
    anp = None

RTOL = 1e-10
COUNTS: Counter[str] = Counter()  # "autograd" / "fd-only" (+ ":<why>") per compared item
_counter = itertools.count()


def available() -> bool:
    return autograd is not None


# -- trees ------------------------------------------------------------------------------------
def leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key])]
    if isinstance(tree, list | tuple):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def scale_of(*trees: Any) -> float:
    values = [float(np.max(np.abs(np.asarray(leaf, dtype=np.float64))))
              for tree in trees for leaf in leaves(tree) if np.size(leaf)]
    return max([1.0, *values])


def agree(got: Any, want: Any, rtol: float = RTOL, scale: float | None = None) -> str | None:
    """None when the trees agree leaf by leaf at ``rtol`` (relative to the largest entry,
    so entries that should be 0 may carry rounding), else a message naming the leaf."""
    got_leaves, want_leaves = leaves(got), leaves(want)
    if len(got_leaves) != len(want_leaves):
        return f"structure differs: {len(got_leaves)} leaves against {len(want_leaves)}"
    scale = scale_of(got, want) if scale is None else scale
    for k, (a, b) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape and a.size != b.size:
            return f"leaf {k}: shape {a.shape} against autograd's {b.shape}"
        if not np.allclose(a.reshape(b.shape), b, rtol=rtol, atol=rtol * scale,
                           equal_nan=False):
            return f"leaf {k}: adcompiler {a!r}, autograd {b!r}"
    return None


def _quiet(call: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call()


# -- random programs ----------------------------------------------------------------------------
def twin_module(source: str, tmp: Path) -> Any:
    """The program's source imported with autograd's NumPy in place of NumPy."""
    twin = source.replace("import numpy as np", "import autograd.numpy as np", 1)
    name = f"adoracle_{os.getpid()}_{next(_counter)}"
    path = tmp / f"{name}.py"
    path.write_text(twin)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def program_gradients(source: str, tmp: Path, args: list[Any], wrt: tuple[int, ...]
                      ) -> list[Any] | None:
    """autograd's gradient of ``f`` for each index in ``wrt``, or None if it cannot."""
    if autograd is None:
        return None
    try:
        f = twin_module(source, tmp).f
        return [_quiet(lambda i=i: autograd.grad(f, i)(*args)) for i in wrt]
    except Exception:
        return None


# -- rule-table cases -------------------------------------------------------------------------
_MATH_TO_NUMPY = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
                  "acosh": "arccosh", "atanh": "arctanh", "atan2": "arctan2", "pow": "power",
                  "fabs": "abs"}


def twin_callable(func: Any) -> Any | None:
    """autograd's version of ``func``: the same-named autograd.numpy function, or a test
    helper (a method call, a lambda) re-created with autograd's NumPy as its ``np``."""
    if anp is None:
        return None
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", "")
    if module == "math" or (module == "builtins" and name in ("abs", "pow")):
        if name in ("erf", "erfc"):
            from autograd.scipy import special
            return getattr(special, name)
        name = _MATH_TO_NUMPY.get(name, name)
        return getattr(anp, name, None)
    if isinstance(func, np.ufunc) or module.startswith("numpy"):
        namespace = anp
        for part in module.split(".")[1:]:
            if part in ("linalg", "fft"):
                namespace = getattr(namespace, part, None)
                break
        return getattr(namespace, name, None) if namespace is not None else None
    code = getattr(func, "__code__", None)
    if code is not None:  # a test helper: run it with autograd's np
        import types
        namespace = dict(func.__globals__)
        namespace["np"] = anp
        return types.FunctionType(code, namespace, name, func.__defaults__, func.__closure__)
    return None


def case_vjp(twin: Any, args: tuple, kwargs: dict, i: int, g: Any) -> Any:
    """autograd's cotangent of argument ``i`` for output cotangent ``g``."""
    def partial(a: Any) -> Any:
        return twin(*args[:i], a, *args[i + 1:], **kwargs)
    return _quiet(lambda: autograd.make_vjp(partial)(args[i])[0](g))


def case_jvp(twin: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    """autograd's tangent of the output for tangent ``v`` of argument ``i`` (forward mode
    where autograd has it, else the reverse-mode construction)."""
    def partial(a: Any) -> Any:
        return twin(*args[:i], a, *args[i + 1:], **kwargs)
    try:
        return _quiet(lambda: autograd.make_jvp(partial)(args[i])(v)[1])
    except NotImplementedError:
        return _quiet(lambda: make_jvp_reversemode(partial)(args[i])(v))
