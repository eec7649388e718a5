"""The steady-state shortcut of ``ad.grad``: plain arguments of kinds seen before skip
the general bookkeeping. It must never serve stale code or the wrong types."""

import numpy as np
import pytest

import adcompiler as ad

SCALE = 2.0


def scaled(x):
    return np.sum(SCALE * x ** 2)


def two(x, y):
    return x * y ** 2


def test_rebinding_a_global_is_seen_on_the_next_call():
    global SCALE
    g = ad.grad(scaled)
    x = np.array([1.0, 3.0])
    np.testing.assert_allclose(g(x), 4.0 * x)
    np.testing.assert_allclose(g(x), 4.0 * x)  # the shortcut
    try:
        SCALE = 5.0
        np.testing.assert_allclose(g(x), 10.0 * x)
    finally:
        SCALE = 2.0
    np.testing.assert_allclose(g(x), 4.0 * x)


def test_types_follow_each_call_not_the_first():
    g = ad.grad(two, (0, 1))
    assert g(2.0, 3.0) == (9.0, 12.0)
    assert all(type(v) is float for v in g(2.0, 3.0))
    out = g(np.array([2.0], dtype=np.float32), np.array([3.0], dtype=np.float32))
    assert all(v.dtype == np.float32 for v in out)
    out = g(np.array([2.0]), np.array([3.0]))
    assert all(v.dtype == np.float64 for v in out)
    assert all(type(v) is float for v in g(2.0, 3.0))


def test_an_integer_argument_is_still_refused_after_float_calls():
    g = ad.grad(two)
    assert g(2.0, 3.0) == 9.0
    with pytest.raises(ad.ADError, match="integer"):
        g(2, 3.0)


def test_a_non_scalar_output_is_still_an_error_on_the_shortcut():
    g = ad.grad(two)
    assert g(2.0, 3.0) == 9.0
    with pytest.raises(ad.NonScalarOutputError):
        g(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    g(np.array(1.0), np.array(2.0))
    with pytest.raises(ad.NonScalarOutputError):
        g(np.array([1.0, 2.0]), np.array([1.0, 2.0]))


def test_clear_cache_and_new_rules_are_honoured():
    def softish(x):
        return np.tanh(x)

    def loss(x):
        return np.sum(softish(x))

    g = ad.grad(loss)
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(g(x), 1 - np.tanh(x) ** 2)
    ad.clear_cache()
    assert ad.cache_info().misses == 0
    np.testing.assert_allclose(g(x), 1 - np.tanh(x) ** 2)
    assert ad.cache_info().misses == 2  # loss and its callee softish: one cache for both

    @ad.derivative(of=softish)
    def softish_rule(x):
        return np.tanh(x), lambda ct: ct * 7.0  # deliberately not the true derivative

    np.testing.assert_allclose(g(x), [7.0, 7.0])  # the new rule is used at once


def test_hits_are_counted_on_the_shortcut():
    g = ad.grad(two)
    g(2.0, 3.0)
    before = ad.cache_info().hits
    g(2.0, 3.0)
    g(2.0, 3.0)
    assert ad.cache_info().hits == before + 2
