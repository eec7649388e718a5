"""Rules for gathering functions and for the array constructors.

Plain subscripts (``x[i]``, ``x[mask]``, ``x[1:, idx]``) are not rules: the transformer
differentiates them itself, scattering the cotangent back with ``np.add.at`` wherever an
index may repeat. The functions here are the gathering calls users write instead
(``np.take``, ``np.take_along_axis``), whose adjoints scatter the same way: repeated
indices accumulate.

Constructors (``np.zeros``, ``np.ones_like``, ``np.arange`` ...) make values that do not
depend on their arguments' values, only on shapes and constants: their derivative is zero.

See ``registry`` for the template contract.
"""

from __future__ import annotations

import numpy as np

from ..errors import ADError
from ..runtime import add_at, unbroadcast
from .registry import forward, reverse, static, zero_derivative

# ---------------------------------------------------------------------- gathering


def take_adjoint(g, a, indices, axis):
    """Scatter ``g`` back through ``np.take(a, indices, axis)``; repeats accumulate."""
    da = np.zeros_like(a)
    if axis is None:
        add_at(da.reshape(-1), indices, g)  # a view: writes reach da
        return da
    axis = axis % np.ndim(a)
    index = (slice(None),) * axis + (indices,)
    add_at(da, index, g)
    return da



# The adjoints are linear in ``g`` and read ``a`` / ``arr`` for its shape: their tangent
# is the adjoint of the tangent of ``g``, their own adjoint the gather they undo (second
# derivatives differentiate generated gradients, which call them).


@reverse(take_adjoint, shape_only=("a",))
def take_adjoint_rule(result, g, ct, a, indices, axis):
    dct = np.take(g, indices, axis)


@forward(take_adjoint, shape_only=("a",))
def take_adjoint_fwd(result, ct, a, indices, axis, *, dct):
    dresult = take_adjoint(dct, a, indices, axis)


@reverse(np.take)
def take(result, g, a, indices, axis=None, out=None, mode="raise"):
    da = take_adjoint(g, a, indices, axis)


@forward(np.take)
def take_fwd(result, a, indices, axis=None, out=None, mode="raise", *, da):
    dresult = np.take(da, indices, axis)


def take_along_axis_adjoint(g, arr, indices, axis):
    """Scatter ``g`` back through ``np.take_along_axis``; repeats accumulate."""
    darr = np.zeros_like(arr)
    if axis is None:
        add_at(darr.reshape(-1), indices, g)
        return darr
    axis = axis % np.ndim(arr)
    shape = np.shape(indices)
    index = tuple(
        indices if i == axis else np.arange(n).reshape(
            [n if j == i else 1 for j in range(len(shape))])
        for i, n in enumerate(shape))
    add_at(darr, index, g)
    return darr



@reverse(take_along_axis_adjoint, shape_only=("arr",))
def take_along_axis_adjoint_rule(result, g, ct, arr, indices, axis):
    dct = np.take_along_axis(g, indices, axis)


@forward(take_along_axis_adjoint, shape_only=("arr",))
def take_along_axis_adjoint_fwd(result, ct, arr, indices, axis, *, dct):
    dresult = take_along_axis_adjoint(dct, arr, indices, axis)


@reverse(np.take_along_axis)
def take_along_axis(result, g, arr, indices, axis):
    darr = take_along_axis_adjoint(g, arr, indices, axis)


@forward(np.take_along_axis)
def take_along_axis_fwd(result, arr, indices, axis, *, darr):
    dresult = np.take_along_axis(darr, indices, axis)


# ---------------------------------------------------------------------- constructors
# ``full`` and ``full_like`` carry their fill value into every element; ``linspace`` is
# linear in its end points. ``arange`` has a length that jumps with its arguments, so a
# differentiated argument is refused (its rule has no derivative) rather than given 0.


@reverse(np.full)
def full(result, g, shape, fill_value, dtype=None, order="C"):
    dfill_value = unbroadcast(g, fill_value)


@forward(np.full)
def full_fwd(result, shape, fill_value, dtype=None, order="C", *, dfill_value):
    dresult = np.broadcast_to(dfill_value, np.shape(result)) * np.ones_like(result)


@reverse(np.full_like)
def full_like(result, g, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    da = np.zeros_like(a)  # only a's shape and dtype reach the result
    dfill_value = unbroadcast(g, fill_value)


@forward(np.full_like)
def full_like_fwd(result, a, fill_value, dtype=None, order="K", subok=True, shape=None, *,
                  da, dfill_value):
    dresult = np.broadcast_to(dfill_value, np.shape(result)) * np.ones_like(result)


def linspace_weights(num, endpoint):
    """Where each sample sits between start (0) and stop (1)."""
    if endpoint:
        return np.linspace(0.0, 1.0, num)
    return np.arange(num) / num


@reverse(np.linspace)
def linspace(result, g, start, stop, num=50, endpoint=True, retstep=False, dtype=None,
             axis=0):
    if static(retstep is False and axis == 0 and np.ndim(start) == 0 and np.ndim(stop) == 0):
        t = linspace_weights(num, endpoint)
        dstart = np.sum(g * (1 - t))
        dstop = np.sum(g * t)
    else:
        raise ADError("np.linspace is differentiated only in its scalar start and stop, "
                      "with retstep=False and axis=0")


@forward(np.linspace)
def linspace_fwd(result, start, stop, num=50, endpoint=True, retstep=False, dtype=None,
                 axis=0, *, dstart, dstop):
    if static(retstep is False and axis == 0 and np.ndim(start) == 0 and np.ndim(stop) == 0):
        t = linspace_weights(num, endpoint)
        dresult = dstart * (1 - t) + dstop * t
    else:
        raise ADError("np.linspace is differentiated only in its scalar start and stop, "
                      "with retstep=False and axis=0")


@reverse(np.arange)
def arange(result, g, start, stop=None, step=None, dtype=None):
    """No d<param> is assigned: a differentiated argument is refused with file and line."""


@forward(np.arange)
def arange_fwd(result, start, stop=None, step=None, dtype=None, *, dstart, dstop, dstep):
    """No tangent: a differentiated argument is refused with file and line."""


zero_derivative(
    [np.zeros, np.ones, np.empty, np.eye, np.identity,
     np.zeros_like, np.ones_like, np.empty_like, np.tri,
     np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero, np.count_nonzero,
     np.searchsorted, np.digitize, np.shape, np.ndim, np.size, np.any, np.all,
     np.array_equal, np.allclose, np.unravel_index, np.ravel_multi_index, np.indices,
     np.broadcast_shapes, linspace_weights],
    notes="constructors, index functions and predicates: no dependence on values that "
    "has a derivative",
)
