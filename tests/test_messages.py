"""Messages a person can act on (issue 19): each names the file, the line, the user's own
code, and what to write instead; tracebacks end in the user's code.

One test per class of message, parametrised over the programs of the class and over the
modes; the reproducers of the issue are named regression tests.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler import tracebacks

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = str(ROOT / "adcompiler") + os.sep
# names only the compiler makes: temporaries, adjoints, the compile factory
INTERNAL = re.compile(r"\bt\d+\b|\bsin_x\b|__adcompiler|\bd?t\d+_\d+\b|_pullback\b|_forward\b")


def load(directory: Path, name: str, text: str):
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def line_of(func, text: str) -> int:
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def raise_in(mode: str, func, *args):
    """Differentiate ``func`` at ``args`` in ``mode``; return the ADError it raises."""
    calls = {
        "grad": lambda: ad.grad(func)(*args),
        "value_and_grad": lambda: ad.value_and_grad(func)(*args),
        "vjp": lambda: ad.vjp(func, *args),
        "jvp": lambda: ad.jvp(func, args, tuple(np.ones_like(a) for a in args)),
        "jacobian": lambda: ad.jacobian(func)(*args),
        "hessian": lambda: ad.hessian(func)(*args),
    }
    with pytest.raises(ad.ADError) as info:
        calls[mode]()
    return info.value


# -- augmented assignment: the operator and the user's right-hand side ----------------------
OPERATORS = ["+", "-", "*", "/", "**", "//", "%", "@"]


@pytest.mark.parametrize("op", OPERATORS)
def test_augmented_assignment_message_keeps_the_operator(tmp_path, op):
    """Was "Write 'x = x  ...' instead": the operator was lost."""
    module = load(tmp_path, f"aug_{OPERATORS.index(op)}", f"""
        import numpy as np

        def f(x, w):
            x {op}= w
            return np.sum(x)
        """)
    error = raise_in("grad", module.f, np.ones((2, 2)), np.ones((2, 2)))
    assert f"'x {op}= w'" in error.message
    assert f"Write 'x = x {op} w' instead" in error.message
    assert error.filename == str(tmp_path / f"aug_{OPERATORS.index(op)}.py")
    assert error.lineno == line_of(module.f, f"x {op}= w")


# -- a forgotten return ----------------------------------------------------------------------
FORGOT = """
    import numpy as np

    def loss(w, x):
        prediction = np.tanh(x @ w)
        error = np.mean((prediction - 1.0) ** 2)
    """


@pytest.mark.parametrize("mode", ["grad", "value_and_grad", "vjp", "jvp", "jacobian",
                                  "hessian"])
def test_forgotten_return_says_none(tmp_path, mode):
    """Was "loss returned a value of shape (); ... need a scalar output"."""
    module = load(tmp_path, f"forgot_{mode}", FORGOT)
    error = raise_in(mode, module.loss, np.ones(3), np.ones((2, 3)))
    assert isinstance(error, ad.NonScalarOutputError)
    assert "returns None" in error.message and "'return'" in error.message
    assert error.filename == str(tmp_path / f"forgot_{mode}.py")
    assert error.lineno == line_of(module.loss, "error = np.mean")


def test_none_returned_on_one_path_says_none(tmp_path):
    """Also a regression: a function whose other path fell off the end was compiled as
    returning None on every path (grad refused it, jvp gave (None, None))."""
    module = load(tmp_path, "one_path", """
        def f(x):
            if x > 0.0:
                return x * x
        """)
    assert ad.grad(module.f)(2.0) == 4.0
    assert ad.value_and_grad(module.f)(3.0) == (9.0, 6.0)
    assert ad.jvp(module.f, (2.0,), (1.0,)) == (4.0, 4.0)
    value, pull = ad.vjp(module.f, 2.0)
    assert (value, pull(1.0)) == (4.0, (4.0,))
    assert ad.jvp(module.f, (-2.0,), (1.0,)) == (None, None)
    with pytest.raises(ad.NonScalarOutputError, match=r"returned None.*without a 'return'"):
        ad.grad(module.f)(-2.0)


def test_returning_a_string_says_what_it_returned(tmp_path):
    module = load(tmp_path, "strings", """
        def f(x):
            return "x"
        """)
    with pytest.raises(ad.NonScalarOutputError, match="returned a str, not a number"):
        ad.grad(module.f)(1.0)


# -- functions from other modules: the real module, the user's call site, how to register ---
LIBRARY = {
    "fakelib/__init__.py": """
        import math
        import numpy as np
        from ._impl import logsumexp, guarded

        lgamma = np.frompyfunc(math.lgamma, 1, 1)  # a C ufunc: no rule, no __module__
        """,
    "fakelib/_impl.py": """
        import numpy as np

        def logsumexp(a):
            with np.errstate(over="ignore"):
                top = np.max(a)
            return top + np.log(np.sum(np.exp(a - top)))

        def guarded(a):
            try:
                return np.sum(a * a)
            except ValueError:
                return 0.0
        """,
}
USER = """
    import numpy as np
    import fakelib

    def uses_logsumexp(x):
        return fakelib.logsumexp(x * 2.0)

    def uses_guarded(x):
        return fakelib.guarded(x) + 1.0

    def uses_lgamma(x):
        return np.sum(fakelib.lgamma(x))
    """


@pytest.fixture
def library(tmp_path, monkeypatch):
    """``fakelib`` installed in a folder named site-packages, and a user module using it."""
    site = tmp_path / "site-packages"
    for name, text in LIBRARY.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m.startswith("fakelib")]:
        monkeypatch.delitem(sys.modules, name)
    return load(tmp_path, "uses_fakelib", USER)


@pytest.mark.parametrize("mode", ["grad", "jvp"])
@pytest.mark.parametrize(("func", "public", "construct"), [
    ("uses_logsumexp", "fakelib.logsumexp", "with np.errstate"),
    ("uses_guarded", "fakelib.guarded", "try:"),
])
def test_library_source_error_points_at_the_users_call(library, mode, func, public,
                                                       construct):
    """Was "a with-statement ... move it outside", pointing into the library's file."""
    user = getattr(library, func)
    error = raise_in(mode, user, np.array([0.5, 1.0]))
    assert isinstance(error, ad.NonDifferentiableError)
    assert error.filename == library.__file__  # the user's file, not the library's
    assert error.lineno == line_of(user, "fakelib.")
    assert f"@ad.derivative(of={public})" in error.message
    assert construct in error.message
    assert "_impl" not in error.message.split(" at ")[0]  # named by its public module
    assert "move it outside" not in error.message


