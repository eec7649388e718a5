"""The API boundary: what is differentiated, what comes back, and what is refused.

Issue 17 (4-7, @differentiable callees) and issue 18 (raw exceptions, complex and masked
values): every reproducer is a named ``test_regression_*`` test, and the class around it
is a parametrised table.

* Decorator wrappers (``functools.wraps``) are differentiated as the user calls them:
  wrappers that change the value, the arguments or both, with plain parameters or
  ``*args, **kwargs``, stacked, and called from another differentiated function.
* A function with its own ``@ad.derivative`` rule is differentiated by that rule.
* ``@ad.differentiable`` helpers can be called from differentiated functions in every
  mode and in the CLI.
* Every higher-order entry point of a non-scalar ``f`` raises ``NonScalarOutputError``
  at the line of ``f``'s return.
* No derivative handed back shares memory with an argument, for every linear rule that
  can return an argument (or a view of one) unchanged, and every entry point.
* Complex and masked values raise ``ADError``; former raw exceptions are clear errors or
  work.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.testing import numerical_grad

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent


def _fd(f, args, index=0):
    """Central differences of what the user calls (the wrapper included)."""
    return numerical_grad(f, list(args), index)


# -- decorator wrappers (issue 17, 4) -------------------------------------------------
def doubles(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2 * fn(*args, **kwargs)
    return wrapper


def squares_result(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out * out
    return wrapper


def scales_argument(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return fn(3.0 * x)
    return wrapper


def scales_first_of_args(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        first, = args
        return fn(first + 1.0, **kwargs)
    return wrapper


def shifts_both(fn):
    @functools.wraps(fn)
    def wrapper(x, y):
        return np.sin(fn(x * y, y)) + x
    return wrapper


def passes_keyword(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, power=3.0, **kwargs)
    return wrapper


def logs_nothing(fn):
    """A wrapper that calls the function unchanged (a typical logging decorator)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@doubles
def sq(x):
    return x * x


@squares_result
def sum_sin(x):
    return np.sum(np.sin(x))


@scales_argument
def cube(x):
    return x ** 3


@scales_first_of_args
def sq_plus(x):
    return np.sum(x * x)


@shifts_both
def mixed(a, b):
    return a * b + b


@passes_keyword
def powered(x, power=2.0):
    return np.sum(x ** power)


@doubles
@squares_result
def stacked(x):
    return np.sum(np.cos(x))


@logs_nothing
def unchanged(x, y):
    return np.sum(x * y)


