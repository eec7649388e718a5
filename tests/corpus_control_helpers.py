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


class Cubic:
    """x**3 + b x - a = 0, solved by Newton's method through its own methods."""

    def __init__(self, b, start=1.0):
        self.b = b
        self.start = start

    def value(self, x, a):
        return x * x * x + self.b * x - a

    def slope(self, x):
        return 3.0 * x * x + self.b

    def root(self, a, steps=30):
        x = self.start
        for _ in range(steps):
            x = x - self.value(x, a) / self.slope(x)
        return x


class ShiftedCubic(Cubic):
    """Overrides ``value`` (x**3 + b x - a - 1): ``root``, inherited, must call this one."""

    def value(self, x, a):
        return x * x * x + self.b * x - a - 1.0


def offset_total(*xs):
    """Reads the global OFFSET, which corpus_control does not import."""
    total = 0.0
    for x in xs:
        total = total + x
    return total + OFFSET
