"""``check_grads``: compare generated derivatives with central finite differences.

Meant to be called from tests. Differences are taken in float64 whatever the argument's
dtype, with a step scaled to each coordinate, and compared coordinate by coordinate so a
failure names the argument, the index and both values. For functions with a non-scalar
output the check goes through ``vjp`` with a random cotangent (the dot-product form
``<w, J v>``), so every output coordinate takes part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import api
from .frontend.parse import unwrap

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


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    wrt: int | str | Sequence[int | str] = 0,
    *,
    modes: Sequence[str] = ("reverse",),
    order: int = 1,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> None:
    """Raise ``AssertionError`` unless the generated derivatives match finite differences.

    ``modes`` lists the modes to check; this release generates reverse mode.
    """
    unknown = set(modes) - {"reverse"}
    if unknown:
        raise ValueError(f"modes {sorted(unknown)} are not available in this release; "
                         "use modes=('reverse',)")
    if order != 1:
        raise ValueError("order=2 needs forward mode, which this release does not generate")
    func = unwrap(f)
    params = api._param_names(func)
    names, _ = api._wrt_names(func, wrt)
    indices = [params.index(n) for n in names]
    args = list(args)
    rng = np.random.default_rng(seed)
    value = f(*args)
    if np.size(value) == 1 and not isinstance(value, tuple | list | dict):
        grads = api.grad(f, tuple(indices))(*args)
        for index, name, g in zip(indices, names, grads, strict=True):
            _compare(name, "gradient", g, numerical_grad(f, args, index), atol, rtol)
        return
    cotangent = rng.standard_normal(np.shape(value))
    _, pullback = api.vjp(f, *args)
    cotangents = pullback(cotangent)
    for index, name in zip(indices, names, strict=True):
        _compare(name, "vector-Jacobian product", cotangents[index],
                 numerical_grad(f, args, index, cotangent), atol, rtol)
