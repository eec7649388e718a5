"""A training loop over a nested dict of parameters (issue: containers).

The gradient of the loss has exactly the structure of the parameters, a dict of dicts of
arrays, so the update is one ``tree_map`` and nothing has to be flattened by hand.

    python examples/nested_params_training.py
"""

from __future__ import annotations

import numpy as np

import adcompiler as ad
from adcompiler.pytree import tree_map


def init(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "encoder": {"W": rng.standard_normal((3, 8)) * 0.5, "b": np.zeros(8)},
        "head": {"W": rng.standard_normal((8, 1)) * 0.5, "b": np.zeros(1)},
    }


def loss(params, x, y):
    enc, head = params["encoder"], params["head"]
    hidden = np.tanh(x @ enc["W"] + enc["b"])
    prediction = hidden @ head["W"] + head["b"]
    return np.mean((prediction[:, 0] - y) ** 2)


def data(n: int = 64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]
    return x, y


def run(steps: int = 300, lr: float = 0.1) -> list[float]:
    """Plain gradient descent; returns the loss at every step."""
    params = init()
    x, y = data()
    value_and_grad = ad.value_and_grad(loss)
    losses = []
    for _ in range(steps):
        value, grads = value_and_grad(params, x, y)
        params = tree_map(lambda p, g: p - lr * g, params, grads)
        losses.append(float(value))
    return losses


def main() -> None:
    losses = run()
    for step in (0, 50, 100, 200, len(losses) - 1):
        print(f"step {step:4d}: loss {losses[step]:.6f}")
    print()
    print(ad.grad(loss).source)


if __name__ == "__main__":
    main()
