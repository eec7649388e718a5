"""JAX's names: ``argnums=`` for integer ``wrt``, ``jacfwd`` / ``jacrev``; float Hessians."""

from __future__ import annotations

import numpy as np
import pytest

import adcompiler as ad


def f(x, y):
    return np.sum(np.sin(x) * y ** 2)


def vec(x, y):
    return np.sin(x) * y


X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.5, -0.7])


@pytest.mark.parametrize(("argnums", "wrt"), [(0, 0), (1, 1), ((0, 1), (0, 1)), ((1,), (1,)),
                                             (-1, -1)])
@pytest.mark.parametrize("entry", [ad.grad, ad.value_and_grad])
def test_argnums_is_wrt(entry, argnums, wrt) -> None:
    expected = entry(f, wrt)(X, Y)
    got = entry(f, argnums=argnums)(X, Y)
    flat_e, flat_g = _flatten(expected), _flatten(got)
    assert len(flat_e) == len(flat_g)
    for e, g in zip(flat_e, flat_g, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=0)


def _flatten(value):
    if isinstance(value, tuple):
        return [leaf for item in value for leaf in _flatten(item)]
    return [np.asarray(value)]


def test_argnums_values_are_exact() -> None:
    dx, dy = ad.grad(f, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(dx, np.cos(X) * Y ** 2, rtol=1e-14)
    np.testing.assert_allclose(dy, 2 * np.sin(X) * Y, rtol=1e-14)


def test_argnums_on_decorator_and_methods() -> None:
    g = ad.differentiable(f, argnums=1)
    np.testing.assert_allclose(ad.grad(g)(X, Y), 2 * np.sin(X) * Y, rtol=1e-14)
    np.testing.assert_allclose(g.grad(argnums=0)(X, Y), np.cos(X) * Y ** 2, rtol=1e-14)
    assert "def " in ad.source(f, argnums=1)


def test_jacfwd_and_jacrev_match_the_exact_jacobian() -> None:
    exact_x = np.diag(np.cos(X) * Y)
    exact_y = np.diag(np.sin(X))
    for jac in (ad.jacfwd, ad.jacrev):
        np.testing.assert_allclose(jac(vec)(X, Y), exact_x, rtol=1e-14)
        np.testing.assert_allclose(jac(vec, argnums=1)(X, Y), exact_y, rtol=1e-14)
        np.testing.assert_allclose(jac(vec, 1)(X, Y), exact_y, rtol=1e-14)
    assert ad.jacfwd(vec).mode == "forward"
    assert ad.jacrev(vec).mode == "reverse"


def test_hessian_argnums() -> None:
    h = ad.hessian(lambda x: np.sum(x ** 3), argnums=0)(X)
    np.testing.assert_allclose(h, np.diag(6 * X), rtol=1e-14)


def test_check_grads_takes_argnums() -> None:
    ad.check_grads(f, (X, Y), argnums=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"wrt": 0, "argnums": 0}, "both wrt=0 and argnums=0"),
    ({"argnums": "x"}, "argnums takes integer argument positions"),
    ({"argnums": (0, "y")}, "argnums takes integer argument positions"),
])
def test_argnums_misuse_is_a_clear_error(kwargs, message) -> None:
    with pytest.raises(ad.ADError, match=message):
        ad.grad(f, **kwargs)


def rosen(a, b):
    return (1.0 - a) ** 2 + 100.0 * (b - a * a) ** 2


def test_hessian_of_floats_is_floats() -> None:
    h = ad.hessian(rosen, (0, 1))(-1.0, 2.0)
    assert all(type(entry) is float for row in h for entry in row)
    assert h == ((2.0 - 400.0 * (2.0 - 3.0), -400.0 * -1.0), (-400.0 * -1.0, 200.0))
    single = ad.hessian(rosen)(-1.0, 2.0)
    assert type(single) is float and single == 402.0