@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_library_ufunc_is_named_by_its_module(library, mode):
    """Was "no derivative rule for np.gammaln" for scipy.special.gammaln."""
    error = raise_in(mode, library.uses_lgamma, np.array([1.5, 2.5]))
    assert "fakelib.lgamma" in error.message and "np." not in error.message
    assert "@ad.derivative(of=fakelib.lgamma" in error.message
    assert error.lineno == line_of(library.uses_lgamma, "fakelib.lgamma")


def test_the_suggested_rule_works(library):
    """The message's advice, followed, gives the right gradient."""
    import fakelib

    @ad.derivative(of=fakelib.logsumexp)
    def logsumexp_rule(a):
        value = fakelib.logsumexp(a)
        return value, lambda g: g * np.exp(a - value)

    x = np.array([0.5, 1.0])
    softmax = np.exp(2 * x) / np.sum(np.exp(2 * x))
    np.testing.assert_allclose(ad.grad(library.uses_logsumexp)(x), 2 * softmax)


def test_scipy_functions_are_named_by_scipy(tmp_path):
    pytest.importorskip("scipy.special")
    module = load(tmp_path, "uses_scipy", """
        import numpy as np
        import scipy.special
        from scipy.special import logsumexp

        def uses_gammaln(x):
            return np.sum(scipy.special.gammaln(x))

        def uses_logsumexp(x):
            return logsumexp(x)
        """)
    x = np.array([0.5, 2.0])
    error = raise_in("grad", module.uses_gammaln, x)
    assert "scipy.special.gammaln" in error.message and "np.gammaln" not in error.message
    error = raise_in("grad", module.uses_logsumexp, x)
    assert "@ad.derivative(of=scipy.special.logsumexp)" in error.message
    assert error.filename == module.__file__
    assert error.lineno == line_of(module.uses_logsumexp, "return logsumexp")


def test_an_error_in_the_users_own_helper_module_keeps_its_line_and_names_the_call(tmp_path):
    helpers = load(tmp_path, "my_helpers", """
        def helper(x):
            with open("log.txt") as handle:
                handle.write("x")
            return x * x
        """)
    sys.path.insert(0, str(tmp_path))
    try:
        user = load(tmp_path, "my_model", """
            import my_helpers

            def loss(x):
                return my_helpers.helper(x) * 2.0
            """)
    finally:
        sys.path.remove(str(tmp_path))
    error = raise_in("grad", user.loss, 1.5)
    assert error.filename == helpers.__file__  # the user can fix it there
    assert error.lineno == line_of(helpers.helper, "with open")
    assert f'called from File "{user.__file__}", line {line_of(user.loss, "return")}' in str(
        error)


