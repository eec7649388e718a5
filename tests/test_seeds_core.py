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
