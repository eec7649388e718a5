"""The error corpus (tests/bad_programs/corpus.py): every program is refused with the right
error class, a message naming the construct, and the user's file and line -- or, where the
compiler handles the program, the derivative is checked to be right.

Cases already in tests/test_errors_core.py are not repeated. Findings that are bugs today
(a wrong derivative without an error, or a crash that is not an ADError) are
``xfail(strict=True)`` with the reason, so they flip to failures when fixed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).parent))
from bad_programs import corpus as C  # noqa: N812

CORPUS_FILE = C.__file__


def line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(f"{text!r} not in {func.__name__}")


V3 = np.array([3.0, 1.0, 2.0])

# (function, arguments, wrt, error class, words the message must contain, line marker)
REFUSED = [
    (C.uses_del, (1.5,), 0, ad.UnsupportedSyntaxError, ["del"], "del y"),
    (C.uses_try_finally, (1.5,), 0, ad.UnsupportedSyntaxError, ["try"], "try:"),
    (C.uses_nonlocal, (1.5,), 0, ad.UnsupportedSyntaxError, ["nonlocal"], "nonlocal total"),
    (C.uses_global_augmented, (1.5,), 0, ad.UnsupportedSyntaxError, ["global"],
     "global COUNTER"),
    (C.counts_calls, (1.5,), 0, ad.UnsupportedSyntaxError, ["global"], "global COUNTER"),
    (C.uses_match, (1.5, "sq"), 0, ad.UnsupportedSyntaxError, ["match", "if/elif"],
     "match mode"),
    (C.uses_builtin_round_like, (np.ones(2),), 0, ad.UnsupportedSyntaxError, ["lambda"],
     "np.vectorize"),
    (C.uses_yield_from, (1.5,), 0, ad.UnsupportedSyntaxError, ["yield from"], "yield from"),
    (C.generator_function, (1.5,), 0, ad.UnsupportedSyntaxError, ["yield", "generator"],
     "yield x"),
    (C.uses_async_with, (1.5,), 0, ad.UnsupportedSyntaxError, ["async"], "async def"),
    (C.uses_walrus, (1.5,), 0, ad.UnsupportedSyntaxError, [":="], "y :="),
    (C.uses_set_comprehension, (1.5,), 0, ad.UnsupportedSyntaxError, ["set comprehension"],
     "s = {v"),
    (C.uses_dict_comprehension, (V3,), 0, ad.UnsupportedSyntaxError, ["dict comprehension"],
     "d = {i"),
    (C.uses_decorated_inner, (1.5,), 0, ad.UnsupportedSyntaxError, ["import"],
     "import functools"),
    (C.writes_argument_element, (np.ones(3),), 0, ad.UnsupportedSyntaxError, ["x[0]"],
     "x[0] = 1.0"),
    (C.writes_argument_slice, (V3.copy(),), 0, ad.UnsupportedSyntaxError, ["x[1:]"],
     "x[1:] = 0.0"),
    (C.inplace_multiply_argument, (V3.copy(),), 0, ad.UnsupportedSyntaxError,
     ["augmented assignment", "'x *= 2.0'", "'x = x * 2.0'"], "x *= 2.0"),
    (C.alias_then_inplace, (V3.copy(),), 0, ad.UnsupportedSyntaxError,
     ["augmented assignment", "'y += 1.0'", "'y = y + 1.0'"], "y += 1.0"),
    (C.writes_attribute, (C.Box(1.0), 1.5), 1, ad.UnsupportedSyntaxError, ["attribute", ".v"],
     "box.v = "),
    (C.uses_fft, (np.ones(4),), 0, ad.NonDifferentiableError, ["fft", "ad.derivative"],
     "np.fft.fft"),
    (C.uses_math_gamma, (2.5,), 0, ad.NonDifferentiableError, ["gamma", "ad.derivative"],
     "math.lgamma"),
    (C.uses_np_sort, (V3,), 0, ad.NonDifferentiableError, ["sort", "ad.derivative"],
     "np.sort"),
    (C.uses_linalg_eig, (np.eye(2) * 2.0,), 0, ad.NonDifferentiableError, ["eig"],
     "np.linalg.eig"),
    (C.uses_floor_division, (V3,), 0, ad.NonDifferentiableError,
     ["operator //", "'np.sin(x) * x // 2.0'"], "x // 2.0"),
    (C.calls_function_from_list, (V3, [np.cos]), 0, ad.NonDifferentiableError,
     ["'fns[0](np.sin(x))'", "argument"], "fns[0]("),
    (C.calls_library_with_statement, (V3,), 0, ad.NonDifferentiableError,
     ["thirdparty.logsumexp", "@ad.derivative(of=thirdparty.logsumexp)", "with np.errstate"],
     "thirdparty.logsumexp("),
    (C.calls_library_ufunc, (V3,), 0, ad.NonDifferentiableError,
     ["thirdparty.lgamma", "@ad.derivative(of=thirdparty.lgamma)"], "thirdparty.lgamma("),
    (C.calls_generator, (1.5,), 0, ad.UnsupportedSyntaxError, ["yield", "called from"],
     None),
    (C.uses_before_assignment, (1.5,), 0, ad.UnsupportedSyntaxError,
     ["'y'", "before it is assigned"], "return y * x"),
    (C.grid_to_a_differentiated_bound, (1.5,), 0, ad.NonDifferentiableError,
     ["np.mgrid[", "MGridClass", "__getitem__"], "np.mgrid["),
    (C.reads_back_from_a_global, (1.5,), 0, ad.UnsupportedSyntaxError,
     ["'HISTORY'", "read back"], "HISTORY[-1]"),
]


@pytest.mark.parametrize(("func", "args", "wrt", "error", "words", "marker"), REFUSED,
                         ids=[case[0].__name__ for case in REFUSED])
def test_refused_with_class_construct_file_and_line(func, args, wrt, error, words, marker):
    with pytest.raises(error) as info:
        ad.grad(func, wrt)(*args)
    text = str(info.value)
    for word in words:
        assert word.lower() in text.lower(), (word, text)
    assert info.value.filename == CORPUS_FILE
    if marker is not None:
        assert info.value.lineno == line_of(func, marker)
    else:  # the error is in the generator the function calls
        assert info.value.lineno == line_of(C.generator_function, "yield x")


# -- refused at the call: no source line, but the message names the problem ---------------
CALL_ERRORS = [
    ("star_args", lambda: ad.grad(C.uses_star_args)(1.5), ad.ADError, "*args"),
    ("kwargs", lambda: ad.grad(C.uses_kwargs)(1.5), ad.ADError, "**kwargs"),
    ("int_array_wrt", lambda: ad.grad(C.vector_output)(np.arange(1)), ad.ADError, "integer"),
    ("ufunc_not_python", lambda: ad.grad(np.sin)(1.0), ad.ADError, "not a Python function"),
    ("partial_not_python", lambda: ad.grad(functools.partial(C.scalar, n=2.0))(1.0),
     ad.ADError, "not a Python function"),
    ("vector_output", lambda: ad.grad(C.vector_output)(np.ones(3)), ad.NonScalarOutputError,
     "vjp"),
    ("string_output", lambda: ad.grad(C.string_output)(1.5), ad.NonScalarOutputError,
     "scalar"),
    ("none_output", lambda: ad.grad(C.none_output)(1.5), ad.NonScalarOutputError,
     "missing 'return'"),
    ("hessian_of_vector_output", lambda: ad.hessian(C.vector_output)(np.ones(3)),
     ad.NonScalarOutputError, "scalar"),
    ("has_aux_without_pair", lambda: ad.grad(C.scalar_kw, has_aux=True)(1.5), ad.ADError,
     "(loss, aux)"),
    ("pullback_of_none", lambda: ad.vjp(C.scalar_kw, 1.5)[1](None), ad.ADError, "cotangent"),
    ("complex_argument", lambda: ad.grad(C.scalar_kw)(1.5 + 1j), ad.ADError, "complex"),
    ("complex_output", lambda: ad.grad(C.complex_output)(1.5), ad.ADError, "complex"),
    ("masked_argument", lambda: ad.grad(C.matrix_output)(np.ma.ones((1, 1))), ad.ADError,
     "masked"),
    ("wrapper_object", lambda: ad.grad(C.OpaqueWrapper(C.scalar_kw))(1.5), ad.ADError,
     "wrapper"),
]


@pytest.mark.parametrize(("thunk", "error", "word"), [c[1:] for c in CALL_ERRORS],
                         ids=[c[0] for c in CALL_ERRORS])
def test_refused_at_call(thunk, error, word):
    with pytest.raises(error, match=None) as info:
        thunk()
    assert word.lower() in str(info.value).lower()


# -- the wrong number of arguments: the TypeError Python gives ---------------------------
@pytest.mark.parametrize("args", [(1.0,), (1.0, 2.0, 3.0)], ids=["too_few", "too_many"])
def test_wrong_number_of_arguments_is_a_type_error(args):
    with pytest.raises(TypeError) as python:
        C.scalar(*args)
    with pytest.raises(TypeError) as ours:
        ad.grad(C.scalar)(*args)
    assert "scalar()" in str(ours.value)
    assert ("missing" in str(python.value)) == ("missing" in str(ours.value))


def test_reading_an_undefined_name_is_python_name_error():
    with pytest.raises(NameError, match="undefined_name"):
        C.reads_undefined(1.5)
    with pytest.raises(NameError, match="undefined_name"):
        ad.grad(C.reads_undefined)(1.5)


# -- handled: the compiler accepts these, and the derivative is right ---------------------
def test_raise_in_branch_not_taken():
    assert ad.grad(C.uses_raise)(1.5) == 3.0


def test_assert_statement_runs_and_is_skipped_in_derivative():
    assert ad.grad(C.uses_assert)(1.5) == 3.0


def test_print_runs_once_in_the_forward_sweep():
    for transform in (ad.grad, ad.value_and_grad):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            transform(C.prints_value)(1.5)
        assert out.getvalue() == "x is 1.5\n"


def test_append_of_differentiated_value_to_global_list():
    """Refused (naming the call and line) or run once with the right gradient: the
    compiler's answer has changed during development, both are acceptable."""
    C.CACHE.clear()
    try:
        grad = ad.grad(C.appends_to_global_list)(1.5)
    except ad.UnsupportedSyntaxError as error:
        assert "append" in str(error)
        assert error.lineno == line_of(C.appends_to_global_list, "CACHE.append")
    else:
        assert grad == 3.0
        assert C.CACHE == [1.5]


