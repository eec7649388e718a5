"""An active value never meets an operation without a derivative silently (issue 18, item 2).

``np.r_[...]`` and ``np.c_[...]`` are concatenations written as subscripts of objects;
they have rules now, checked here against exact values in both modes and at second order.
Any other operation a differentiated value reaches that the compiler has no derivative for
(a subscript of an object that is not an array or a container, an attribute of an array
without a rule, a method of an unknown object) raises ``NonDifferentiableError`` naming
the user's file and line, in both modes. Item assignment into a dict or list works in
both modes. Each reproducer of the issue is a named regression test.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import adcompiler as ad

HERE = __file__
C = np.array([5.0, 6.0])
A = np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.5]])


def _line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(text)


# -- np.r_ and np.c_: each program is linear in x, so its gradient is exact by probing ------
def r_constant(x):
    return np.r_[x, C]


def r_scalars_mixed(x):
    return np.r_[x, 3.0, x[0]]


def r_slice_first(x):
    return np.r_[0:3, x]


def r_slice_inside(x):
    return np.r_[x, 0:6:2, x * 2.0]


def r_linspace_slice(x):
    return np.r_[x, 0.0:1.0:4j]


def r_single(x):
    return np.r_[x]


def r_directive_rows(x):
    return np.r_["0,2", x, x * 3.0]


def r_directive_columns(x):
    return np.r_["0,2,0", x, x * 3.0]


def r_directive_axis(x):
    m = np.reshape(x, (3, 1))
    return np.r_["-1", m, m * 2.0, A]


def r_two_d(x):
    return np.r_[A, np.reshape(x, (1, 3))[:, :2] * 2.0, A * x[2]]


def c_columns(x):
    return np.c_[x, 2.0 * x]


def c_with_matrix(x):
    return np.c_[A, x, x[::-1]]


def c_with_slice(x):
    return np.c_[x, 0:3]


def c_two_d(x):
    return np.c_[np.reshape(x, (3, 1)), A]


R_C_PROGRAMS = [r_constant, r_scalars_mixed, r_slice_first, r_slice_inside, r_linspace_slice,
                r_single, r_directive_rows, r_directive_columns, r_directive_axis, r_two_d,
                c_columns, c_with_matrix, c_with_slice, c_two_d]
X = np.array([0.7, -1.2, 2.5])


def _weights(program):
    out = program(X)
    return np.linspace(-1.0, 2.0, out.size).reshape(out.shape)


def _weighted(program):
    w = _weights(program)

    def loss(x):
        return np.sum(w * program(x))

    return loss


def _exact_grad(program):
    """The gradient of the affine ``x -> sum(w * program(x))``, probed coordinate-wise."""
    w = _weights(program)
    base = np.sum(w * program(np.zeros(3)))
    return np.array([np.sum(w * program(e)) - base for e in np.eye(3)])


@pytest.mark.parametrize("program", R_C_PROGRAMS, ids=lambda p: p.__name__)
def test_r_and_c_gradients_are_exact_in_reverse_mode(program):
    loss = _weighted(program)
    np.testing.assert_allclose(ad.grad(loss)(X), _exact_grad(program), rtol=1e-13,
                               atol=1e-13)


@pytest.mark.parametrize("program", R_C_PROGRAMS, ids=lambda p: p.__name__)
def test_r_and_c_tangents_are_exact_in_forward_mode(program):
    v = np.array([0.3, -1.1, 0.6])
    value, tangent = ad.jvp(program, (X,), (v,))
    np.testing.assert_array_equal(value, program(X))
    exact = program(v) - program(np.zeros(3))  # affine: J v exactly
    np.testing.assert_allclose(tangent, exact, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("program", R_C_PROGRAMS, ids=lambda p: p.__name__)
def test_r_and_c_vjp_and_jvp_agree_with_differences(program):
    ad.check_grads(program, [X])


@pytest.mark.parametrize("program", R_C_PROGRAMS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_r_and_c_jacobians_are_exact(program, mode):
    exact = np.stack([program(e) - program(np.zeros(3)) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(ad.jacobian(program, mode=mode)(X), exact, rtol=1e-14,
                               atol=1e-14)


def squared_r(x, y):
    return np.sum(np.r_[x, 1.0, y * x[0]] ** 2)


def squared_c(x):
    return np.sum(np.c_[A, x ** 2, np.sin(x)] ** 3)


@pytest.mark.parametrize("program", [squared_r, squared_c], ids=lambda p: p.__name__)
def test_r_and_c_second_derivatives_match_differences(program):
    args = [X, np.array([0.4, -0.3])] if program is squared_r else [X]
    ad.check_grads(program, args, order=2)


def test_r_with_respect_to_a_second_argument_is_exact():
    x, y = X, np.array([0.4, -0.3])
    gx, gy = ad.grad(squared_r, (0, 1))(x, y)
    np.testing.assert_allclose(gy, 2.0 * y * x[0] ** 2, rtol=1e-14)
    want = 2.0 * x
    want[0] += 2.0 * np.sum(y * y) * x[0]
    np.testing.assert_allclose(gx, want, rtol=1e-14)


def test_r_source_reads_like_the_concatenation():
    text = ad.source(_weighted(r_slice_first))
    assert "np.r_[0:3, x]" in text
    assert "unconcatenator(" in text


def test_regression_issue18_r_dot_product_is_not_zero():
    """The issue's dot-product test: 0.0 against 1.64 by finite differences."""
    w = np.array([0.2, -0.4, 1.1, 0.9, 0.3])
    v = np.array([1.0, 0.5, 1.2])

    def dot(x):
        return np.sum(w * np.r_[x, C])

    want = np.sum(w[:3] * v)  # 1.75
    (g,) = ad.vjp(r_constant, X)[1](w)
    assert np.sum(g * v) == pytest.approx(want, rel=1e-14)
    assert np.sum(ad.grad(dot)(X) * v) == pytest.approx(want, rel=1e-14)
    assert ad.jvp(dot, (X,), (v,))[1] == pytest.approx(want, rel=1e-14)


