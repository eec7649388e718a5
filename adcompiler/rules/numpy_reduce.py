"""Rules for NumPy's reductions and scans, and the array methods that mirror them.

Each rule is registered for the NumPy function and the array method of the same name
(``np.sum`` and ``x.sum()``): the method's parameters are the function's without ``a``,
and the object is the template's first primal parameter, so one template serves both.
``axis`` may be None, an int (negative counts from the end) or a tuple, given by position
or keyword; ``keepdims`` is honoured. ``initial=`` and ``where=`` are not in the
signatures, so a call that uses them is refused (an ``ADError``) rather than
differentiated wrongly. ``out=`` is accepted positionally but its aliasing is ignored.

Reverse rules receive ``g`` with the reduced shape. :func:`expand_reduced` puts the
reduced axes back (size 1) so ``g`` broadcasts against the input; where ``axis`` is None
or ``keepdims`` true at fill time there is nothing to put back and the call is left out.
Rules whose cotangent would otherwise be ``g`` itself multiply by ``np.ones_like(a)``, so
the gradient is a fresh, writable array of the input's shape and dtype. Counts are
Python ints and masks are turned into the input's dtype with ``np.ones_like(a) * mask``,
so float32 stays float32.

Conventions (see the API's "Derivative conventions"):

* ``max`` / ``min`` / ``amax`` / ``amin``: the cotangent is split equally among the
  elements tied for the extreme value (the shares sum to 1); the forward rule takes the
  mean of their tangents.
* ``prod`` is exact with zeros: with one zero in a reduced slice only the zero gets a
  derivative (the product of the others); with two or more zeros the derivative is 0.
  No division by zero happens.
* ``cumprod`` is exact with zeros too: along each slice, elements before the first zero
  get ``sum_{k>=i} g_k result_k / a_i``, the first zero gets the sum over later outputs
  of ``g_k`` times the product of the other factors, and elements after it get 0.
* ``std`` of a constant slice (result 0) gives 0 rather than NaN.
* ``np.linalg.norm``: at the zero vector (or matrix) the derivative is 0 rather than NaN.
  Vector ords: None, 2, 1, inf, -inf, 0 (derivative 0) and any real ``p >= 1``; ``inf`` /
  ``-inf`` split among ties like ``max``. Matrix ords: None and ``'fro'``. Other ords
  (``'nuc'``, matrix 1 / 2 / inf, vector ``p < 1``) raise ``NonDifferentiableError``
  when the derivative is computed.

Of the helpers below, :func:`expand_reduced` (linear), :func:`reduced_size` and
:func:`tie_shares` (locally constant) have rules of their own, so generated code using
them can be differentiated again; the others (``prod_partials``, ``cumprod_da``,
``norm_partials``...) have none yet, so second derivatives of those rules are not
supported.

See ``registry`` for the template contract.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import NonDifferentiableError
from .registry import forward, reverse, static, zero_derivative

# ---------------------------------------------------------------------------- helpers


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(ax) % ndim if ndim else 0 for ax in items))


def expand_reduced(value: Any, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Put the axes a reduction of ``a`` removed back into ``value`` (as size 1).

    The result broadcasts against ``a``. With ``axis=None`` (``value`` is 0-d) or
    ``keepdims=True`` nothing was removed and ``value`` is returned as it is.
    """
    if axis is None or keepdims or isinstance(value, int | float):
        return value
    return np.expand_dims(value, axis)


def reduced_size(a: Any, axis: Any = None) -> int:
    """How many elements of ``a`` each output of a reduction over ``axis`` combines."""
    shape = np.shape(a)
    return math.prod(shape[ax] for ax in _axes(axis, len(shape)))


