"""``g.source`` is code you can keep: pasted into a file, it runs and gives the gradient.

Every corpus case (tests/corpus_*.py, through the tables of the tests that use them) has
its generated source executed in an empty namespace: every name it calls must be defined
or imported in the text itself, and the function it defines must give what ``ad.grad``
gives. Regression: with a partial ``wrt`` the source called ``helper_forward`` but defined
``helper_wrt_a_forward``, and two specialisations of one callee were both defined as
``helper_forward``.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.backend.names import free_names
from adcompiler.pytree import is_container, tree_leaves

sys.path.insert(0, str(Path(__file__).parent))
import corpus_core
import test_containers
import test_control_flow
import test_end_to_end_core
import test_jumps
import test_numpy_corpus


def _cases():
    for func, args, wrt in test_end_to_end_core.CASES:
        yield "core", func, args, wrt
    for func, args, wrt, _ in test_numpy_corpus.CASES:
        if func.__name__ not in ("scatter_add", "copyto_owned", "ufunc_out"):  # refused
            yield "numpy", func, args, wrt
    for param in test_control_flow.CASES:
        if not param.marks:  # the known gaps are refused
            yield ("control", *param.values)
    for func, args in test_jumps.CASES:
        yield "jumps", func, args, 0
    for _, func, make in test_containers.CASES:
        yield "containers", func, make(), 0


CASES = [pytest.param(func, args, wrt, id=f"{group}-{func.__name__}-{i}")
         for i, (group, func, args, wrt) in enumerate(_cases())]
# grad needs a scalar output; vjp and jvp take every case
SCALAR_CASES = [c for c in CASES if np.ndim(c.values[0](*c.values[1])) == 0]


def assert_same(got, want):
    """Equal structure leaf by leaf (None where a leaf has no derivative)."""
    if not isinstance(want, tuple):
        got, want = (got,), (want,)
    got_leaves, want_leaves = tree_leaves(got), tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        if w is None:
            assert g is None or np.all(np.asarray(g) == 0)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def reference(func, args, wrt):
    """``ad.grad``'s answer, or for a non-scalar output the pullback of ones (what the
    generated gradient seeds with)."""
    value, pullback = ad.vjp(func, *args)
    cotangents = pullback(np.ones_like(value) if np.ndim(value) else 1.0)
    if isinstance(wrt, tuple):
        return tuple(cotangents[i] for i in wrt)
    return cotangents[wrt]


def run_pasted(text):
    """Execute ``text`` as a fresh module would: nothing defined beforehand."""
    namespace = {"__name__": "pasted"}
    exec(compile(text, "<pasted>", "exec"), namespace)
    return namespace


def entry(text):
    return text.split("(", 1)[0].removeprefix("def ")


@pytest.mark.parametrize(("func", "args", "wrt"), SCALAR_CASES)
def test_grad_source_runs_on_its_own(func, args, wrt):
    text = ad.source(func, "grad", wrt, args=args)
    assert free_names(text) == [], f"undefined in the source: {free_names(text)}"
    namespace = run_pasted(text)
    assert_same(namespace[entry(text)](*args), reference(func, args, wrt))


@pytest.mark.parametrize(("func", "args", "wrt"), CASES)
def test_vjp_source_runs_on_its_own(func, args, wrt):
    text = ad.source(func, "vjp", wrt, args=args)
    assert free_names(text) == []
    namespace = run_pasted(text)
    forward = entry(text)
    value, saved = namespace[forward](*args)
    pullback = namespace[forward.removesuffix("forward") + "pullback"]
    grads = pullback(*saved, np.ones_like(value) if isinstance(value, np.ndarray) else 1.0)
    assert_same(grads if isinstance(wrt, tuple) else grads[0], reference(func, args, wrt))


@pytest.mark.parametrize(("func", "args", "wrt"), [
    c for c in CASES if not any(is_container(a) for a in c.values[1])])
def test_jvp_source_runs_on_its_own(func, args, wrt):
    """The tangent out of the pasted jvp is ⟨gradient, tangent in⟩."""
    text = ad.source(func, "jvp", wrt, args=args)
    assert free_names(text) == []
    namespace = run_pasted(text)
    positions = list(wrt) if isinstance(wrt, tuple) else [wrt]
    rng = np.random.default_rng(3)
    tangents = [rng.standard_normal(np.shape(args[p])) for p in positions]
    tangents = [t if np.ndim(args[p]) else float(t) for t, p in zip(tangents, positions,
                                                                     strict=True)]
    value, tangent = namespace[entry(text)](*args, *tangents)
    grads = reference(func, args, tuple(positions))
    want = sum(np.sum(g * t) for g, t in zip(grads, tangents, strict=True))
    np.testing.assert_allclose(value, func(*args), rtol=1e-12)
    if np.ndim(value) == 0:
        np.testing.assert_allclose(tangent, want, rtol=1e-9, atol=1e-12)


def test_partial_wrt_calls_the_callee_it_defines():
    """``calls_helper`` differentiated for ``y`` only: each call of ``helper`` has one
    active argument, so the callee is generated as ``helper_wrt_a`` / ``helper_wrt_b``."""
    text = ad.source(corpus_core.calls_helper, "grad", 1, args=(0.7, 1.3))
    assert "helper_wrt_b_forward(x, y, 2.0)" in text
    assert "def helper_wrt_b_forward(" in text and "def helper_wrt_a_pullback(" in text
    assert free_names(text) == []


def test_two_specialisations_of_a_callee_get_two_names():
    def twice(x, v):
        return corpus_core.helper(x, x) + np.sum(corpus_core.helper(v, v))

    text = ad.source(twice, "grad", (0, 1), args=(0.5, np.ones(3)))
    defs = [line for line in text.splitlines() if line.startswith("def ")]
    assert len(defs) == len({d.split("(")[0] for d in defs})
    namespace = run_pasted(text)
    got = namespace["twice_grad"](0.5, np.array([1.0, 2.0, 3.0]))
    assert_same(got, ad.grad(twice, (0, 1))(0.5, np.array([1.0, 2.0, 3.0])))


def test_block_imports_helpers_and_defines_constants():
    text = ad.source(corpus_core.global_scale, "grad", 0, args=(0.6,))
    code, block = text.split("# names the code above uses", 1)
    assert "\nfrom corpus_core import SCALE\n" in block  # live: not the value at compile
    assert ("import numpy as np" in block) == ("np." in code)


def test_a_closure_constant_is_written_by_value():
    scale = 2.5

    def scaled(x):
        return x * scale

    text = ad.source(scaled, "grad", 0, args=(1.0,))
    assert "\nscale = 2.5\n" in text
    assert run_pasted(text)["scaled_grad"](1.0) == 2.5


def test_command_line_block_imports_from_the_file_by_its_name(tmp_path, capsys):
    from adcompiler.__main__ import main

    (tmp_path / "model.py").write_text(
        "import numpy as np\n\nW = np.arange(20.0)\n\n"
        "def loss(x):\n    return np.sum(W * x ** 2)\n")
    assert main([f"{tmp_path / 'model.py'}:loss", "--color", "never"]) == 0
    text = capsys.readouterr().out
    assert "\nfrom model import W\n" in text  # an array too big to write inline
    sys.path.insert(0, str(tmp_path))
    try:
        namespace = run_pasted(text)
    finally:
        sys.path.remove(str(tmp_path))
    np.testing.assert_allclose(namespace["loss_grad"](np.ones(20)), 2 * np.arange(20.0))
