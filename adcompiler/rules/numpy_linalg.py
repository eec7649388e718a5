"""Rules for NumPy's products and linear algebra (``np.dot`` ... ``np.linalg.cholesky``).

``np.matmul`` and ``@`` live in ``operators``. Each reverse template has its forward twin
next to it. Ranks the compiler knows are decided when a template is filled (``if
static(np.ndim(a) == 2 and ...)`` gives the short form ``g @ b.T``); otherwise the
template calls a helper below that decides at run time, for every rank NumPy accepts.

Conventions:

* Real arrays only: ``vdot`` and ``inner`` are differentiated as real products (no
  conjugation of the cotangent).
* Batched linear algebra (``inv``, ``solve``, ``det``, ``slogdet``, ``cholesky``) works on
  stacks ``(..., n, n)``; ``solve`` follows NumPy 2: ``b`` is a vector only when
  ``b.ndim == 1``, else a stack of matrices ``(..., n, k)``, and batch dimensions that
  broadcasting added are summed out of the cotangents.
* ``det`` uses ``inv(a)``: a singular ``a`` gives ``inf``/``nan`` (as autograd and JAX's
  simple rule do); ``slogdet`` differentiates only ``logabsdet`` (``sign`` is locally
  constant).
* ``cholesky`` follows what NumPy computes: ``cholesky(a)`` reads only the lower triangle of
  ``a`` (``upper=True``: only the upper one) and ignores the other, so the cotangent of
  ``a`` is lower (upper) triangular: ``tril(S) + tril(S, -1)`` with ``S`` the symmetric
  cotangent of Murray (2016) / autograd. The two agree on every symmetric perturbation
  (so gradients that reach ``a = x @ x.T`` are the same), and finite differences in any
  single entry of ``a`` agree with this one. The forward twin likewise feeds only the read
  triangle of the tangent, mirrored.
* ``einsum`` takes string subscripts (with ``...`` and implicit output), 1 or more operands,
  an index repeated within one operand too (a trace ``'ii->'`` or diagonal ``'ii->i'``);
  the cotangent of operand ``k`` is an einsum of ``g`` with the other operands into
  ``k``'s distinct subscripts, broadcast along indices that only ``k`` has (summed out in
  the primal), and written onto the diagonal a repeated index reads.
* ``trace``, ``diagonal`` and ``diag`` take any ``offset`` / ``k``; ``trace`` and
  ``diagonal`` any ``axis1`` / ``axis2``.

Identity masks are built with ``np.eye(..., like=a)`` so they have the argument's array type.
See ``registry`` for the template contract.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..runtime import unbroadcast
from .registry import forward, register_builtin_forward, reverse, static, zero_derivative

# ------------------------------------------------------------------------------ helpers


def _swap(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _inverse_permutation(order: Sequence[int]) -> list[int]:
    return [list(order).index(k) for k in range(len(order))]


def dot_da(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``a`` in ``np.dot(a, b)`` for any ranks."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0:
        return np.sum(g * b)
    if nb == 0:
        return g * b
    if nb == 1:
        return np.expand_dims(g, -1) * b
    ng = np.ndim(g)
    return np.tensordot(g, b, axes=(list(range(na - 1, ng)), [*range(nb - 2), nb - 1]))


def dot_db(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``b`` in ``np.dot(a, b)`` for any ranks."""
    na, nb = np.ndim(a), np.ndim(b)
    if nb == 0:
        return np.sum(g * a)
    if na == 0:
        return g * a
    if nb == 1:
        lead = list(range(na - 1))
        return np.tensordot(a, g, axes=(lead, lead))
    db = np.tensordot(a, g, axes=(list(range(na - 1)), list(range(na - 1))))
    return np.moveaxis(db, 0, -2)