def test_regression_issue18_c_gradient_is_not_zero():
    def loss(x):
        return np.sum(np.c_[x, 2.0 * x] ** 3)

    np.testing.assert_allclose(ad.grad(loss)(X), 27.0 * X ** 2, rtol=1e-14)
    tangent = ad.jvp(loss, (X,), (np.ones(3),))[1]
    assert tangent == pytest.approx(np.sum(27.0 * X ** 2), rel=1e-14)


def r_matrix_directive(x):
    return np.sum(np.r_["r", x, x])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_r_matrix_directive_is_refused_not_wrong():
    with pytest.raises(ad.ADError, match="directive"):
        ad.grad(r_matrix_directive)(X)


# -- refusals: an active value reaches an operation without a derivative --------------------
class Table:
    """An object whose ``__getitem__`` computes (its derivative is unknown)."""

    def __getitem__(self, key):
        if isinstance(key, slice):
            return key.stop - key.start
        return key * 2.0


TABLE = Table()


def table_lookup(x):
    return TABLE[x[0]] + x[1]


def local_table_lookup(x):
    table = Table()
    return table[x[0] * x[1]] + table[1.0:2.0]


def test_a_user_objects_getitem_is_differentiated_like_a_method():
    """``TABLE[x]`` calls ``Table.__getitem__`` (Python source): differentiated, not
    treated as indexing (it gave 0 for ``x[0]``)."""
    x = np.array([1.5, 2.0])
    np.testing.assert_array_equal(ad.grad(table_lookup)(x), [2.0, 1.0])
    assert ad.jvp(table_lookup, (x,), (np.array([1.0, 0.0]),))[1] == 2.0
    np.testing.assert_array_equal(ad.grad(local_table_lookup)(x), [4.0, 3.0])


def ogrid_with_a_differentiated_bound(x):
    return np.sum(np.ogrid[0.0:x[0]:4j] * x[1])


def mgrid_with_a_differentiated_bound(x):
    return np.sum(np.mgrid[0.0:x[0]:4j])


def attribute_without_rule(x):
    return np.sum(x.flat[1] * x)


def real_attribute(x):
    return np.sum(x.real ** 2)


def method_of_an_unknown_object(x):
    rng = np.random.default_rng(0)
    return np.sum(rng.normal(x))


