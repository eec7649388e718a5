"""The error corpus: user programs the compiler must refuse (or handle correctly).

Kept in a real file because the compiler reads source. Each function is one mistake or
unsupported construct; tests/test_bad_programs.py states what must happen for each: the
error class, a word the message must contain, and the line (marked by a text snippet).
Not in tests/test_errors_core.py already: that file covers try, with, global, class,
import, yield, math.lgamma, augmented assignment to an argument, bad wrt and exec.
"""
# ruff: noqa
import math
import random
import sys
from pathlib import Path

import numpy as np

# an "installed package" (tests/bad_programs/site-packages/thirdparty.py)
sys.path.insert(0, str(Path(__file__).parent / "site-packages"))
import thirdparty

COUNTER = 0
STATE = {"calls": 0}
CACHE = []


class Box:
    def __init__(self, v):
        self.v = v


# -- unsupported statements -------------------------------------------------------------
def uses_del(x):
    y = x * 2.0
    del y
    return x


def uses_try_finally(x):
    try:
        y = x * 2.0
    finally:
        pass
    return y


def uses_raise(x):
    if x > 1e9:
        raise ValueError("too big")
    return x * x


def uses_assert(x):
    assert x > -1e9
    return x * x


def uses_nonlocal(x):
    total = x

    def add(v):
        nonlocal total
        total = total + v
        return total

    return add(x)


def uses_global_augmented(x):
    global COUNTER
    COUNTER += 1
    return x * x


def uses_match(x, mode):
    match mode:
        case "sq":
            return x * x
        case _:
            return x


def uses_lambda(x):
    square = lambda v: v * v
    return square(x)


def uses_yield_from(x):
    yield from [x, x]


def uses_async_with(x):
    async def inner():
        return x

    return inner


def uses_walrus(x):
    if (y := x * 2.0) > 1e9:
        return y
    return y * x


def uses_star_args(x, *rest):
    return x * x


def uses_kwargs(x, **options):
    return x * x


def uses_set_comprehension(x):
    s = {v for v in [1.0, 2.0]}
    return x * len(s)


def uses_dict_comprehension(v):
    d = {i: v[i] * v[i] for i in range(3)}
    return d[0] + d[1] + d[2]


def uses_nested_def(x):
    def sq(v):
        return v * v

    return sq(x) + x


def uses_decorated_inner(x):
    import functools

    return x


# -- mutation -----------------------------------------------------------------------------
def writes_argument_element(x):
    x[0] = 1.0
    return np.sum(x * x)


def writes_argument_slice(x):
    x[1:] = 0.0
    return np.sum(x * x)


def inplace_multiply_argument(x):
    x *= 2.0
    return np.sum(x)


def alias_then_inplace(x):
    y = x
    y += 1.0
    return np.sum(y * y)


def writes_attribute(box, x):
    box.v = x * 2.0
    return box.v * x


def appends_to_global_list(x):
    CACHE.append(x)
    return x * x


def writes_global_dict(x):
    STATE["calls"] = STATE["calls"] + 1
    return x * x


def argument_method_mutation(v):
    v.sort()
    return np.sum(v * v)


def fills_argument(v):
    v.fill(1.0)
    return np.sum(v)


# -- calls without derivative rules ---------------------------------------------------------
def uses_fft(x):
    return np.sum(np.abs(np.fft.fft(x)))


def uses_math_gamma(x):
    # lgamma, not gamma: tests/test_derivative_control.py registers a rule for math.gamma
    return math.lgamma(x)


def uses_math_erf(x):
    return math.erf(x) * x


def uses_random(x):
    return x * random.random()


def uses_np_sort(v):
    return np.sum(np.sort(v) * np.arange(3.0))


def uses_linalg_eig(a):
    w, _ = np.linalg.eig(a)
    return np.sum(w)


def uses_floor_division(x):
    return np.sum(np.sin(x) * x // 2.0)


def calls_function_from_list(x, fns):
    return fns[0](np.sin(x))


def calls_library_with_statement(x):
    return thirdparty.logsumexp(x * 2.0)


def calls_library_ufunc(x):
    return np.sum(thirdparty.lgamma(x))


def uses_builtin_round_like(x):
    return np.sum(np.vectorize(lambda t: t * t)(x))


def uses_float_cast(x):
    return float(x) * x


# -- side effects -------------------------------------------------------------------------
def prints_value(x):
    print("x is", x)
    return x * x


def counts_calls(x):
    global COUNTER
    COUNTER = COUNTER + 1
    return x * x


# -- recursion, generators, names ------------------------------------------------------------
def recursive_power(x, n):
    if n == 0:
        return 1.0
    return x * recursive_power(x, n - 1)


def recursive_data_dependent(x):
    if x < 1.0:
        return x
    return recursive_data_dependent(x * 0.5) + 1.0


def generator_function(x):
    for i in range(3):
        yield x * i


def calls_generator(x):
    return sum(generator_function(x))


def reads_undefined(x):
    return x * undefined_name  # noqa: F821


def uses_before_assignment(x):
    if x > 1e9:
        y = x
    return y * x


# -- outputs ---------------------------------------------------------------------------------
def vector_output(x):
    return np.sin(x)


def tuple_output(x):
    return x * 2.0, x * 3.0


def dict_output(x):
    return {"a": x * 2.0}


def list_output(x):
    return [x * 2.0]


def string_output(x):
    return "x"


def none_output(x):
    y = x * x


def matrix_output(a):
    return a @ a.T


def scalar(x, n):
    return x * n


def scalar_kw(x, scale=2.0):
    return x * x * scale


square_lambda = lambda x: x * x  # noqa: E731


# -- the API boundary (issue 17/18): refused at the call, pointing at the function ------------
def complex_output(x):
    return x * 1j


class OpaqueWrapper:
    """A wrapper object, not a Python function, whose ``__call__`` cannot be read."""

    def __init__(self, fn):
        self.__wrapped__ = fn

    def __call__(self, x):
        return 2.0 * self.__wrapped__(x)


def uses_print_twice_check(x):
    STATE["calls"] = 0
    return x * x


# -- values through objects the compiler cannot see into ------------------------------------
HISTORY = []


def grid_to_a_differentiated_bound(x):
    return np.sum(np.mgrid[0.0:x:5j])


def reads_back_from_a_global(x):
    HISTORY.append(x * 2.0)
    return HISTORY[-1] * x
