"""Recursion as deep as Python allows the function itself (issue 18, raw exceptions).

A recursive call in generated code used to go through a stand-in object (two or three
Python frames per level), so derivatives failed with a bare RecursionError at about 330
levels while the function ran to 990. Now the derivative takes one frame per level, as
the function does, and past Python's limit it raises an ``ADError`` that names the limit
and ``sys.setrecursionlimit``.
"""

from __future__ import annotations

import sys

import pytest

import adcompiler as ad


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def halve_until_small(x):
    if x < 1e-3:
        return x
    return halve_until_small(x * 0.5) + 0.0 * x


def even_sum(x, n):
    if n == 0:
        return x
    return odd_sum(x * 1.001, n - 1)


def odd_sum(x, n):
    if n == 0:
        return x * 2.0
    return even_sum(x + 0.001, n - 1)


@pytest.mark.parametrize("depth", [10, 400, 800])
def test_regression_issue18_recursion_deeper_than_330_levels(depth):
    """At ``depth`` 400 every mode raised RecursionError; the function itself runs to
    about 990 levels under the default limit, and so does its derivative now."""
    x = 1.0001
    want = depth * x ** (depth - 1)
    assert ad.grad(power)(x, depth) == pytest.approx(want, rel=1e-12)
    assert ad.jvp(power, (x, depth), (1.0, None))[1] == pytest.approx(want, rel=1e-12)
    assert ad.vjp(power, x, depth)[1](1.0)[0] == pytest.approx(want, rel=1e-12)


def test_second_derivative_of_a_deep_recursion():
    x, depth = 1.0001, 500
    want = depth * (depth - 1) * x ** (depth - 2)
    assert ad.hessian(power)(x, depth) == pytest.approx(want, rel=1e-10)


def test_mutual_recursion_is_deep_too():
    x, depth = 0.5, 600
    ad.check_grads(even_sum, [x, depth])


def test_data_dependent_recursion_depth():
    ad.check_grads(halve_until_small, [900.0])


def test_beyond_the_limit_raises_an_ad_error_naming_the_limit():
    depth = sys.getrecursionlimit() + 100
    for run in (lambda: ad.grad(power)(1.0, depth),
                lambda: ad.jvp(power, (1.0, depth), (1.0, None)),
                lambda: ad.vjp(power, 1.0, depth)[1](1.0)):
        with pytest.raises(ad.ADError, match="setrecursionlimit") as info:
            run()
        assert not isinstance(info.value, RecursionError)
        assert info.value.filename == __file__


def test_a_raised_limit_is_honoured():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(6000)
    try:
        depth = 2500
        assert ad.grad(power)(1.0001, depth) == pytest.approx(depth * 1.0001 ** (depth - 1),
                                                              rel=1e-10)
    finally:
        sys.setrecursionlimit(old)