REFUSALS = [
    (ogrid_with_a_differentiated_bound, "np.ogrid[", "OGridClass"),
    (mgrid_with_a_differentiated_bound, "np.mgrid[", "MGridClass"),
    (attribute_without_rule, "x.flat", ".flat"),
    (real_attribute, "x.real", ".real"),
    (method_of_an_unknown_object, "rng.normal", ".normal"),
]


@pytest.mark.parametrize("func, marker, named", REFUSALS, ids=lambda v: getattr(v, "__name__",
                                                                                 None))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_active_value_without_a_rule_is_refused_with_file_and_line(func, marker, named, mode):
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ad.NonDifferentiableError) as info:
        if mode == "reverse":
            ad.grad(func)(x)
        else:
            ad.jvp(func, (x,), (np.ones(3),))
    assert named in str(info.value)
    assert info.value.filename == HERE
    assert info.value.lineno == _line_of(func, marker)


def constant_subscript_of_an_object(x):
    return TABLE[2.0] * x[0] + np.sum(np.mgrid[0:3] * x)


def index_expression(x):
    return np.sum(x[np.s_[1:]] ** 2) + np.sum(x[np.index_exp[:1]])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_objects_without_rules_are_fine_when_nothing_differentiated_reaches_them(mode):
    x = np.array([1.0, 2.0, 3.0])
    want = np.array([4.0 + 0.0, 1.0, 2.0])
    if mode == "reverse":
        np.testing.assert_array_equal(ad.grad(constant_subscript_of_an_object)(x), want)
    else:
        tangents = [ad.jvp(constant_subscript_of_an_object, (x,), (e,))[1] for e in np.eye(3)]
        np.testing.assert_array_equal(tangents, want)
    ad.check_grads(index_expression, [x])


def grid_of_constant(x):
    return np.sum(np.mgrid[0.0:ad.stop_gradient(x[0]):4j]) + x[1]


def test_stop_gradient_on_the_index_makes_a_subscript_of_an_object_constant():
    np.testing.assert_array_equal(ad.grad(grid_of_constant)(np.array([1.0, 2.0])),
                                  [0.0, 1.0])


# -- item assignment into a dict or list -------------------------------------------------------
def dict_state(x):
    state = {}
    state["h"] = x * 2.0
    state["g"] = state["h"] ** 2
    return np.sum(state["g"])


def dict_state_in_a_loop(x):
    state = {"h": x}
    for _ in range(3):
        state["h"] = np.sin(state["h"]) * 1.5
    return np.sum(state["h"])


def list_item_assignment(x):
    parts = [x, x * 2.0]
    parts[1] = np.tanh(parts[0]) * parts[1]
    return np.sum(parts[1])


def dict_overwritten_key(x):
    state = {"h": x, "c": x * 0.5}
    state["h"] = state["c"] * state["h"]
    state["c"] = np.cos(state["h"])
    return np.sum(state["c"] + state["h"])


@pytest.mark.parametrize("program", [dict_state, dict_state_in_a_loop, list_item_assignment,
                                     dict_overwritten_key], ids=lambda p: p.__name__)
def test_item_assignment_into_containers_in_both_modes(program):
    ad.check_grads(program, [np.array([0.3, -0.8, 1.1])], order=2)


def test_regression_issue18_dict_item_assignment_gradient():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ad.grad(dict_state)(x), 8.0 * x, rtol=1e-15)
    assert ad.jvp(dict_state, (x,), (np.ones(3),))[1] == pytest.approx(8.0 * np.sum(x))


def state_update(params, x):
    out = params.copy()
    out["w"] = params["w"] * x
    return out


def uses_state_update(params, x):
    new = state_update(params, x)
    return np.sum(new["w"] ** 2 + new["b"])


def test_item_assignment_in_a_helper_on_a_dict_argument():
    params = {"w": np.array([0.5, -1.0]), "b": np.array([2.0, 3.0])}
    x = np.array([1.5, 0.25])
    g = ad.grad(uses_state_update)(params, x)
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], 2.0 * params["w"] * x ** 2, rtol=1e-15)
    np.testing.assert_array_equal(g["b"], [1.0, 1.0])


# -- a differentiated value through a global object ------------------------------------------
LOG = []
STATE = {}


def through_a_global_list(x):
    LOG.append(x * 2.0)
    return np.sum(LOG[-1] * x)


