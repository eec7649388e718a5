"""Helpers in a second module, called from tests/corpus_control.py."""

import numpy as np

OFFSET = 0.25


def cube_plus(x, c=1.0):
    return x * x * x + c * x


def smooth_step(x):
    if x < 0.0:
        return 0.5 * np.exp(x)
    return 1.0 - 0.5 * np.exp(-x)


def weighted(values, weights):
    total = 0.0
    for v, w in zip(values, weights, strict=True):
        total = total + v * w
    return total + OFFSET


class Scaler:
    """A user object whose methods are differentiated through."""

    def __init__(self, factor):
        self.factor = factor

    def apply(self, x):
        return self.factor * x * x

    def twice(self, x):
        return self.apply(x) + self.apply(x * 0.5)