# -- the user's code, never the compiler's names ---------------------------------------------
LEAKS = """
    import numpy as np

    def floor_division(x):
        return np.sum(np.sin(x) * x // 2.0)

    def modulo(x):
        return np.sum(np.sin(x) * x % 3.0)

    def shift(x):
        return np.sum(np.sin(x) << 2)

    def function_from_list(x, fns):
        return np.sum(fns[0](np.sin(x)))

    def out_argument(x):
        out = np.zeros(3)
        np.multiply(np.sin(x), 2.0, out=out)
        return np.sum(out)

    def method_without_rule(x):
        return np.sin(x).frobnicate()
    """
QUOTED = {
    "floor_division": ("operator //", "'np.sin(x) * x // 2.0'"),
    "modulo": ("operator %", "'np.sin(x) * x % 3.0'"),
    "shift": ("operator <<", "'np.sin(x) << 2'"),
    "function_from_list": ("'fns[0](np.sin(x))'", "argument"),
    "out_argument": ("'np.multiply(np.sin(x), 2.0, out=out)'", "Assign the result"),
    "method_without_rule": (".frobnicate()", "NumPy function"),
}


@pytest.mark.parametrize("mode", ["grad", "jvp"])
@pytest.mark.parametrize("name", list(QUOTED))
def test_messages_quote_the_users_code(tmp_path, mode, name):
    """Was "the operator 'sin_x * x'", "'t1 // 2.0'", "'fn(sin_x)'"."""
    module = load(tmp_path, f"leaks_{name}_{mode}", LEAKS)
    func = getattr(module, name)
    x = np.linspace(0.1, 0.9, 3)
    if name == "function_from_list":
        with pytest.raises(ad.ADError) as info:
            if mode == "grad":
                ad.grad(func)(x, [np.cos])
            else:
                ad.jvp(lambda v: func(v, [np.cos]), (x,), (x,))
        error = info.value
    else:
        error = raise_in(mode, func, x)
    for words in QUOTED[name]:
        assert words in error.message, error.message
    assert not INTERNAL.search(error.message), error.message
    assert error.location is not None and error.location.code


def test_generated_functions_do_not_carry_the_factorys_name():
    def f(x):
        return np.sum(np.sin(x) * x)

    generated = ad.grad(f)
    generated(np.ones(2))
    _, pull = ad.vjp(f, np.ones(2))
    for function in (pull._function, generated._last.functions[generated._last.entry]):
        assert "factory" not in function.__qualname__
        assert "factory" not in function.__code__.co_qualname
        assert "factory" not in repr(function)


def test_every_message_in_the_error_page_names_a_place_and_no_internal_name():
    """docs/errors.md is the corpus's messages (generated): none quotes the compiler's
    temporaries, and every refusal in the source names the file, the line and its code."""
    page = (ROOT / "docs" / "errors.md").read_text()
    source_part, call_part = page.split("## At the call")
    blocks = re.findall(r"```text\n(.*?)```", source_part, re.S)
    assert len(blocks) >= 25
    for block in blocks:
        assert re.search(r'\n  File "[^"]+", line \d+\n    \S', block), block
        assert not INTERNAL.search(block), block
    for block in re.findall(r"```text\n(.*?)```", call_part, re.S):
        assert not INTERNAL.search(block), block


# -- tracebacks ------------------------------------------------------------------------------
def internal_frames(exc: BaseException) -> int:
    return sum(frame.filename.startswith(PACKAGE)
               for frame in traceback.extract_tb(exc.__traceback__))


def generated_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return [frame for frame in traceback.extract_tb(exc.__traceback__)
            if frame.filename.startswith(tracebacks.GENERATED_PREFIX)]


TRACEBACK_PROGRAMS = """
    import numpy as np

    def refused(x):
        return np.sum(np.sin(x) * x // 2.0)

    def bad_shape(x):
        y = x.reshape(2, 2)
        return np.sum(y)

    def divides(x):
        return x / 0

    def helper(x):
        return x.reshape(5)

    def calls_helper(x):
        return np.sum(helper(x) * 2.0)
    """