def through_a_global_dict(x):
    STATE["h"] = x * 2.0
    return np.sum(STATE["h"] * x)


def logs_only(x):
    LOG.append(x * 2.0)
    LOG.append(x)
    return np.sum(x * x)


@pytest.mark.parametrize("func, marker", [(through_a_global_list, "LOG[-1]"),
                                          (through_a_global_dict, 'STATE["h"] * x')],
                         ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_value_read_back_from_a_global_is_refused(func, marker, mode):
    """Both gave ``2x`` where the derivative is ``4x``."""
    x = np.array([1.0, 2.0])
    with pytest.raises(ad.UnsupportedSyntaxError, match="read back") as info:
        if mode == "reverse":
            ad.grad(func)(x)
        else:
            ad.jvp(func, (x,), (np.ones(2),))
    assert info.value.filename == HERE
    assert info.value.lineno == _line_of(func, marker)


def test_writing_into_a_global_for_logging_still_runs():
    LOG.clear()
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(ad.grad(logs_only)(x), 2.0 * x)
    assert len(LOG) == 2


# -- the item-assignment helpers are transposes of each other (dot-product tests) -------------
def _inner(a, b):
    from adcompiler.pytree import tree_leaves

    return sum(float(np.sum(p * q)) for p, q in zip(tree_leaves(a), tree_leaves(b),
                                                     strict=True))


ITEM_CASES = [
    ("dict, existing key", {"h": np.ones(2), "c": np.ones(3)}, "h", np.ones(2)),
    ("dict, new key", {"c": np.ones(3)}, "h", np.ones(2)),
    ("list", [np.ones(2), np.ones(3)], 1, np.ones(3)),
    ("array, basic index, broadcast value", np.ones((3, 2)), 1, np.ones(1)),
    ("array, repeated fancy index", np.ones(4), np.array([0, 2, 0]), np.ones(3)),
]


@pytest.mark.parametrize("a, key, v", [c[1:] for c in ITEM_CASES],
                         ids=[c[0] for c in ITEM_CASES])
def test_item_assignment_helpers_are_transposes(a, key, v):
    from adcompiler.pytree import set_child, tree_map
    from adcompiler.runtime import placed_part, restored_child, without_child, written_part

    rng = np.random.default_rng(3)
    after = a.copy() if isinstance(a, np.ndarray) else set_child(a, key, v)
    if isinstance(a, np.ndarray):
        after[key] = v
    g = tree_map(lambda leaf: rng.normal(size=np.shape(leaf)), after)
    u = rng.normal(size=np.shape(v))
    assert _inner(written_part(g, a, key, v), u) == pytest.approx(
        _inner(g, placed_part(u, g, a, key)), rel=1e-12)
    w = tree_map(lambda leaf: rng.normal(size=np.shape(leaf)), a)
    assert _inner(without_child(g, a, key), w) == pytest.approx(
        _inner(g, restored_child(w, g, a, key)), rel=1e-12)


# -- text: a value formatted as a string has no derivative ------------------------------------
def through_text(x):
    return float(str(x[0])) * x[1]


def through_an_f_string(x):
    text = f"{x[0]}"
    return float(text) * x[1]


def prints_a_differentiated_value(x):
    label = f"x0 = {x[0]}"
    print(label)
    return x[0] * x[1]


@pytest.mark.parametrize("func, marker", [(through_text, "str(x[0])"),
                                          (through_an_f_string, 'f"{x[0]}"')],
                         ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_value_through_text_is_refused(func, marker, mode):
    """``float(str(x))`` gave derivative 0 (``str`` counted as zero-derivative)."""
    x = np.array([1.25, 2.0])
    with pytest.raises(ad.NonDifferentiableError) as info:
        if mode == "reverse":
            ad.grad(func)(x)
        else:
            ad.jvp(func, (x,), (np.ones(2),))
    assert info.value.lineno == _line_of(func, marker)


def test_formatting_for_printing_only_still_runs(capsys):
    np.testing.assert_array_equal(ad.grad(prints_a_differentiated_value)(np.array([1.5, 2.0])),
                                  [2.0, 1.5])
    assert "x0 = 1.5" in capsys.readouterr().out
