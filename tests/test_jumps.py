"""break / continue / else / return in loops, lowered to flags before ANF."""

import ast
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.frontend.jumps import lower_jumps

sys.path.insert(0, str(Path(__file__).parent))
import corpus_control as c
import corpus_jumps as j

CASES = [
    (c.loop_break, (0.7,)), (c.loop_break, (2.9,)), (j.skip_odd_terms, (0.4,)),
    (j.nested_break_inner_only, (1.3,)), (j.newton_with_tolerance, (2.0,)),
    (j.search_with_else, (0.5,)), (j.search_with_else, (30.0,)), (j.while_continue, (0.8,)),
    (j.return_from_nested_loops, (0.7,)), (j.return_from_nested_loops, (0.1,)),
    (j.return_in_while, (1.1,)), (j.break_then_use_array, (np.array([0.2, 0.5, 0.9]),)),
    # found by the slow random-program profile: the second loop copied the first loop's
    # (unbound, after zero iterations) target into its own
    (j.reused_target_after_empty_loop, (2.0,)),
]


@pytest.mark.parametrize(("func", "args"), CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_matches_finite_differences_in_both_modes(func, args):
    ad.check_grads(func, args)


def test_values_are_the_primal_values():
    for func, args in CASES:
        value, _ = ad.value_and_grad(func)(*args)
        np.testing.assert_allclose(value, func(*args))


def test_exact_derivatives():
    # y = 1.5 x, then 3.75 x, 9.375 x ... until > 100, minus 1 : for x = 30, k = 0 -> 45,
    # k = 1 -> 112.5 -> break at k = 2 with y = 111.5: dy/dx = 3.75
    assert ad.grad(j.search_with_else)(30.0) == pytest.approx(3.75)
    # no break: the else adds 10, derivative 1.5 * 2.5 * 3.5 * 4.5
    assert ad.grad(j.search_with_else)(0.5) == pytest.approx(1.5 * 2.5 * 3.5 * 4.5)
    assert ad.grad(j.while_continue)(0.8) == pytest.approx(1 + 2 + 4 + 5 + 6)
    assert ad.grad(j.newton_with_tolerance)(2.0) == pytest.approx(0.5 / np.sqrt(2.0))


def test_generated_code_keeps_the_loop_and_names_the_flag():
    text = ad.grad(c.loop_break).source
    assert "for " in text and re.search(r"broke\w* = True", text)


def test_functions_without_jumps_are_left_alone():
    tree = ast.parse("def f(x):\n    for i in range(3):\n        x = x * 2\n    return x")
    node = tree.body[0]
    assert lower_jumps(node) is node


def test_flag_names_never_shadow_user_variables():
    tree = ast.parse("def f(broke):\n    for i in range(3):\n        if broke > 1:\n"
                     "            break\n        broke = broke * 2\n    return broke").body[0]
    text = ast.unparse(lower_jumps(tree))
    assert "broke_1 = True" in text and "broke = True" not in text


def test_a_return_the_lowering_cannot_place_is_refused_not_lost():
    # the return sits in a loop inside the else of a loop inside a loop: refused with its
    # line rather than lowered into a flag nobody reads
    with pytest.raises(ad.UnsupportedSyntaxError, match="return inside a loop") as err:
        ad.grad(j.return_from_a_loop_in_a_loop_else)(1.5)
    assert err.value.filename.endswith("corpus_jumps.py")
