"""Seeds S9 and S10: examples/gradient_descent.py produces the numbers SEEDS.md gives."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import gradient_descent as gd  # noqa: E402


@pytest.fixture(scope="module")
def numbers():
    return gd.run()  # the seed's settings: lr 0.001, 15000 steps


def test_s9_derivative_roots_from_np_roots(numbers):
    np.testing.assert_allclose(numbers["roots"], [-1.0, 0.5, 0.5], atol=1e-6)


def test_s9_converges_to_the_nearest_root_of_the_derivative(numbers):
    assert numbers["nearest_minus_2"] == pytest.approx(-1.0, abs=1e-9)
    assert numbers["from_minus_2"] == pytest.approx(numbers["nearest_minus_2"], abs=1e-9)
    # 1/2 is a double root of f' (f' = 2(x+1)(2x-1)^2): the approach is from above and
    # slow, the gap after n steps being about 1/(12 lr n) = 0.0056 for n = 15000
    assert numbers["nearest_2"] == pytest.approx(0.5, abs=1e-6)
    assert 0.5 < numbers["from_2"] < 0.5 + 0.006


def test_s9_gradient_is_the_derivative_polynomial():
    df = ad.grad(gd.f)
    for x in (-2.0, -0.3, 0.5, 1.7):
        assert df(x) == pytest.approx(np.polyval(np.polyder(gd.COEFFS), x), rel=1e-12)


def test_s9_fast_mode_moves_downhill():
    x = gd.minimise(2.0, steps=100)
    assert 0.5 < x < 2.0
    assert gd.f(x) < gd.f(2.0)


def test_s10_approaches_lstsq(numbers):
    assert numbers["w"] == pytest.approx(numbers["w_lstsq"], abs=1e-8)
    assert numbers["b"] == pytest.approx(numbers["b_lstsq"], abs=1e-8)
    assert numbers["w_lstsq"] == pytest.approx(2.5, abs=0.1)
    assert numbers["b_lstsq"] == pytest.approx(-1.0, abs=0.1)
    assert numbers["last_loss"] < numbers["first_loss"]
    assert numbers["last_loss"] == pytest.approx(numbers["lstsq_loss"], rel=1e-10)


def test_s10_gradient_matches_finite_differences():
    xs, ys = gd.make_data()
    ad.check_grads(gd.mse, (0.3, -0.2, xs, ys), (0, 1))


def test_s10_fast_mode_loss_falls():
    xs, ys = gd.make_data()
    _, _, first, last = gd.fit(xs, ys, steps=20)
    assert last < first


def test_example_runs_as_a_script():
    out = subprocess.run([sys.executable, str(EXAMPLES / "gradient_descent.py")],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert "S9" in out and "S10" in out
    assert "x = -1.000000000000" in out
    assert "def mse_grad(w, b, xs, ys):" in out
