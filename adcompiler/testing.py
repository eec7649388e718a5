"""``check_grads``: compare generated derivatives with central finite differences.

Meant to be called from tests. Differences are taken in float64 whatever the argument's
dtype, with a step scaled to each coordinate, and compared coordinate by coordinate so a
failure names the argument, the index and both values. For functions with a non-scalar
output the check goes through ``vjp`` with a random cotangent (the dot-product form
``<w, J v>``), so every output coordinate takes part.

Forward mode is checked with a random tangent ``v`` per argument: ``jvp`` must match the
central directional difference ``(f(x + h v) - f(x - h v)) / 2h``, and, when both modes
are checked, forward and reverse must agree in the dot-product test
``<J v, w> = <v, J^T w>`` for a random output cotangent ``w``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import api
from .pytree import is_container, tree_leaves, tree_map
from .tracebacks import api_boundary

__all__ = ["check_grads", "numerical_grad"]


def _as_float64(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    return np.array(value, dtype=np.float64)


def _evaluate(f: Callable[..., Any], args: list[Any]) -> np.ndarray:
    return np.asarray(f(*args), dtype=np.float64)


def numerical_grad(f: Callable[..., Any], args: Sequence[Any], index: int,
                   cotangent: np.ndarray | None = None, eps: float = 1e-6) -> Any:
    """Central-difference gradient of ``<cotangent, f(*args)>`` w.r.t. ``args[index]``."""
    args = [_as_float64(a) if i == index else a for i, a in enumerate(args)]
    x = args[index]
    flat = np.array(x, dtype=np.float64).ravel()
    out = np.zeros_like(flat)
    for k in range(flat.size):
        step = eps * max(1.0, abs(flat[k]))
        values = []
        for sign in (1.0, -1.0):
            moved = flat.copy()
            moved[k] += sign * step
            arg = float(moved[0]) if isinstance(x, float) else moved.reshape(np.shape(x))
            trial = list(args)
            trial[index] = arg
            y = _evaluate(f, trial)
            values.append(float(np.sum(y * cotangent)) if cotangent is not None
                          else float(np.sum(y)))
        out[k] = (values[0] - values[1]) / (2 * step)
    return float(out[0]) if isinstance(x, float) else out.reshape(np.shape(x))


def _compare(name: str, what: str, got: Any, want: Any, atol: float, rtol: float) -> None:
    got_arr = np.asarray(got, dtype=np.float64)
    want_arr = np.asarray(want, dtype=np.float64)
    if got_arr.shape != want_arr.shape:
        raise AssertionError(f"{what} of argument {name!r}: shape {got_arr.shape}, finite "
                             f"differences give shape {want_arr.shape}")
    bad = ~np.isclose(got_arr, want_arr, atol=atol, rtol=rtol)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what} of argument {name!r} at index {index}: generated {got_arr[index]!r}, "
            f"finite differences {want_arr[index]!r} ({int(bad.sum())} of {bad.size} "
            "entries differ)")


@api_boundary
def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    wrt: int | str | Sequence[int | str] = 0,
    *,
    modes: Sequence[str] = ("reverse", "forward"),
    order: int = 1,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    argnums: int | Sequence[int] | None = None,
) -> None:
    """Raise ``AssertionError`` unless the generated derivatives match finite differences.

    ``modes`` lists the modes to check: ``"reverse"`` (gradients or vector-Jacobian
    products) and ``"forward"`` (Jacobian-vector products); with both, also the
    dot-product test between them. ``order=2`` also checks second derivatives of a
    scalar ``f``: Hessian-vector products (forward over reverse) against central
    differences of the generated gradient, and the symmetry of the Hessian.
    """
    unknown = set(modes) - {"reverse", "forward"}
    if unknown:
        raise ValueError(f"modes {sorted(unknown)} are not known; use 'reverse' and/or "
                         "'forward'")
    if order not in (1, 2):
        raise ValueError(f"order={order!r}: check_grads checks order 1 or 2")
    func = api._function(f)  # what calling f runs (a decorator's wrapper included)
    params = api._param_names(func)
    names, _ = api._wrt_names(func, api._chosen_wrt(f, wrt if argnums is None else None,
                                                     argnums))
    indices = [params.index(n) for n in names]
    # ``args`` is the tuple (or list) of arguments; a bare array or number is the one
    # argument of a one-argument function (check_grads(f, x) as well as (f, (x,)))
    args = list(args) if isinstance(args, tuple | list) else [args]
    rng = np.random.default_rng(seed)
    value = f(*args)
    if "reverse" in modes:
        _check_reverse(f, args, names, indices, value, rng, atol, rtol)
    if "forward" in modes:
        _check_forward(f, args, names, indices, value, rng, atol, rtol,
                       dot_product="reverse" in modes)
    if order == 2:
        _check_second(f, args, names, indices, value, rng, atol, rtol)


def _check_second(f: Callable[..., Any], args: list[Any], names: list[str],
                  indices: list[int], value: Any, rng: np.random.Generator, atol: float,
                  rtol: float) -> None:
    """Hessian-vector products (forward over reverse) against central differences of
    the generated gradient, and the symmetry <w, H v> = <v, H w> of the Hessian."""
    if np.size(value) != 1 or isinstance(value, tuple | list | dict):
        raise ValueError("order=2 checks second derivatives of a scalar-valued function; "
                         f"this one returned shape {np.shape(value)}")
    if any(is_container(args[i]) for i in indices):
        raise ValueError("order=2 checks float and array arguments, not containers")
    wrt = tuple(indices)
    gradient = api.grad(f, wrt)
    product = api.hvp(f, wrt)
    v = [_random_tangent(args[i], rng) for i in indices]
    w = [_random_tangent(args[i], rng) for i in indices]
    hv = product(*args, tuple(v))
    hw = product(*args, tuple(w))
    sizes = [float(np.max(np.abs(np.asarray(args[i], dtype=np.float64))))
             for i in indices if np.size(args[i])]
    step = 1e-5 * max([1.0, *sizes])
    shifted = []
    for sign in (1.0, -1.0):
        moved = list(args)
        for i, t in zip(indices, v, strict=True):
            moved[i] = _moved(_as_float64(args[i]), t, sign * step)
        shifted.append(gradient(*moved))
    for k, name in enumerate(names):
        numeric = (np.asarray(shifted[0][k], dtype=np.float64)
                   - np.asarray(shifted[1][k], dtype=np.float64)) / (2 * step)
        _compare(name, "Hessian-vector product", hv[k], numeric, atol, max(rtol, 1e-3))
    left = sum(float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b)))
               for a, b in zip(w, hv, strict=True))
    right = sum(float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b)))
                for a, b in zip(v, hw, strict=True))
    if not np.isclose(left, right, atol=atol, rtol=rtol):
        raise AssertionError(f"symmetry of the Hessian: <w, H v> = {left!r}, "
                             f"<v, H w> = {right!r}")


def _check_reverse(f: Callable[..., Any], args: list[Any], names: list[str],
                   indices: list[int], value: Any, rng: np.random.Generator, atol: float,
                   rtol: float) -> None:
    scalar = np.size(value) == 1 and not isinstance(value, tuple | list | dict)
    if scalar:
        grads = api.grad(f, tuple(indices))(*args)
        cotangent = None
    else:
        cotangent = rng.standard_normal(np.shape(value))
        _, pullback = api.vjp(f, *args)
        everything = pullback(cotangent)
        grads = tuple(everything[i] for i in indices)
    what = "gradient" if scalar else "vector-Jacobian product"
    for index, name, g in zip(indices, names, grads, strict=True):
        if is_container(args[index]):
            # a container argument: the gradient along a random direction of its leaves
            v = _random_tangent(args[index], rng)
            numeric = _directional(f, args, index, v)
            weights = np.ravel(cotangent) if cotangent is not None else np.ones(1)
            _compare(name, f"{what} along a random direction",
                     float(np.dot(_flat(g, args[index]), _flat(v, args[index]))),
                     float(np.dot(weights, numeric)), atol, rtol)
            continue
        _compare(name, what, g, numerical_grad(f, args, index, cotangent), atol, rtol)


def _directional(f: Callable[..., Any], args: list[Any], index: int, v: Any) -> np.ndarray:
    """Central difference of the flattened output of ``f`` along ``v`` at ``args[index]``."""
    x = args[index]
    sizes = [float(np.max(np.abs(np.asarray(leaf, dtype=np.float64))))
             for leaf in _leaves(x) if _float_leaf(leaf) and np.size(leaf)]
    step = 1e-6 * max([1.0, *sizes])
    base = [_as_float64(a) if i == index and not is_container(a) else a
            for i, a in enumerate(args)]
    plus, minus = list(base), list(base)
    plus[index] = _moved(base[index], v, step)
    minus[index] = _moved(base[index], v, -step)
    return (_flat(f(*plus)) - _flat(f(*minus))) / (2 * step)


def _float_leaf(x: Any) -> bool:
    return api._float_like(x) or (isinstance(x, float))


def _random_tangent(x: Any, rng: np.random.Generator) -> Any:
    def leaf(v: Any) -> Any:
        if not _float_leaf(v):
            return None
        t = rng.standard_normal(np.shape(v))
        return float(t) if isinstance(v, float) else t.astype(np.asarray(v).dtype)

    return tree_map(leaf, x) if is_container(x) else leaf(x)


def _moved(x: Any, v: Any, step: float) -> Any:
    def leaf(a: Any, t: Any) -> Any:
        if t is None:
            return a
        moved = np.asarray(a, dtype=np.float64) + step * np.asarray(t, dtype=np.float64)
        return float(moved) if isinstance(a, float) else moved

    return tree_map(leaf, x, v) if is_container(x) else leaf(x, v)


def _leaves(value: Any) -> list[Any]:
    return tree_leaves(value) if is_container(value) else [value]


def _flat(value: Any, like: Any = None) -> np.ndarray:
    """The numeric leaves of ``value`` in one float64 vector (None counts as zeros)."""
    shapes = [np.shape(leaf) for leaf in _leaves(like if like is not None else value)]
    parts = [np.zeros(shape) if leaf is None else np.ravel(np.asarray(leaf, dtype=np.float64))
             for leaf, shape in zip(_leaves(value), shapes, strict=True)]
    return np.concatenate([np.ravel(p) for p in parts]) if parts else np.zeros(0)


def _check_forward(f: Callable[..., Any], args: list[Any], names: list[str],
                   indices: list[int], value: Any, rng: np.random.Generator, atol: float,
                   rtol: float, dot_product: bool) -> None:
    """jvp against central directional differences, then <J v, w> = <v, J^T w>."""
    for index, name in zip(indices, names, strict=True):
        x = args[index]
        v = _random_tangent(x, rng)
        tangents: list[Any] = [None] * len(args)
        tangents[index] = v
        _, jv = api.jvp(f, tuple(args), tuple(tangents))
        numeric = _directional(f, args, index, v)
        _compare(name, "Jacobian-vector product (flattened output)", _flat(jv, value),
                 numeric,
                 atol, rtol)
        if not dot_product or is_container(value):
            continue
        w = rng.standard_normal(np.shape(value))
        _, pullback = api.vjp(f, *args)
        jtw = pullback(w if np.shape(value) else float(w))[index]
        left = float(np.sum(np.asarray(jv, dtype=np.float64) * w))
        right = float(np.dot(_flat(v, x), _flat(jtw, x)))
        if not np.isclose(left, right, atol=atol, rtol=rtol):
            raise AssertionError(
                f"dot-product test for argument {name!r}: forward <J v, w> = {left!r}, "
                f"reverse <v, J^T w> = {right!r}")
