"""Reverse mode through control flow and calls: the corpus of tests/corpus_control.py.

Every function is checked against central finite differences; constructs the compiler
refuses raise ``UnsupportedSyntaxError`` naming the construct, the file and the line.
"""

import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).parent))
import corpus_control as c

CORPUS_FILE = c.__file__

rng = np.random.default_rng(1234)


def _vec(n):
    return rng.standard_normal(n)


def _xfail(reason, raises):
    return pytest.mark.xfail(strict=True, reason=reason, raises=raises)


def case(func, args, wrt=0, *marks):
    return pytest.param(func, args, wrt, marks=marks, id=func.__name__)


# Known gaps and bugs, kept strict so that fixing them shows up as XPASS.
LIST_PLUS_REFUSED = _xfail(
    "list + list (concatenation) is refused: build lists with append, a comprehension "
    "or [*a, b]", ad.UnsupportedSyntaxError)

CASES = [
    # branches
    case(c.if_else, (1.3,)),
    case(c.if_else, (-0.8,)),
    case(c.if_elif_else, (-1.6,)),
    case(c.if_elif_else, (0.4,)),
    case(c.if_elif_else, (1.7,)),
    case(c.if_without_else, (1.5, 1.2), (0, 1)),
    case(c.if_without_else, (0.3, 0.4), (0, 1)),
    case(c.nested_ifs, (0.7, 1.1), (0, 1)),
    case(c.nested_ifs, (0.7, -1.1), (0, 1)),
    case(c.nested_ifs, (-0.7, 0.6), (0, 1)),
    case(c.nested_ifs, (-0.7, -1.6), (0, 1)),
    case(c.conditional_expression, (1.4, 0.3), (0, 1)),
    case(c.conditional_expression, (0.2, 0.9), (0, 1)),
    case(c.conditional_in_expression, (0.6,)),
    case(c.conditional_in_expression, (2.5,)),
    case(c.and_condition, (0.8, 1.9), (0, 1)),
    case(c.and_condition, (0.8, -1.9), (0, 1)),
    case(c.or_condition, (2.5, 0.7), (0, 1)),
    case(c.or_condition, (1.5, -0.7), (0, 1)),
    case(c.or_condition, (1.5, 0.7), (0, 1)),
    case(c.not_condition, (-0.9,)),
    case(c.not_condition, (0.9,)),
    case(c.array_condition, (np.array([0.9, 0.2, -0.4]),)),
    case(c.array_condition, (np.array([0.1, 0.6, -0.4]),)),
    case(c.piecewise_linear_quadratic, (-1.7,)),
    case(c.piecewise_linear_quadratic, (0.3,)),
    case(c.piecewise_linear_quadratic, (2.2,)),
    case(c.softplus, (0.7,)),
    case(c.softplus, (25.0,)),
    case(c.softplus, (-22.0,)),
    case(c.huber, (0.3, 1.0), (0, 1)),
    case(c.huber, (-2.5, 1.0), (0, 1)),
    case(c.defined_in_branch, (0.6,)),
    case(c.defined_in_branch, (-0.6,)),
    case(c.threshold_from_global, (0.9,)),
    case(c.threshold_from_global, (0.2,)),
    # early returns
    case(c.several_returns, (-0.5,)),
    case(c.several_returns, (2.5,)),
    case(c.several_returns, (0.7,)),
    case(c.return_inside_loop, (0.9,), 0),
    case(c.return_inside_loop, (0.001,), 0),
    # for loops
    case(c.range_runtime_bound, (0.7, 5)),
    case(c.range_runtime_bound, (0.7, 0)),
    case(c.linear_accumulate, (1.7, 5)),
    case(c.range_start_stop_step, (0.8, 7)),
    case(c.loop_over_rows, (rng.standard_normal((4, 3)),)),
    case(c.loop_enumerate, (_vec(4),)),
    case(c.loop_zip, (_vec(3), _vec(3)), (0, 1)),
    case(c.loop_carried_array, (_vec(3), 4)),
    case(c.loop_two_carried, (0.7, 1.3), (0, 1)),
    case(c.nested_loops, (rng.standard_normal((2, 3)),)),
    case(c.nested_loops_triangular, (_vec(3),)),
    case(c.loop_with_branch, (np.array([0.5, -1.2, 2.0, -0.3]),)),
    case(c.loop_break, (0.8,), 0),
    case(c.loop_break, (5.0,), 0),
    case(c.loop_continue, (np.array([0.5, -1.2, 2.0, -0.3]),), 0),
    case(c.loop_else, (1.3,), 0),
    case(c.loop_else, (6.0,), 0),
    case(c.defined_in_loop, (0.9,)),
    case(c.loop_zero_iterations, (0.9, 0)),
    case(c.loop_zero_iterations, (0.9, 3)),
    case(c.loop_updates_index, (_vec(3),), 0),
    case(c.loop_subscript_aug, (_vec(3),), 0),
    case(c.loop_updates_index_copy, (_vec(3),)),
    case(c.loop_subscript_aug_copy, (_vec(3),)),
    case(c.horner, (_vec(5), 0.7), (0, 1)),
    case(c.rnn, (0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal((3, 2)),
                 _vec(3), rng.standard_normal((4, 2))), (0, 1, 2, 3)),
    case(c.newton_sqrt, (2.0,)),
    case(c.euler_ode, (0.8, 1.2), (0, 1)),
    case(c.loop_branch_carried, (0.8, 6)),
    case(c.loop_swap_product, (0.8, 1.1), (0, 1)),
    case(c.nested_loop_carried_array, (_vec(3), rng.standard_normal((2, 3))), (0, 1)),
    case(c.rnn_collect_states, (0.5 * rng.standard_normal((3, 3)),
                                rng.standard_normal((4, 3))), (0, 1)),
    case(c.loop_np_sum, (_vec(3), 3)),
    case(c.branch_value_used_in_loop, (0.7, _vec(3)), (0, 1)),
    case(c.branch_value_used_in_loop, (-0.7, _vec(3)), (0, 1)),
    # while loops
    case(c.while_array_state, (np.array([0.5, 0.8]), 0.3), (0, 1)),
    case(c.while_data_dependent, (1.3,)),
    case(c.while_counter_and_value, (0.9,)),
    case(c.while_counter_and_value, (3.0,)),
    case(c.newton_sqrt_while, (3.0,)),
    case(c.while_break, (0.6,), 0),
    # lists
    case(c.list_append_sum, (1.1,)),
    case(c.list_comprehension_sum, (_vec(3),)),
    case(c.list_comprehension_filter, (np.array([0.5, -1.2, 2.0]),)),
    case(c.generator_sum, (_vec(3),)),
    case(c.list_indexing, (0.7, -1.4), (0, 1)),
    case(c.list_append_read_last, (0.7, -1.4), (0, 1)),
    case(c.list_append_read_first, (0.7, -1.4), (0, 1)),
    case(c.list_append_read_new_by_position, (0.7, -1.4), (0, 1)),
    case(c.list_concatenate_operator, (0.7, -1.4), (0, 1), LIST_PLUS_REFUSED),
    case(c.list_stack, (_vec(2),)),
    case(c.list_array, (0.7, -1.4), (0, 1)),
    case(c.list_concatenate, (_vec(2), _vec(3)), (0, 1)),
    # calls
    case(c.call_module_helper, (0.8,)),
    case(c.call_other_module, (0.8,)),
    case(c.call_other_module_branches, (0.8, -0.3), (0, 1)),
    case(c.call_other_module_loop, (_vec(3), _vec(3)), (0, 1)),
    case(c.call_keyword_and_default, (0.8, 1.7), (0, 1)),
    case(c.call_star_args, (0.8, 1.7), (0, 1)),
    case(c.call_in_branch, (1.6,)),
    case(c.call_in_branch, (0.4,)),
    case(c.call_function_argument, (0.8,), 0),
    case(c.method_of_global_object, (0.8,)),
    case(c.method_of_object, (0.8,), 0),
    case(c.method_calling_self_method, (0.8,), 0),
    case(c.power_recursive, (1.3, 5)),
    case(c.power_recursive, (1.3, 6)),
    case(c.call_recursive, (0.9,)),
    case(c.call_closure, (0.8,)),
    # nested defs and lambdas, inlined at their calls
    case(c.uses_nested_def, (0.8,)),
    case(c.uses_lambda, (0.8,)),
    case(c.newton_cube_root, (2.5,)),
    case(c.closure_sees_reassignment, (0.7, 1.3), (0, 1)),
    case(c.nested_calls_nested, (0.6,)),
    case(c.nested_early_return, (0.9, 6), 0),
    case(c.nested_early_return, (0.05, 3), 0),
    case(c.nested_piecewise_default, (0.1, 1.0), (0, 1)),
    case(c.nested_piecewise_default, (1.9, 1.0), (0, 1)),
    case(c.nested_piecewise_default, (-1.7, 1.0), (0, 1)),
    case(c.rnn_nested_cell, (0.5 * rng.standard_normal((3, 3)),
                             0.5 * rng.standard_normal((3, 2)), _vec(3),
                             rng.standard_normal((4, 2))), (0, 1, 2, 3)),
    case(c.nested_def_in_loop, (0.8, 4)),
    case(c.nested_keyword_only, (_vec(3), 1.7), (0, 1)),
    case(c.nested_star_args, (0.8, 1.3), (0, 1)),
    case(c.nested_no_return_value_used, (1.2,)),
    case(c.lambda_helpers, (0.8, -1.3), (0, 1)),
    case(c.lambda_rebound_in_loop, (0.9,)),
    case(c.lambda_over_array, (_vec(3), _vec(3)), (0, 1)),
    case(c.call_module_lambda, (0.4,)),
    case(c.smooth_abs, (-0.3,)),
    case(c.ACTIVATIONS["softsign"], (0.7,)),
    case(c.ACTIVATIONS["cubic"], (-0.4,)),
    # *args, keyword-only parameters, methods of user objects
    case(c.call_star_parts, (0.8, 1.7), (0, 1)),
    case(c.call_star_list, (0.8, 1.7), (0, 1)),
    case(c.call_keyword_only, (_vec(3), 1.3), (0, 1)),
    case(c.method_newton_local, (1.4,)),
    case(c.method_newton_global, (0.9,)),
    case(c.method_subclass_override, (0.9,)),
    case(c.method_in_loop, (_vec(3),)),
    case(c.dict_argument_loop, ({"w": 0.5, "b": -1.5}, 0.8), (0, 1)),
]


