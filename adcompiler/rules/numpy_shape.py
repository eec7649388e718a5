"""Rules for NumPy's shape functions: reshaping, transposing, flipping, tiling, joining, splitting.

Every function here is linear in its array argument, so each forward template applies the
function itself (or a reshape to the result's shape) to the tangent, and each reverse
template applies the adjoint (transpose) of that linear map to the cotangent:

* pure re-layouts (``reshape``, ``ravel``, ``squeeze``, ``expand_dims``, ``.flatten()``)
  reshape the cotangent back to the input's shape (in the same ``order``);
* permutations (``transpose``, ``swapaxes``, ``moveaxis``, ``flip``, ``roll``) apply the
  inverse permutation;
* copies (``tile``, ``repeat``, ``broadcast_to``) sum the cotangent over the copies;
* ``pad`` (constant mode only) slices the padding off; ``diff`` applies the transposed
  difference (``-diff`` with zero boundaries), ``n`` times;
* joins (``concatenate``, ``stack``, ``hstack``, ``vstack``, ``dstack``) take a *sequence*
  of arrays; the cotangent of that sequence is a sequence of the same type (list or
  tuple; an array argument gets an array) holding one cotangent per part. The
  transformer's tuple primitive hands each item to the name it was built from;
  ``np.r_[...]`` and ``np.c_[...]`` are joins too, of the items between the brackets
  (slices in them are constant ranges; a directive string such as ``"0,2,1"`` is
  followed, the matrix directives ``"r"`` / ``"c"`` are refused);
* splits (``split``, ``array_split``, ``hsplit``, ``vsplit``, ``dsplit``) return a list;
  its cotangent is a list whose missing parts (``None``) count as zeros, and the reverse
  rule concatenates the parts' cotangents.

``np.array`` / ``np.asarray`` / ``np.asanyarray`` / ``np.ascontiguousarray`` of a (nested)
list or tuple of differentiable scalars or equal-shape arrays stack their parts: the cotangent
of the sequence holds ``g[i]`` for part ``i`` (cast back to the part's float dtype); applied
to an array they are a copy (or a cast). ``ndmin`` leading axes are dropped from ``g``.
A result with an integer or boolean dtype has derivative zero.

``astype`` to a floating (or complex) dtype casts the cotangent back to the input's dtype;
a cast to an integer or boolean dtype is piecewise constant, so its derivative is zero.

Not supported (they raise rather than give a wrong derivative): ``np.pad`` modes other
than ``"constant"``, ``np.diff`` with ``prepend`` / ``append`` (the call does not bind).
The constant values of ``np.pad`` are not differentiated.

See ``registry`` for the template contract.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ADError
from ..runtime import add_at, unbroadcast
from .registry import forward, reverse, zero_derivative

# ------------------------------------------------------------------------------ helpers


def inverse_permutation(axes: Any) -> tuple[int, ...] | None:
    """The axes that undo ``np.transpose(x, axes)`` (None stays None: a full reversal)."""
    if axes is None:
        return None
    axes = [int(ax) for ax in axes]
    n = len(axes)
    inverse = [0] * n
    for position, ax in enumerate(axes):
        inverse[ax % n] = position
    return tuple(inverse)


def method_axes(axes: tuple[Any, ...]) -> Any:
    """``x.transpose(*axes)``'s axes as ``np.transpose`` takes them.

    ``x.transpose()`` and ``x.transpose(None)`` give None, ``x.transpose((1, 0))`` and
    ``x.transpose(1, 0)`` give ``(1, 0)``.
    """
    if len(axes) == 0:
        return None
    if len(axes) == 1 and (axes[0] is None or np.iterable(axes[0])):
        return axes[0]
    return axes


def negative_shift(shift: Any) -> Any:
    """``-shift`` for an int or a sequence of ints (the inverse of ``np.roll``)."""
    if np.iterable(shift):
        return tuple(-int(s) for s in shift)
    return -shift


def untile(g: Any, a: Any, reps: Any) -> Any:
    """Cotangent of ``a`` in ``np.tile(a, reps)``: the sum over the tiles."""
    reps = tuple(int(r) for r in reps) if np.iterable(reps) else (int(reps),)
    shape = tuple(np.shape(a))
    d = max(len(reps), len(shape))
    reps = (1,) * (d - len(reps)) + reps
    padded = (1,) * (d - len(shape)) + shape
    # a tiled axis of length r * s is laid out as (r, s): the repetition index is outer
    interleaved = tuple(n for r, s in zip(reps, padded, strict=True) for n in (r, s))
    summed = np.sum(np.reshape(g, interleaved), axis=tuple(range(0, 2 * d, 2)))
    return np.reshape(summed, shape)


def unrepeat(g: Any, a: Any, repeats: Any, axis: Any) -> Any:
    """Cotangent of ``a`` in ``np.repeat(a, repeats, axis)``: the sum over the copies."""
    shape = tuple(np.shape(a))
    if np.ndim(repeats) > 0 and np.size(repeats) == 1:
        repeats = np.reshape(repeats, ())
    if np.ndim(repeats) == 0:
        r = int(repeats)
        if axis is None:
            return np.reshape(np.sum(np.reshape(g, (math.prod(shape), r)), axis=1), shape)
        axis = int(axis) % len(shape)
        split = (*shape[:axis], shape[axis], r, *shape[axis + 1:])
        return np.sum(np.reshape(g, split), axis=axis + 1)
    # one count per element: scatter-add every copy back to its source
    if axis is None:
        flat = np.zeros_like(np.reshape(a, (-1,)))
        add_at(flat, np.repeat(np.arange(math.prod(shape)), repeats), g)
        return np.reshape(flat, shape)
    axis = int(axis) % len(shape)
    out = np.zeros_like(a)
    index = (slice(None),) * axis + (np.repeat(np.arange(shape[axis]), repeats),)
    add_at(out, index, g)
    return out


def pad_widths(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    """``np.pad``'s ``pad_width`` (int, pair, or pair per axis) as one pair per axis."""
    widths = np.broadcast_to(np.array(pad_width, dtype=np.intp), (ndim, 2))
    return [(int(before), int(after)) for before, after in widths]


