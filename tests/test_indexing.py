"""Indexing, index assignment, gathering calls and constructors, end to end.

Every function is checked against central finite differences; the repeated-index cases
are the ones a peer gets wrong (contributions of repeated indices must accumulate).
"""

import numpy as np
import pytest

import adcompiler as ad

WEIGHTS3 = np.array([1.0, 2.0, 3.0])


def repeated_fancy_index(x):
    idx = np.array([0, 0, 2])
    return x[idx] @ WEIGHTS3


def repeated_list_index(x):
    return np.sin(x[[1, 1, 1]]) @ WEIGHTS3


def boolean_mask(x):
    return (x[x > 0.5] ** 2) @ np.ones(2)


def mixed_slice_and_list(A):
    return A[1:, [0, 0]][0, 1] * A[0, np.array([1])][0]


def stepped_slices(A):
    return A[::2, 1::-1][1, 0] * A[-1, ::-1][0]


def ellipsis_and_newaxis(A):
    return (A[..., 1][None, :] * A[:, None, 0])[2, 1]


def owned_index_assignment(x):
    a = np.zeros(3)
    a[0] = x[1] * 2.0
    a[1:3] += x[:2]
    a[a > 100] = 0.0
    return a @ WEIGHTS3


def overwrite_keeps_old_contents_right(x):
    a = x * 1.0
    a[1] = a[0] * a[2]
    return a @ WEIGHTS3


def masked_assignment(x):
    a = x ** 2
    a[x < 0] = 0.0
    return a @ WEIGHTS3


def take_repeated(x):
    return np.take(x, [0, 2, 2]) @ WEIGHTS3


def take_axis(A):
    return np.take(A, [1, 1], axis=1)[2, 0] + np.take(A, [0], axis=-2)[0, 2]


def take_along(A):
    idx = np.array([[0, 0], [1, 0], [1, 1]])
    return np.take_along_axis(A, idx, axis=1)[1, 1] * np.take_along_axis(A, idx, 1)[2, 0]


def constructors_are_constants(x):
    z = np.ones_like(x) + np.arange(3) + np.linspace(0, 1, 3) + np.full(3, 2.0) + np.eye(3)[0]
    return z @ x


def full_of_a_value(x):
    return np.full(4, x[0]) @ np.arange(4.0) + np.full_like(x, x[1]) @ x


def linspace_between(x):
    return np.linspace(x[0], x[1], 5) @ np.arange(5.0)


def shape_attributes_are_constants(x):
    return x[0] * x.shape[0] + x.ndim + x.size


rng = np.random.default_rng(3)
VEC = np.array([1.0, 0.2, 2.0])
MAT = rng.standard_normal((3, 3))
CASES = [
    (repeated_fancy_index, VEC), (repeated_list_index, VEC), (boolean_mask, VEC),
    (mixed_slice_and_list, MAT), (stepped_slices, MAT), (ellipsis_and_newaxis, MAT),
    (owned_index_assignment, VEC), (overwrite_keeps_old_contents_right, VEC),
    (masked_assignment, np.array([1.0, -0.5, 2.0])), (take_repeated, VEC),
    (take_axis, MAT), (take_along, rng.standard_normal((3, 2))),
    (constructors_are_constants, VEC), (full_of_a_value, VEC), (linspace_between, VEC),
    (shape_attributes_are_constants, VEC),
]


@pytest.mark.parametrize(("func", "x"), CASES, ids=[f.__name__ for f, _ in CASES])
def test_matches_finite_differences(func, x):
    ad.check_grads(func, (x.copy(),))


def test_repeated_indices_accumulate_exactly():
    np.testing.assert_array_equal(ad.grad(repeated_fancy_index)(VEC), [3.0, 0.0, 3.0])
    np.testing.assert_array_equal(ad.grad(take_repeated)(VEC), [1.0, 0.0, 5.0])


def arange_of_a_value(x):
    return np.arange(x[0], 5.0) @ np.ones(3)


def test_arange_of_a_differentiated_value_is_refused():
    with pytest.raises(ad.NonDifferentiableError, match=r"np\.arange has no derivative") as err:
        ad.grad(arange_of_a_value)(np.array([2.0, 0.0]))
    assert "test_indexing.py" in str(err.value) and "np.arange(x[0], 5.0)" in str(err.value)


def writes_into_argument(x):
    x[0] = 5.0
    return x @ x


def test_writing_into_an_argument_is_refused():
    with pytest.raises(ad.UnsupportedSyntaxError, match="may share memory") as err:
        ad.grad(writes_into_argument)(np.ones(3))
    assert "test_indexing.py" in str(err.value) and "x[0] = 5.0" in str(err.value)


def sorts_in_place(x):
    y = x * 2
    y.sort()
    return y[0]


def test_in_place_method_on_a_differentiated_value_is_refused():
    with pytest.raises(ad.UnsupportedSyntaxError, match=r"in-place method call 'y\.sort"):
        ad.grad(sorts_in_place)(np.array([3.0, 1.0, 2.0]))