def inner_da(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``a`` in ``np.inner(a, b)`` (contraction over the last axes)."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0:
        return np.sum(g * b)
    if nb == 0:
        return g * b
    return np.tensordot(g, b, axes=(list(range(na - 1, na + nb - 2)), list(range(nb - 1))))


def inner_db(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``b`` in ``np.inner(a, b)``."""
    na, nb = np.ndim(a), np.ndim(b)
    if nb == 0:
        return np.sum(g * a)
    if na == 0:
        return g * a
    return np.tensordot(g, a, axes=(list(range(na - 1)), list(range(na - 1))))


def _tensordot_axes(axes: Any, na: int, nb: int) -> tuple[list[int], list[int]]:
    """``tensordot``'s ``axes`` as two lists of non-negative axes."""
    if isinstance(axes, int | np.integer):
        n = int(axes)
        return list(range(na - n, na)), list(range(n))
    axes_a, axes_b = axes
    axes_a = [axes_a] if isinstance(axes_a, int | np.integer) else list(axes_a)
    axes_b = [axes_b] if isinstance(axes_b, int | np.integer) else list(axes_b)
    return [int(i) % na for i in axes_a], [int(j) % nb for j in axes_b]


def _tensordot_g(g: Any, a: Any, b: Any, free_a: list[int], free_b: list[int]) -> Any:
    """``g`` with the result's shape (a scalar ``g`` may stand for a size-1 result)."""
    shape = tuple(np.shape(a)[i] for i in free_a) + tuple(np.shape(b)[j] for j in free_b)
    return g if np.shape(g) == shape else np.broadcast_to(g, shape)


def tensordot_da(g: Any, a: Any, b: Any, axes: Any) -> Any:
    """Cotangent of ``a`` in ``np.tensordot(a, b, axes)``."""
    na, nb = np.ndim(a), np.ndim(b)
    axes_a, axes_b = _tensordot_axes(axes, na, nb)
    free_a = [i for i in range(na) if i not in axes_a]
    free_b = [j for j in range(nb) if j not in axes_b]
    g = _tensordot_g(g, a, b, free_a, free_b)
    da = np.tensordot(g, b, axes=(list(range(len(free_a), np.ndim(g))), free_b))
    # da's axes: a's free axes, then b's contracted axes in b's order
    source = free_a + [axes_a[axes_b.index(j)] for j in sorted(axes_b)]
    return np.transpose(da, _inverse_permutation(source))


def tensordot_db(g: Any, a: Any, b: Any, axes: Any) -> Any:
    """Cotangent of ``b`` in ``np.tensordot(a, b, axes)``."""
    na, nb = np.ndim(a), np.ndim(b)
    axes_a, axes_b = _tensordot_axes(axes, na, nb)
    free_a = [i for i in range(na) if i not in axes_a]
    free_b = [j for j in range(nb) if j not in axes_b]
    g = _tensordot_g(g, a, b, free_a, free_b)
    db = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    # db's axes: a's contracted axes in a's order (as b axes), then b's free axes
    source = [axes_b[axes_a.index(i)] for i in sorted(axes_a)] + free_b
    return np.transpose(db, _inverse_permutation(source))


def _einsum_parse(subscripts: Any, operands: Sequence[Any]) -> tuple[list[str], str]:
    """Explicit per-operand subscripts and output, ``...`` replaced by fresh letters."""
    if not isinstance(subscripts, str):
        raise TypeError("the derivative of np.einsum needs string subscripts "
                        "(the interleaved form einsum(a, [0, 1], ...) is not supported)")
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    subs = inputs.split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(subs)} operands, "
                         f"got {len(operands)}")
    spare = [c for c in string.ascii_letters if c not in spec]
    ellipsis = max((np.ndim(x) - (len(s) - 3) for s, x in zip(subs, operands, strict=True)
                    if "..." in s), default=0)
    dots = "".join(spare[:ellipsis])
    explicit = []
    for s, x in zip(subs, operands, strict=True):
        if "..." in s:
            n = np.ndim(x) - (len(s) - 3)
            s = s.replace("...", dots[ellipsis - n:] if n else "")
        explicit.append(s)
    if arrow:
        out = output.replace("...", dots)
    else:
        letters = "".join(explicit)
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in dots)
        out = dots + "".join(once)
    return explicit, out


def _einsum_sizes(subs: Sequence[str], operands: Sequence[Any]) -> dict[str, int]:
    """The size of every index letter (size-1 axes broadcast, so the largest wins)."""
    sizes: dict[str, int] = {}
    for s, x in zip(subs, operands, strict=True):
        for c, n in zip(s, np.shape(x), strict=True):
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