def unpad(g: Any, array: Any, pad_width: Any, mode: Any) -> Any:
    """Cotangent of ``array`` in ``np.pad(array, pad_width)``: the unpadded middle."""
    check_pad_mode(mode)
    shape = np.shape(array)
    widths = pad_widths(pad_width, len(shape))
    index = tuple(slice(before, before + n)
                  for (before, _), n in zip(widths, shape, strict=True))
    return g[index]


def check_pad_mode(mode: Any) -> Any:
    """``mode`` itself if it is ``"constant"``; any other mode has no rule here."""
    if mode != "constant":
        raise ADError(f"no derivative rule for np.pad with mode={mode!r} (only mode="
                      "'constant' is supported); register one with @ad.derivative(of=np.pad)")
    return mode


def undiff(g: Any, n: int, axis: int) -> Any:
    """Cotangent of ``a`` in ``np.diff(a, n, axis)``: the transposed difference, n times.

    ``y[i] = a[i + 1] - a[i]`` gives ``da[j] = g[j - 1] - g[j]`` with ``g`` zero outside.
    """
    for _ in range(int(n)):
        ndim = np.ndim(g)
        before = [(0, 0)] * ndim
        after = [(0, 0)] * ndim
        before[axis % ndim] = (1, 0)
        after[axis % ndim] = (0, 1)
        g = np.pad(g, before) - np.pad(g, after)
    return g


def like_sequence(parts: list[Any], arrays: Any) -> Any:
    """``parts`` as the same kind of sequence as ``arrays`` (list, tuple, or an array)."""
    if isinstance(arrays, tuple):
        return tuple(parts)
    if isinstance(arrays, list):
        return parts
    return np.stack(parts)


def split_like(g: Any, arrays: Any, shapes: Sequence[tuple[int, ...]], axis: int) -> Any:
    """Split ``g`` along ``axis`` into pieces of ``shapes``, reshaped like ``arrays``."""
    offsets: list[int] = []
    total = 0
    for shape in shapes[:-1]:
        total += shape[axis]
        offsets.append(total)
    pieces = np.split(g, offsets, axis=axis)
    parts = [np.reshape(p, np.shape(x)) for p, x in zip(pieces, arrays, strict=True)]
    return like_sequence(parts, arrays)


def unconcatenate(g: Any, arrays: Any, axis: Any) -> Any:
    """Cotangents of the parts in ``np.concatenate(arrays, axis)``."""
    if axis is None:  # the parts are flattened first
        return split_like(g, arrays, [(int(np.size(x)),) for x in arrays], 0)
    return split_like(g, arrays, [np.shape(x) for x in arrays], int(axis))


