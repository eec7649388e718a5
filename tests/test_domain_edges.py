"""Constant exponents at the edge of the domain: exact derivatives at base 0.

The table is exponent x point x form x mode x order (the exact values at 0, the closed
forms at 0.7 and -1.5). ``d/dx x**p`` at 0 exists for
``p = 0`` (0), ``p = 1`` (1), ``p = 2`` (0; the second derivative is 2) and any ``p > 1``
(0); the compiler must give exactly those values, with no NaN, no warning (the suite turns
RuntimeWarnings into errors) and no ZeroDivisionError from a Python float base, written as
``x ** p`` on a float, ``x ** p`` / ``np.power`` / ``np.float_power`` / ``pow`` on an
array, and ``math.pow`` on a float, in reverse mode, forward mode, and at second order
(``hessian``, ``grad`` of ``grad`` and ``jvp`` of ``grad``). Where the derivative does not
exist (``0 < p < 1`` at 0) arrays give ``inf`` as NumPy does, and a Python float raises
``ZeroDivisionError`` as Python does for ``0.0 ** -0.5``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import adcompiler as ad

# p -> (f'(0), f''(0)); f''(0) is None where it does not exist (1 < p < 2)
# (p, f'(0), f''(0)); f''(0) is None where it does not exist (1 < p < 2). Integer and
# float spellings of one exponent are separate cases (the filler sees the literal).
EXPONENTS = [
    (0, 0.0, 0.0), (0.0, 0.0, 0.0), (1, 1.0, 0.0), (1.0, 1.0, 0.0), (2, 0.0, 2.0),
    (2.0, 0.0, 2.0), (3, 0.0, 0.0), (1.5, 0.0, None), (2.5, 0.0, 0.0), (4.0, 0.0, 0.0),
]


def _float_power(p):
    def f(x):
        return x ** p
    return f


def _array_power(p):
    def f(x):
        return np.sum(x ** p)
    return f


def _np_power(p):
    def f(x):
        return np.sum(np.power(x, p))
    return f


def _np_float_power(p):
    def f(x):
        return np.sum(np.float_power(x, p))
    return f


def _builtin_pow(p):
    def f(x):
        return pow(x, p)
    return f


def _math_pow(p):
    def f(x):
        return math.pow(x, p)
    return f


# (form name, maker, point at 0)
FORMS = [
    ("float**p", _float_power, 0.0), ("array**p", _array_power, np.zeros(3)),
    ("np.power", _np_power, np.zeros(3)), ("np.float_power", _np_float_power, np.zeros(3)),
    ("pow", _builtin_pow, 0.0), ("math.pow", _math_pow, 0.0),
]
CASES = [(name, maker, x0, e) for name, maker, x0 in FORMS for e in EXPONENTS]


def _ids(case):
    return f"{case[0]}-p={case[3][0]!r}"


def _first(x0, value):
    return value * np.ones_like(x0) if isinstance(x0, np.ndarray) else value


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_first_derivative_at_zero_is_exact(case, mode):
    _, maker, x0, (p, want, _) = case
    f = maker(p)
    if mode == "reverse":
        got = ad.grad(f)(x0)
    else:
        v = np.ones_like(x0) if isinstance(x0, np.ndarray) else 1.0
        _, got = ad.jvp(f, (x0,), (v,))
        want = want * np.size(x0)  # the directional derivative along ones
        got = np.sum(got)
    np.testing.assert_array_equal(got, _first(x0, want) if mode == "reverse" else want)


# away from 0 the same rules give p x**(p-1) and p (p-1) x**(p-2); negative points only
# for integer exponents (a fractional power of a negative number is not real)
AWAY = [(c, point) for c in CASES for point in (0.7, -1.5)
        if point > 0 or float(c[3][0]).is_integer()]


@pytest.mark.parametrize(("case", "point"), AWAY,
                         ids=[f"{_ids(c)}-x={point}" for c, point in AWAY])
def test_first_and_second_derivatives_away_from_zero(case, point):
    _, maker, x0, (p, _, _) = case
    f = maker(p)
    x = point * np.ones_like(x0) if isinstance(x0, np.ndarray) else point
    first = p * point ** (p - 1) if p != 0 else 0.0
    second = p * (p - 1) * point ** (p - 2) if p not in (0, 1) else 0.0
    np.testing.assert_allclose(ad.grad(f)(x), _first(x0, first), rtol=1e-14)
    v = np.ones_like(x0) if isinstance(x0, np.ndarray) else 1.0
    np.testing.assert_allclose(np.sum(ad.jvp(f, (x,), (v,))[1]), first * np.size(x0),
                               rtol=1e-14)
    tangent = ad.jvp(ad.grad(f), (x,), (v,))[1]
    np.testing.assert_allclose(tangent, _first(x0, second), rtol=1e-14, atol=1e-15)


# grad of grad needs a scalar gradient: float forms only
SECOND = [(c, how) for c in CASES if c[3][2] is not None
          for how in ("hessian", "grad-of-grad", "jvp-of-grad")
          if how != "grad-of-grad" or not isinstance(c[2], np.ndarray)]


@pytest.mark.parametrize(("case", "how"), SECOND, ids=[f"{_ids(c)}-{h}" for c, h in SECOND])
def test_second_derivative_at_zero_is_exact(case, how):
    _, maker, x0, (p, _, want) = case
    f = maker(p)
    if isinstance(x0, np.ndarray):
        if how == "hessian":
            np.testing.assert_array_equal(ad.hessian(f)(x0), want * np.eye(3))
        else:
            _, tangent = ad.jvp(ad.grad(f), (x0,), (np.ones(3),))
            assert tangent.dtype == np.float64
            np.testing.assert_array_equal(tangent, want * np.ones(3))
        return
    if how == "hessian":
        got = ad.hessian(f)(x0)
    elif how == "grad-of-grad":
        got = ad.grad(ad.grad(f))(x0)
    else:
        got = ad.jvp(ad.grad(f), (x0,), (1.0,))[1]
    assert got == want


@pytest.mark.parametrize("maker", [_array_power, _np_power, _np_float_power],
                         ids=["array**p", "np.power", "np.float_power"])
def test_where_the_derivative_does_not_exist_arrays_give_inf_as_numpy_does(maker):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = ad.grad(maker(0.5))(np.zeros(2))
        numpy_says = 0.5 * np.power(np.zeros(2), -0.5)
    assert np.all(np.isinf(got)) and np.all(np.isinf(numpy_says))


@pytest.mark.parametrize("maker", [_float_power, _builtin_pow], ids=["float**p", "pow"])
def test_where_the_derivative_does_not_exist_a_python_float_raises_as_python_does(maker):
    """0.0 ** -0.5 raises in Python (as math.sqrt's rule does at 0); the error names the
    generated line."""
    with pytest.raises(ZeroDivisionError):
        ad.grad(maker(0.5))(0.0)


# -- exponent arrays mixing 0, 1, 2 (polynomial features) ------------------------------

POWERS = np.arange(3)


def features(x):
    return np.sum(x[:, None] ** POWERS)


def features_power(x):
    return np.sum(np.power(x[:, None], np.array([0.0, 1.0, 2.0, 3.0, 1.5])))


@pytest.mark.parametrize("point", [0.0, 0.5, -1.5])
def test_polynomial_features_regression(point):
    """Issue 18: ``x[:, None] ** np.arange(3)`` gave NaN at 0 (exact: 1 + 2x)."""
    x = np.full(2, point)
    np.testing.assert_array_equal(ad.grad(features)(x), 1 + 2 * x)
    np.testing.assert_array_equal(ad.jvp(features, (x,), (np.ones(2),))[1], 2 * (1 + 2 * point))
    np.testing.assert_array_equal(ad.hessian(features)(x), 2 * np.eye(2))
    np.testing.assert_array_equal(ad.jvp(ad.grad(features), (x,), (np.ones(2),))[1],
                                  2 * np.ones(2))


def test_mixed_exponent_array_at_zero_gives_the_existing_derivatives():
    # d/dx (1 + x + x^2 + x^3 + x^1.5) at 0 is 1; the second derivative of x^1.5 is inf
    x = np.zeros(1)
    np.testing.assert_array_equal(ad.grad(features_power)(x), [1.0])
    np.testing.assert_array_equal(ad.jvp(features_power, (x,), (np.ones(1),))[1], 1.0)


# -- the reproducers of issue 18 --------------------------------------------------------


def power_zero(x):
    return np.sum(np.power(x, 0.0))


def float_power_zero(x):
    return x ** 0.0


def test_np_power_zero_exponent_at_zero_regression():
    """``np.power(x, 0.0)`` at 0 gave NaN (``0.0 * np.power(x, -1.0)``)."""
    np.testing.assert_array_equal(ad.grad(power_zero)(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_array_equal(ad.hessian(power_zero)(np.zeros(2)), np.zeros((2, 2)))


def test_python_float_power_at_zero_regression():
    """``x ** 0.0`` for a Python float 0.0 raised ZeroDivisionError in generated code."""
    assert ad.grad(float_power_zero)(0.0) == 0.0
    assert ad.grad(ad.grad(float_power_zero))(0.0) == 0.0


def test_constant_exponents_keep_readable_generated_code():
    def square(x):
        return np.sum(x ** 2)

    def cube(x):
        return np.sum(x ** 3)

    def same(x):
        return np.sum(np.power(x, 1))

    assert "dx = 2.0 * x\n" in ad.source(ad.grad(square))
    assert "dx = 3.0 * x ** 2\n" in ad.source(ad.grad(cube))
    assert "where" not in ad.source(ad.grad(cube))
    assert "dx = np.ones_like(power)\n" in ad.source(ad.grad(same))


# -- exponents known only at run time ---------------------------------------------------


def power_series(x):
    s = 0.0
    for k in range(4):
        s = s + x ** k
    return s


def power_of_parameter(x, p):
    return np.sum(x ** p)


def test_loop_index_exponent_at_zero():
    """``x ** k`` with the loop index k = 0, 1, 2, 3: d/dx at 0 is 1, d2/dx2 is 2."""
    assert ad.grad(power_series)(0.0) == 1.0
    assert ad.jvp(power_series, (0.0,), (1.0,))[1] == 1.0
    assert ad.grad(ad.grad(power_series))(0.0) == 2.0
    assert ad.hessian(power_series)(0.0) == 2.0


@pytest.mark.parametrize(("p", "first", "second"), [(0, 0.0, 0.0), (0.0, 0.0, 0.0),
                                                    (1, 1.0, 0.0), (2.0, 0.0, 2.0),
                                                    (3, 0.0, 0.0)])
def test_parameter_exponent_at_zero(p, first, second):
    x = np.zeros(2)
    np.testing.assert_array_equal(ad.grad(power_of_parameter)(x, p), [first, first])
    p_tangent = None if isinstance(p, int) else 0.0  # an int has no tangent
    np.testing.assert_array_equal(
        ad.jvp(power_of_parameter, (x, p), (np.ones(2), p_tangent))[1], 2 * first)
    np.testing.assert_array_equal(ad.hessian(power_of_parameter)(x, p), second * np.eye(2))


# |x| ** (2p) written as (x * x) ** p: the generated gradient holds (x * x) ** (p - 1)
# with 0 < p - 1 < 1, infinite in slope at 0 but reached with the tangent 2 x dx = 0, so
# the second derivative is exact (found by the widened slow profile as 0 * inf = NaN).
def _square_to_the(p, spelling):
    if spelling == "operator":
        return lambda x: np.sum((x * x) ** p)
    if spelling == "np.power":
        return lambda x: np.sum(np.power(x * x, p))
    return lambda x: np.sum(np.float_power(x * x, p))


def _second_derivative_of_abs_power(q, x):
    """d2/dx2 |x| ** q, exact (0 at 0 for q > 2)."""
    return q * (q - 1) * np.abs(x) ** (q - 2)


@pytest.mark.parametrize("spelling", ["operator", "np.power", "np.float_power"])
@pytest.mark.parametrize("p", [1.5, 1.25, 1.75])
def test_second_order_of_a_fractional_power_of_a_square_at_zero(p, spelling):
    f = _square_to_the(p, spelling)
    x = np.array([0.0, 1.0, -0.5])
    expected = np.diag(_second_derivative_of_abs_power(2 * p, x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(ad.hessian(f)(x), expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ad.hvp(f)(x, np.ones(3)), np.diag(expected), rtol=1e-12)
        np.testing.assert_allclose(ad.jacfwd(ad.grad(f))(x), expected, rtol=1e-12)


@pytest.mark.parametrize("p", [1.5, 1.25])
def test_second_order_of_a_fractional_power_with_a_parameter_exponent(p):
    def f(x, p):
        return np.sum((x * x) ** p)

    x = np.array([0.0, 2.0])
    expected = np.diag(_second_derivative_of_abs_power(2 * p, x))
    np.testing.assert_allclose(ad.hessian(f)(x, p), expected, rtol=1e-12, atol=0)


def test_second_order_of_math_pow_of_a_square_at_zero():
    def f(x):
        return math.pow(x * x, 1.5)

    assert ad.hessian(f)(0.0) == 0.0
    assert ad.grad(ad.grad(f))(0.0) == 0.0
    assert ad.hessian(f)(2.0) == pytest.approx(12.0, rel=1e-12)


def test_a_zero_tangent_through_a_square_root_like_power_is_zero():
    # forward mode of x ** 0.5 at 0 in the direction 0: the product is 0, not 0 * inf
    def f(x):
        return np.sum(x ** 0.5)

    _, tangent = ad.jvp(f, (np.array([0.0, 4.0]),), (np.array([0.0, 1.0]),))
    assert tangent == 0.25