def scaled_by(k):
    """A decorator factory: the wrapper reads ``k`` and ``fn`` from its closure."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return k * fn(*args, **kwargs)
        return wrapper
    return decorate


@scaled_by(3.0)
def scaled_sq(x):
    return np.sum(x ** 2)


def tunable(fn):
    """A wrapper whose closure variable is rebound later (``nonlocal``)."""
    k = 2.0

    @functools.wraps(fn)
    def wrapper(*args):
        return k * fn(*args)

    def set_k(value):
        nonlocal k
        k = value

    wrapper.set_k = set_k
    return wrapper


@tunable
def tuned(x):
    return x * x


@functools.cache
def cached(x):
    return x ** 2 + 1.0


WRAPPED = [
    pytest.param(sq, (3.0,), id="value_doubled"),
    pytest.param(sum_sin, (np.array([0.3, 1.1, -0.4]),), id="value_squared"),
    pytest.param(cube, (0.7,), id="argument_scaled"),
    pytest.param(sq_plus, (np.array([0.5, -1.5]),), id="args_unpacked"),
    pytest.param(mixed, (0.4, 1.3), id="value_and_arguments"),
    pytest.param(powered, (np.array([0.5, 1.5]),), id="keyword_added"),
    pytest.param(stacked, (np.array([0.2, 0.9]),), id="two_decorators"),
    pytest.param(unchanged, (np.array([1.0, 2.0]), np.array([3.0, -1.0])), id="unchanged"),
    pytest.param(cached, (1.5,), id="lru_cache"),
    pytest.param(scaled_sq, (np.array([0.5, -2.0]),), id="factory_closure"),
    pytest.param(ad.checkpoint(sum_sin.__wrapped__), (np.array([0.3, 1.1]),),
                 id="checkpoint"),
]


def test_regression_wraps_decorator_is_differentiated():
    """``sq(3.0) == 18.0`` and its derivative is 12.0, not that of the undecorated
    ``x * x`` (9.0, 6.0)."""
    assert sq(3.0) == 18.0
    assert ad.value_and_grad(sq)(3.0) == (18.0, 12.0)


@pytest.mark.parametrize(("f", "args"), WRAPPED)
def test_wrapped_gradient_is_that_of_the_call(f, args):
    value, gradient = ad.value_and_grad(f)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(gradient, _fd(f, args), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ad.grad(f)(*args), gradient, rtol=1e-12)


@pytest.mark.parametrize(("f", "args"), WRAPPED)
def test_wrapped_forward_and_vjp_agree_with_the_call(f, args):
    x = args[0]
    tangent = np.ones_like(x) if isinstance(x, np.ndarray) else 1.0
    tangents = (tangent, *([None] * (len(args) - 1)))
    value, jvp_out = ad.jvp(f, args, tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(jvp_out, np.sum(_fd(f, args) * tangent), rtol=1e-6)
    value, pullback = ad.vjp(f, *args)
    np.testing.assert_allclose(pullback(1.0)[0], _fd(f, args), rtol=1e-6, atol=1e-8)


def _hessian_sum_sin_squared(x):
    """(sum sin x)^2."""
    return 2 * np.outer(np.cos(x), np.cos(x)) - 2 * np.sum(np.sin(x)) * np.diag(np.sin(x))


def _hessian_stacked(x):
    """2 (sum cos x)^2."""
    return 4 * np.outer(np.sin(x), np.sin(x)) - 4 * np.sum(np.cos(x)) * np.diag(np.cos(x))


EXACT_HESSIANS = [
    pytest.param(sq, 3.0, lambda x: 4.0, id="value_doubled"),
    pytest.param(sum_sin, np.array([0.3, 1.1, -0.4]), _hessian_sum_sin_squared,
                 id="value_squared"),
    pytest.param(cube, 0.7, lambda x: 162.0 * x, id="argument_scaled"),
    pytest.param(stacked, np.array([0.2, 0.9]), _hessian_stacked, id="two_decorators"),
]


@pytest.mark.parametrize(("f", "x", "exact"), EXACT_HESSIANS)
def test_wrapped_second_derivatives(f, x, exact):
    expected = np.asarray(exact(x))
    np.testing.assert_allclose(ad.hessian(f)(x), expected, rtol=1e-12, atol=1e-12)
    v = np.linspace(0.5, 1.5, np.size(x)) if np.ndim(x) else 0.5
    want = expected @ v if np.ndim(x) else expected * v
    np.testing.assert_allclose(ad.hvp(f)(x, v), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad.jacobian(ad.grad(f))(x), expected, rtol=1e-12,
                               atol=1e-12)


def _hessian_fd(f, x):
    """Central differences of the exact gradient (finite differences of the call)."""
    def gradient(point):
        return ad.grad(f)(point)
    if np.ndim(x) == 0:
        return numerical_grad(gradient, [x], 0)
    columns = []
    for k in range(np.size(x)):
        unit = np.zeros_like(x)
        unit.flat[k] = 1e-6
        columns.append((gradient(x + unit) - gradient(x - unit)) / 2e-6)
    return np.stack(columns, axis=-1)


def test_wrapper_closure_rebinding_is_seen():
    """The inlined wrapper reads its closure cells as they are at each call."""
    g = ad.grad(tuned)
    try:
        assert g(3.0) == 12.0
        tuned.set_k(5.0)
        assert (tuned(3.0), g(3.0), ad.grad(tuned)(3.0)) == (45.0, 30.0, 30.0)
        assert ad.jvp(tuned, (3.0,), (1.0,)) == (45.0, 30.0)
        assert ad.grad(calls_tuned)(3.0) == 30.0
        tuned.set_k(1.0)
        assert ad.grad(calls_tuned)(3.0) == 6.0
    finally:
        tuned.set_k(2.0)


def calls_tuned(x):
    return tuned(x) + 1.0


def plain_user(x):
    """A differentiated function calling decorated helpers (callees, not the top level)."""
    return sq(x) + cube(x) + sum_sin(np.array([x, 2.0 * x]))


def test_wrapped_helpers_called_from_a_differentiated_function():
    x = 0.6
    np.testing.assert_allclose(ad.grad(plain_user)(x), _fd(plain_user, (x,)), rtol=1e-6)
    np.testing.assert_allclose(ad.jvp(plain_user, (x,), (1.0,))[1], _fd(plain_user, (x,)),
                               rtol=1e-6)


class OpaqueWrapper:
    """A wrapper object (not a Python function) with ``__wrapped__``."""

    def __init__(self, fn):
        self.__wrapped__ = fn

    def __call__(self, x):
        return 5.0 * self.__wrapped__(x)


def _plain_square(x):
    return x * x


def test_wrapper_object_is_refused_by_name():
    wrapped = OpaqueWrapper(_plain_square)
    with pytest.raises(ad.ADError, match="OpaqueWrapper"):
        ad.grad(wrapped)(2.0)


def test_wrapper_source_quotes_the_wrapper():
    """The generated source's comments quote the user's wrapper lines, not a shim."""
    text = ad.source(sq)
    assert "return 2 * fn(*args, **kwargs)" in text
    assert "_as_called" not in text.split("def sq_forward")[0].split("# line")[1]


# -- a function with its own rule (issue 17, 7) ---------------------------------------
def straight_through(x):
    return np.round(x)


@ad.derivative(of=straight_through)
def _straight_through_rule(x):
    return np.round(x), lambda g: 0.5 * g


def forward_ruled(x):
    return np.round(x)


@ad.derivative(of=forward_ruled, mode="forward")
def _forward_ruled_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return np.round(x), 3.0 * t


def test_regression_own_rule_is_used_at_the_top_level():
    assert ad.grad(straight_through)(1.3) == 0.5


@pytest.mark.parametrize("entry", ["grad", "value_and_grad", "vjp", "jacobian_reverse"])
def test_own_reverse_rule_every_entry_point(entry):
    x = np.array([1.3, -0.2])
    if entry == "grad":
        out = ad.grad(_summed_straight)(x)
    elif entry == "value_and_grad":
        value, out = ad.value_and_grad(straight_through)(1.3)
        assert value == 1.0
        out = np.full(2, out)
    elif entry == "vjp":
        _, pullback = ad.vjp(straight_through, x)
        (out,) = pullback(np.ones(2))
    else:
        out = np.diag(ad.jacobian(straight_through, mode="reverse")(x))
    np.testing.assert_array_equal(out, [0.5, 0.5])


def _summed_straight(x):
    return np.sum(straight_through(x))


def test_own_forward_rule_is_used_by_jvp():
    assert ad.jvp(forward_ruled, (1.3,), (1.0,)) == (1.0, 3.0)
    np.testing.assert_array_equal(ad.jacobian(forward_ruled, mode="forward")(
        np.array([0.2, 0.7])), 3.0 * np.eye(2))


# -- @ad.differentiable helpers (issue 17) --------------------------------------------
@ad.differentiable
def smooth(x):
    return np.sin(x) * x


@ad.differentiable(wrt=1)
def weighted(w, x):
    return np.sum(w * x ** 2)


def uses_helpers(x):
    return np.sum(smooth(x) ** 2) + weighted(np.array([1.0, 2.0]), x)


def test_regression_differentiable_helper_can_be_called():
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(ad.grad(uses_helpers)(x), _fd(uses_helpers, (x,)),
                               rtol=1e-6)


@pytest.mark.parametrize("mode", ["grad", "vjp", "jvp", "jacobian_forward",
                                  "jacobian_reverse", "hessian", "hvp", "jacobian_of_grad"])
def test_differentiable_helper_every_mode(mode):
    x = np.array([0.3, -1.2])
    expected = _fd(uses_helpers, (x,))
    if mode == "grad":
        got = ad.grad(uses_helpers)(x)
    elif mode == "vjp":
        got = ad.vjp(uses_helpers, x)[1](1.0)[0]
    elif mode == "jvp":
        got = np.array([ad.jvp(uses_helpers, (x,), (e,))[1] for e in np.eye(2)])
    elif mode in ("jacobian_forward", "jacobian_reverse"):
        got = ad.jacobian(uses_helpers, mode=mode.split("_")[1])(x)
    else:
        expected = _hessian_fd(uses_helpers, x)
        if mode == "hessian":
            got = ad.hessian(uses_helpers)(x)
        elif mode == "hvp":
            got = np.stack([ad.hvp(uses_helpers)(x, e) for e in np.eye(2)], axis=-1)
        else:
            got = ad.jacobian(ad.grad(uses_helpers))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def cubed(x):
    return x ** 3


def test_differentiable_of_a_derivative_calls_the_derivative():
    """``ad.differentiable(ad.grad(f))`` called ``f`` (8.0) instead of its gradient."""
    marked = ad.differentiable(ad.grad(cubed))
    assert marked(2.0) == 12.0
    assert ad.grad(marked)(2.0) == 12.0


def test_differentiable_of_a_decorated_function():
    marked = ad.differentiable(sq)
    assert marked(3.0) == 18.0
    assert ad.value_and_grad(marked)(3.0) == (18.0, 12.0)
    assert marked.grad()(3.0) == 12.0


def test_differentiable_helper_in_the_cli(tmp_path):
    module = tmp_path / "model.py"
    module.write_text(textwrap.dedent("""\
        import numpy as np
        import adcompiler as ad

        @ad.differentiable
        def helper(x):
            return np.sin(x) * x

        def loss(x):
            return np.sum(helper(x) ** 2)
    """))
    for extra in ([], ["--mode", "forward"]):
        for name in ("loss", "helper"):
            run = subprocess.run([sys.executable, "-m", "adcompiler", f"{module}:{name}",
                                  *extra], capture_output=True, text=True, cwd=ROOT,
                                 timeout=120, check=False)
            assert run.returncode == 0, run.stderr
            assert f"def {name}_" in run.stdout
            assert "np.cos(x)" in run.stdout


# -- non-scalar f at every higher-order entry point (issue 17, 5) ---------------------
def vector_out(x):
    return x * x


def matrix_out(x):
    return np.outer(x, x)


def tuple_out(x):
    return (x[0], x[1])


def list_out(x):
    return [np.sum(x), np.sum(x * x)]


def dict_out(x):
    return {"a": np.sum(x)}


RETURN_LINE = {f: f.__code__.co_firstlineno + 1
               for f in (vector_out, matrix_out, tuple_out, list_out, dict_out)}

HIGHER = {
    "hessian": lambda f, x: ad.hessian(f)(x),
    "hessian_tuple_wrt": lambda f, x: ad.hessian(f, (0,))(x),
    "hvp": lambda f, x: ad.hvp(f)(x, np.ones_like(x)),
    "hvp_twice": lambda f, x: [ad.hvp(f)(x, np.ones_like(x)) for _ in range(2)],
    "jacobian_of_grad": lambda f, x: ad.jacobian(ad.grad(f))(x),
    "jacobian_forward_of_grad": lambda f, x: ad.jacobian(ad.grad(f), mode="forward")(x),
    "grad_of_grad": lambda f, x: ad.grad(ad.grad(f))(x),
    "value_and_grad_of_grad": lambda f, x: ad.value_and_grad(ad.grad(f))(x),
    "jvp_of_grad": lambda f, x: ad.jvp(ad.grad(f), (x,), (np.ones_like(x),)),
    "jvp_of_value_and_grad": lambda f, x: ad.jvp(ad.value_and_grad(f), (x,),
                                                 (np.ones_like(x),)),
}


@pytest.mark.parametrize("f", [vector_out, matrix_out, tuple_out, list_out, dict_out],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("entry", sorted(HIGHER))
def test_non_scalar_output_every_higher_order_entry(entry, f):
    x = np.array([1.0, 2.0])
    with pytest.raises(ad.NonScalarOutputError) as info:
        HIGHER[entry](f, x)
    assert info.value.filename == str(HERE)
    assert info.value.lineno == RETURN_LINE[f]


@pytest.mark.parametrize("f", [vector_out, matrix_out, tuple_out, list_out, dict_out],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("entry", ["grad", "value_and_grad", "grad_steady", "source"])
def test_non_scalar_output_first_order(entry, f):
    """Container displays are refused before code is generated (their seeded adjoint
    ``1.0[0]`` made Python warn while compiling); arrays when the shape is seen."""
    x = np.array([1.0, 2.0])
    with pytest.raises(ad.NonScalarOutputError) as info:
        if entry == "source":
            ad.source(f, args=(x,))
            if f in (vector_out, matrix_out):  # the shape is known only when it runs
                raise ad.NonScalarOutputError("source is shape-agnostic")
        elif entry == "grad_steady":
            g = ad.grad(f)
            with pytest.raises(ad.NonScalarOutputError):
                g(x)
            g(x)
        else:
            getattr(ad, entry)(f)(x)
    if info.value.filename is not None:
        assert info.value.filename == str(HERE)
        assert info.value.lineno == RETURN_LINE[f]


def test_non_scalar_output_on_the_steady_state_path():
    """Arguments of kinds seen before, but values that make the output a matrix: the
    shortcut's failing run is reported as the slow path reports it."""
    g = ad.grad(scalar_or_matrix)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(g(x, 1), [1.0, 1.0])
    with pytest.raises(ad.NonScalarOutputError):
        g(x, 0)


