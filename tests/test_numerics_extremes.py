"""At +-1e3 the derivatives of the stable functions stay finite where the functions do.

NumPy warnings are errors in this suite (pyproject: filterwarnings = error), so an
overflow inside a generated gradient fails the test even when the result looks finite.
"""

import numpy as np
import pytest

import adcompiler as ad
from adcompiler import nn

BIG = np.array([-1e3, -30.0, 0.0, 30.0, 1e3])
LABELS = np.array([0.0, 1.0, 0.0, 1.0, 1.0])


def softplus_sum(x):
    return np.sum(np.logaddexp(0.0, x))


def sigmoid_sum(x):
    return np.sum(nn.sigmoid(x))


def bce_mean(z):
    return nn.binary_cross_entropy_with_logits(z, LABELS)


def logsumexp_value(x):
    return nn.logsumexp(x, axis=0)


def log_softmax_first(x):
    return nn.log_softmax(x, axis=0)[0]


def tanh_sum(x):
    return np.sum(np.tanh(x))


def sigmoid_exact(x):
    return np.exp(-np.logaddexp(0.0, -x))  # no overflow, no cancellation


CASES = [
    (softplus_sum, sigmoid_exact(BIG)),
    (sigmoid_sum, sigmoid_exact(BIG) * sigmoid_exact(-BIG)),
    (tanh_sum, 1.0 - np.tanh(BIG) ** 2),
    (bce_mean, np.where(LABELS == 1.0, -sigmoid_exact(-BIG), sigmoid_exact(BIG)) / 5.0),
    (logsumexp_value, np.exp(BIG - np.max(BIG))),
    (log_softmax_first, np.eye(5)[0] - np.exp(BIG - np.max(BIG))),
]


@pytest.mark.parametrize(("func", "want"), CASES, ids=[f.__name__ for f, _ in CASES])
def test_gradient_is_finite_and_exact_at_large_magnitudes(func, want):
    grad = ad.grad(func)(BIG.copy())
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, want, rtol=1e-12, atol=1e-300)
    _, tangent = ad.jvp(func, (BIG.copy(),), (np.ones(5),))
    assert np.isfinite(tangent)
    np.testing.assert_allclose(tangent, np.sum(want), rtol=1e-12, atol=1e-300)
