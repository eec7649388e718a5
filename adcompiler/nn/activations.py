"""Activations, written as ordinary NumPy code that adcompiler differentiates.

Nothing here has a custom derivative rule: the compiler transforms these functions
like any user function, so their gradients are generated code you can read with
``ad.source``.

Stability:

* ``sigmoid`` uses ``exp(-logaddexp(0, -x))`` = ``1 / (1 + exp(-x))`` without overflow.
* ``softplus`` is ``np.logaddexp(0, x)``: no overflow for large ``x``.
* ``logsumexp``, ``softmax`` and ``log_softmax`` subtract the maximum along the axis
  first. The shift ``m`` is wrapped in ``ad.stop_gradient``: the value of
  ``log(sum(exp(x - m))) + m`` does not depend on ``m`` at all, so its exact derivative
  with respect to ``m`` is zero; cutting it out saves the work of differentiating the
  max (and the tie-splitting at equal maxima) and keeps the derivative exactly
  ``softmax(x)`` rather than ``softmax(x)`` plus terms that cancel only up to rounding.

Kinks: ``relu`` is ``np.maximum(x, 0.0)``, whose derivative at 0 is 0 (the house
convention for ``maximum`` at a tie).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..control import stop_gradient

__all__ = ["log_softmax", "logsumexp", "relu", "sigmoid", "softmax", "softplus", "tanh"]


def relu(x: Any) -> Any:
    """``max(x, 0)``; derivative 0 at 0."""
    return np.maximum(x, 0.0)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``, stable for large ``|x|``."""
    return np.exp(-np.logaddexp(0.0, -x))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return np.logaddexp(0.0, x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return np.tanh(x)


def logsumexp(x: Any, axis: int = -1, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` without overflow (the max is shifted out first)."""
    m = stop_gradient(np.max(x, axis=axis, keepdims=True))
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return np.squeeze(s, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x)`` along ``axis``, stable."""
    m = stop_gradient(np.max(x, axis=axis, keepdims=True))
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, stable."""
    m = stop_gradient(np.max(x, axis=axis, keepdims=True))
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)