def scalar_or_matrix(x, flag):
    if flag > 0:
        return np.sum(x)
    return np.outer(x, x)


def test_regression_hessian_of_vector_output_is_refused():
    """Was the Hessian of sum(f) without an error."""
    with pytest.raises(ad.NonScalarOutputError, match="shape \\(2,\\)"):
        ad.hessian(vector_out)(np.array([1.0, 2.0]))


def test_regression_grad_of_grad_of_vector_output():
    """Was a raw ValueError (cannot reshape)."""
    with pytest.raises(ad.NonScalarOutputError):
        ad.grad(ad.grad(vector_out))(np.array([1.0, 2.0]))


def test_regression_hessian_of_matrix_and_tuple_outputs():
    """Were a raw ValueError (matmul) and a raw TypeError."""
    for f in (matrix_out, tuple_out):
        with pytest.raises(ad.NonScalarOutputError):
            ad.hessian(f)(np.array([1.0, 2.0]))


def test_grad_non_scalar_names_file_and_return_line():
    with pytest.raises(ad.NonScalarOutputError) as info:
        ad.grad(vector_out)(np.array([1.0, 2.0]))
    assert (info.value.filename, info.value.lineno) == (str(HERE), RETURN_LINE[vector_out])
    assert "return x * x" in str(info.value)


