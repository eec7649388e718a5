"""Seed scenarios of SEEDS.md that the compiler core must reproduce exactly."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


def test_s1_rosenbrock_value_and_gradient():
    import rosenbrock

    value, gradient = ad.value_and_grad(rosenbrock.rosenbrock)(np.array([-1.0, 2.0]))
    assert value == 104.0
    np.testing.assert_array_equal(gradient, [396.0, 200.0])


def test_s1_rosenbrock_source_is_plain_numpy():
    import rosenbrock

    text = ad.grad(rosenbrock.rosenbrock).source
    assert text.startswith("def rosenbrock_grad(x):")
    assert "unbroadcast" not in text and "saved_" not in text
    assert "# line 10: return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2" in text
    namespace = {"np": np}
    exec(text, namespace)  # the printed source runs as it is
    np.testing.assert_array_equal(namespace["rosenbrock_grad"](np.array([-1.0, 2.0])),
                                  [396.0, 200.0])


def square(x):
    return x ** 2


def sixth(x):
    return x ** 6


def test_s7_square_at_4():
    assert ad.grad(square)(4.0) == 8.0


def test_s8_sixth_power_at_5():
    result = ad.grad(sixth)(5.0)
    assert result == 18750.0
    assert isinstance(result, float)


@pytest.mark.parametrize("x", [0.5, -1.25, 3.0])
def test_python_floats_stay_floats(x):
    g = ad.grad(square)(x)
    assert isinstance(g, float) and g == 2 * x
    assert math.isclose(ad.grad(sixth)(x), 6 * x ** 5)


def test_readme_shows_the_generated_rosenbrock_gradient():
    import rosenbrock

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "```python\n" + ad.grad(rosenbrock.rosenbrock).source + "```" in readme


def test_s2_relu_at_zero_and_eps():
    import relu

    eps = float(np.finfo(np.float64).eps)
    for f in (relu.relu, relu.relu_flipped):
        assert ad.grad(f)(0.0) == 0.0
        assert ad.grad(f)(eps) == 1.0
        assert ad.grad(f)(-eps) == 0.0


def test_s11_bce_with_logits_gradients_match_finite_differences():
    import logistic_bce as lb

    w, b, x, y, dw, db = lb.s11()
    ad.check_grads(lb.scalar_model_loss_inline, (w, b, x, y), (0, 1))
    eps = 1e-6
    fd_w = (lb.scalar_model_loss_inline(w + eps, b, x, y)
            - lb.scalar_model_loss_inline(w - eps, b, x, y)) / (2 * eps)
    fd_b = (lb.scalar_model_loss_inline(w, b + eps, x, y)
            - lb.scalar_model_loss_inline(w, b - eps, x, y)) / (2 * eps)
    assert dw == pytest.approx(fd_w, rel=1e-6) and db == pytest.approx(fd_b, rel=1e-6)
    # the exact gradient of the mean BCE: mean((sigmoid(z) - y) * x) and mean(sigmoid(z) - y)
    p = 1 / (1 + np.exp(-(w * x + b)))
    assert dw == pytest.approx(np.mean((p - y) * x)) and db == pytest.approx(np.mean(p - y))


def test_s18_grad_wrt_two_arguments_gives_two_shaped_gradients():
    import logistic_bce as lb

    x, y, w, b, dw, db = lb.s18()
    assert dw.shape == (5, 3) and db.shape == (3,)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    np.testing.assert_allclose(db, (p - y) / 3)
    np.testing.assert_allclose(dw, np.outer(x, (p - y) / 3))
    ad.check_grads(lb.loss, (x, y, w, b), (2, 3))


def test_s19_has_aux_returns_aux_untouched_and_same_gradient():
    import logistic_bce as lb

    (dw, db), (dw_aux, db_aux), z, want_z = lb.s19()
    np.testing.assert_array_equal(dw, dw_aux)
    np.testing.assert_array_equal(db, db_aux)
    np.testing.assert_array_equal(z, want_z)


def test_s3_forward_and_reverse_mode_give_the_seed_numbers():
    import modes

    forward, reverse = modes.s3()
    for got in (forward, reverse):
        assert got[0] == pytest.approx(-0.358298904800159, abs=1e-15)
        assert got[1] == pytest.approx(-0.119432968266720, abs=1e-15)


def test_s5_grad_refuses_a_vector_function_and_jacobian_works():
    import modes

    message, jacobian = modes.s5()
    assert "jacobian" in message
    np.testing.assert_allclose(jacobian, [[2.0, 1.0], [np.cos(1.0), 0.0], [0.0, 4.0]])
