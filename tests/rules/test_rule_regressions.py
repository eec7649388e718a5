"""Named regressions for the rule-table reproducers of issue 18, end to end.

Each test is one reproducer (or its class): second derivatives that came back as boolean
masks and None; ``np.maximum(x, x)`` whose derivative was 0; ``np.tensordot`` / ``np.einsum``
on size-1 shapes raising inside the rule; ``np.einsum`` with an index repeated within one
operand. Values are exact or checked against finite differences by ``ad.check_grads``
(both modes, and second order).
"""

from __future__ import annotations

import numpy as np
import pytest

import adcompiler as ad

# -- second derivatives: float dtype and real zeros -------------------------------------


def trace_of(x):
    return np.trace(x)


def fmax_with_zero(x):
    return np.fmax(x, 0.0)


def fmin_with_zero(x):
    return np.fmin(x, 0.0)


@pytest.mark.parametrize(("f", "x", "gradient"), [
    (trace_of, np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2)),
    (fmax_with_zero, np.array(1.5), np.array(1.0)),
    (fmax_with_zero, np.array(-1.5), np.array(0.0)),
    (fmin_with_zero, np.array(-1.5), np.array(1.0)),
], ids=["trace", "fmax", "fmax-below", "fmin"])
def test_jvp_of_grad_is_float_with_a_zero_tangent_regression(f, x, gradient):
    """``jvp(grad(f))`` for trace / fmax / fmin returned a bool array and a None tangent."""
    value, tangent = ad.jvp(ad.grad(f), (x,), (np.ones_like(x),))
    assert value.dtype == np.float64 and tangent is not None
    assert np.asarray(tangent).dtype == np.float64
    np.testing.assert_array_equal(value, gradient)
    np.testing.assert_array_equal(tangent, np.zeros_like(x))
    np.testing.assert_array_equal(ad.hessian(f)(x), np.zeros(x.shape * 2))


# -- ties: constants take the cotangent, differentiated operands share it ---------------


def larger(x):
    return np.sum(np.maximum(x, x))


def smaller(x):
    return np.sum(np.minimum(x, x))


def fmax_self(x):
    return np.sum(np.fmax(x, x))


def fmin_self(x):
    return np.sum(np.fmin(x, x))


def builtin_max_self(x):
    return max(x, x)


def square_through_max(x):
    return np.sum(np.maximum(x * x, x * x))


def relu(x):
    return np.maximum(x, 0.0)


def relu_flipped(x):
    return np.maximum(0.0, x)


def tie_of_two_arguments(x, y):
    return np.maximum(x, y)


@pytest.mark.parametrize("f", [larger, smaller, fmax_self, fmin_self],
                         ids=lambda f: f.__name__)
def test_maximum_of_x_with_itself_has_derivative_one_regression(f):
    """``np.maximum(x, x)`` had derivative 0 although the function is x."""
    x = np.array([-1.0, 0.0, 2.5])
    np.testing.assert_array_equal(ad.grad(f)(x), np.ones(3))
    np.testing.assert_array_equal(ad.jvp(f, (x,), (np.array([1.0, 2.0, 3.0]),))[1], 6.0)
    np.testing.assert_array_equal(ad.hessian(f)(x), np.zeros((3, 3)))


def test_builtin_max_of_x_with_itself_regression():
    assert ad.grad(builtin_max_self)(0.5) == 1.0
    assert ad.jvp(builtin_max_self, (0.5,), (2.0,))[1] == 2.0


def test_tied_differentiated_operands_compose_to_the_true_derivative():
    x = np.array([-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(ad.grad(square_through_max)(x), 2 * x)
    np.testing.assert_array_equal(ad.hessian(square_through_max)(x), 2 * np.eye(3))


@pytest.mark.parametrize("f", [relu, relu_flipped], ids=lambda f: f.__name__)
def test_relu_keeps_derivative_zero_at_zero(f):
    """Seed S2: a tie with a constant gives the constant the whole cotangent."""
    assert ad.grad(f)(0.0) == 0.0
    assert ad.grad(f)(np.finfo(float).eps) == 1.0
    assert ad.jvp(f, (0.0,), (1.0,))[1] == 0.0
    assert ad.grad(ad.grad(f))(0.0) == 0.0


def test_two_differentiated_arguments_tied_share_the_cotangent():
    assert ad.grad(tie_of_two_arguments, (0, 1))(1.0, 1.0) == (0.5, 0.5)
    assert ad.grad(tie_of_two_arguments, 0)(1.0, 1.0) == 0.0  # y constant: it takes all
    assert ad.jvp(tie_of_two_arguments, (1.0, 1.0), (2.0, 4.0))[1] == 3.0


# -- einsum and tensordot ---------------------------------------------------------------


def transpose_by_einsum(x):
    return np.einsum("ij->ji", x)


def tensordot_self(x):
    return np.tensordot(x, x, axes=1)


def tensordot_default(x):
    return np.tensordot(x, x)


@pytest.mark.parametrize("f", [transpose_by_einsum, tensordot_self, tensordot_default],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [np.full((1, 1), 0.7), np.full((1, 1), 0.0)],
                         ids=["0.7", "0.0"])
def test_size_one_shapes_regression(f, x):
    """``np.tensordot`` and ``np.einsum('ij->ji')`` on size-1 shapes raised ValueError
    inside the rule (the seed of a size-1 output is the scalar 1.0)."""
    ad.check_grads(f, (x,), order=2)


def trace_by_einsum(x):
    return np.einsum("ii->", x)


def trace_implicit(x):
    return np.einsum("ii", x) ** 2


def diagonal_by_einsum(x):
    return np.sum(np.einsum("ii->i", x) ** 3)


def batched_diagonal(x):
    return np.sum(np.sin(np.einsum("iij->j", x)))


def diagonal_times_matrix(a, b):
    return np.sum(np.einsum("ij,jj->i", a, b) ** 2)


_rng = np.random.default_rng(18)
A33 = _rng.standard_normal((3, 3))


@pytest.mark.parametrize(("f", "args"), [
    (trace_by_einsum, (A33,)), (trace_implicit, (A33,)), (diagonal_by_einsum, (A33,)),
    (batched_diagonal, (_rng.standard_normal((2, 2, 3)),)),
    (diagonal_times_matrix, (_rng.standard_normal((2, 3)), A33)),
], ids=["ii->", "ii", "ii->i", "iij->j", "ij,jj->i"])
def test_einsum_with_a_repeated_index_regression(f, args):
    """An index repeated within one operand (trace, diagonal) was refused."""
    ad.check_grads(f, args, wrt=tuple(range(len(args))), order=2)


def test_einsum_trace_and_diagonal_exact():
    np.testing.assert_array_equal(ad.grad(trace_by_einsum)(A33), np.eye(3))
    np.testing.assert_array_equal(ad.grad(diagonal_by_einsum)(A33),
                                  np.diag(3 * np.diag(A33) ** 2))