def scalar_f(x):
    return np.sum(np.sin(x) * x)


def test_scalar_f_higher_order_still_works():
    x = np.array([0.4, -0.9])
    expected = _hessian_fd(scalar_f, x)
    np.testing.assert_allclose(ad.hessian(scalar_f)(x), expected, rtol=1e-5)
    np.testing.assert_allclose(ad.jacobian(ad.grad(scalar_f))(x), expected, rtol=1e-5)
    for _ in range(2):  # the second call takes the hvp's steady-state path
        np.testing.assert_allclose(ad.hvp(scalar_f)(x, np.array([1.0, 0.0])),
                                   expected[:, 0], rtol=1e-5)


# -- gradients never alias inputs (issue 17, 6) ---------------------------------------
def lin_dot(w, d):
    return np.dot(w, d)


def lin_matmul(w, d):
    return w @ d


def lin_inner(w, d):
    return np.inner(w, d)


def lin_vdot(w, d):
    return np.vdot(w, d)


def lin_method_dot(w, d):
    return w.dot(d)


def lin_multiply(w, d):
    return np.sum(w * d)


def lin_np_multiply(w, d):
    return np.sum(np.multiply(d, w))


def lin_einsum(w, d):
    return np.einsum("i,i->", w, d)


def lin_tensordot(w, d):
    return np.tensordot(w, d, axes=1)