def test_random_call_runs_once_and_gradient_matches_value():
    value, grad = ad.value_and_grad(C.uses_random)(2.0)
    assert grad == pytest.approx(value / 2.0)


def test_recursion_fixed_depth():
    assert ad.grad(C.recursive_power)(1.5, 3) == pytest.approx(3 * 1.5**2)


def test_recursion_data_dependent_depth():
    # 3.0 -> 1.5 -> 0.75: f = 0.25 x + 2 there
    assert ad.grad(C.recursive_data_dependent)(3.0) == pytest.approx(0.25)


@pytest.mark.parametrize("func", [C.uses_lambda, C.uses_nested_def],
                         ids=lambda f: f.__name__)
def test_nested_def_and_local_lambda_are_inlined(func):
    """Were refused; now inlined at their calls (tests/test_control_flow.py has more)."""
    ad.check_grads(func, (1.5,))


def test_lambda_bound_at_module_level():
    assert ad.grad(C.square_lambda)(3.0) == 6.0


def test_wrt_keyword_parameter_by_name():
    assert ad.grad(C.scalar_kw, "scale")(2.0) == 4.0


def test_math_erf_has_a_rule():
    ad.check_grads(C.uses_math_erf, (1.5,))


def test_float_cast_is_identity_for_derivatives():
    assert float(ad.grad(C.uses_float_cast)(np.array(2.0))) == 4.0