@pytest.mark.parametrize(("func", "args", "wrt"), CASES)
def test_gradient_matches_finite_differences(func, args, wrt):
    ad.check_grads(func, args, wrt)


def test_gradient_values_by_hand():
    """A few exact values, independent of finite differences."""
    assert ad.grad(c.piecewise_linear_quadratic)(2.2) == 2.0
    assert ad.grad(c.newton_sqrt)(4.0) == pytest.approx(0.25, rel=1e-12)
    assert ad.grad(c.power_recursive)(1.5, 6) == pytest.approx(6 * 1.5 ** 5, rel=1e-12)
    assert ad.grad(c.loop_zero_iterations)(0.9, 0) == 2.0
    coeffs = np.array([1.0, -2.0, 3.0])
    grads = ad.grad(c.horner, (0, 1))(coeffs, 0.5)
    np.testing.assert_allclose(grads[0], [0.25, 0.5, 1.0])
    assert grads[1] == pytest.approx(2 * 1.0 * 0.5 - 2.0)


def test_closure_value_is_read_from_the_enclosing_scope():
    assert ad.grad(c.call_closure)(0.8) == pytest.approx(2.0 * (2 * 1.5 * 0.8 - 0.5))


def _cubic_root(b, a):
    """The real root of x**3 + b x - a, by bisection (independent of the compiler)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mid ** 3 + b * mid - a < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def test_inlined_calls_exact_values():
    """Values by hand for the inlined helpers, in reverse and in forward mode."""
    a = 2.5
    assert ad.grad(c.newton_cube_root)(a) == pytest.approx(a ** (-2 / 3) / 3, rel=1e-10)
    # first = x*y; second = (x*y + 1)*y; f = first + second*x
    x, y = 0.7, 1.3
    want = (y + 2 * x * y * y + y, x + 2 * x * x * y + x)
    assert ad.grad(c.closure_sees_reassignment, (0, 1))(x, y) == pytest.approx(want)
    _, tangent = ad.jvp(c.closure_sees_reassignment, (x, y), (1.0, 0.0))
    assert tangent == pytest.approx(want[0])
    assert ad.grad(c.lambda_rebound_in_loop)(0.9) == pytest.approx(1 + 2 * 0.9 + 3 * 0.81)
    t = 0.7
    assert ad.grad(c.ACTIVATIONS["softsign"])(t) == pytest.approx(1 / (1 + t) ** 2)


@pytest.mark.parametrize("func, b, shift", [
    (c.method_newton_global, 2.0, 0.0),
    (c.method_subclass_override, 2.0, 1.0),  # the subclass's value() shifts the root
])
def test_method_calling_self_methods_uses_the_instance_class(func, b, shift):
    a = 0.9
    root = _cubic_root(b, a + shift)
    want = 1.0 / (3 * root * root + b)
    if func is c.method_newton_global:
        want += 3 * a * a + b  # + CUBIC.value(a, 1.0)
    assert ad.grad(func)(a) == pytest.approx(want, rel=1e-8)
    _, tangent = ad.jvp(func, (a,), (1.0,))
    assert tangent == pytest.approx(want, rel=1e-8)


def test_for_over_a_dict_argument_iterates_its_keys():
    params = {"w": 0.5, "b": -1.5}
    grads = ad.grad(c.dict_argument_loop, (0, 1))(params, 0.8)
    s = (0.5 - 1.5) * 0.8
    assert grads[0] == pytest.approx({"w": 2 * s * 0.8, "b": 2 * s * 0.8})
    assert grads[1] == pytest.approx(2 * s * (0.5 - 1.5))


def test_inlined_nested_def_reads_like_the_user_code():
    text = ad.source(c.newton_cube_root, "grad")
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("residual(" in line or "slope(" in line for line in code)  # inlined
    assert "# line" in text and "return x * x * x - a" in text  # quoted from the def
    assert "for " in text  # the loop stays a loop
    assert "for " in ad.source(c.nested_star_args, "grad")


# -- generated code ---------------------------------------------------------------------


def test_generated_code_keeps_the_loop_a_loop():
    text = ad.grad(c.range_runtime_bound).source
    assert "for " in text
    # the same code serves every trip count: no unrolling
    assert ad.grad(c.range_runtime_bound).source == text


def test_while_loop_stays_a_loop():
    assert "while " in ad.grad(c.while_data_dependent).source


def test_loop_with_nothing_to_save_is_a_loop_with_the_right_gradient():
    text = ad.source(c.linear_accumulate, "grad")
    assert "for " in text
    assert ad.grad(c.linear_accumulate)(1.7, 5) == pytest.approx(sum(range(5)))


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "`s = s + x * i` pushes s and x * i on stacks only so that unbroadcast(ds, s) can "
    "read their shapes; nothing the adjoint needs is overwritten"))
def test_loop_needing_nothing_saved_pushes_nothing():
    text = ad.source(c.linear_accumulate, "grad")
    assert ".append(" not in text
    assert ".pop(" not in text


def test_loop_needing_values_saves_them():
    text = ad.source(c.loop_carried_array, "grad")
    assert ".append(" in text or "push" in text


# -- refused constructs -----------------------------------------------------------------


def _line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(text)


REFUSED = [
    # try, with, global writes and yield are covered by tests/test_errors_core.py
    (c.uses_nonlocal, "nonlocal", "nonlocal total"),
    (c.nested_recursive, "recursive call to 'fact'", "return t * fact(t, n - 1)"),
    (c.nested_as_value, "nested function 'double' used as a value", "apply_twice(double"),
    (c.lambda_as_argument, "a lambda that is not assigned to a name", "lambda t: t * 3.0"),
    (c.nested_defined_in_branch, "define it once", "return pick(x)"),
    (c.star_of_argument, "'*v'", "sum_all(*v)"),
    (c.lambdas_in_dict_literal, "a lambda that is not assigned", '"square": lambda'),
    (c.star_args_foreign_global, "the name 'offset' it reads", "helpers.offset_total("),
    (c.counting_loss, "nonlocal", "nonlocal calls"),
    (c.uses_del, "del", "del y"),
    (c.uses_match, "match", "match 1"),
    (c.uses_yield_from, "yield from", "yield from"),
    (c.uses_await, "async", "async def uses_await"),
]


@pytest.mark.parametrize(("func", "construct", "marker"), REFUSED,
                         ids=[f.__name__ for f, _, _ in REFUSED])
def test_refused_construct_names_itself_file_and_line(func, construct, marker):
    with pytest.raises(ad.UnsupportedSyntaxError) as info:
        ad.grad(func)(1.0)
    error = info.value
    assert construct in str(error).lower()
    assert error.filename == CORPUS_FILE
    assert error.lineno == _line_of(func, marker)


def test_async_function_is_refused():
    with pytest.raises(ad.UnsupportedSyntaxError) as info:
        ad.source(c.fetch, "grad")
    assert "async" in str(info.value).lower()
    assert info.value.filename == CORPUS_FILE
    assert info.value.lineno == _line_of(c.fetch, "async def fetch")


# -- regressions: bugs this corpus found, asserted directly ---------------------------


def test_grad_does_not_mutate_its_argument():
    v = np.array([0.5, -1.0, 2.0])
    ad.grad(c.loop_updates_index)(v)
    np.testing.assert_array_equal(v, [0.5, -1.0, 2.0])


def test_list_append_keeps_the_cotangent_of_old_items():
    assert ad.grad(c.list_append_read_first, (0, 1))(2.0, 3.0) == (4.0, 0.0)
