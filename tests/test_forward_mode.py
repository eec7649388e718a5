"""Forward mode by source transformation: ``ad.jvp``, ``ad.jacobian``, check_grads forward.

Every function of the table is checked against central directional differences and
against reverse mode (the dot-product test <J v, w> = <v, J^T w>), through
``ad.check_grads(..., modes=("reverse", "forward"))``.
"""

import inspect
import math
import re

import numpy as np
import pytest

import adcompiler as ad

HERE = __file__
RNG = np.random.default_rng(0)


def _line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(text)


# ------------------------------------------------------------------- user-style functions
def scalar_poly(x, y):
    return 3.0 * x ** 3 - x * y + math.sin(y) / 2


def array_exp(x):
    return np.sum(np.exp(-x ** 2) * np.tanh(x))


def broadcast_add(x, b):
    return (x + b) ** 2


def scalar_plus_vector(s, v):
    y = s + v * 0.0
    return np.sum(y * y)


def matmul_layer(w, x):
    return np.tanh(x @ w)


def branches(x):
    if np.sum(x) > 0:
        y = np.sin(x) * 2
    else:
        y = x ** 3
    return y


def branch_one_sided(x, w):
    y = w * 1.0
    if w > 0:
        y = x * w
    return y


def for_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s * 0.5 + np.sin(x[i]) * x[i]
    return s


def while_loop(x):
    s = x
    while np.max(np.abs(s)) < 10.0:
        s = s * 1.5 + 0.1
    return s


def builds_array(x):
    y = np.zeros_like(x)
    for i in range(x.shape[0]):
        y[i] = x[i] ** 2
    return y


def index_update(x):
    y = x.copy()
    y[0] = y[1] * y[2]
    return y * x


def helper(a, w):
    return np.tanh(a * w)


def calls_helper(x, w):
    return np.sum(helper(x, w) ** 2) + helper(w, 2.0)


def dict_model(params, x):
    h = np.tanh(x @ params["w"] + params["b"])
    return np.sum(h ** 2)


def tuple_display(x):
    pair = (x * 2, np.sin(x))
    a, b = pair
    return a * b


def frozen(x):
    return x * ad.stop_gradient(np.cos(x))


def opaque_cube(x):
    return x ** 3


@ad.derivative(of=opaque_cube, mode="forward")
def opaque_cube_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    CALLS.append("cube")
    return x ** 3, 3 * x ** 2 * dx


CALLS = []


def uses_custom(x):
    return np.sin(opaque_cube(x))


SEEN = []


def watch(t):
    SEEN.append(np.copy(t))


def hooked(x):
    y = ad.with_derivative(x * 2.0, watch)
    return np.sum(y ** 2)


def checkpointed(x, w):
    layer = ad.checkpoint(helper)
    return np.sum(layer(x, w))


def s3(x1, x2):
    return x1 * np.exp(-(x1 ** 2 + x2 ** 2) / 2)


def s3_vector(x):
    return x[0] * np.exp(-(x[0] ** 2 + x[1] ** 2) / 2)


def vector_r3_r4(x):
    return np.stack([x[0] * x[1], np.sin(x[2]), x[0] + x[2] ** 2, np.exp(x[1])])


def vector_r4_r2(x):
    return np.stack([np.sum(x ** 2), x[0] * x[3] - x[1]])


CASES = [
    ("scalar_poly", scalar_poly, (0.7, -1.3), (0, 1)),
    ("array_exp", array_exp, (RNG.standard_normal(5),), 0),
    ("broadcast_add", broadcast_add, (RNG.standard_normal((3, 4)), RNG.standard_normal(4)),
     (0, 1)),
    ("scalar_plus_vector", scalar_plus_vector, (0.3, RNG.standard_normal(4)), (0, 1)),
    ("matmul", matmul_layer, (RNG.standard_normal((3, 2)), RNG.standard_normal((4, 3))),
     (0, 1)),
    ("branches_pos", branches, (np.array([0.5, 1.0, -0.2]),), 0),
    ("branches_neg", branches, (np.array([-0.5, -1.0, 0.2]),), 0),
    ("branch_one_sided", branch_one_sided, (0.4, 1.3), (0, 1)),
    ("for_loop", for_loop, (RNG.standard_normal(4), 4), 0),
    ("while_loop", while_loop, (np.array([0.5, -0.7]),), 0),
    ("builds_array", builds_array, (RNG.standard_normal(3),), 0),
    ("index_update", index_update, (RNG.standard_normal(3),), 0),
    ("helper_call", calls_helper, (RNG.standard_normal(3), 0.8), (0, 1)),
    ("dict_of_arrays", dict_model, ({"w": RNG.standard_normal((3, 2)),
                                     "b": RNG.standard_normal(2)},
                                    RNG.standard_normal(3)), (0, 1)),
    ("tuple_display", tuple_display, (RNG.standard_normal(3),), 0),
    ("custom_forward_rule", uses_custom, (0.6,), 0),
    ("checkpoint", checkpointed, (RNG.standard_normal(3), 0.5), (0, 1)),
    ("s3", s3, (2.0, 0.5), (0, 1)),
]