def lin_times_one(w, d):
    return np.sum(1.0 * w * d)


def lin_sum_plus(w, d):
    return np.sum(w + d)


def lin_trace(w, d):
    return np.trace(np.outer(w, d))


def lin_matrix_trace(w, d):
    return np.trace(np.reshape(w, (2, 2)) @ np.reshape(d, (2, 2)))


def lin_matrix_elementwise(w, d):
    return np.sum(np.reshape(w, (2, 2)) * np.reshape(d, (2, 2)).T)


def lin_indexed(w, d):
    return np.sum(w[:] * d[:])


LINEAR_SCALAR = [lin_dot, lin_matmul, lin_inner, lin_vdot, lin_method_dot, lin_multiply,
                 lin_np_multiply, lin_einsum, lin_tensordot, lin_times_one, lin_sum_plus,
                 lin_trace, lin_matrix_trace, lin_matrix_elementwise, lin_indexed]


def _leaves(value):
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value] if isinstance(value, np.ndarray) else []


def _assert_unshared(result, *inputs):
    for leaf in _leaves(result):
        for given in inputs:
            for array in _leaves(given):
                assert not np.shares_memory(leaf, array), "a derivative aliases an input"
    leaves = _leaves(result)
    for i, a in enumerate(leaves):
        for b in leaves[i + 1:]:
            assert not np.shares_memory(a, b), "two derivatives share memory"