CALLS = {
    "grad": lambda f, x: ad.grad(f)(x),
    "value_and_grad": lambda f, x: ad.value_and_grad(f)(x),
    "vjp": lambda f, x: ad.vjp(f, x)[1](1.0),
    "jvp": lambda f, x: ad.jvp(f, (x,), (x,)),
    "jacobian": lambda f, x: ad.jacobian(f)(x),
    "hessian": lambda f, x: ad.hessian(f)(x),
    "hvp": lambda f, x: ad.hvp(f)(x, x),
    "jacfwd": lambda f, x: ad.jacfwd(f)(x),
    "jacrev": lambda f, x: ad.jacrev(f)(x),
    "source": lambda f, x: ad.source(f, "grad", args=(x,)),
    "check_grads": lambda f, x: ad.check_grads(f, (x,)),
}


@pytest.fixture
def programs(tmp_path):
    return load(tmp_path, "tb_programs", TRACEBACK_PROGRAMS)


@pytest.mark.parametrize("entry", list(CALLS))
def test_an_aderror_traceback_has_no_compiler_frames(programs, entry, monkeypatch):
    """Was 12-20 frames of compiler internals before the message."""
    monkeypatch.delenv(tracebacks.ENV, raising=False)
    with pytest.raises(ad.ADError) as info:
        CALLS[entry](programs.refused, np.ones(3))
    assert internal_frames(info.value) == 0
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[0].filename == __file__  # the user's own frames stay
    assert any("removed its internal frames" in note for note in info.value.__notes__)


@pytest.mark.parametrize("entry", ["grad", "value_and_grad", "vjp", "jvp", "hessian"])
@pytest.mark.parametrize(("func", "error", "line"), [
    ("bad_shape", ValueError, "y = x.reshape(2, 2)"),
    ("calls_helper", ValueError, "reshape"),
])
def test_an_error_in_generated_code_shows_the_generated_line(programs, entry, func, error,
                                                             line, monkeypatch):
    monkeypatch.delenv(tracebacks.ENV, raising=False)
    with pytest.raises(error) as info:
        CALLS[entry](getattr(programs, func), np.ones(3))
    assert internal_frames(info.value) == 0
    generated = generated_frames(info.value)
    assert generated and line in generated[-1].line
    notes = "\n".join(info.value.__notes__)
    assert "raised in the generated code" in notes and line in notes


def test_full_traceback_on_request(programs, monkeypatch):
    monkeypatch.setenv(tracebacks.ENV, "full")
    with pytest.raises(ad.ADError) as info:
        ad.grad(programs.refused)(np.ones(3))
    assert internal_frames(info.value) >= 5
    assert not getattr(info.value, "__notes__", [])


def test_a_compiler_bug_keeps_its_frames(programs, monkeypatch):
    """Only errors about the user's program are filtered: a bug's frames are its report."""
    from adcompiler import pipeline

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.delenv(tracebacks.ENV, raising=False)
    monkeypatch.setattr(pipeline, "build", broken)
    with pytest.raises(KeyError) as info:
        ad.grad(programs.divides)(np.ones(3) + 7.0)
    assert internal_frames(info.value) >= 2


def test_filtering_keeps_the_exception_itself(programs):
    """except clauses see the same object, class, message and attributes."""
    try:
        ad.grad(programs.refused)(np.ones(3))
    except ad.NonDifferentiableError as exc:
        assert exc.lineno == line_of(programs.refused, "return")
        assert "operator //" in str(exc)
    else:  # pragma: no cover
        pytest.fail("no error")


SCRIPT = """
import numpy as np
import adcompiler as ad


def model(x):
    y = x.reshape(2, 2)
    return np.sum(y)


def main():
    ad.grad(model)(np.ones(3))


main()
"""


@pytest.mark.parametrize(("env", "internal"), [("", 0), ("full", None)])
def test_the_traceback_python_prints(tmp_path, env, internal):
    """What a script's user sees: Python's own hook, which does not read linecache."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    environ = {**os.environ, "PYTHONPATH": str(ROOT), tracebacks.ENV: env}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=environ, timeout=120, check=False)
    assert "ValueError: cannot reshape" in result.stderr
    compiler = result.stderr.count(PACKAGE)
    if internal is None:
        assert compiler > 2
    else:
        assert compiler == internal, result.stderr
        assert f'File "{script}", line 12, in main' in result.stderr
        assert "raised in the generated code" in result.stderr
        assert "y = x.reshape(2, 2)" in result.stderr


def test_the_docs_name_the_environment_variable():
    assert tracebacks.ENV in (ROOT / "docs" / "errors.md").read_text()
    assert ast.parse((ROOT / "adcompiler" / "tracebacks.py").read_text())
