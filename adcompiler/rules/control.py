"""Rules for the derivative-control functions of ``adcompiler.control``.

``stop_gradient`` has derivative zero, so nothing after it gets an adjoint; the hook of
``with_derivative`` is called visibly in the backward sweep with the arriving cotangent
(in forward mode, with the tangent), and what it returns, unless None, replaces it.
"""

from __future__ import annotations

from ..control import stop_gradient, with_derivative
from .registry import forward, reverse, zero_derivative

zero_derivative([stop_gradient], notes="value x, derivative zero")


@reverse(with_derivative)
def with_derivative_rule(result, g, x, hook):
    replaced = hook(g)
    dx = g if replaced is None else replaced


@forward(with_derivative)
def with_derivative_fwd(result, x, hook, *, dx):
    replaced = hook(dx)
    dresult = dx if replaced is None else replaced