def test_regression_gradient_of_dot_is_not_the_data():
    w, data = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0])
    g = ad.grad(lin_dot)(w, data)
    assert g is not data
    g *= 0.1
    np.testing.assert_array_equal(data, [3.0, 4.0, 5.0, 6.0])


@pytest.mark.parametrize("f", LINEAR_SCALAR, ids=lambda f: f.__name__)
@pytest.mark.parametrize("entry", ["grad_first", "grad_steady", "grad_both",
                                   "value_and_grad", "vjp", "jacobian"])
def test_gradients_never_alias_inputs(f, entry):
    w, d = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, -4.0, 5.0, 0.5])
    want_w, want_d = _fd(f, (w, d), 0), _fd(f, (w, d), 1)
    if entry == "grad_first":
        out = ad.grad(f)(w, d)
        want = want_w
    elif entry == "grad_steady":
        g = ad.grad(f)
        g(w, d)
        out = g(w, d)  # the steady-state shortcut
        want = want_w
    elif entry == "grad_both":
        g = ad.grad(f, (0, 1))
        g(w, d)
        out = g(w, d)
        want = (want_w, want_d)
    elif entry == "value_and_grad":
        out = ad.value_and_grad(f)(w, d)[1]
        want = want_w
    elif entry == "vjp":
        out = ad.vjp(f, w, d)[1](1.0)
        want = (want_w, want_d)
    else:
        out = ad.jacobian(f)(w, d)
        want = want_w
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-8)
    _assert_unshared(out, w, d)


def identity(x):
    return x


def reshaped(x):
    return x.reshape(2, 2)


def transposed(x):
    return np.reshape(x, (2, 2)).T


def sliced(x):
    return x[:]


def raveled(x):
    return np.ravel(x)


def scaled_one(x):
    return 1.0 * x


def broadcast_sum(x):
    return np.broadcast_to(x, (3, 4))


LINEAR_VECTOR = [identity, reshaped, transposed, sliced, raveled, scaled_one, broadcast_sum]


