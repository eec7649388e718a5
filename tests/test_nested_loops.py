"""Nested loops whose trip counts vary from one outer pass to the next (issue 18, item 1).

Every loop's trip count must be saved per execution of that loop, at any depth, through
helper calls that contain loops, and in everything built on the reverse sweep. The table
below holds the four nestings of ``for`` and ``while``, three deep, inner counts that
depend on the outer index and on the data, ``break`` and ``continue`` inside the inner
loop, inner loops in helpers, and a pair energy. Each program is checked against exact
values (a closed form, computed by plain Python beside the program) in reverse and forward
mode, against central differences, and at second order: ``hessian``, ``hvp``, the
gradient of a gradient and ``ad.checkpoint``.

Most programs are sums of products over a set of index pairs ``P`` the control flow
chooses: ``f = sum_{(i, j) in P} x_i x_j``; its gradient is ``sum`` of the partner over
the pairs holding ``k``, its Hessian counts the pairs (exact in floating point).
"""

from __future__ import annotations

import numpy as np
import pytest

import adcompiler as ad

X = np.array([1.0, 2.0, 3.0, 4.0])
X5 = np.array([0.7, -1.3, 2.1, 0.4, -0.9])


# -- the exact values of pair sums -------------------------------------------------------
def pair_grad(x: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    g = np.zeros_like(x)
    for i, j in pairs:
        g[i] += x[j]
        g[j] += x[i]
    return g


def pair_hessian(x: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    h = np.zeros((x.size, x.size))
    for i, j in pairs:
        h[i, j] += 1.0
        h[j, i] += 1.0
    return h


def upper_pairs(x):
    return [(i, j) for i in range(x.size) for j in range(i + 1, x.size)]


def lower_pairs(x):
    return [(i, j) for i in range(x.size) for j in range(i)]


# -- the programs: pair sums -----------------------------------------------------------
def pairs_for_for(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            s = s + x[i] * x[j]
    return s


def pairs_for_while(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = i + 1
        while j < n:
            s = s + x[i] * x[j]
            j += 1
    return s


def pairs_while_for(x):
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        for j in range(i + 1, n):
            s = s + x[i] * x[j]
        i += 1
    return s


def pairs_while_while(x):
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n:
            s = s + x[i] * x[j]
            j += 1
        i += 1
    return s


def lower_for_while(x):
    """The inner count grows with the outer index (0, 1, 2, ...)."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = 0
        while j < i:
            s = s + x[i] * x[j]
            j += 1
    return s


def lower_while_while(x):
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        j = 0
        while j < i:
            s = s + x[i] * x[j]
            j = j + 1
        i = i + 1
    return s


def for_while_break(x):
    """The inner ``while`` stops at the first product above 5 (data-dependent count)."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = i + 1
        while j < n:
            p = x[i] * x[j]
            if p > 5.0:
                break
            s = s + p
            j += 1
    return s


def break_pairs(x):
    out = []
    for i in range(x.size):
        for j in range(i + 1, x.size):
            if x[i] * x[j] > 5.0:
                break
            out.append((i, j))
    return out


def while_for_continue(x):
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        for j in range(i + 1, n):
            if (i + j) % 2 == 0:
                continue
            s = s + x[i] * x[j]
        i += 1
    return s


def while_for_break(x):
    """``break`` in an inner ``for`` (it keeps running as no-ops) inside a ``while``."""
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        for j in range(i + 1, n):
            p = x[i] * x[j]
            if p > 5.0:
                break
            s = s + p
        i += 1
    return s


def for_while_continue(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = i
        while j < n - 1:
            j += 1
            if (i + j) % 2 == 0:
                continue
            s = s + x[i] * x[j]
    return s


def continue_pairs(x):
    return [(i, j) for i, j in upper_pairs(x) if (i + j) % 2 == 1]


def while_while_break_outer(x):
    """A ``break`` in the outer loop after an inner ``while`` with a varying count."""
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n:
            s = s + x[i] * x[j]
            j += 1
        if i >= 1:
            break
        i += 1
    return s


def break_outer_pairs(x):
    return [(i, j) for i in range(2) for j in range(i + 1, x.size)]


def for_for_while_data_count(x):
    """The inner count depends on the data: pairs closer than 2.5 in value."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = i + 1
        while j < n and abs(x[j] - x[i]) < 2.5:
            s = s + x[i] * x[j]
            j += 1
    return s


def data_count_pairs(x):
    out = []
    for i in range(x.size):
        for j in range(i + 1, x.size):
            if not abs(x[j] - x[i]) < 2.5:
                break
            out.append((i, j))
    return out


def while_under_if_in_for(x):
    """The inner loop runs only on some outer passes (under an ``if``)."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        if x[i] > 1.5:
            j = i + 1
            while j < n:
                s = s + x[i] * x[j]
                j += 1
    return s


def under_if_pairs(x):
    return [(i, j) for i, j in upper_pairs(x) if x[i] > 1.5]


def for_over_rows_in_while(x):
    """A ``for`` over a sequence built in the outer ``while`` (its length varies)."""
    n = x.shape[0]
    s = 0.0
    i = 1
    while i < n:
        rows = x[:i]
        for r in rows:
            s = s + r * x[i]
        i += 1
    return s


def inner_for(x, i, n):
    t = 0.0
    for j in range(i + 1, n):
        t = t + x[i] * x[j]
    return t


def inner_while(x, i, n):
    t = 0.0
    j = i + 1
    while j < n:
        t = t + x[i] * x[j]
        j += 1
    return t


def helper_for_in_for(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        s = s + inner_for(x, i, n)
    return s


def helper_while_in_while(x):
    n = x.shape[0]
    s = 0.0
    i = 0
    while i < n:
        s = s + inner_while(x, i, n)
        i += 1
    return s


def nested_helper(x):
    """A helper whose body is a whole nested loop, called in a loop."""
    s = 0.0
    for k in range(2):
        s = s + pairs_while_while(x) * (k + 1.0)
    return s


def nested_helper_pairs(x):
    return upper_pairs(x) * 3


PAIR_SUMS = [
    (pairs_for_for, upper_pairs),
    (pairs_for_while, upper_pairs),
    (pairs_while_for, upper_pairs),
    (pairs_while_while, upper_pairs),
    (lower_for_while, lower_pairs),
    (lower_while_while, lower_pairs),
    (for_while_break, break_pairs),
    (while_for_continue, continue_pairs),
    (while_for_break, break_pairs),
    (for_while_continue, continue_pairs),
    (while_while_break_outer, break_outer_pairs),
    (for_for_while_data_count, data_count_pairs),
    (while_under_if_in_for, under_if_pairs),
    (for_over_rows_in_while, lower_pairs),
    (helper_for_in_for, upper_pairs),
    (helper_while_in_while, upper_pairs),
    (nested_helper, nested_helper_pairs),
]


# -- the programs with other closed forms -----------------------------------------------
def triples(x):
    """Three deep (for / while / while): the third elementary symmetric polynomial."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        j = i + 1
        while j < n:
            k = j + 1
            while k < n:
                s = s + x[i] * x[j] * x[k]
                k += 1
            j += 1
    return s


def triples_grad(x):
    return np.array([sum(x[j] * x[k] for j in range(x.size) for k in range(j + 1, x.size)
                         if m not in (j, k)) for m in range(x.size)])


def triples_hessian(x):
    h = np.array([[sum(x[k] for k in range(x.size) if k not in (m, p)) for p in range(x.size)]
                  for m in range(x.size)])
    return h - np.diag(np.diag(h))


def powers_until(x):
    """``y = x_i ** m_i`` with ``m_i`` the first power reaching 10 (data-dependent count)."""
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        y = x[i]
        while y < 10.0:
            y = y * x[i]
        s = s + y
    return s


def _powers(x):
    m = np.ones_like(x)
    for i, v in enumerate(x):
        while v ** m[i] < 10.0:
            m[i] += 1
    return m


def powers_grad(x):
    m = _powers(x)
    return m * x ** (m - 1)


def powers_hessian(x):
    m = _powers(x)
    return np.diag(m * (m - 1) * x ** (m - 2))


def pair_energy(r):
    """Inverse-square pair energy, ``i`` over particles and ``while j < n`` over partners."""
    n = r.shape[0]
    e = 0.0
    for i in range(n):
        j = i + 1
        while j < n:
            d = r[i] - r[j]
            e = e + 1.0 / np.sum(d * d)
            j += 1
    return e


def pair_energy_grad(r):
    g = np.zeros_like(r)
    for i in range(r.shape[0]):
        for j in range(r.shape[0]):
            if i != j:
                d = r[i] - r[j]
                g[i] += -2.0 * d / np.sum(d * d) ** 2
    return g


def pair_energy_hessian(r):
    n, dim = r.shape
    h = np.zeros((n, dim, n, dim))
    eye = np.eye(dim)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            d = r[i] - r[j]
            q = np.sum(d * d)
            block = -2.0 * eye / q ** 2 + 8.0 * np.outer(d, d) / q ** 3
            h[i, :, i, :] += block
            h[i, :, j, :] -= block
    return h


R = np.array([[0.0, 0.1], [1.2, -0.3], [0.4, 1.5], [2.0, 0.9]])

OTHERS = [
    (triples, X5, triples_grad, triples_hessian),
    (powers_until, np.array([1.5, 2.5, 4.0, 1.2]), powers_grad, powers_hessian),
    (pair_energy, R, pair_energy_grad, pair_energy_hessian),
]

CASES = [pytest.param(f, x, (lambda x, p=pairs: pair_grad(x, p(x))),
                      (lambda x, p=pairs: pair_hessian(x, p(x))), id=f.__name__)
         for f, pairs in PAIR_SUMS for x in (X,)]
CASES += [pytest.param(f, x, grad, hessian, id=f.__name__) for f, x, grad, hessian in OTHERS]


def _direction(x):
    return np.linspace(0.3, -0.8, x.size).reshape(x.shape)


# -- first order ---------------------------------------------------------------------------
@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_reverse_mode_is_exact(f, x, exact_grad, exact_hessian):
    np.testing.assert_allclose(ad.grad(f)(x), exact_grad(x), rtol=1e-13, atol=1e-13)
    value, g = ad.value_and_grad(f)(x)
    assert value == pytest.approx(f(x), rel=1e-15)
    np.testing.assert_allclose(g, exact_grad(x), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_vjp_pullback_is_exact_and_reusable(f, x, exact_grad, exact_hessian):
    value, pullback = ad.vjp(f, x)
    assert value == pytest.approx(f(x), rel=1e-15)
    for scale in (1.0, -2.5):  # the pullback's stacks are not used up by a call
        (g,) = pullback(scale)
        np.testing.assert_allclose(g, scale * exact_grad(x), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_forward_mode_is_exact(f, x, exact_grad, exact_hessian):
    v = _direction(x)
    value, tangent = ad.jvp(f, (x,), (v,))
    assert value == pytest.approx(f(x), rel=1e-15)
    assert tangent == pytest.approx(np.sum(exact_grad(x) * v), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_both_modes_match_finite_differences(f, x, exact_grad, exact_hessian):
    ad.check_grads(f, [x])


# -- second order and checkpoints --------------------------------------------------------------
@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_hessian_is_exact(f, x, exact_grad, exact_hessian):
    np.testing.assert_allclose(ad.hessian(f)(x), exact_hessian(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_hvp_is_exact(f, x, exact_grad, exact_hessian):
    v = _direction(x)
    want = np.tensordot(exact_hessian(x), v, axes=v.ndim)
    np.testing.assert_allclose(ad.hvp(f)(x, v), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_grad_of_grad_along_a_line_is_exact(f, x, exact_grad, exact_hessian):
    """``g(t) = f(x + t v)`` calls the program as a helper; ``g'' = v^T H v``."""
    v = _direction(x)

    def along(t):
        return f(x + t * v)

    t = 0.0
    first = ad.grad(along)(t)
    second = ad.grad(ad.grad(along))(t)
    assert first == pytest.approx(np.sum(exact_grad(x) * v), rel=1e-12, abs=1e-12)
    want = np.sum(v * np.tensordot(exact_hessian(x), v, axes=v.ndim))
    assert second == pytest.approx(want, rel=1e-11, abs=1e-11)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_checkpointed_program_is_exact(f, x, exact_grad, exact_hessian):
    def checkpointed(y):
        return ad.checkpoint(f)(y) * 2.0

    np.testing.assert_allclose(ad.grad(checkpointed)(x), 2.0 * exact_grad(x), rtol=1e-13,
                               atol=1e-13)
    v = _direction(x)
    _, tangent = ad.jvp(checkpointed, (x,), (v,))
    assert tangent == pytest.approx(2.0 * np.sum(exact_grad(x) * v), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("f, x, exact_grad, exact_hessian", CASES)
def test_called_in_a_loop_of_the_caller(f, x, exact_grad, exact_hessian):
    """The program's own loops, one level deeper: each call saves its own counts."""
    def twice(y):
        s = 0.0
        k = 0
        while k < 2:
            s = s + f(y * (k + 1.0))
            k += 1
        return s

    want = exact_grad(x) + 2.0 * exact_grad(2.0 * x)
    np.testing.assert_allclose(ad.grad(twice)(x), want, rtol=1e-12, atol=1e-12)


# -- the reproducers of issue 18, by name ------------------------------------------------------
def test_regression_issue18_for_while_pair_sum_gradient_is_not_zero():
    np.testing.assert_array_equal(ad.grad(pairs_for_while)(X), [9.0, 8.0, 7.0, 6.0])


def test_regression_issue18_while_while_pair_sum_gradient_is_not_zero():
    np.testing.assert_array_equal(ad.grad(pairs_while_while)(X), [9.0, 8.0, 7.0, 6.0])


def test_regression_issue18_hessian_of_a_while_in_a_for_is_not_zero():
    np.testing.assert_array_equal(ad.hessian(pairs_for_while)(X), np.ones((4, 4)) - np.eye(4))


def test_regression_issue18_growing_inner_count_does_not_pop_an_empty_stack():
    np.testing.assert_array_equal(ad.grad(lower_for_while)(X), [9.0, 8.0, 7.0, 6.0])


def test_regression_issue18_helper_with_an_inner_for_has_a_hessian():
    np.testing.assert_array_equal(ad.hessian(helper_for_in_for)(X),
                                  np.ones((4, 4)) - np.eye(4))


def test_regression_issue18_pair_energy_gradient_is_not_zero():
    np.testing.assert_allclose(ad.grad(pair_energy)(R), pair_energy_grad(R), rtol=1e-13)


def loop_target_after_empty_loop(x, n):
    j = -1
    s = x * 1.0
    for j in range(1, n):  # noqa: B007 - the target is read after the loop
        s = s * x
    return s * (j + 2.0)


@pytest.mark.parametrize("n, want", [(1, 1.0), (3, 3.0 * 4.0)])  # x**n * (j+2) at x=1
def test_regression_a_for_target_keeps_its_value_when_the_loop_runs_zero_times(n, want):
    """``for j in ...`` that runs no iteration leaves ``j`` as it was (the generated
    callee's ``j = None`` then ``for j in steps`` raised UnboundLocalError)."""
    assert ad.grad(loop_target_after_empty_loop)(1.0, n) == pytest.approx(want)
    assert ad.jvp(loop_target_after_empty_loop, (1.0, n), (1.0, None))[1] == (
        pytest.approx(want))
