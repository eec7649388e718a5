"""The benchmark workloads (issue 8): primal, hand-written NumPy gradient, seeded arguments.

Each primal is a plain module-level function written against the global name ``np`` so that
the peers (autograd, jax) can run the very same code with their NumPy namespace swapped in
(see ``peers.py``). Hand-written gradients are what a careful person writes: one forward
pass keeping what the backward pass needs, fused expressions, no dead work. They are
verified against central finite differences in ``tests/test_benchmarks.py``.

A gradient for a tuple ``wrt`` is a tuple in that order, exactly as ``ad.grad`` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import adcompiler as ad

# ----------------------------------------------------------------------------- primals


def rosenbrock2(x, y):
    return 100.0 * (y - x * x) ** 2 + (1.0 - x) ** 2


def rosenbrock2_grad(x, y):
    d = y - x * x
    return -400.0 * x * d - 2.0 * (1.0 - x), 200.0 * d


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    head = x[:-1]
    d = x[1:] - head * head
    g = np.zeros_like(x)
    g[:-1] = -400.0 * head * d - 2.0 * (1.0 - head)
    g[1:] += 200.0 * d
    return g


def logreg(w, b, X, y):
    z = X @ w + b
    return np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))


def logreg_grad(w, b, X, y):
    z = X @ w + b
    dz = (1.0 / (1.0 + np.exp(-z)) - y) / z.shape[0]
    return X.T @ dz, float(np.sum(dz))


def mlp(params, x, onehot):
    h = np.tanh(x @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    m = np.max(logits, axis=1, keepdims=True)
    s = logits - m
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(onehot * logp) / x.shape[0]


def mlp_grad(params, x, onehot):
    h = np.tanh(x @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    dlogits = (e / np.sum(e, axis=1, keepdims=True) - onehot) / x.shape[0]
    dz1 = (dlogits @ params["W2"].T) * (1.0 - h * h)
    return {
        "W1": x.T @ dz1,
        "b1": np.sum(dz1, axis=0),
        "W2": h.T @ dlogits,
        "b2": np.sum(dlogits, axis=0),
    }


def rnn(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_grad(Wx, Wh, b, xs, h0):
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        hs.append(h)
    dh = 2.0 * h
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros_like(b)
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        dz = dh * (1.0 - h * h)
        dWx += xs[t].T @ dz
        dWh += hs[t].T @ dz
        db += np.sum(dz, axis=0)
        dh = dz @ Wh.T
    return dWx, dWh, db


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.tanh(x))


def elementwise_grad(x):
    e = np.exp(-x * x)
    th = np.tanh(x)
    return (np.cos(x) - 2.0 * x * np.sin(x)) * e + (1.0 - th * th)


def while_loop(x, n):
    i = 0
    while i < n:
        x = x - 0.1 * np.sin(x) * x
        i += 1
    return x


def while_loop_grad(x, n):
    # forward accumulation of dx_k/dx_0: what a person writes for a scalar recurrence
    dx = 1.0
    i = 0
    while i < n:
        s = np.sin(x)
        dx = dx * (1.0 - 0.1 * (np.cos(x) * x + s))
        x = x - 0.1 * s * x
        i += 1
    return dx


# ----------------------------------------------------------------------------- arguments


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def rosenbrock2_args(size: Any) -> tuple:
    return (-1.2, 1.0)


def rosenbrock_args(n: int) -> tuple:
    return (_rng().uniform(-1.5, 1.5, n),)


def logreg_args(shape: tuple[int, int]) -> tuple:
    n, d = shape
    r = _rng()
    X = r.standard_normal((n, d))
    y = (r.random(n) < 0.5).astype(np.float64)
    return (r.standard_normal(d) * 0.1, 0.1, X, y)


def mlp_args(batch: int) -> tuple:
    r = _rng()
    params = {
        "W1": r.standard_normal((784, 256)) / 28.0,
        "b1": r.standard_normal(256) * 0.01,
        "W2": r.standard_normal((256, 10)) / 16.0,
        "b2": r.standard_normal(10) * 0.01,
    }
    x = r.standard_normal((batch, 784))
    onehot = np.eye(10)[r.integers(0, 10, batch)]
    return (params, x, onehot)


RNN_INPUT, RNN_HIDDEN, RNN_BATCH = 32, 64, 16


def rnn_args(T: int) -> tuple:
    r = _rng()
    Wx = r.standard_normal((RNN_INPUT, RNN_HIDDEN)) / np.sqrt(RNN_INPUT)
    Wh = r.standard_normal((RNN_HIDDEN, RNN_HIDDEN)) / np.sqrt(RNN_HIDDEN) * 0.9
    b = r.standard_normal(RNN_HIDDEN) * 0.01
    xs = r.standard_normal((T, RNN_BATCH, RNN_INPUT))
    h0 = np.zeros((RNN_BATCH, RNN_HIDDEN))
    return (Wx, Wh, b, xs, h0)


def elementwise_args(n: int) -> tuple:
    return (_rng().standard_normal(n),)


def while_loop_args(n: int) -> tuple:
    return (0.7, n)


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Workload:
    """A primal, its hand-written gradient, the ``wrt`` and a seeded argument builder."""

    name: str
    primal: Callable[..., Any]
    hand_grad: Callable[..., Any]
    wrt: int | tuple[int, ...]
    build: Callable[[Any], tuple]
    sizes: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def args(self, size: str) -> tuple:
        """Fresh, seeded arguments at size ``small`` or ``default``."""
        return self.build(self.sizes[size])

    def size_label(self, size: str) -> str:
        value = self.sizes[size]
        if isinstance(value, tuple):
            return "x".join(str(v) for v in value)
        return str(value)

    def adcompiler_grad(self) -> Callable[..., Any]:
        return ad.grad(self.primal, wrt=self.wrt)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("rosenbrock2", rosenbrock2, rosenbrock2_grad, (0, 1), rosenbrock2_args,
                 {"small": "2 floats", "default": "2 floats"},
                 "Rosenbrock on two Python floats, wrt both"),
        Workload("rosenbrock", rosenbrock, rosenbrock_grad, 0, rosenbrock_args,
                 {"small": 100, "default": 10_000}, "vector Rosenbrock, N"),
        Workload("logreg", logreg, logreg_grad, (0, 1), logreg_args,
                 {"small": (100, 10), "default": (10_000, 100)},
                 "logistic regression, BCE with logits, NxD, wrt w and b"),
        Workload("mlp", mlp, mlp_grad, 0, mlp_args, {"small": 16, "default": 128},
                 "784-256-10 tanh MLP, softmax cross-entropy (one-hot), batch; wrt a dict of 4"),
        Workload("rnn", rnn, rnn_grad, (0, 1, 2), rnn_args, {"small": 10, "default": 50},
                 "vanilla tanh RNN, for t in range(T), hidden 64, batch 16, input 32; T"),
        Workload("elementwise", elementwise, elementwise_grad, 0, elementwise_args,
                 {"small": 1_000, "default": 1_000_000},
                 "sum(sin(x)*exp(-x**2) + tanh(x)), N"),
        Workload("while_loop", while_loop, while_loop_grad, 0, while_loop_args,
                 {"small": 10, "default": 100}, "Python-float while loop, iterations"),
    ]
}


# ----------------------------------------------------------------------------- checkpoint (issue 7)

CHECKPOINT_LAYERS, CHECKPOINT_WIDTH, CHECKPOINT_BATCH = 8, 256, 128


def layer(h, W, b):
    z = h @ W + b
    return np.tanh(z) * (1.0 + 0.1 * np.sin(z))


checkpointed_layer = ad.checkpoint(layer)


def deep_mlp(Ws, bs, x):
    h = x
    for i in range(len(Ws)):
        h = layer(h, Ws[i], bs[i])
    return np.sum(h * h)


def deep_mlp_checkpointed(Ws, bs, x):
    h = x
    for i in range(len(Ws)):
        h = checkpointed_layer(h, Ws[i], bs[i])
    return np.sum(h * h)


def deep_mlp_grad(Ws, bs, x):
    hs, zs = [x], []
    h = x
    for W, b in zip(Ws, bs, strict=True):
        z = h @ W + b
        zs.append(z)
        h = np.tanh(z) * (1.0 + 0.1 * np.sin(z))
        hs.append(h)
    dh = 2.0 * h
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    for i in range(len(Ws) - 1, -1, -1):
        z = zs[i]
        th = np.tanh(z)
        dz = dh * ((1.0 - th * th) * (1.0 + 0.1 * np.sin(z)) + th * 0.1 * np.cos(z))
        dWs[i] = hs[i].T @ dz
        dbs[i] = np.sum(dz, axis=0)
        dh = dz @ Ws[i].T
    return dWs, dbs


def deep_mlp_args(layers: int = CHECKPOINT_LAYERS, width: int = CHECKPOINT_WIDTH,
                  batch: int = CHECKPOINT_BATCH) -> tuple:
    r = _rng()
    Ws = [r.standard_normal((width, width)) / np.sqrt(width) for _ in range(layers)]
    bs = [r.standard_normal(width) * 0.01 for _ in range(layers)]
    return (Ws, bs, r.standard_normal((batch, width)))
