"""The few helpers generated code calls.

Kept tiny and array-agnostic: every helper uses only NumPy functions that dispatch to
the argument's own array type (Dask, CuPy), and each has derivative rules of its own so
generated code can itself be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_at", "unbroadcast", "zeros_like_tree"]


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum the cotangent ``g`` down to the shape of ``x`` (undo NumPy broadcasting).

    The common case, equal shapes, returns ``g`` untouched; the compiler only emits this
    call where its shape analysis could not prove the shapes equal.
    """
    shape = np.shape(x)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1
    )
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def add_at(dx: Any, index: Any, g: Any) -> Any:
    """``dx[index] += g`` that accumulates repeated indices (fancy indexing)."""
    np.add.at(dx, index, g)
    return dx


def zeros_like_tree(x: Any) -> Any:
    """A zero cotangent shaped like ``x`` (floats give 0.0, arrays ``zeros_like``)."""
    if isinstance(x, float):
        return 0.0
    return np.zeros_like(x)
