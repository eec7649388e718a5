"""Seeds S4, S12, S13, S14, S16 and the derivative-control tools around them."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import derivative_control as dc


@pytest.mark.parametrize("x", [-2.0, 0.0, 0.5, 3.5])
def test_s4_stop_gradient_leaves_derivative_one(x):
    assert ad.grad(dc.with_extracted_data)(x) == 1.0


def test_s4_generated_code_has_no_adjoint_through_stop_gradient():
    text = ad.source(dc.with_extracted_data, args=(1.0,))
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("arctan" in line for line in code[1:])
    assert "unbroadcast" not in text


def test_s12_custom_rule_is_called(capsys):
    before = dc.CALLS["exp_rule"]
    assert ad.grad(dc.uses_opaque)(3.0) == pytest.approx(20.085536923187668, rel=1e-15)
    assert dc.CALLS["exp_rule"] == before + 1
    assert "opaque_exp(" not in capsys.readouterr().out  # the rule replaced the body
    assert "opaque_exp_rule_checked(x)" in ad.source(dc.uses_opaque)


def test_s13_values():
    dx, dy = ad.grad(dc.sin_and_frozen_cos, (0, 1))(2.0, 3.0)
    assert dx == pytest.approx(-0.180098775947434, abs=1e-15)
    assert dy == 0.0


def test_s14_hooks_observe_and_replace():
    dc.SEEN.clear()
    assert ad.grad(dc.surgery)(30.0) == pytest.approx(0.654251449887584, abs=1e-15)
    assert dc.SEEN == [1.0]
    assert math.isclose(math.cos(30) + 0.5, 0.654251449887584, abs_tol=1e-15)


def test_s16_checkpoint_recomputes():
    dc.CALLS["square_body"] = 0
    assert ad.grad(dc.square_of_cos)(10.0) == pytest.approx(-0.912945250727628, abs=1e-15)
    assert dc.CALLS["square_body"] == 2
    text = ad.grad(dc.square_of_cos).source
    assert "square_checkpoint_forward" in text and "recompute" in text


def layer(x, w):
    return np.tanh(x * w)


def checkpoint_as_call(x, w):
    h = ad.checkpoint(layer)(x, w)
    return (h * h)[0] + (h * h)[1]


def test_checkpoint_as_a_call_matches_plain():
    x, w = np.array([0.3, -0.8]), np.array([1.5, 0.7])
    ad.check_grads(checkpoint_as_call, (x, w), (0, 1))


ORDER = []


def record(g):
    ORDER.append(float(g))


def hook_in_loop(x):
    s = x
    for i in range(3):
        s = ad.with_derivative(s * (i + 2.0), record)
    return s


def test_hook_runs_once_per_iteration_in_reverse_order():
    ORDER.clear()
    assert ad.grad(hook_in_loop)(1.0) == 24.0
    assert ORDER == [1.0, 4.0, 12.0]


def _double(x):
    return 2.0 * x


def uses_double(x):
    return _double(x) * x


def test_registering_a_rule_invalidates_cached_code():
    g = ad.grad(uses_double)
    assert g(3.0) == 12.0

    @ad.derivative(of=_double)
    def wrong_on_purpose(x):
        return 2.0 * x, lambda ct: 10.0 * ct

    assert g(3.0) == 10.0 * 3.0 + 6.0


def opaque(x, y):
    return x * y


def calls_opaque(x, y):
    return opaque(x, y)


def test_user_pullback_wrong_count_is_an_error():
    @ad.derivative(of=opaque)
    def bad_rule(x, y):
        return x * y, lambda g: g * y

    with pytest.raises(ad.ADError, match=r"bad_rule.*1 cotangent"):
        ad.grad(calls_opaque)(2.0, 3.0)


def test_user_pullback_wrong_shape_is_an_error():
    @ad.derivative(of=opaque)
    def shape_rule(x, y):
        return x * y, lambda g: (np.ones(3), g * x)

    with pytest.raises(ad.ADError, match=r"shape_rule.*shape"):
        ad.grad(calls_opaque)(np.ones(2), np.ones(2))


def test_rule_for_a_c_function():
    @ad.derivative(of=math.gamma)
    def gamma_rule(x):
        value = math.gamma(x)
        return value, lambda g: g * value * _digamma(x)

    def f(x):
        return math.gamma(x) * 2.0

    assert ad.grad(f)(3.0) == pytest.approx(2 * 2.0 * (1.5 - 0.5772156649015329), rel=1e-9)


def _digamma(x, h=1e-6):
    return (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)


class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return self.k * x


SCALER = Scaler(4.0)


def uses_method(x):
    return SCALER.apply(x) * x


def test_method_of_a_global_object_is_transformed():
    assert ad.grad(uses_method)(1.5) == pytest.approx(12.0)


def _hooked_dict(p):
    return ad.with_derivative(p, _record)["a"] * 2.0 + p["b"]


_SEEN: list = []


def _record(g):
    _SEEN.append(g)


def test_hook_on_a_container_sees_a_container_cotangent():
    _SEEN.clear()
    grad = ad.grad(_hooked_dict)({"a": 1.5, "b": 0.5})
    assert grad == {"a": 2.0, "b": 1.0}
    assert _SEEN == [{"a": 2.0, "b": 0.0}]


def _hook_in_loop(x):
    s = 0.0
    for i in range(3):
        s = s + ad.with_derivative(x * (i + 1.0), _record) * (i + 1.0)
    return s


def test_hook_inside_a_loop_sees_each_iteration_in_reverse():
    _SEEN.clear()
    assert ad.grad(_hook_in_loop)(2.0) == 14.0
    assert _SEEN == [3.0, 2.0, 1.0]
