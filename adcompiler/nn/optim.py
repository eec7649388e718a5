"""Optimisers as pure functions over any parameter container (dict, list, dataclass...).

Each optimiser is a pair ``init(params) -> state`` and
``update(params, grads, state) -> (new_params, new_state)``; nothing is mutated.
``grads`` has the structure of ``params`` (which is what ``ad.grad`` returns).

>>> import numpy as np
>>> opt = sgd(lr=0.1)
>>> params = {"w": np.array([1.0, 2.0])}
>>> params, state = opt.update(params, {"w": np.array([1.0, -1.0])}, opt.init(params))
>>> params["w"]
array([0.9, 2.1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..pytree import tree_map

__all__ = ["AdamState", "Optimizer", "SGDState", "adam", "sgd"]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(params, grads, state) -> (params, state)``."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class SGDState(NamedTuple):
    velocity: Any  # same structure as params; None without momentum


class AdamState(NamedTuple):
    step: int
    m: Any  # first-moment estimate, structure of params
    v: Any  # second-moment estimate, structure of params


def _zeros_like(tree: Any) -> Any:
    return tree_map(np.zeros_like, tree)


def sgd(lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as in PyTorch.

    Without momentum ``p <- p - lr * g``. With momentum ``v <- momentum * v + g`` then
    ``p <- p - lr * v`` (or ``p - lr * (g + momentum * v)`` with ``nesterov=True``).
    """

    def init(params: Any) -> SGDState:
        return SGDState(_zeros_like(params) if momentum else None)

    def update(params: Any, grads: Any, state: SGDState) -> tuple[Any, SGDState]:
        if not momentum:
            return tree_map(lambda p, g: p - lr * g, params, grads), state
        velocity = tree_map(lambda v, g: momentum * v + g, state.velocity, grads)
        step = (tree_map(lambda g, v: g + momentum * v, grads, velocity) if nesterov
                else velocity)
        return tree_map(lambda p, s: p - lr * s, params, step), SGDState(velocity)

    return Optimizer(init, update)


def adam(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba): bias-corrected first and second moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g**2``, at step ``t`` (from 1)
    ``p <- p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``.
    """

    def init(params: Any) -> AdamState:
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def update(params: Any, grads: Any, state: AdamState) -> tuple[Any, AdamState]:
        t = state.step + 1
        m = tree_map(lambda m, g: b1 * m + (1.0 - b1) * g, state.m, grads)
        v = tree_map(lambda v, g: b2 * v + (1.0 - b2) * g * g, state.v, grads)
        c1 = 1.0 - b1 ** t
        c2 = 1.0 - b2 ** t
        new = tree_map(lambda p, m, v: p - lr * (m / c1) / (np.sqrt(v / c2) + eps),
                       params, m, v)
        return new, AdamState(t, m, v)

    return Optimizer(init, update)