@pytest.mark.parametrize("f", LINEAR_VECTOR, ids=lambda f: f.__name__)
@pytest.mark.parametrize("entry", ["vjp", "jvp", "jacobian_forward", "jacobian_reverse"])
def test_linear_maps_never_alias_inputs(f, entry):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    value = f(x)
    if entry == "vjp":
        cotangent = np.arange(1.0, 1.0 + np.size(value)).reshape(np.shape(value))
        (out,) = ad.vjp(f, x)[1](cotangent)
        expected = ad.jacobian(f, mode="forward")(x).reshape(np.size(value), 4).T @ \
            cotangent.ravel()
        np.testing.assert_allclose(out, expected)
        _assert_unshared(out, x, cotangent)
    elif entry == "jvp":
        tangent = np.array([0.5, -1.0, 2.0, 0.25])
        _, out = ad.jvp(f, (x,), (tangent,))
        np.testing.assert_allclose(out, f(tangent))
        _assert_unshared(out, x, tangent)
    else:
        out = ad.jacobian(f, mode=entry.split("_")[1])(x)
        np.testing.assert_allclose(out.reshape(np.size(value), 4),
                                   _jacobian_fd(f, x).reshape(np.size(value), 4), atol=1e-8)
        _assert_unshared(out, x)


def _jacobian_fd(f, x):
    columns = []
    for k in range(x.size):
        unit = np.zeros_like(x)
        unit[k] = 1e-6
        columns.append((np.asarray(f(x + unit)) - np.asarray(f(x - unit))) / 2e-6)
    return np.stack(columns, axis=-1)


def half_square(x):
    return 0.5 * np.dot(x, x)


def test_hvp_never_returns_the_vector():
    """H = I for 0.5 x.x, so the product is v itself unless it is copied."""
    x, v = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    product = ad.hvp(half_square)
    for _ in range(2):
        out = product(x, v)
        np.testing.assert_array_equal(out, v)
        _assert_unshared(out, x, v)


def container_loss(params, data):
    return np.dot(params["w"], data) + np.sum(params["b"])


def test_container_gradients_never_alias_inputs():
    params = {"w": np.array([1.0, 2.0]), "b": np.array([0.5])}
    data = np.array([3.0, 4.0])
    g = ad.grad(container_loss)(params, data)
    np.testing.assert_array_equal(g["w"], data)
    _assert_unshared(g, params, data)


# -- raw exceptions that are clear errors, or work (issue 18) -------------------------
def bare_scalar(x):
    return x * 2.0


def test_regression_has_aux_on_a_bare_scalar():
    """Was a raw IndexError / TypeError from the generated code."""
    with pytest.raises(ad.ADError, match="has_aux=True") as info:
        ad.grad(bare_scalar, has_aux=True)(3.0)
    assert info.value.filename == str(HERE)


def test_regression_pullback_of_none():
    """Was a raw TypeError (None * float)."""
    _, pullback = ad.vjp(bare_scalar, 3.0)
    with pytest.raises(ad.ADError, match="pullback\\(None\\)"):
        pullback(None)


def sum_of_squares(x):
    return np.sum(x ** 2)


def test_regression_check_grads_takes_a_bare_array():
    """Was a raw TypeError (the array's rows became arguments)."""
    ad.check_grads(sum_of_squares, np.array([1.0, 2.0]))
    ad.check_grads(bare_scalar, 1.5)
    ad.check_grads(sum_of_squares, (np.array([1.0, 2.0]),))


def with_default(x, a=2.0):
    return a * x * x


def test_regression_jvp_of_grad_with_a_default_parameter():
    """Was a raw TypeError (missing 1 required positional argument: 'a')."""
    assert ad.jvp(ad.grad(with_default), (3.0,), (1.0,)) == (12.0, 4.0)
    assert ad.jvp(ad.grad(with_default), (3.0, 5.0), (1.0, None)) == (30.0, 10.0)
    np.testing.assert_allclose(ad.hvp(with_default)(3.0, 1.0), 4.0)


def test_regression_non_scalar_error_names_file_and_line():
    with pytest.raises(ad.NonScalarOutputError) as info:
        ad.value_and_grad(matrix_out)(np.array([1.0, 2.0]))
    assert info.value.filename == str(HERE)
    assert info.value.lineno == RETURN_LINE[matrix_out]