def tie_shares(a: Any, result: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Each element's share of the derivative of ``max`` / ``min`` over ``axis``.

    Elements equal to the extreme value share equally (1 / number of ties), others get 0.
    """
    ties = np.ones_like(a) * (a == expand_reduced(result, a, axis, keepdims))
    return ties / np.sum(ties, axis=axis, keepdims=True)


def prod_partials(a: Any, axis: Any = None) -> Any:
    """The derivative of ``np.prod(a, axis)`` with respect to each element: the product
    of the other elements of its slice, computed without dividing by zero."""
    zero = a == 0
    nonzero = np.where(zero, 1, a)
    zeros = np.sum(zero, axis=axis, keepdims=True)
    others = np.prod(nonzero, axis=axis, keepdims=True)
    return np.where(zeros == 0, others / nonzero, np.where(zero & (zeros == 1), others, 0))


def _reverse_cumsum(x: Any, axis: int) -> Any:
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)


def _cumprod_masks(a: Any, axis: int) -> tuple[Any, Any]:
    """Masks of the elements before the first zero and of the first zero of each slice
    along ``axis`` (locally constant, which a rule of their own says, so that second
    derivatives, which transform the helpers below, see them as constants)."""
    zero = a == 0
    seen = np.cumsum(zero, axis=axis)
    return seen == 0, zero & (seen == 1)


def cumprod_da(g: Any, a: Any, result: Any, axis: Any = None) -> Any:
    """Cotangent of ``a`` in ``np.cumprod(a, axis)``, exact when ``a`` contains zeros."""
    shape = np.shape(a)
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    before, first = _cumprod_masks(a, axis)
    skipped = np.cumprod(np.where(first, 1, a), axis=axis)
    through = _reverse_cumsum(g * result, axis) / np.where(before, a, 1)
    at_zero = _reverse_cumsum(g * skipped, axis)
    da = np.where(before, through, np.where(first, at_zero, 0))
    return np.reshape(da, shape)


def cumprod_jvp(da: Any, a: Any, result: Any, axis: Any = None) -> Any:
    """Tangent of ``np.cumprod(a, axis)`` along ``da`` (linear in ``da``), exact with zeros."""
    if axis is None:
        a, da, axis = np.reshape(a, (-1,)), np.reshape(da, (-1,)), 0
    before, first = _cumprod_masks(a, axis)
    skipped = np.cumprod(np.where(first, 1, a), axis=axis)
    through = result * np.cumsum(np.where(before, da, 0) / np.where(before, a, 1), axis=axis)
    at_zero = skipped * np.sum(np.where(first, da, 0), axis=axis, keepdims=True)
    return np.where(before, through, at_zero)


def _safe(r: Any) -> Any:
    """``r`` with zeros replaced by 1 (a denominator that turns 0 / 0 into 0)."""
    return r + (r == 0)


def norm_partials(x: Any, ord: Any, axis: Any, keepdims: bool, result: Any) -> Any:
    """The derivative of ``np.linalg.norm(x, ord, axis, keepdims)`` with respect to each
    element of ``x`` (full shape); 0 at the zero vector. See the module docstring."""
    ndim = np.ndim(x)
    if axis is None:
        matrix = ord is not None and ndim == 2
    else:
        matrix = isinstance(axis, tuple | list) and len(axis) == 2
    r = expand_reduced(result, x, axis, keepdims)
    if matrix:
        if ord not in (None, "fro"):
            raise NonDifferentiableError(
                f"np.linalg.norm: no derivative rule for the matrix norm ord={ord!r}; "
                "supported: None, 'fro'")
        return x / _safe(r)
    if ord is None or ord == 2:
        return x / _safe(r)
    if ord == 1:
        return np.sign(x)
    if ord in (math.inf, -math.inf):
        return np.sign(x) * tie_shares(np.abs(x), result, axis, keepdims)
    if ord == 0:
        return np.zeros_like(x)
    if isinstance(ord, int | float) and ord >= 1:
        return np.sign(x) * (np.abs(x) / _safe(r)) ** (ord - 1)
    raise NonDifferentiableError(
        f"np.linalg.norm: no derivative rule for the vector norm ord={ord!r}; supported: "
        "None, 0, inf, -inf and real p >= 1")


# ------------------------------------------------------- the helpers' own rules (linear)


@reverse(expand_reduced, shape_only=("a",))
def expand_reduced_rule(result, g, value, a, axis=None, keepdims=False):
    dvalue = np.reshape(g, np.shape(value))


@forward(expand_reduced, shape_only=("a",))
def expand_reduced_fwd(result, value, a, axis=None, keepdims=False, *, dvalue):
    dresult = expand_reduced(dvalue, a, axis, keepdims)


# the number of elements is an int, and the tie pattern is locally constant
zero_derivative([reduced_size, tie_shares, _cumprod_masks])


# -------------------------------------------------------------------------- sum, mean


@reverse(np.sum, ("method", "sum"))
def sum_(result, g, a, axis=None, dtype=None, out=None, keepdims=False):
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, a, axis, keepdims)
    da = g_expanded * np.ones_like(a)


@forward(np.sum, ("method", "sum"))
def sum_fwd(result, a, axis=None, dtype=None, out=None, keepdims=False, *, da):
    dresult = np.sum(da, axis=axis, keepdims=keepdims)


@reverse(np.mean, ("method", "mean"))
def mean(result, g, a, axis=None, dtype=None, out=None, keepdims=False):
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, a, axis, keepdims)
    da = g_expanded * np.ones_like(a) / reduced_size(a, axis)


@forward(np.mean, ("method", "mean"))
def mean_fwd(result, a, axis=None, dtype=None, out=None, keepdims=False, *, da):
    dresult = np.mean(da, axis=axis, keepdims=keepdims)


# ------------------------------------------------------------------------------- prod


@reverse(np.prod, ("method", "prod"),
         notes="exact with zeros: one zero gets the product of the others, two give 0")
def prod(result, g, a, axis=None, dtype=None, out=None, keepdims=False):
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, a, axis, keepdims)
    da = g_expanded * prod_partials(a, axis)


@forward(np.prod, ("method", "prod"))
def prod_fwd(result, a, axis=None, dtype=None, out=None, keepdims=False, *, da):
    dresult = np.sum(da * prod_partials(a, axis), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------------- max, min
# One template each way for max and min: the tied elements are those equal to result.


@reverse(np.max, np.amax, ("method", "max"), np.min, np.amin, ("method", "min"),
         notes="ties split the cotangent equally (the shares sum to 1)")
def extreme(result, g, a, axis=None, out=None, keepdims=False):
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, a, axis, keepdims)
    da = g_expanded * tie_shares(a, result, axis, keepdims)


@forward(np.max, np.amax, ("method", "max"), np.min, np.amin, ("method", "min"))
def extreme_fwd(result, a, axis=None, out=None, keepdims=False, *, da):
    dresult = np.sum(da * tie_shares(a, result, axis, keepdims), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------------- var, std
# var = sum((a - mean)^2) / (N - ddof); the mean's own derivative drops out because the
# centred values sum to zero. std = sqrt(var), so its derivative divides by 2 std.


@reverse(np.var, ("method", "var"))
def var(result, g, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = a - np.mean(a, axis=axis, keepdims=True)
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, a, axis, keepdims)
    da = g_expanded * 2 * centered / (reduced_size(a, axis) - ddof)


@forward(np.var, ("method", "var"))
def var_fwd(result, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, da):
    centered = a - np.mean(a, axis=axis, keepdims=True)
    dresult = (np.sum(da * 2 * centered, axis=axis, keepdims=keepdims)
               / (reduced_size(a, axis) - ddof))


@reverse(np.std, ("method", "std"), notes="0 where the std is 0 (a constant slice)")
def std(result, g, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = a - np.mean(a, axis=axis, keepdims=True)
    # a constant slice (std 0) gives 0, not 0 / 0
    denominator = (reduced_size(a, axis) - ddof) * (result + (result == 0))
    if static(axis is None or keepdims):
        g_expanded = g / denominator
    else:
        g_expanded = expand_reduced(g / denominator, a, axis, keepdims)
    da = g_expanded * centered


@forward(np.std, ("method", "std"))
def std_fwd(result, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, da):
    centered = a - np.mean(a, axis=axis, keepdims=True)
    denominator = (reduced_size(a, axis) - ddof) * (result + (result == 0))
    dresult = np.sum(da * centered, axis=axis, keepdims=keepdims) / denominator


# ------------------------------------------------------------------------ cumsum, cumprod
# cumsum's transpose is the cumulative sum from the other end; with axis=None NumPy
# flattens, so the cotangent is flat and is reshaped back.


@reverse(np.cumsum, ("method", "cumsum"))
def cumsum(result, g, a, axis=None, dtype=None, out=None):
    if axis is None:
        da = np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(a))
    else:
        da = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


@forward(np.cumsum, ("method", "cumsum"))
def cumsum_fwd(result, a, axis=None, dtype=None, out=None, *, da):
    dresult = np.cumsum(da, axis=axis)


@reverse(np.cumprod, ("method", "cumprod"), notes="exact with zeros")
def cumprod(result, g, a, axis=None, dtype=None, out=None):
    da = cumprod_da(g, a, result, axis)


@forward(np.cumprod, ("method", "cumprod"))
def cumprod_fwd(result, a, axis=None, dtype=None, out=None, *, da):
    dresult = cumprod_jvp(da, a, result, axis)


# ------------------------------------------------------------------------------- norm


@reverse(np.linalg.norm, notes="0 at the zero vector; matrix ords None and 'fro' only")
def norm(result, g, x, ord=None, axis=None, keepdims=False):
    if static(axis is None or keepdims):
        g_expanded = g
    else:
        g_expanded = expand_reduced(g, x, axis, keepdims)
    dx = g_expanded * norm_partials(x, ord, axis, keepdims, result)


@forward(np.linalg.norm)
def norm_fwd(result, x, ord=None, axis=None, keepdims=False, *, dx):
    dresult = np.sum(dx * norm_partials(x, ord, axis, keepdims, result), axis=axis,
                     keepdims=keepdims)