@pytest.mark.parametrize("name, func, args, wrt", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_finite_differences_and_reverse(name, func, args, wrt):
    ad.check_grads(func, args, wrt, modes=("reverse", "forward"))


@pytest.mark.parametrize("name, func, args, wrt", CASES, ids=[c[0] for c in CASES])
def test_forward_alone(name, func, args, wrt):
    ad.check_grads(func, args, wrt, modes=("forward",))


# ------------------------------------------------------------------------------ jvp API
def test_jvp_returns_value_and_tangent():
    x = RNG.standard_normal(4)
    v = RNG.standard_normal(4)
    value, tangent = ad.jvp(array_exp, (x,), (v,))
    assert value == pytest.approx(array_exp(x))
    h = 1e-6
    assert tangent == pytest.approx((array_exp(x + h * v) - array_exp(x - h * v)) / (2 * h),
                                    rel=1e-6)


def test_jvp_none_tangent_and_python_float():
    value, tangent = ad.jvp(scalar_poly, (0.7, -1.3), (1.0, None))
    assert isinstance(tangent, float)
    assert tangent == pytest.approx(9 * 0.49 + 1.3)
    assert value == scalar_poly(0.7, -1.3)


def test_jvp_float32_stays_float32():
    x = np.arange(3, dtype=np.float32)
    _, tangent = ad.jvp(matmul_layer, (np.ones((3, 2), np.float32), x[None, :]),
                        (np.ones((3, 2), np.float32), None))
    assert tangent.dtype == np.float32 and tangent.shape == (1, 2)


def test_jvp_of_container_argument():
    params = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    x = RNG.standard_normal(3)
    dparams = {"w": np.zeros((3, 2)), "b": np.ones(2)}
    _, tangent = ad.jvp(dict_model, (params, x), (dparams, None))
    h = np.tanh(x @ params["w"] + params["b"])
    assert tangent == pytest.approx(np.sum(2 * h * (1 - h ** 2)))


def test_jvp_output_tangent_has_output_shape():
    _, tangent = ad.jvp(scalar_plus_vector, (0.3, np.ones(4)), (1.0, None))
    assert tangent == pytest.approx(8 * 0.3)
    _, tangent = ad.jvp(broadcast_add, (np.ones((2, 3)), np.ones(3)), (None, np.ones(3)))
    assert tangent.shape == (2, 3)


def test_stop_gradient_tangent_is_zero():
    # x * stop_gradient(cos x): derivative cos x in both modes (not what differences see)
    assert ad.jvp(frozen, (0.9,), (1.0,))[1] == pytest.approx(math.cos(0.9), abs=1e-15)
    assert ad.grad(frozen)(0.9) == pytest.approx(math.cos(0.9), abs=1e-15)


def test_decorated_wrapper_has_jvp():
    @ad.differentiable
    def f(x):
        return x * x

    assert f.jvp((3.0,), (1.0,)) == (9.0, 6.0)


def test_hook_sees_the_tangent():
    SEEN.clear()
    x = np.array([1.0, 2.0])
    _, tangent = ad.jvp(hooked, (x,), (np.array([1.0, 0.0]),))
    assert len(SEEN) == 1
    np.testing.assert_allclose(SEEN[0], [2.0, 0.0])
    assert tangent == pytest.approx(8.0)


def test_custom_forward_rule_is_called():
    CALLS.clear()
    _, tangent = ad.jvp(uses_custom, (0.6,), (1.0,))
    assert CALLS == ["cube"]
    assert tangent == pytest.approx(math.cos(0.6 ** 3) * 3 * 0.36)
    assert "opaque_cube_jvp_checked((x,), (dx,))" in ad.source(uses_custom, "jvp")


def test_wrong_tangent_shape_is_an_error():
    with pytest.raises(ad.ADError, match="shape"):
        ad.jvp(array_exp, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ad.ADError, match="one tangent per argument"):
        ad.jvp(scalar_poly, (1.0, 2.0), (1.0,))


def test_integer_argument_with_tangent_is_an_error():
    with pytest.raises(ad.ADError, match="integer"):
        ad.jvp(for_loop, (np.ones(3), 3), (np.ones(3), 1))


# ------------------------------------------------------------------------- seeds S3, S5
S3_EXPECTED = (-0.358298904800159, -0.119432968266720)


def test_s3_forward_and_reverse():
    forward = [ad.jvp(s3, (2.0, 0.5), seed)[1] for seed in ((1.0, None), (None, 1.0))]
    reverse = ad.grad(s3, (0, 1))(2.0, 0.5)
    for got in (forward, reverse):
        assert got[0] == pytest.approx(S3_EXPECTED[0], abs=1e-15)
        assert got[1] == pytest.approx(S3_EXPECTED[1], abs=1e-15)
    x = np.array([2.0, 0.5])
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(ad.jacobian(s3_vector, mode=mode)(x), S3_EXPECTED,
                                   atol=1e-15)


def test_s5_grad_of_vector_function_raises_jacobian_works():
    x = np.array([0.3, -0.2, 0.9])
    with pytest.raises(ad.NonScalarOutputError, match="jacobian"):
        ad.grad(vector_r3_r4)(x)
    assert ad.jacobian(vector_r3_r4)(x).shape == (4, 3)


# ---------------------------------------------------------------------------- jacobian
def _numeric_jacobian(f, x, h=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("func, n", [(vector_r3_r4, 3), (vector_r4_r2, 4)],
                         ids=["R3_to_R4", "R4_to_R2"])
def test_jacobian_modes_match_finite_differences(func, n, mode):
    x = RNG.standard_normal(n)
    jac = ad.jacobian(func, mode=mode)
    got = jac(x)
    assert got.shape == (*np.shape(func(x)), n)
    np.testing.assert_allclose(got, _numeric_jacobian(func, x), rtol=1e-6, atol=1e-8)
    if mode == "auto":
        assert jac.last_mode == ("forward" if n < np.size(func(x)) else "reverse")
    assert "def " in jac.source


def test_jacobian_of_matrix_input_and_cache():
    w = RNG.standard_normal((3, 2))
    x = RNG.standard_normal((4, 3))
    jac = ad.jacobian(matmul_layer, wrt=0, mode="forward")
    got = jac(w, x)
    assert got.shape == (4, 2, 3, 2)
    np.testing.assert_allclose(got, ad.jacobian(matmul_layer, wrt=0, mode="reverse")(w, x),
                               atol=1e-12)
    before = ad.cache_info().misses
    jac(w * 2, x)
    assert ad.cache_info().misses == before


def test_jacobian_bad_mode():
    with pytest.raises(ad.ADError, match="mode"):
        ad.jacobian(vector_r3_r4, mode="sideways")


# ------------------------------------------------------------------ the generated source
def test_generated_source_is_readable():
    text = ad.source(s3, "jvp", wrt=(0, 1), args=(2.0, 0.5))
    assert text.startswith("def s3_jvp(x1, x2, dx1, dx2):")
    assert "# line" in text and "return x1 * np.exp" in text
    assert "ZERO" not in text and "pop()" not in text and "append" not in text


def test_inactive_operands_generate_no_tangent_code():
    text = ad.source(s3, "jvp", wrt=0, args=(2.0, 0.5))
    assert "dx2" not in text
    text = ad.source(frozen, "jvp", args=(1.0,))
    body = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("sin" in line for line in body)  # no tangent through stop_gradient


def test_loops_keep_their_structure():
    text = ad.source(for_loop, "jvp", args=(np.ones(3), 3))
    assert "for i in" in text and "reversed" not in text
    text = ad.source(while_loop, "jvp", args=(np.ones(2),))
    assert "while cond" in text


def test_helper_gets_its_own_jvp():
    text = ad.source(calls_helper, "jvp", wrt=(0, 1), args=(np.ones(3), 0.5))
    # each specialisation of helper has its own def (numbered in order of first compile)
    full = re.search(r"def (helper\w*_jvp)\(a, w, da, dw\):", text).group(1)
    partial = re.search(r"def (helper\w*_jvp)\(a, w, da\):", text).group(1)
    assert f"= {full}(x, w, dx, dw)" in text and f"= {partial}(w, 2.0, dw)" in text


def test_command_line_prints_jvp(capsys):
    from adcompiler.__main__ import main

    assert main([f"{HERE}:s3", "--mode", "forward", "--wrt", "0,1"]) == 0
    assert "def s3_jvp(x1, x2, dx1, dx2):" in capsys.readouterr().out


# -------------------------------------------------------------------------------- errors
def no_forward_rule(x):
    return math.gamma(x)


def test_missing_forward_rule_names_file_and_line():
    with pytest.raises(ad.NonDifferentiableError) as info:
        ad.jvp(no_forward_rule, (2.5,), (1.0,))
    assert info.value.filename == HERE
    assert info.value.lineno == _line_of(no_forward_rule, "math.gamma")


def sorts_in_place(x):
    y = x * 2
    y.sort()
    return y


def test_unsupported_syntax_names_file_and_line():
    with pytest.raises(ad.UnsupportedSyntaxError, match="sort") as info:
        ad.jvp(sorts_in_place, (np.ones(3),), (np.ones(3),))
    assert info.value.filename == HERE
    assert info.value.lineno == _line_of(sorts_in_place, "y.sort()")