# -- bugs found (xfail until fixed) --------------------------------------------------------
def test_inplace_sort_of_argument_is_refused():
    """Was a silent wrong gradient ([2, 4, 6] instead of [6, 2, 4]); now refused."""
    v = V3.copy()
    with pytest.raises(ad.UnsupportedSyntaxError, match="sort") as info:
        ad.grad(C.argument_method_mutation)(v)
    assert info.value.lineno == line_of(C.argument_method_mutation, "v.sort()")


def test_fill_of_argument_is_refused():
    """Was a silent wrong gradient ([1, 1, 1] for a constant); now refused."""
    with pytest.raises(ad.UnsupportedSyntaxError, match="fill") as info:
        ad.grad(C.fills_argument)(V3.copy())
    assert info.value.lineno == line_of(C.fills_argument, "v.fill")


def test_write_into_global_dict_runs_once_in_the_forward_sweep():
    """A write into a global object is a side effect: it runs as written, once per call."""
    C.STATE["calls"] = 0
    assert ad.grad(C.writes_global_dict)(1.5) == pytest.approx(
        ad.testing.numerical_grad(C.writes_global_dict, [1.5], 0))
    calls = C.STATE["calls"]
    ad.grad(C.writes_global_dict)(1.5)
    assert C.STATE["calls"] == calls + 1


@pytest.mark.parametrize("func", [C.tuple_output, C.dict_output, C.list_output],
                         ids=lambda f: f.__name__)
def test_container_output_is_non_scalar(func):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        with pytest.raises(ad.NonScalarOutputError):
            ad.grad(func)(1.5)


def test_matrix_output_is_non_scalar():
    with pytest.raises(ad.NonScalarOutputError):
        ad.grad(C.matrix_output)(np.ones((2, 2)))


@pytest.mark.parametrize("value", ["abc", None], ids=["str", "None"])
def test_wrt_non_numeric_argument_is_refused(value):
    with pytest.raises(ad.ADError, match="derivative"):
        ad.grad(C.scalar, 1)(1.0, value)


def test_errors_doc_is_current():
    """docs/errors.md is generated from this corpus: regenerate it when a message changes
    (python tests/bad_programs/errors_doc.py)."""
    from bad_programs import errors_doc

    assert errors_doc.main(["--check"]) == 0
