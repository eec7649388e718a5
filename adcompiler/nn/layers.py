"""Layers as plain functions over parameter dicts, differentiated by adcompiler.

Images are NCHW: ``(batch, channels, height, width)``. Parameters are dicts of arrays
(``{"w": ..., "b": ...}``), so ``ad.grad`` of a loss with respect to them gives a dict
of the same keys.

``conv2d`` is written as a loop over the kernel offsets ``(i, j)``: each step takes the
strided slice of the (padded) input that kernel entry ``(i, j)`` sees for every output
pixel and contracts it with ``w[:, :, i, j]`` over the input channels (an ``einsum``).
Slicing, ``np.pad`` and ``einsum`` all have derivative rules, so the compiler
differentiates it as it is; ``sliding_window_view`` has no rule, which is why it is not
used. ``max_pool2d`` reshapes into non-overlapping windows and takes ``max`` over the
window axes; at ties the cotangent is split equally among the tied entries (the house
convention for ``max`` reductions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["avg_pool2d", "conv2d", "dense", "flatten", "max_pool2d"]


def dense(params: dict, x: Any) -> Any:
    """``x @ params["w"] + params["b"]``; ``x`` is ``(batch, in)``, ``w`` is ``(in, out)``."""
    return x @ params["w"] + params["b"]


def conv2d(params: dict, x: Any, stride: int = 1, padding: int = 0) -> Any:
    """2-D convolution (cross-correlation, as in deep-learning libraries), NCHW.

    ``params["w"]`` has shape ``(out_channels, in_channels, kh, kw)`` and the optional
    ``params["b"]`` shape ``(out_channels,)``. Output: ``(n, out_channels, h_out, w_out)``
    with ``h_out = (h + 2 * padding - kh) // stride + 1`` (likewise ``w_out``).
    """
    # the bias is read before the kernel (not in an ``if`` after it): see the note in
    # docs/nn.md on branches over a differentiated dict
    bias = 0.0
    if "b" in params:
        bias = np.reshape(params["b"], (1, -1, 1, 1))
    w = params["w"]
    if padding > 0:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh = w.shape[2]
    kw = w.shape[3]
    h_out = (x.shape[2] - kh) // stride + 1
    w_out = (x.shape[3] - kw) // stride + 1
    out = 0.0
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + h_out * stride:stride, j:j + w_out * stride:stride]
            out = out + np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + bias


def max_pool2d(x: Any, size: int = 2) -> Any:
    """Max over non-overlapping ``size`` x ``size`` windows (stride = size), NCHW.

    Height and width must be multiples of ``size``. Ties split the cotangent equally.
    """
    n, c, h, w = x.shape
    windows = np.reshape(x, (n, c, h // size, size, w // size, size))
    return np.max(windows, axis=(3, 5))


def avg_pool2d(x: Any, size: int = 2) -> Any:
    """Mean over non-overlapping ``size`` x ``size`` windows (stride = size), NCHW."""
    n, c, h, w = x.shape
    windows = np.reshape(x, (n, c, h // size, size, w // size, size))
    return np.mean(windows, axis=(3, 5))


def flatten(x: Any) -> Any:
    """``(batch, ...)`` to ``(batch, features)``."""
    return np.reshape(x, (x.shape[0], -1))