def unstack(g: Any, arrays: Any, axis: int) -> Any:
    """Cotangents of the parts in ``np.stack(arrays, axis)``."""
    moved = np.moveaxis(g, axis, 0)
    return like_sequence([moved[i] for i in range(len(arrays))], arrays)


def _at_least(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """The shape ``np.atleast_1d`` / ``_2d`` / ``_3d`` gives an array of ``shape``."""
    if len(shape) >= rank:
        return shape
    if rank == 1:
        return (1,)
    if rank == 2:
        return (1, *shape) if shape else (1, 1)
    return {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]


def unhstack(g: Any, tup: Any) -> Any:
    """Cotangents of the parts in ``np.hstack(tup)`` (axis 0 for 1-d parts, else 1)."""
    shapes = [_at_least(tuple(np.shape(x)), 1) for x in tup]
    return split_like(g, tup, shapes, 0 if len(shapes[0]) == 1 else 1)


def unvstack(g: Any, tup: Any) -> Any:
    """Cotangents of the parts in ``np.vstack(tup)``."""
    return split_like(g, tup, [_at_least(tuple(np.shape(x)), 2) for x in tup], 0)


def undstack(g: Any, tup: Any) -> Any:
    """Cotangents of the parts in ``np.dstack(tup)``."""
    return split_like(g, tup, [_at_least(tuple(np.shape(x)), 3) for x in tup], 2)


def dense_parts(parts: Any, like: Sequence[Any]) -> list[Any]:
    """The parts of a sequence (co)tangent with missing ones (None) as zeros."""
    if parts is None:
        parts = [None] * len(like)
    return [np.zeros_like(x) if p is None else p for p, x in zip(parts, like, strict=True)]


def _natural_ndim(obj: Any) -> int:
    """The rank ``np.array(obj)`` has without ``ndmin`` (nested lists and tuples count)."""
    if isinstance(obj, list | tuple):
        return 1 + (_natural_ndim(obj[0]) if len(obj) else 0)
    return int(np.ndim(obj))


def _cast_like(c: Any, x: Any) -> Any:
    """``c`` in the float dtype of ``x`` (Python scalars and lists leave ``c`` as it is)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind in "fc" and getattr(c, "dtype", dtype) != dtype:
        return c.astype(dtype)
    return c


def unarray(g: Any, obj: Any, result: Any) -> Any:
    """Cotangent of ``obj`` in ``np.array(obj)``: one ``g[i]`` per part of a sequence.

    Nested lists get an array per inner list; the transformer hands each of its items on.
    """
    if getattr(result, "dtype", np.dtype(float)).kind not in "fc":
        g = np.zeros_like(g)
    rank = _natural_ndim(obj)
    if np.ndim(g) > rank:  # ndmin added leading axes of length one
        g = np.reshape(g, np.shape(g)[np.ndim(g) - rank:])
    if isinstance(obj, list | tuple):
        return like_sequence([_cast_like(g[i], x) for i, x in enumerate(obj)], obj)
    return _cast_like(g, obj)


def restack(tangent: Any, obj: Any, result: Any) -> Any:
    """Tangent of ``np.array(obj)``: the parts' tangents stacked (missing parts are zeros)."""
    if getattr(result, "dtype", np.dtype(float)).kind not in "fc":
        return np.zeros_like(result)
    out = _stack_tangent(tangent, obj)
    return np.reshape(np.astype(out, result.dtype) if hasattr(out, "dtype")
                      else np.asarray(out, dtype=result.dtype), np.shape(result))


def _stack_tangent(tangent: Any, obj: Any) -> Any:
    if isinstance(obj, list | tuple):
        parts = [None] * len(obj) if tangent is None else list(tangent)
        return np.stack([_stack_tangent(t, x) for t, x in zip(parts, obj, strict=True)])
    if tangent is None:
        return np.zeros_like(obj)
    if np.ndim(tangent) != np.ndim(obj):  # a literal constant's zero tangent
        return np.broadcast_to(tangent, np.shape(obj))
    return tangent


# ``np.r_[...]`` and ``np.c_[...]``: concatenations written as subscripts. NumPy's
# AxisConcatenator turns each item into a part (a slice into a range, a scalar into a
# length-one array, an array into one of at least ``ndmin`` axes, transposed by
# ``trans1d``) and concatenates the parts along its axis. ``concatenator_plan`` repeats
# that layout, so the derivative splits and joins exactly where NumPy does.


@dataclass
class _Part:
    """How one item of ``np.r_[...]`` became a part: its shape, the leading axes it
    gained (``ndmin``) and the transposition that followed (None: none); ``constant``
    for a slice, whose range has no derivative."""

    shape: tuple[int, ...]
    gained: int = 0
    axes: tuple[int, ...] | None = None
    constant: bool = False


def concatenator_plan(maker: Any, items: tuple[Any, ...]) -> tuple[int, list[_Part | None]]:
    """The concatenation axis of ``maker[items]`` and each item's part (None for a
    directive string such as ``'0,2,1'``), following ``AxisConcatenator.__getitem__``."""
    trans1d, ndmin, axis = maker.trans1d, maker.ndmin, maker.axis
    plan: list[_Part | None] = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            if k != 0 or item in ("r", "c"):
                raise ADError(f"the directive {item!r} in np.r_/np.c_ (matrix results and "
                              "directives after the first item) has no derivative rule")
            fields = [int(f) for f in item.split(",")]
            axis = fields[0]
            if len(fields) > 1:
                ndmin = fields[1]
            if len(fields) > 2:
                trans1d = fields[2]
            plan.append(None)
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else item.step
            start = 0 if item.start is None else item.start
            if isinstance(step, complex | np.complexfloating):
                count = int(abs(step))
            else:  # the length np.arange(start, stop, step) has
                count = max(math.ceil((item.stop - start) / step), 0)
            shape: tuple[int, ...] = (count,)
            axes = None
            if ndmin > 1:
                shape = (1,) * (ndmin - 1) + shape
                if trans1d != -1:
                    order = list(range(ndmin))
                    order[-1], order[trans1d] = order[trans1d], order[-1]
                    axes = tuple(order)
                    shape = tuple(shape[a] for a in axes)
            plan.append(_Part(shape, constant=True))
            continue
        shape = tuple(np.shape(item))
        rank = len(shape)
        gained = max(ndmin - rank, 0)
        full = (1,) * gained + shape
        axes = None
        if trans1d != -1 and rank < ndmin:
            k1 = trans1d + ndmin - rank + 1 if trans1d < 0 else trans1d
            k2 = ndmin - rank
            order = list(range(ndmin))
            axes = tuple(order[:k1] + order[k2:] + order[k1:k2])
            full = tuple(full[a] for a in axes)
        plan.append(_Part(full, gained, axes))
    return axis, plan


def unconcatenator(g: Any, maker: Any, items: tuple[Any, ...]) -> tuple[Any, ...]:
    """Cotangents of the items of ``maker[items]`` (``np.r_`` / ``np.c_``): the pieces of
    ``g`` where each part lies, laid back into the item's shape; None for constants."""
    axis, plan = concatenator_plan(maker, items)
    parts = [p for p in plan if p is not None]
    ndim = np.ndim(g)
    axis = axis % ndim if ndim else 0
    offsets = np.cumsum([p.shape[axis] for p in parts])[:-1]
    pieces = iter(np.split(g, offsets, axis=axis))
    out: list[Any] = []
    for item, part in zip(items, plan, strict=True):
        if part is None:
            out.append(None)
            continue
        piece = next(pieces)
        if part.constant:
            out.append(None)
            continue
        if part.axes is not None:
            piece = np.transpose(piece, inverse_permutation(part.axes))
        out.append(_cast_like(np.reshape(piece, np.shape(item)), item))
    return tuple(out)


def concatenator_tangent(tangents: Any, maker: Any, items: tuple[Any, ...], like: Any
                         ) -> Any:
    """Tangent of ``like = maker[items]``: the items' tangents laid out as their parts,
    zeros for slices (and for items whose tangent is missing), joined along the axis."""
    axis, plan = concatenator_plan(maker, items)
    tangents = [None] * len(items) if tangents is None else list(tangents)
    dtype = like.dtype if getattr(like, "dtype", np.dtype(object)).kind in "fc" else float
    parts: list[Any] = []
    for item, part, tangent in zip(items, plan, tangents, strict=True):
        if part is None:
            continue
        if part.constant or tangent is None or isinstance(item, str):
            parts.append(np.zeros_like(like, dtype=dtype, shape=part.shape))
            continue
        tangent = np.broadcast_to(tangent, np.shape(item))  # a constant's zero tangent
        tangent = np.reshape(tangent, (1,) * part.gained + np.shape(item))
        if part.axes is not None:
            tangent = np.transpose(tangent, part.axes)
        parts.append(tangent)
    return np.astype(np.concatenate(parts, axis=axis), dtype, copy=False)



# -------------------------------------------------------------------- re-layouts


@reverse(np.reshape)
def reshape(result, g, a, shape=None, order="C", *, copy=None):
    da = np.reshape(g, np.shape(a), order=order)


@forward(np.reshape)
def reshape_fwd(result, a, shape=None, order="C", *, copy=None, da):
    dresult = np.reshape(da, np.shape(result), order=order)


# x.reshape(2, 3) and x.reshape((2, 3)) bind the same way: the shape is never read
@reverse(("method", "reshape"))
def reshape_method(result, g, a, *shape, order="C", copy=None):
    da = np.reshape(g, np.shape(a), order=order)


@forward(("method", "reshape"))
def reshape_method_fwd(result, a, *shape, order="C", copy=None, da):
    dresult = np.reshape(da, np.shape(result), order=order)


@reverse(np.ravel, ("method", "ravel"), ("method", "flatten"))
def ravel(result, g, a, order="C"):
    da = np.reshape(g, np.shape(a), order=order)


@forward(np.ravel, ("method", "ravel"), ("method", "flatten"))
def ravel_fwd(result, a, order="C", *, da):
    dresult = np.reshape(da, np.shape(result), order=order)


@reverse(np.squeeze, ("method", "squeeze"))
def squeeze(result, g, a, axis=None):
    da = np.reshape(g, np.shape(a))


@forward(np.squeeze, ("method", "squeeze"))
def squeeze_fwd(result, a, axis=None, *, da):
    dresult = np.reshape(da, np.shape(result))


@reverse(np.expand_dims)
def expand_dims(result, g, a, axis):
    da = np.reshape(g, np.shape(a))


@forward(np.expand_dims)
def expand_dims_fwd(result, a, axis, *, da):
    dresult = np.expand_dims(da, axis)


@reverse(("method", "copy"))
def copy_method(result, g, a, order="C"):
    da = g


@forward(("method", "copy"))
def copy_method_fwd(result, a, order="C", *, da):
    dresult = da


# a cast to an integer or boolean dtype is piecewise constant: derivative zero
@reverse(("method", "astype"))
def astype_method(result, g, a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    if result.dtype.kind in "fc":
        da = g.astype(a.dtype)
    else:
        da = np.zeros_like(a)


@forward(("method", "astype"))
def astype_method_fwd(result, a, dtype, order="K", casting="unsafe", subok=True, copy=True,
                      *, da):
    if result.dtype.kind in "fc":
        dresult = np.astype(da, result.dtype)
    else:
        dresult = np.zeros_like(result)


# ------------------------------------------------------------------- construction
# np.array([x[0] * 2, x[1]]): the list literal is its own statement; its cotangent is a list.


@reverse(np.array)
def array(result, g, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0,
          like=None):
    dobject = unarray(g, object, result)


@forward(np.array)
def array_fwd(result, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0,
              like=None, dobject):
    dresult = restack(dobject, object, result)


@reverse(np.asarray)
def asarray(result, g, a, dtype=None, order=None, *, device=None, copy=None, like=None):
    da = unarray(g, a, result)


@forward(np.asarray)
def asarray_fwd(result, a, dtype=None, order=None, *, device=None, copy=None, like=None, da):
    dresult = restack(da, a, result)


@reverse(np.asanyarray)
def asanyarray(result, g, a, dtype=None, order=None, *, device=None, copy=None, like=None):
    da = unarray(g, a, result)


@forward(np.asanyarray)
def asanyarray_fwd(result, a, dtype=None, order=None, *, device=None, copy=None, like=None,
                   da):
    dresult = restack(da, a, result)


@reverse(np.ascontiguousarray)
def ascontiguousarray(result, g, a, dtype=None, *, like=None):
    da = unarray(g, a, result)


@forward(np.ascontiguousarray)
def ascontiguousarray_fwd(result, a, dtype=None, *, like=None, da):
    dresult = restack(da, a, result)


# ------------------------------------------------------------------- permutations


@reverse(np.transpose)
def transpose(result, g, a, axes=None):
    if axes is None:
        da = np.transpose(g)
    else:
        da = np.transpose(g, inverse_permutation(axes))


@forward(np.transpose)
def transpose_fwd(result, a, axes=None, *, da):
    dresult = np.transpose(da, axes)


@reverse(("method", "transpose"))
def transpose_method(result, g, a, *axes):
    da = np.transpose(g, inverse_permutation(method_axes(axes)))


@forward(("method", "transpose"))
def transpose_method_fwd(result, a, *axes, da):
    dresult = np.transpose(da, method_axes(axes))


@reverse(("attr", "T"))
def T(result, g, a):
    da = np.transpose(g)


@forward(("attr", "T"))
def T_fwd(result, a, *, da):
    dresult = np.transpose(da)


@reverse(np.swapaxes, ("method", "swapaxes"))
def swapaxes(result, g, a, axis1, axis2):
    da = np.swapaxes(g, axis1, axis2)


@forward(np.swapaxes, ("method", "swapaxes"))
def swapaxes_fwd(result, a, axis1, axis2, *, da):
    dresult = np.swapaxes(da, axis1, axis2)


@reverse(np.moveaxis)
def moveaxis(result, g, a, source, destination):
    da = np.moveaxis(g, destination, source)


@forward(np.moveaxis)
def moveaxis_fwd(result, a, source, destination, *, da):
    dresult = np.moveaxis(da, source, destination)


@reverse(np.flip)
def flip(result, g, m, axis=None):
    dm = np.flip(g, axis)


@forward(np.flip)
def flip_fwd(result, m, axis=None, *, dm):
    dresult = np.flip(dm, axis)


@reverse(np.fliplr)
def fliplr(result, g, m):
    dm = np.fliplr(g)


@forward(np.fliplr)
def fliplr_fwd(result, m, *, dm):
    dresult = np.fliplr(dm)


@reverse(np.flipud)
def flipud(result, g, m):
    dm = np.flipud(g)


@forward(np.flipud)
def flipud_fwd(result, m, *, dm):
    dresult = np.flipud(dm)


@reverse(np.roll)
def roll(result, g, a, shift, axis=None):
    da = np.roll(g, negative_shift(shift), axis)


@forward(np.roll)
def roll_fwd(result, a, shift, axis=None, *, da):
    dresult = np.roll(da, shift, axis)


# ------------------------------------------------------------------------- copies


@reverse(np.tile)
def tile(result, g, A, reps):
    dA = untile(g, A, reps)


@forward(np.tile)
def tile_fwd(result, A, reps, *, dA):
    dresult = np.tile(dA, reps)


@reverse(np.repeat)
def repeat(result, g, a, repeats, axis=None):
    da = unrepeat(g, a, repeats, axis)


@forward(np.repeat)
def repeat_fwd(result, a, repeats, axis=None, *, da):
    dresult = np.repeat(da, repeats, axis)


@reverse(np.broadcast_to)
def broadcast_to(result, g, array, shape, subok=False):
    darray = unbroadcast(g, array)


@forward(np.broadcast_to)
def broadcast_to_fwd(result, array, shape, subok=False, *, darray):
    dresult = np.broadcast_to(darray, shape)


# ----------------------------------------------------------------- padding, differences


@reverse(np.pad)
def pad(result, g, array, pad_width, mode="constant", constant_values=0):
    darray = unpad(g, array, pad_width, mode)


@forward(np.pad)
def pad_fwd(result, array, pad_width, mode="constant", constant_values=0, *, darray):
    dresult = np.pad(darray, pad_width, mode=check_pad_mode(mode))


@reverse(np.diff)
def diff(result, g, a, n=1, axis=-1):
    da = undiff(g, n, axis)


@forward(np.diff)
def diff_fwd(result, a, n=1, axis=-1, *, da):
    dresult = np.diff(da, n, axis)


# ---------------------------------------------------------------------------- joins
# The first argument is a sequence; its cotangent is a sequence of the parts' cotangents.


@reverse(np.concatenate)
def concatenate(result, g, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    darrays = unconcatenate(g, arrays, axis)


@forward(np.concatenate)
def concatenate_fwd(result, arrays, axis=0, out=None, *, dtype=None, casting="same_kind",
                    darrays):
    dresult = np.concatenate(dense_parts(darrays, arrays), axis)


@reverse(np.stack)
def stack(result, g, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    darrays = unstack(g, arrays, axis)


@forward(np.stack)
def stack_fwd(result, arrays, axis=0, out=None, *, dtype=None, casting="same_kind",
              darrays):
    dresult = np.stack(dense_parts(darrays, arrays), axis)


@reverse(np.hstack)
def hstack(result, g, tup, *, dtype=None, casting="same_kind"):
    dtup = unhstack(g, tup)


@forward(np.hstack)
def hstack_fwd(result, tup, *, dtype=None, casting="same_kind", dtup):
    dresult = np.hstack(dense_parts(dtup, tup))


@reverse(np.vstack)
def vstack(result, g, tup, *, dtype=None, casting="same_kind"):
    dtup = unvstack(g, tup)


@forward(np.vstack)
def vstack_fwd(result, tup, *, dtype=None, casting="same_kind", dtup):
    dresult = np.vstack(dense_parts(dtup, tup))


@reverse(np.dstack)
def dstack(result, g, tup):
    dtup = undstack(g, tup)


@forward(np.dstack)
def dstack_fwd(result, tup, *, dtup):
    dresult = np.dstack(dense_parts(dtup, tup))


# ----------------------------------------------------------- np.r_[...] and np.c_[...]
# Subscripts of NumPy's concatenator objects: ``maker`` is ``np.r_`` or ``np.c_`` and
# ``items`` the tuple between the brackets (a slice in it is a ``slice`` value).


@reverse(("subscript", np.r_), ("subscript", np.c_))
def axis_concatenator(result, g, maker, items):
    ditems = unconcatenator(g, maker, items)


@forward(("subscript", np.r_), ("subscript", np.c_))
def axis_concatenator_fwd(result, maker, items, *, ditems):
    dresult = concatenator_tangent(ditems, maker, items, result)



# --------------------------------------------------------------------------- splits
# The result is a list; parts nobody used arrive as None (or zeros) and count as zeros.


@reverse(np.split, np.array_split)
def split(result, g, ary, indices_or_sections, axis=0):
    dary = np.concatenate(dense_parts(g, result), axis)


@forward(np.split)
def split_fwd(result, ary, indices_or_sections, axis=0, *, dary):
    dresult = np.split(dary, indices_or_sections, axis)


@forward(np.array_split)
def array_split_fwd(result, ary, indices_or_sections, axis=0, *, dary):
    dresult = np.array_split(dary, indices_or_sections, axis)


@reverse(np.hsplit)
def hsplit(result, g, ary, indices_or_sections):
    if np.ndim(ary) > 1:
        dary = np.concatenate(dense_parts(g, result), 1)
    else:
        dary = np.concatenate(dense_parts(g, result), 0)


@forward(np.hsplit)
def hsplit_fwd(result, ary, indices_or_sections, *, dary):
    dresult = np.hsplit(dary, indices_or_sections)


@reverse(np.vsplit)
def vsplit(result, g, ary, indices_or_sections):
    dary = np.concatenate(dense_parts(g, result), 0)


@forward(np.vsplit)
def vsplit_fwd(result, ary, indices_or_sections, *, dary):
    dresult = np.vsplit(dary, indices_or_sections)


@reverse(np.dsplit)
def dsplit(result, g, ary, indices_or_sections):
    dary = np.concatenate(dense_parts(g, result), 2)


@forward(np.dsplit)
def dsplit_fwd(result, ary, indices_or_sections, *, dary):
    dresult = np.dsplit(dary, indices_or_sections)




# --------------------------------------------------------------------- triangles


@reverse(np.tril)
def tril(result, g, m, k=0):
    dm = np.tril(g, k)


@forward(np.tril)
def tril_fwd(result, m, k=0, *, dm):
    dresult = np.tril(dm, k)


@reverse(np.triu)
def triu(result, g, m, k=0):
    dm = np.triu(g, k)


@forward(np.triu)
def triu_fwd(result, m, k=0, *, dm):
    dresult = np.triu(dm, k)

# ------------------------------------------------ the adjoint helpers' own rules (linear)
#
# Second derivatives differentiate the generated gradient, which calls the helpers above.
# Each is linear in the cotangent it is given (``ct`` below: the helper's ``g``) and reads
# its other arguments for their shapes or as constants, so its tangent is the helper
# applied to the tangent of ``ct``, and its own cotangent is the primal operation it is
# the adjoint of.

zero_derivative([inverse_permutation, method_axes, negative_shift, check_pad_mode],
                notes="axis and shift arithmetic, and a mode check: no dependence on values")


@reverse(untile, shape_only=("a",))
def untile_rule(result, g, ct, a, reps):
    dct = np.tile(g, reps)


@forward(untile, shape_only=("a",))
def untile_fwd(result, ct, a, reps, *, dct):
    dresult = untile(dct, a, reps)


@reverse(unrepeat, shape_only=("a",))
def unrepeat_rule(result, g, ct, a, repeats, axis):
    dct = np.repeat(g, repeats, axis)


@forward(unrepeat, shape_only=("a",))
def unrepeat_fwd(result, ct, a, repeats, axis, *, dct):
    dresult = unrepeat(dct, a, repeats, axis)


@reverse(unpad, shape_only=("array",))
def unpad_rule(result, g, ct, array, pad_width, mode):
    dct = np.pad(g, pad_width, mode=check_pad_mode(mode))


@forward(unpad, shape_only=("array",))
def unpad_fwd(result, ct, array, pad_width, mode, *, dct):
    dresult = unpad(dct, array, pad_width, mode)


@reverse(undiff)
def undiff_rule(result, g, ct, n, axis):
    dct = np.diff(g, n, axis)


@forward(undiff)
def undiff_fwd(result, ct, n, axis, *, dct):
    dresult = undiff(dct, n, axis)


@reverse(unconcatenate, shape_only=("arrays",))
def unconcatenate_rule(result, g, ct, arrays, axis):
    dct = np.concatenate(dense_parts(g, arrays), axis)


@forward(unconcatenate, shape_only=("arrays",))
def unconcatenate_fwd(result, ct, arrays, axis, *, dct):
    dresult = unconcatenate(dct, arrays, axis)


@reverse(unstack, shape_only=("arrays",))
def unstack_rule(result, g, ct, arrays, axis):
    dct = np.stack(dense_parts(g, arrays), axis)


@forward(unstack, shape_only=("arrays",))
def unstack_fwd(result, ct, arrays, axis, *, dct):
    dresult = unstack(dct, arrays, axis)


@reverse(unhstack, shape_only=("tup",))
def unhstack_rule(result, g, ct, tup):
    dct = np.hstack(dense_parts(g, tup))


@forward(unhstack, shape_only=("tup",))
def unhstack_fwd(result, ct, tup, *, dct):
    dresult = unhstack(dct, tup)


@reverse(unvstack, shape_only=("tup",))
def unvstack_rule(result, g, ct, tup):
    dct = np.vstack(dense_parts(g, tup))


@forward(unvstack, shape_only=("tup",))
def unvstack_fwd(result, ct, tup, *, dct):
    dresult = unvstack(dct, tup)


@reverse(undstack, shape_only=("tup",))
def undstack_rule(result, g, ct, tup):
    dct = np.dstack(dense_parts(g, tup))


@forward(undstack, shape_only=("tup",))
def undstack_fwd(result, ct, tup, *, dct):
    dresult = undstack(dct, tup)


@reverse(unarray, shape_only=("obj", "value"))
def unarray_rule(result, g, ct, obj, value):
    dct = restack(g, obj, value)


@forward(unarray, shape_only=("obj", "value"))
def unarray_fwd(result, ct, obj, value, *, dct):
    dresult = unarray(dct, obj, value)


@reverse(restack, shape_only=("obj", "value"))
def restack_rule(result, g, tangent, obj, value):
    dtangent = unarray(g, obj, value)


@forward(restack, shape_only=("obj", "value"))
def restack_fwd(result, tangent, obj, value, *, dtangent):
    dresult = restack(dtangent, obj, value)


zero_derivative([concatenator_plan], notes="lays out the items of np.r_[...] / np.c_[...]: "
                "no dependence on values")


@reverse(unconcatenator, shape_only=("items",))
def unconcatenator_rule(result, g, ct, maker, items):
    dct = concatenator_tangent(g, maker, items, ct)


@forward(unconcatenator, shape_only=("items",))
def unconcatenator_fwd(result, ct, maker, items, *, dct):
    dresult = unconcatenator(dct, maker, items)


@reverse(concatenator_tangent, shape_only=("items", "like"))
def concatenator_tangent_rule(result, g, tangents, maker, items, like):
    dtangents = unconcatenator(g, maker, items)


@forward(concatenator_tangent, shape_only=("items", "like"))
def concatenator_tangent_fwd(result, tangents, maker, items, like, *, dtangents):
    dresult = concatenator_tangent(dtangents, maker, items, like)
