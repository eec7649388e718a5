"""Parameter initialisers with an explicit seed; each returns a fresh parameter dict.

``glorot_uniform`` (Xavier): ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.
``he_uniform`` (Kaiming, for relu): ``U(-a, a)`` with ``a = sqrt(6 / fan_in)``.
For a conv kernel ``(out, in, kh, kw)`` the fans are ``in * kh * kw`` and
``out * kh * kw``. Biases start at zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["conv_params", "dense_params", "glorot_uniform", "he_uniform", "mlp_params"]


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform samples of ``shape`` (``(in, out)`` or ``(out, in, kh, kw)``)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=tuple(shape))


def he_uniform(shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming uniform samples of ``shape`` (``(in, out)`` or ``(out, in, kh, kw)``)."""
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=tuple(shape))


_SCHEMES = {"glorot": glorot_uniform, "he": he_uniform}


def dense_params(n_in: int, n_out: int, seed: int = 0, scheme: str = "glorot",
                 rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """``{"w": (n_in, n_out), "b": zeros(n_out)}`` for :func:`adcompiler.nn.dense`."""
    rng = np.random.default_rng(seed) if rng is None else rng
    return {"w": _SCHEMES[scheme]((n_in, n_out), rng), "b": np.zeros(n_out)}


def conv_params(in_channels: int, out_channels: int, kernel: int, seed: int = 0,
                scheme: str = "he",
                rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """``{"w": (out, in, kernel, kernel), "b": zeros(out)}`` for :func:`adcompiler.nn.conv2d`."""
    rng = np.random.default_rng(seed) if rng is None else rng
    shape = (out_channels, in_channels, kernel, kernel)
    return {"w": _SCHEMES[scheme](shape, rng), "b": np.zeros(out_channels)}


def mlp_params(sizes: Sequence[int], seed: int = 0,
               scheme: str = "he") -> list[dict[str, np.ndarray]]:
    """A list of dense layer dicts for layer sizes ``sizes`` (e.g. ``[2, 10, 1]``)."""
    rng = np.random.default_rng(seed)
    return [dense_params(a, b, scheme=scheme, rng=rng)
            for a, b in itertools.pairwise(sizes)]
