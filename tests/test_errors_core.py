"""Bad input gets a clear error naming the class, the user's file and line."""

import math

import numpy as np
import pytest

import adcompiler as ad

HERE = __file__


def _line_of(func, text):
    import inspect

    lines, start = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset
    raise AssertionError(text)


def uses_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def uses_with(x):
    with open("f") as handle:
        handle.read()
    return x


def uses_global(x):
    global COUNTER
    COUNTER = 1
    return x


def uses_class(x):
    class Local:
        pass
    return x


def uses_import(x):
    import os  # noqa: F401
    return x


def uses_yield(x):
    yield x


def uses_c_function(x):
    return math.lgamma(x) * 2


def vector_output(x):
    return x * 2


def int_argument(x, n):
    return x * n


def augmented_argument(x):
    x += 1
    return x


@pytest.mark.parametrize(
    ("func", "construct", "marker"),
    [
        (uses_try, "Try", "try:"),
        (uses_with, "With", "with open"),
        (uses_global, "global", "global COUNTER"),
        (uses_class, "class", "class Local"),
        (uses_import, "import", "import os"),
        (uses_yield, "yield", "yield x"),
        (augmented_argument, "augmented assignment to the argument", "x += 1"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_unsupported_syntax_names_construct_file_and_line(func, construct, marker):
    with pytest.raises(ad.UnsupportedSyntaxError) as info:
        ad.grad(func)(1.0)
    error = info.value
    assert construct.lower() in str(error).lower()
    assert error.filename == HERE
    assert error.lineno == _line_of(func, marker)


def test_call_without_rule_or_source():
    with pytest.raises(ad.NonDifferentiableError) as info:
        ad.grad(uses_c_function)(2.5)
    assert "lgamma" in str(info.value)
    assert "ad.derivative" in str(info.value)
    assert info.value.filename == HERE
    assert info.value.lineno == _line_of(uses_c_function, "math.lgamma")


def test_grad_of_vector_output_is_refused():
    with pytest.raises(ad.NonScalarOutputError, match="vjp"):
        ad.grad(vector_output)(np.ones(3))


def test_grad_of_size_one_array_is_accepted():
    np.testing.assert_array_equal(ad.grad(vector_output)(np.ones(1)), [2.0])


@pytest.mark.parametrize(
    ("wrt", "message"),
    [(1, "integer"), (5, "out of range"), ("y", "not an argument"), ((0, 0), "twice")],
)
def test_bad_wrt(wrt, message):
    with pytest.raises(ad.ADError, match=message):
        ad.grad(int_argument, wrt)(2.0, 3)


def test_bool_argument_has_no_derivative():
    with pytest.raises(ad.ADError, match="integer or boolean"):
        ad.grad(int_argument)(True, 2.0)


def test_source_not_readable():
    namespace = {}
    exec("def made_by_exec(x):\n    return x * 2\n", namespace)
    with pytest.raises(ad.ADError, match="source"):
        ad.grad(namespace["made_by_exec"])(1.0)


def test_traceback_shows_generated_line():
    import traceback

    def divide(x, y):
        return x / y

    try:
        ad.grad(divide)(np.ones(2), np.ones(3))
    except ValueError as exc:
        text = "".join(traceback.format_exception(exc))
    else:  # pragma: no cover
        raise AssertionError("expected a broadcasting error")
    assert "<adcompiler" in text
