"""User-style functions end to end: generated gradients against finite differences."""

import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).parent))
import corpus_core as c

rng = np.random.default_rng(0)

CASES = [
    (c.poly, (1.3,), 0),
    (c.poly, (-0.7,), 0),
    (c.ratio, (0.5, 1.5), (0, 1)),
    (c.ratio, (rng.standard_normal(4), rng.standard_normal(4)), (0, 1)),
    (c.negate_and_power, (1.7, 2.3), (0, 1)),
    (c.reassigned, (0.9,), 0),
    (c.augmented, (1.1,), 0),
    (c.tuple_unpacking, (0.4, -1.2), (0, 1)),
    (c.uses_value_twice, (0.8,), 0),
    (c.broadcast_vector_scalar, (rng.standard_normal(3), 1.4), (0, 1)),
    (c.broadcast_vector_scalar, (rng.standard_normal(3), np.float64(1.4)), (0, 1)),
    (c.broadcast_matrix_row, (rng.standard_normal((2, 3)), rng.standard_normal(3)), (0, 1)),
    (c.broadcast_matrix_row, (rng.standard_normal((2, 3)), rng.standard_normal((1, 3))),
     (0, 1)),
    (c.matmul_2d, (rng.standard_normal((2, 3)), rng.standard_normal((3, 2))), (0, 1)),
    (c.matvec, (rng.standard_normal((2, 3)), rng.standard_normal(3)), (0, 1)),
    (c.vecvec, (rng.standard_normal(3), rng.standard_normal(3)), (0, 1)),
    (c.basic_indexing, (rng.standard_normal(5),), 0),
    (c.matrix_indexing, (rng.standard_normal((3, 3)),), 0),
    (c.constant_conditional, (0.6,), 0),
    (c.global_scale, (0.6,), 0),
    (c.branch, (1.5, 0.5), (0, 1)),
    (c.branch, (-1.5, 0.5), (0, 1)),
    (c.float_loop, (0.7, 4), 0),
    (c.float_loop, (0.7, 0), 0),
    (c.while_loop, (0.3,), 0),
    (c.calls_helper, (0.7, 1.3), (0, 1)),
    (c.calls_helper, (0.7, 1.3), 1),
    (c.power, (1.3, 4), 0),
    (c.calls_in_loop, (0.7,), 0),
    (c.calls_with_passive_argument, (0.7, 1.1), 0),
    (c.calls_with_passive_argument, (rng.standard_normal(3), rng.standard_normal(3)), 1),
]


@pytest.mark.parametrize(("func", "args", "wrt"), CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(CASES)])
def test_gradient_matches_finite_differences(func, args, wrt):
    ad.check_grads(func, args, wrt)


def test_value_and_grad_evaluates_primal_once_and_matches():
    value, grads = ad.value_and_grad(c.ratio, (0, 1))(0.5, 1.5)
    assert value == c.ratio(0.5, 1.5)
    assert isinstance(grads, tuple) and len(grads) == 2


def test_wrt_by_name_and_index_agree():
    by_name = ad.grad(c.ratio, ("y", "x"))(0.5, 1.5)
    by_index = ad.grad(c.ratio, (1, 0))(0.5, 1.5)
    assert by_name == by_index


def test_decorator_default_wrt():
    @ad.differentiable(wrt="y")
    def f(x, y):
        return x * y * y

    assert f(2.0, 3.0) == 18.0
    assert ad.grad(f)(2.0, 3.0) == 12.0
    assert f.grad()(2.0, 3.0) == 12.0
    assert f.grad(wrt=0)(2.0, 3.0) == 9.0
    value, g = f.value_and_grad()(2.0, 3.0)
    assert (value, g) == (18.0, 12.0)


def test_has_aux():
    (value, aux), g = ad.value_and_grad(c.aux_pair, has_aux=True)(2.0)
    assert (value, aux, g) == (12.0, 4.0, 12.0)
    g, aux = ad.grad(c.aux_pair, has_aux=True)(2.0)
    assert (g, aux) == (12.0, 4.0)


def test_vjp_of_vector_output_callable_twice():
    x = np.array([1.0, 2.0, 3.0])
    value, pullback = ad.vjp(c.augmented, x)
    np.testing.assert_allclose(value, c.augmented(x))
    first = pullback(np.ones(3))[0]
    second = pullback(np.array([0.0, 1.0, 0.0]))[0]
    np.testing.assert_allclose(first, 2 * x)  # d/dx of (2x*x - 3)/2 = 2x
    np.testing.assert_allclose(second, [0.0, 4.0, 0.0])
    assert "def augmented_pullback" in pullback.source


def test_vjp_of_loop_pullback_reusable():
    _, pullback = ad.vjp(c.float_loop, 0.7, 3)
    a = pullback(1.0)
    b = pullback(1.0)
    assert a == b and a[1] is None


def test_float32_stays_float32():
    x = np.array([1.0, 2.0], dtype=np.float32)
    g = ad.grad(c.broadcast_vector_scalar)(np.array([1.0, 2.0, 3.0], np.float32), 2.0)
    assert g.dtype == np.float32
    assert ad.grad(c.poly)(x[0]).dtype == np.float32


def test_rebinding_a_global_changes_the_next_gradient():
    assert ad.grad(c.global_scale)(1.0) == 3.0
    try:
        c.SCALE = 5.0
        assert ad.grad(c.global_scale)(1.0) == 5.0
    finally:
        c.SCALE = 3.0


def test_closures_are_live():
    factor = 2.0

    def f(x):
        return x * factor

    g = ad.grad(f)
    assert g(1.0) == 2.0
    factor = 7.0
    assert g(1.0) == 7.0


def test_cache_reuses_compiled_code():
    ad.clear_cache()
    g = ad.grad(c.poly)
    g(1.0)
    g(2.0)
    ad.grad(c.poly)(3.0)
    info = ad.cache_info()
    assert info.misses == 1 and info.hits == 2 and info.size == 1


def test_cache_is_thread_safe_on_first_call():
    ad.clear_cache()
    g = ad.grad(c.uses_value_twice)
    results = [None] * 8

    def work(i):
        results[i] = g(0.5 + i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [4 * (0.5 + i) ** 3 + 2 * (0.5 + i) for i in range(8)]
    assert ad.cache_info().misses == 1


def test_cli_prints_same_source(capsys):
    from adcompiler.__main__ import main

    path = Path(__file__).parents[1] / "examples" / "rosenbrock.py"
    assert main([f"{path}:rosenbrock"]) == 0
    printed = capsys.readouterr().out
    sys.path.insert(0, str(path.parent))
    import rosenbrock

    assert printed == ad.grad(rosenbrock.rosenbrock).source


def test_straight_line_code_has_no_helpers_or_stacks():
    text = ad.source(c.uses_value_twice)
    assert "zeros_like" not in text and "unbroadcast" not in text and "saved" not in text


def test_callee_source_is_shown_and_generated_once():
    text = ad.source(c.calls_helper, wrt=(0, 1))
    # one specialisation of helper, whatever number its name took in this process
    (name,) = re.findall(r"def (helper\w*)_forward\(", text)
    assert f"{name}_pullback(*" in text
