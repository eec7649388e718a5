"""Custom rules on every kind of callable, in both modes; what the cache tells apart."""

import linecache
import textwrap

import numpy as np
import pytest

import adcompiler as ad

CALLS: list[str] = []


# -- a NumPy ufunc with no built-in rule: np.spacing is piecewise constant in reality, the
#    user declares a (made-up) derivative 3 to see that theirs is the one used
def spacing_rule(x):
    CALLS.append("spacing")
    return np.spacing(x), lambda g: 3.0 * g


def uses_spacing(x):
    return np.sum(np.spacing(x) + x)


def test_rule_for_a_ufunc_without_one():
    assert ad.derivative(of=np.spacing)(spacing_rule) is not None
    CALLS.clear()
    np.testing.assert_allclose(ad.grad(uses_spacing)(np.ones(3)), 4.0)
    assert CALLS == ["spacing"]
    grad = ad.grad(uses_spacing)
    grad(np.ones(3))
    assert "spacing_rule_checked(x)" in grad.source  # the user's rule, called visibly


# -- a Python function whose source the user overrides with a rule
def smooth_abs(x):
    return np.sqrt(x * x + 1e-12)


@ad.derivative(of=smooth_abs)
def smooth_abs_rule(x):
    CALLS.append("smooth_abs")
    return smooth_abs(x), lambda g: g * np.sign(x)


def uses_smooth_abs(x):
    return np.sum(smooth_abs(x) * 2.0)


def test_rule_overrides_a_python_function():
    CALLS.clear()
    np.testing.assert_allclose(ad.grad(uses_smooth_abs)(np.array([-2.0, 3.0])), [-2.0, 2.0])
    assert CALLS == ["smooth_abs"]


# -- a bound method of an object
class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return self.k * x


SCALER = Scaler(4.0)


@ad.derivative(of=SCALER.apply)
def scaler_rule(x):
    CALLS.append("apply")
    return SCALER.apply(x), lambda g: g * 4.0


def uses_bound_method(x):
    return SCALER.apply(x) * x


def test_rule_for_a_bound_method():
    CALLS.clear()
    assert ad.grad(uses_bound_method)(1.5) == pytest.approx(4.0 * 1.5 + 4.0 * 1.5)
    assert CALLS == ["apply"]


# -- forward-mode custom rule
def cube(x):
    return x ** 3


@ad.derivative(of=cube, mode="forward")
def cube_forward(primals, tangents):
    (x,), (dx,) = primals, tangents
    CALLS.append("cube_forward")
    return x ** 3, 3 * x ** 2 * dx


def uses_cube(x):
    return cube(x) + x


def test_forward_rule_is_used_by_jvp():
    CALLS.clear()
    value, tangent = ad.jvp(uses_cube, (2.0,), (1.0,))
    assert value == 10.0 and tangent == pytest.approx(13.0)
    assert CALLS == ["cube_forward"]


def stopped(x, y):
    return x * ad.stop_gradient(y * y)


def test_stop_gradient_in_forward_mode_has_zero_tangent():
    _, tangent = ad.jvp(stopped, (2.0, 3.0), (0.0, 1.0))
    assert tangent == 0.0
    _, tangent = ad.jvp(stopped, (2.0, 3.0), (1.0, 0.0))
    assert tangent == 9.0


def hooked(x):
    return ad.with_derivative(x * 2.0, record_tangent) * x


SEEN: list = []


def record_tangent(t):
    SEEN.append(t)


def test_hook_sees_the_tangent_in_forward_mode():
    SEEN.clear()
    _, tangent = ad.jvp(hooked, (1.5,), (1.0,))
    assert SEEN == [2.0] and tangent == pytest.approx(6.0)


# -- the cache: redefinition and wrt give new code, a second request reuses it
def test_redefining_a_function_is_picked_up(tmp_path):
    namespace: dict = {"np": np}
    path = tmp_path / "model.py"
    for body, want in (("return x * x", 4.0), ("return x * x * x", 12.0)):
        path.write_text(textwrap.dedent(f"""
            import numpy as np
            def f(x):
                {body}
        """))
        code = compile(path.read_text(), str(path), "exec")
        linecache.checkcache(str(path))
        exec(code, namespace)
        assert ad.grad(namespace["f"])(2.0) == pytest.approx(want)


def two(x, y):
    return x * x * y


def test_wrt_gives_different_code_and_repeats_hit_the_cache():
    ad.clear_cache()
    assert ad.grad(two, 0)(2.0, 3.0) == 12.0
    assert ad.grad(two, 1)(2.0, 3.0) == 4.0
    misses = ad.cache_info().misses
    assert ad.grad(two, 0)(5.0, 1.0) == 10.0
    assert ad.cache_info().misses == misses
    assert ad.grad(two, 0).source != ad.grad(two, 1).source


# -- functions passed as arguments
def _square(z):
    return z * z


def _cube(z):
    return z ** 3


def apply_to(fn, x):
    return np.sum(fn(x))


def test_a_function_argument_specialises_the_generated_code():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(ad.grad(apply_to, 1)(_square, x), 2 * x)
    np.testing.assert_allclose(ad.grad(apply_to, 1)(_cube, x), 3 * x ** 2)  # not reused
    np.testing.assert_allclose(ad.grad(apply_to, 1)(np.sin, x), np.cos(x))
    ad.check_grads(apply_to, (_cube, x), 1)
