"""Functions over containers of parameters, written as users write them."""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

Pair = namedtuple("Pair", "w b")


@dataclass
class Linear:
    w: np.ndarray
    b: np.ndarray
    name: str = "linear"


@dataclass(frozen=True)
class Frozen:
    scale: float
    steps: int


def dict_model(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    y = h @ params["W2"] + params["b2"]
    return np.sum(y * y)


def list_of_layers(layers, x):
    h = x
    for layer in layers:
        h = np.tanh(h * layer[0] + layer[1])
    return np.sum(h)


def tuple_unpack(params, x):
    w, b = params
    return np.sum((x * w + b) ** 2)


def namedtuple_attrs(p, x):
    return np.sum(np.sin(p.w * x) + p.b)


def dataclass_attrs(layer, x):
    return np.sum((x * layer.w + layer.b) ** 2)


def frozen_dataclass(cfg, x):
    y = x
    for _ in range(cfg.steps):
        y = y * cfg.scale
    return y * y


def nested(tree, x):
    inner = tree["inner"]
    return np.sum(inner[0] * x) + tree["scale"] * np.sum(inner[1].w * x)


def items_loop(params, x):
    total = 0.0
    for _name, value in params.items():
        total = total + np.sum(value * x)
    return total


def builds_tuple(x):
    pair = (x * 2.0, x * 3.0)
    first, second = pair
    return np.sum(first * second)


def uses_len(layers, x):
    n = len(layers)
    return np.sum(layers[0] * x) / n


def returns_dict(x):
    return {"a": x * 2.0, "b": np.sin(x)}


def _layer_of_list(params, x):
    return params[1] * np.tanh(params[0] * x)


def list_through_helper(params, x):
    return np.sum(_layer_of_list(params, x))


def _optional_bias(p, x):
    out = x * p["w"]
    if "b" in p:
        out = out + p["b"]
    return out


def dict_literal_through_helper(w, x):
    return np.sum(_optional_bias({"w": w}, x))