def _einsum_embed(d: Any, sub: str, unique: str, x: Any) -> Any:
    """A cotangent over ``unique`` (each letter of ``sub`` once) as an array shaped like
    ``x`` whose subscripts ``sub`` repeat a letter: zero off the diagonal it reads."""
    full = np.zeros_like(x, dtype=np.result_type(d, x))
    np.einsum(f"{sub}->{unique}", full)[...] = d  # a writeable view of the diagonal
    return full


def einsum_vjp(g: Any, subscripts: Any, operands: Sequence[Any], optimize: Any = False
               ) -> tuple[Any, ...]:
    """Cotangents of every operand of ``np.einsum(subscripts, *operands)``.

    An operand whose subscripts repeat an index (``'ii->'``, ``'ii->i'``, ``'iij->j'``)
    reads a diagonal: its cotangent is computed over the distinct indices and written
    onto that diagonal. ``g`` may be a scalar standing for a size-1 result.
    """
    subs, out = _einsum_parse(subscripts, operands)
    sizes = _einsum_sizes(subs, operands)
    shape = tuple(sizes[c] for c in out)
    if np.shape(g) != shape:
        g = np.broadcast_to(g, shape)
    grads = []
    for k, x in enumerate(operands):
        others = [s for i, s in enumerate(subs) if i != k]
        seen = set(out).union(*others)
        unique = "".join(dict.fromkeys(subs[k]))
        kept = "".join(c for c in unique if c in seen)
        spec = ",".join([out, *others]) + "->" + kept
        rest = [y for i, y in enumerate(operands) if i != k]
        dx = np.einsum(spec, g, *rest, optimize=optimize) if rest or kept != out else g
        missing = [i for i, c in enumerate(unique) if c not in seen]
        if missing:  # indices only operand k has were summed out: broadcast back
            dx = np.broadcast_to(np.expand_dims(dx, tuple(missing)),
                                 tuple(sizes[c] for c in unique))
        if unique != subs[k]:
            dx = _einsum_embed(dx, subs[k], unique, x)
        if np.shape(dx) != np.shape(x):  # size-1 axes broadcast against other operands
            full = np.broadcast_shapes(np.shape(dx), np.shape(x))
            dx = unbroadcast(np.broadcast_to(dx, full), x)
        grads.append(dx)
    return tuple(grads)


def _is_zero(t: Any) -> bool:
    return t is None or (isinstance(t, int | float) and t == 0)


def einsum_jvp(result: Any, subscripts: Any, operands: Sequence[Any],
               doperands: Sequence[Any], optimize: Any = False) -> Any:
    """Tangent of ``np.einsum``: one einsum per operand with a nonzero tangent."""
    dresult = None
    for k, t in enumerate(doperands):
        if _is_zero(t):
            continue
        args = [t if i == k else x for i, x in enumerate(operands)]
        term = np.einsum(subscripts, *args, optimize=optimize)
        dresult = term if dresult is None else dresult + term
    return np.zeros_like(result) if dresult is None else dresult