API_ERRORS = {
    "integer_argument": lambda: ad.grad(sum_of_squares)(np.array([1, 2])),
    "bad_wrt_call": lambda: ad.grad(bare_scalar)("text"),
    "has_aux": lambda: ad.grad(bare_scalar, has_aux=True)(3.0),
    "complex": lambda: ad.grad(sum_of_squares)(np.array([1j, 2.0])),
    "masked": lambda: ad.grad(sum_of_squares)(np.ma.array([1.0, 2.0], mask=[0, 1])),
    "pullback_none": lambda: ad.vjp(bare_scalar, 3.0)[1](None),
    "pullback_shape": lambda: ad.vjp(vector_out, np.ones(2))[1](np.ones(3)),
    "jvp_shape": lambda: ad.jvp(vector_out, (np.ones(2),), (np.ones(3),)),
    "jacobian_complex": lambda: ad.jacobian(vector_out)(np.array([1j, 2.0])),
    "hvp_no_vector": ad.hvp(sum_of_squares),
}


@pytest.mark.parametrize("case", sorted(API_ERRORS))
def test_every_api_error_names_the_users_file(case):
    with pytest.raises(ad.ADError) as info:
        API_ERRORS[case]()
    assert info.value.filename == str(HERE)
    assert info.value.lineno is not None


# -- complex and masked values (issue 18, 6) ------------------------------------------
def to_complex(x):
    return x * 1j


def complex_constant(x, c):
    return np.abs(np.sum(x * c))


def real_part(x):
    return np.sum(np.real(x))


COMPLEX_AND_MASKED = {
    "complex_argument_grad": lambda: ad.grad(sum_of_squares)(np.array([1 + 1j, 2.0])),
    "complex_python_number": lambda: ad.grad(bare_scalar)(1 + 2j),
    "complex_argument_not_in_wrt": lambda: ad.grad(complex_constant)(
        np.array([1.0, 2.0]), np.array([1j, 1.0])),
    "complex_argument_vjp": lambda: ad.vjp(real_part, np.array([1j, 2.0])),
    "complex_argument_jvp": lambda: ad.jvp(real_part, (np.array([1j, 2.0]),),
                                           (np.ones(2, complex),)),
    "complex_output_grad": lambda: ad.grad(to_complex)(1.0),
    "complex_output_vjp": lambda: ad.vjp(to_complex, np.ones(2)),
    "complex_output_jvp": lambda: ad.jvp(to_complex, (np.ones(2),), (np.ones(2),)),
    "complex_output_jacobian": lambda: ad.jacobian(to_complex)(np.ones(2)),
    "masked_argument": lambda: ad.grad(sum_of_squares)(
        np.ma.array([1.0, 2.0], mask=[False, True])),
    "masked_argument_not_in_wrt": lambda: ad.grad(lin_multiply)(
        np.ones(2), np.ma.array([1.0, 2.0], mask=[False, True])),
    "masked_in_container": lambda: ad.grad(container_loss)(
        {"w": np.ma.array([1.0, 2.0], mask=[0, 1]), "b": np.ones(1)}, np.ones(2)),
    "masked_argument_vjp": lambda: ad.vjp(identity, np.ma.array([1.0], mask=[True])),
}


@pytest.mark.parametrize("case", sorted(COMPLEX_AND_MASKED))
def test_complex_and_masked_values_are_refused(case):
    with pytest.raises(ad.ADError, match=r"complex|masked") as info:
        COMPLEX_AND_MASKED[case]()
    assert info.value.filename == str(HERE)


def test_complex_output_on_the_steady_state_path():
    """A Python float raised to a fractional power is complex for a negative base: the
    second call takes the shortcut, which must check the output too."""
    g = ad.grad(_root)
    assert g(4.0) == pytest.approx(0.25)
    with pytest.raises(ad.ADError, match="complex"):
        g(-4.0)


def _root(x):
    return x ** 0.5
