"""Losses, written as ordinary NumPy code that adcompiler differentiates.

All losses reduce to a scalar mean by default, so ``ad.grad`` applies directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import log_softmax, softplus

__all__ = ["binary_cross_entropy_with_logits", "mse", "softmax_cross_entropy"]


def mse(prediction: Any, target: Any) -> Any:
    """Mean squared error ``mean((prediction - target) ** 2)``."""
    diff = prediction - target
    return np.mean(diff * diff)


def binary_cross_entropy_with_logits(logits: Any, labels: Any, weight: Any = None,
                                     pos_weight: Any = None,
                                     reduction: str = "mean") -> Any:
    """Binary cross-entropy on logits, as MindSpore's ``ops.binary_cross_entropy_with_logits``.

    Per element ``-weight * (pos_weight * y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))``,
    computed stably as ``weight * (pos_weight * y * softplus(-z) + (1 - y) * softplus(z))``.
    ``weight`` and ``pos_weight`` broadcast against ``logits``; ``reduction`` is
    ``"mean"`` (default), ``"sum"`` or ``"none"``.
    """
    if pos_weight is None:
        per_item = labels * softplus(-logits) + (1.0 - labels) * softplus(logits)
    else:
        per_item = pos_weight * labels * softplus(-logits) + (1.0 - labels) * softplus(logits)
    if weight is not None:
        per_item = weight * per_item
    if reduction == "mean":
        return np.mean(per_item)
    if reduction == "sum":
        return np.sum(per_item)
    return per_item


def softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean cross-entropy of ``softmax(logits)`` (shape ``(n, classes)``) and integer labels.

    ``labels`` holds class indices (shape ``(n,)``); the picked log-probabilities
    ``logp[np.arange(n), labels]`` are read by fancy indexing, whose derivative scatters
    (and accumulates) the cotangent back into the picked entries.
    """
    logp = log_softmax(logits, axis=-1)
    n = logits.shape[0]
    return -np.mean(logp[np.arange(n), labels])