def trace_vjp(g: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Cotangent of ``a`` in ``np.trace(a, offset, axis1, axis2)``: g along that diagonal."""
    moved = np.moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = np.shape(moved)[-2:]
    eye = np.eye(n, m, k=offset, dtype=bool, like=a)
    da = np.expand_dims(g, (-2, -1)) * eye
    da = np.broadcast_to(da, np.shape(moved))
    return np.moveaxis(da, (-2, -1), (axis1, axis2))


def diagonal_vjp(g: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Cotangent of ``a`` in ``np.diagonal(a, offset, axis1, axis2)``: ``g`` (whose last
    axis runs along the diagonal) written onto that diagonal, zeros elsewhere."""
    moved = np.moveaxis(np.zeros_like(a, dtype=np.result_type(g, a)), (axis1, axis2),
                        (-2, -1))
    steps = np.arange(np.shape(g)[-1])
    moved[..., steps + max(-offset, 0), steps + max(offset, 0)] = g
    return np.moveaxis(moved, (-2, -1), (axis1, axis2))


def diag_vjp(g: Any, v: Any, k: int = 0) -> Any:
    """Cotangent of ``v`` in ``np.diag(v, k)``: a diagonal out of ``g``, or into a matrix."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k)
    n, m = np.shape(v)
    length = np.shape(g)[0]
    r0, c0 = max(-k, 0), max(k, 0)
    square = np.diag(g)
    return np.pad(square, ((r0, n - r0 - length), (c0, m - c0 - length)))


def solve_adjoint(g: Any, a: Any, b: Any) -> Any:
    """``solve(a^T, g)`` with ``b``'s vector/matrix convention, batch dims kept."""
    if np.ndim(b) == 1:
        return np.linalg.solve(_swap(a), np.expand_dims(g, -1))[..., 0]
    return np.linalg.solve(_swap(a), g)


def solve_da(gb: Any, a: Any, b: Any, result: Any) -> Any:
    """Cotangent of ``a`` in ``x = solve(a, b)`` from ``gb = solve(a^T, g)``: ``-gb x^T``."""
    if np.ndim(b) == 1:
        da = -np.expand_dims(gb, -1) * np.expand_dims(result, -2)
    else:
        da = -np.matmul(gb, _swap(result))
    return unbroadcast(da, a)


def solve_jvp_a(a: Any, b: Any, result: Any, da: Any) -> Any:
    """The part of ``solve``'s tangent due to ``da``: ``-solve(a, da @ x)``."""
    if np.ndim(b) == 1:  # x is a (stack of) vector(s) (..., n)
        return -np.linalg.solve(a, np.matmul(da, np.expand_dims(result, -1)))[..., 0]
    return -np.linalg.solve(a, np.matmul(da, result))


def solve_jvp_b(a: Any, b: Any, db: Any) -> Any:
    """The part of ``solve``'s tangent due to ``db``: ``solve(a, db)``."""
    if np.ndim(b) == 1:
        return np.linalg.solve(a, np.expand_dims(db, -1))[..., 0]
    return np.linalg.solve(a, db)


def det_vjp(g: Any, a: Any, result: Any) -> Any:
    """Cotangent of ``a`` in ``np.linalg.det(a)``: ``g det(a) inv(a)^T``."""
    scale = np.expand_dims(g * result, (-2, -1))
    return scale * _swap(np.linalg.inv(a))


def _trace_last(x: Any) -> Any:
    return np.trace(x, axis1=-2, axis2=-1)


def slogdet_vjp(g: Any, a: Any) -> Any:
    """Cotangent of ``a`` in ``np.linalg.slogdet(a)``; ``g`` is the (sign, logabsdet) pair."""
    glog = g[1]
    if glog is None:
        return np.zeros_like(a)
    return np.expand_dims(glog, (-2, -1)) * _swap(np.linalg.inv(a))


def slogdet_jvp(result: Any, a: Any, da: Any) -> Any:
    """Tangent of ``np.linalg.slogdet``: the pair (0, trace(inv(a) da))."""
    sign = result[0]
    return (np.zeros_like(sign), _trace_last(np.linalg.solve(a, da)))


def _phi(x: Any) -> Any:
    """Lower triangle with the diagonal halved."""
    n = np.shape(x)[-1]
    return np.tril(x) - 0.5 * (x * np.eye(n, dtype=bool, like=x))


def cholesky_vjp(g: Any, factor: Any, upper: bool = False) -> Any:
    """Cotangent of ``a`` in ``np.linalg.cholesky(a, upper=upper)``.

    With ``L`` the lower factor and ``gL`` its cotangent, Murray's symmetric cotangent is
    ``S = sym(L^-T phi(L^T gL) L^-1)``; NumPy reads only one triangle of ``a``, so the
    cotangent is that triangle of ``S`` plus the mirror of the other.
    """
    L = _swap(factor) if upper else factor
    gL = _swap(g) if upper else g
    inner = _phi(np.matmul(_swap(L), gL))
    # L^-T X L^-1 = solve(L^T, solve(L^T, X^T)^T)
    S = np.linalg.solve(_swap(L), _swap(np.linalg.solve(_swap(L), _swap(inner))))
    S = 0.5 * (S + _swap(S))
    lower = np.tril(S) + np.tril(S, -1)
    return _swap(lower) if upper else lower


def cholesky_jvp(factor: Any, da: Any, upper: bool = False) -> Any:
    """Tangent of ``np.linalg.cholesky``: ``dL = L phi(L^-1 P(da) L^-T)``.

    ``P(da)`` is the symmetric matrix made of the triangle NumPy reads.
    """
    L = _swap(factor) if upper else factor
    t = _swap(da) if upper else da
    sym = np.tril(t) + _swap(np.tril(t, -1))
    x = np.linalg.solve(L, _swap(np.linalg.solve(L, _swap(sym))))
    dL = np.matmul(L, _phi(x))
    return _swap(dL) if upper else dL


# ---------------------------------------------------------------------------- products


@reverse(np.dot, ("method", "dot"))
def dot(result, g, a, b, out=None):
    if static(np.ndim(a) == 2 and np.ndim(b) == 2):
        da = g @ b.T
        db = a.T @ g
    elif static(np.ndim(a) == 2 and np.ndim(b) == 1):
        da = np.outer(g, b)
        db = g @ a
    elif static(np.ndim(a) == 1 and np.ndim(b) == 2):
        da = b @ g
        db = np.outer(a, g)
    elif static(np.ndim(a) == 1 and np.ndim(b) == 1):
        da = g * b
        db = g * a
    else:
        da = dot_da(g, a, b)
        db = dot_db(g, a, b)


@forward(np.dot, ("method", "dot"))
def dot_fwd(result, a, b, out=None, *, da, db):
    dresult = np.dot(da, b) + np.dot(a, db)


@reverse(np.outer)
def outer(result, g, a, b, out=None):
    da = np.reshape(g @ np.ravel(b), np.shape(a))
    db = np.reshape(np.ravel(a) @ g, np.shape(b))


@forward(np.outer)
def outer_fwd(result, a, b, out=None, *, da, db):
    dresult = np.outer(da, b) + np.outer(a, db)


@reverse(np.inner)
def inner(result, g, a, b):
    if static(np.ndim(a) == 1 and np.ndim(b) == 1):
        da = g * b
        db = g * a
    else:
        da = inner_da(g, a, b)
        db = inner_db(g, a, b)


@forward(np.inner)
def inner_fwd(result, a, b, *, da, db):
    dresult = np.inner(da, b) + np.inner(a, db)


@reverse(np.vdot)
def vdot(result, g, a, b):
    da = np.reshape(g * b, np.shape(a))
    db = np.reshape(g * a, np.shape(b))


@forward(np.vdot)
def vdot_fwd(result, a, b, *, da, db):
    dresult = np.vdot(da, b) + np.vdot(a, db)


@reverse(np.tensordot)
def tensordot(result, g, a, b, axes=2):
    da = tensordot_da(g, a, b, axes)
    db = tensordot_db(g, a, b, axes)


@forward(np.tensordot)
def tensordot_fwd(result, a, b, axes=2, *, da, db):
    dresult = np.tensordot(da, b, axes) + np.tensordot(a, db, axes)


@reverse(np.einsum)
def einsum(result, g, subscripts, *operands, optimize=False):
    doperands = einsum_vjp(g, subscripts, operands, optimize)


@forward(np.einsum)
def einsum_fwd(result, subscripts, *operands, optimize=False, doperands):
    dresult = einsum_jvp(result, subscripts, operands, doperands, optimize)


# ------------------------------------------------------------------------ trace, diag


@reverse(np.trace)
def trace(result, g, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    if static(np.ndim(a) == 2 and offset == 0):
        da = g * np.eye(np.shape(a)[0], np.shape(a)[1], dtype=bool, like=a)
    else:
        da = trace_vjp(g, a, offset, axis1, axis2)


@forward(np.trace)
def trace_fwd(result, a, offset=0, axis1=0, axis2=1, dtype=None, out=None, *, da):
    dresult = np.trace(da, offset, axis1, axis2)


@reverse(np.diagonal, ("method", "diagonal"))
def diagonal(result, g, a, offset=0, axis1=0, axis2=1):
    da = diagonal_vjp(g, a, offset, axis1, axis2)


@forward(np.diagonal, ("method", "diagonal"))
def diagonal_fwd(result, a, offset=0, axis1=0, axis2=1, *, da):
    dresult = np.diagonal(da, offset, axis1, axis2)


@reverse(np.diag)
def diag(result, g, v, k=0):
    if static(np.ndim(v) == 1):
        dv = np.diagonal(g, k)
    else:
        dv = diag_vjp(g, v, k)


@forward(np.diag)
def diag_fwd(result, v, k=0, *, dv):
    dresult = np.diag(dv, k)


# ---------------------------------------------------------------------- linear algebra


@reverse(np.linalg.inv)
def inv(result, g, a):
    if static(np.ndim(a) == 2):
        da = -(result.T @ g @ result.T)
    else:
        da = -np.matmul(np.matmul(_swap(result), g), _swap(result))


@forward(np.linalg.inv)
def inv_fwd(result, a, *, da):
    dresult = -np.matmul(np.matmul(result, da), result)


@reverse(np.linalg.solve)
def solve(result, g, a, b):
    if static(np.ndim(a) == 2 and np.ndim(b) == 1):
        db = np.linalg.solve(a.T, g)
        da = -np.outer(db, result)
    elif static(np.ndim(a) == 2 and np.ndim(b) == 2):
        db = np.linalg.solve(a.T, g)
        da = -(db @ result.T)
    else:
        gb = solve_adjoint(g, a, b)
        db = unbroadcast(gb, b)
        da = solve_da(gb, a, b, result)


@forward(np.linalg.solve)
def solve_fwd(result, a, b, *, da, db):
    dresult = solve_jvp_b(a, b, db) + solve_jvp_a(a, b, result, da)


@reverse(np.linalg.det)
def det(result, g, a):
    if static(np.ndim(a) == 2):
        da = (g * result) * np.linalg.inv(a).T
    else:
        da = det_vjp(g, a, result)


@forward(np.linalg.det)
def det_fwd(result, a, *, da):
    dresult = result * _trace_last(np.linalg.solve(a, da))


@reverse(np.linalg.slogdet)
def slogdet(result, g, a):
    da = slogdet_vjp(g, a)


@forward(np.linalg.slogdet)
def slogdet_fwd(result, a, *, da):
    dresult = slogdet_jvp(result, a, da)


@reverse(np.linalg.cholesky)
def cholesky(result, g, a, upper=False):
    da = cholesky_vjp(g, result, upper)


@forward(np.linalg.cholesky)
def cholesky_fwd(result, a, upper=False, *, da):
    dresult = cholesky_jvp(result, da, upper)



# ---------------------------------------------- the adjoint helpers' own rules (linear)
#
# Second derivatives differentiate the generated gradient, which calls the helpers
# above. ``dot_da(g, a, b)`` is the adjoint of ``x -> np.dot(x, b)`` applied to ``g``: it
# is linear in ``g`` and in ``b`` and reads ``a`` for its shape. Its tangent is the sum
# of the two linear terms, and by <c, dot_da(g, a, b)> = <g, np.dot(c, b)> its own
# cotangents are ``np.dot(c, b)`` for ``g`` and ``dot_db(g, c, b)`` for ``b``. The
# ``*_db`` helpers, ``inner`` and ``tensordot`` follow the same pattern; ``diag_vjp``,
# ``diagonal_vjp`` and ``trace_vjp`` are linear in ``g`` only.

zero_derivative([_einsum_parse], notes="parses the subscripts string")


def einsum_vjp_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """Tangents of :func:`einsum_vjp`, which is linear in ``g`` and in every operand but
    the one whose cotangent it computes (that one gives only its shape)."""
    g, subscripts, operands = primals[:3]
    optimize = primals[3] if len(primals) > 3 else False
    dg, doperands = tangents[0], tangents[2]
    value = einsum_vjp(g, subscripts, operands, optimize)
    parts = [np.zeros_like(v) for v in value]
    if not _is_zero(dg):
        parts = [p + t for p, t in zip(parts, einsum_vjp(dg, subscripts, operands, optimize),
                                       strict=True)]
    for j, dj in enumerate(doperands if doperands is not None else ()):
        if _is_zero(dj):
            continue
        moved = [dj if i == j else x for i, x in enumerate(operands)]
        terms = einsum_vjp(g, subscripts, moved, optimize)
        parts = [p if k == j else p + t for k, (p, t) in enumerate(zip(parts, terms,
                                                                       strict=True))]
    return value, tuple(parts)


register_builtin_forward(einsum_vjp, einsum_vjp_jvp)


@reverse(dot_da, shape_only=("a",))
def dot_da_rule(result, g, ct, a, b):
    dct = np.dot(g, b)
    db = dot_db(ct, g, b)


@forward(dot_da, shape_only=("a",))
def dot_da_fwd(result, ct, a, b, *, dct, db):
    dresult = dot_da(dct, a, b) + dot_da(ct, a, db)


@reverse(dot_db, shape_only=("b",))
def dot_db_rule(result, g, ct, a, b):
    dct = np.dot(a, g)
    da = dot_da(ct, a, g)


@forward(dot_db, shape_only=("b",))
def dot_db_fwd(result, ct, a, b, *, dct, da):
    dresult = dot_db(dct, a, b) + dot_db(ct, da, b)


@reverse(inner_da, shape_only=("a",))
def inner_da_rule(result, g, ct, a, b):
    dct = np.inner(g, b)
    db = inner_db(ct, g, b)


@forward(inner_da, shape_only=("a",))
def inner_da_fwd(result, ct, a, b, *, dct, db):
    dresult = inner_da(dct, a, b) + inner_da(ct, a, db)


@reverse(inner_db, shape_only=("b",))
def inner_db_rule(result, g, ct, a, b):
    dct = np.inner(a, g)
    da = inner_da(ct, a, g)


@forward(inner_db, shape_only=("b",))
def inner_db_fwd(result, ct, a, b, *, dct, da):
    dresult = inner_db(dct, a, b) + inner_db(ct, da, b)


@reverse(tensordot_da, shape_only=("a",))
def tensordot_da_rule(result, g, ct, a, b, axes):
    dct = np.tensordot(g, b, axes)
    db = tensordot_db(ct, g, b, axes)


@forward(tensordot_da, shape_only=("a",))
def tensordot_da_fwd(result, ct, a, b, axes, *, dct, db):
    dresult = tensordot_da(dct, a, b, axes) + tensordot_da(ct, a, db, axes)


@reverse(tensordot_db, shape_only=("b",))
def tensordot_db_rule(result, g, ct, a, b, axes):
    dct = np.tensordot(a, g, axes)
    da = tensordot_da(ct, a, g, axes)


@forward(tensordot_db, shape_only=("b",))
def tensordot_db_fwd(result, ct, a, b, axes, *, dct, da):
    dresult = tensordot_db(dct, a, b, axes) + tensordot_db(ct, da, b, axes)


@reverse(diag_vjp, shape_only=("v",))
def diag_vjp_rule(result, g, ct, v, k=0):
    dct = np.diag(g, k)


@forward(diag_vjp, shape_only=("v",))
def diag_vjp_fwd(result, ct, v, k=0, *, dct):
    dresult = diag_vjp(dct, v, k)


@reverse(diagonal_vjp, shape_only=("a",))
def diagonal_vjp_rule(result, g, ct, a, offset=0, axis1=0, axis2=1):
    dct = np.diagonal(g, offset, axis1, axis2)


@forward(diagonal_vjp, shape_only=("a",))
def diagonal_vjp_fwd(result, ct, a, offset=0, axis1=0, axis2=1, *, dct):
    dresult = diagonal_vjp(dct, a, offset, axis1, axis2)


@reverse(trace_vjp, shape_only=("a",))
def trace_vjp_rule(result, g, ct, a, offset=0, axis1=0, axis2=1):
    dct = np.trace(g, offset, axis1, axis2)


@forward(trace_vjp, shape_only=("a",))
def trace_vjp_fwd(result, ct, a, offset=0, axis1=0, axis2=1, *, dct):
    dresult = trace_vjp(dct, a, offset, axis1, axis2)
