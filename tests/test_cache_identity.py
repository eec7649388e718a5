"""What counts as "the same function" for the cache (backend/cache.py's identity rules).

Every class of program here gave a wrong value with no error when the cache keyed on a
function's code object and on ``id()`` of closure cells and function-valued arguments:
the same text in several modules, closures with different cells, cells and globals
rebound after the first call, function-valued arguments freed and their address
reused. Each test asserts values against the analytic derivative, for every entry
point where that applies. Also here: the LRU bound and its ``linecache`` lines, failed
builds, and threads building functions that share helpers.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import linecache
import sys
import textwrap
import threading

import numpy as np
import pytest

import adcompiler as ad

X = np.array([0.3, -0.7, 1.1])
V = np.array([0.5, 2.0, -1.0])

# an activation and its derivative, for the rule a binding chooses
ACTS = [(np.sin, np.cos), (np.cos, lambda x: -np.sin(x)), (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
        (np.exp, np.exp)]

_counter = itertools.count()


def load(tmp_path, text: str):
    """Write ``text`` to a fresh module file and import it."""
    name = f"adcache_mod_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# one text, several modules: only the lines binding C and ACT differ, so the functions'
# code objects compare equal (same text, same line numbers)
MODULE = """
import numpy as np
C = {c!r}
ACT = np.{act}


def helper(x):
    return ACT(x) * C


def loss(x):
    return np.sum(helper(x)) + C * np.sum(x * x)


def vec(x):
    return ACT(x) * C


def loss_sin(x):
    return np.sum(np.sin(x) * C) + C * np.sum(x * x)


def vec_sin(x):
    return np.sin(x) * C
"""


def modules(tmp_path, n=4):
    out = []
    for i in range(n):
        act, dact = ACTS[i % len(ACTS)]
        module = load(tmp_path, MODULE.format(c=1.0 + i, act=act.__name__))
        out.append((module, 1.0 + i, act, dact))
    return out


def test_same_text_in_two_modules_keeps_its_own_globals(tmp_path):
    """The reproducer: mod_b's gradient was mod_a's, and value_and_grad mod_a's value."""
    a = load(tmp_path, "import numpy as np\nC = 2.0\n\n\ndef loss(x):\n"
                       "    return np.sum(x * C)\n")
    b = load(tmp_path, "import numpy as np\nC = 5.0\n\n\ndef loss(x):\n"
                       "    return np.sum(x * C)\n")
    assert a.loss.__code__ == b.loss.__code__  # what the old key compared
    ones = np.ones(3)
    np.testing.assert_array_equal(ad.grad(a.loss)(ones), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(ad.grad(b.loss)(ones), [5.0, 5.0, 5.0])
    value, gradient = ad.value_and_grad(b.loss)(ones)
    assert value == 15.0
    np.testing.assert_array_equal(gradient, [5.0, 5.0, 5.0])


def _entry_points(module, suffix=""):
    """(name, call) pairs: each returns what to compare with ``_expected``."""
    loss, vec = getattr(module, "loss" + suffix), getattr(module, "vec" + suffix)
    return [
        ("grad", lambda: ad.grad(loss)(X)),
        ("value_and_grad", lambda: ad.value_and_grad(loss)(X)),
        ("vjp", lambda: ad.vjp(vec, X)[1](V)[0]),
        ("jvp", lambda: ad.jvp(vec, (X,), (V,))[1]),
        ("jacobian", lambda: ad.jacobian(vec)(X)),
        ("jacobian_reverse", lambda: ad.jacobian(vec, mode="reverse")(X)),
        ("hessian", lambda: ad.hessian(loss)(X)),
        ("hvp", lambda: ad.hvp(loss)(X, V)),
        ("grad_of_grad", lambda: ad.jacobian(ad.grad(loss))(X)),
    ]


def _second(act):
    """The second derivative of each activation."""
    return {np.sin: lambda x: -np.sin(x), np.cos: lambda x: -np.cos(x),
            np.tanh: lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
            np.exp: np.exp}[act]


def _expected(name, c, act, dact):
    grad = c * dact(X) + 2 * c * X
    hess = np.diag(c * _second(act)(X) + 2 * c)
    return {
        "grad": grad,
        "value_and_grad": (np.sum(c * act(X)) + c * np.sum(X * X), grad),
        "vjp": c * dact(X) * V,
        "jvp": c * dact(X) * V,
        "jacobian": np.diag(c * dact(X)),
        "jacobian_reverse": np.diag(c * dact(X)),
        "hessian": hess,
        "hvp": hess @ V,
        "grad_of_grad": hess,
    }[name]


def _assert_close(got, want):
    if isinstance(want, tuple):
        for g, w in zip(got, want, strict=True):
            _assert_close(g, w)
        return
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


ENTRY_POINTS = [name for name, _ in _entry_points(type("m", (), {"loss": 0, "vec": 0}))]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("suffix", ["", "_sin"], ids=["rule_from_global", "data_only"])
def test_same_text_in_n_modules_every_entry_point(tmp_path, entry, suffix):
    """``_sin``: the functions read only data globals, so nothing but the function's
    identity tells the modules apart."""
    mods = modules(tmp_path)
    for _ in range(2):  # second round: every entry is cached, none may leak into another
        for module, c, act, dact in mods:
            call = dict(_entry_points(module, suffix))[entry]
            if suffix:
                act, dact = np.sin, np.cos
            _assert_close(call(), _expected(entry, c, act, dact))


# -- closures ---------------------------------------------------------------------------
def make_loss(c, act):
    def loss(x):
        return np.sum(act(x) * c) + c * np.sum(x * x)

    def vec(x):
        return act(x) * c

    return loss, vec


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_closures_with_different_cells_every_entry_point(entry):
    closures = [(make_loss(1.0 + i, act), 1.0 + i, act, dact)
                for i, (act, dact) in enumerate(ACTS)]
    for _ in range(2):
        for (loss, vec), c, act, dact in closures:
            holder = type("closure", (), {"loss": staticmethod(loss), "vec": staticmethod(vec)})
            call = dict(_entry_points(holder))[entry]
            _assert_close(call(), _expected(entry, c, act, dact))


def make_rebindable():
    c = 2.0
    act = np.sin

    def loss(x):
        return np.sum(act(x) * c) + c * np.sum(x * x)

    def vec(x):
        return act(x) * c

    def rebind(new_c, new_act):
        nonlocal c, act
        c, act = new_c, new_act

    return loss, vec, rebind


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_cells_rebound_with_nonlocal_are_seen_every_entry_point(entry):
    loss, vec, rebind = make_rebindable()
    holder = type("closure", (), {"loss": staticmethod(loss), "vec": staticmethod(vec)})
    call = dict(_entry_points(holder))[entry]
    _assert_close(call(), _expected(entry, 2.0, np.sin, np.cos))
    for c, (act, dact) in zip((3.0, -1.5, 0.5), ACTS[1:], strict=True):
        rebind(c, act)
        _assert_close(call(), _expected(entry, c, act, dact))


def test_a_rebound_cell_is_seen_by_an_existing_grad_object():
    """The reproducer: the old rule went on being used, even from a new grad object."""
    loss, _, rebind = make_rebindable()
    g = ad.grad(loss)
    _assert_close(g(X), _expected("grad", 2.0, np.sin, np.cos))
    _assert_close(g(X), _expected("grad", 2.0, np.sin, np.cos))  # the shortcut
    rebind(2.0, np.cos)
    _assert_close(g(X), _expected("grad", 2.0, np.cos, ACTS[1][1]))
    _assert_close(ad.grad(loss)(X), _expected("grad", 2.0, np.cos, ACTS[1][1]))
    rebind(4.0, np.cos)  # data: read when the code runs
    _assert_close(g(X), _expected("grad", 4.0, np.cos, ACTS[1][1]))


def test_float_arguments_take_the_shortcut_and_still_see_a_rebound_cell():
    act = np.sin

    def f(x):
        return act(x) * 2.0

    g = ad.grad(f)
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))
    assert g(0.5) == pytest.approx(2 * np.cos(0.5))
    act = np.tanh
    assert g(0.5) == pytest.approx(2 * (1 - np.tanh(0.5) ** 2))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_module_globals_rebound_after_the_first_call(tmp_path, entry):
    (module, c, act, dact), = modules(tmp_path, 1)
    call = dict(_entry_points(module))[entry]
    _assert_close(call(), _expected(entry, c, act, dact))
    for new_c, (new_act, new_dact) in zip((3.0, 0.25), ACTS[1:3], strict=True):
        module.C, module.ACT = new_c, new_act  # ACT is read by the callee ``helper``
        _assert_close(call(), _expected(entry, new_c, new_act, new_dact))


def test_a_monkeypatched_module_attribute_is_seen(tmp_path, monkeypatch):
    helpers = load(tmp_path, "import numpy as np\n\n\ndef act(x):\n    return np.sin(x)\n")
    user = load(tmp_path, f"import numpy as np\nimport {helpers.__name__} as helpers\n\n\n"
                          "def loss(x):\n    return np.sum(helpers.act(x))\n")
    g = ad.grad(user.loss)
    _assert_close(g(X), np.cos(X))
    monkeypatch.setattr(helpers, "act", np.tanh)
    _assert_close(g(X), 1 - np.tanh(X) ** 2)


def test_code_replaced_in_place_is_seen(tmp_path):
    """IPython's autoreload assigns a function's ``__code__``: the old code must go."""
    module = load(tmp_path, "import numpy as np\n\n\ndef helper(x):\n    return x * x\n\n\n"
                            "def loss(x):\n    return np.sum(helper(x))\n\n\n"
                            "def cube(x):\n    return x * x * x\n\n\n"
                            "def quartic(x):\n    return np.sum(x * x * x * x)\n")
    g = ad.grad(module.loss)
    _assert_close(g(X), 2 * X)
    module.helper.__code__ = module.cube.__code__  # the callee changes in place
    _assert_close(g(X), 3 * X * X)
    module.loss.__code__ = module.quartic.__code__
    _assert_close(g(X), 4 * X ** 3)


def test_redefinition_in_one_namespace_makes_a_new_entry():
    namespace = {"np": np}
    exec("def f(x):\n    return x * x\n", namespace)
    with pytest.raises(ad.ADError):  # no source: refused, never a stale answer
        ad.grad(namespace["f"])(1.0)


# -- function-valued arguments ------------------------------------------------------------
def apply(x, fn):
    return np.sum(fn(x))


def make_scale(s):
    def scale(x):
        return s * x

    return scale


def make_square():
    def square(x):
        return x * x

    return square


def make_sin():
    def sin(x):
        return np.sin(x)

    return sin


def test_freed_closures_passed_as_arguments_never_share_code():
    """The reproducer: 198 of 199 results were the first closure's once its address was
    reused."""
    wrong = []
    for k in range(200):
        fn = make_scale(float(k))
        got = ad.grad(apply)(X, fn)
        if not np.allclose(got, float(k)):
            wrong.append(k)
        if k % 8 == 0:  # forward mode too (fewer: each call builds two functions)
            value, tangent = ad.jvp(apply, (X, fn), (V, None))
            if not (np.isclose(value, k * np.sum(X)) and np.isclose(tangent, k * np.sum(V))):
                wrong.append(-k)
        del fn
    assert wrong == []


def test_make_sin_after_make_square():
    """The reproducer: sin's gradient came out as square's."""
    _assert_close(ad.grad(apply)(X, make_square()), 2 * X)
    gc.collect()
    _assert_close(ad.grad(apply)(X, make_sin()), np.cos(X))
    _assert_close(ad.value_and_grad(apply)(X, make_sin()), (np.sum(np.sin(X)), np.cos(X)))


def test_a_function_argument_whose_cell_is_rebound():
    act = np.sin

    def fn(x):
        return act(x)

    g = ad.grad(apply)
    _assert_close(g(X, fn), np.cos(X))
    act = np.exp
    _assert_close(g(X, fn), np.exp(X))


def test_a_function_argument_is_held_while_its_entry_lives():
    import weakref

    fn = make_scale(3.0)
    ref = weakref.ref(fn)
    _assert_close(ad.grad(apply)(X, fn), 3.0 * np.ones(3))
    del fn
    gc.collect()
    assert ref() is not None  # held by its entry: no other closure can take its address
    ad.clear_cache()
    gc.collect()
    assert ref() is None


# -- failed builds ----------------------------------------------------------------------
def test_a_failed_build_is_not_cached(tmp_path):
    module = load(tmp_path, "import numpy as np\n\n\ndef loss(x):\n"
                            "    return np.sum(later(x))\n")
    for _ in range(2):  # the real error both times, never a broken entry
        with pytest.raises(ad.ADError, match="later"):
            ad.grad(module.loss)(X)
    module.later = np.sin
    _assert_close(ad.grad(module.loss)(X), np.cos(X))


RECURSIVE = """
import numpy as np


def rec_a(x, n):
    if n > 0:
        y = rec_b(x, n - 1)
    else:
        y = x * x
    return y


def rec_b(x, n):
    y = rec_a(x, n) * 2.0
    return y + 0.0 * broken(x)


def top(x):
    return rec_b(x, 1)


def broken(x):
    try:
        return BROKEN(x)
    except ValueError:
        return x
"""

FIXED = """

def broken(x):
    return np.sin(x)
"""


def test_a_failed_recursive_build_leaves_no_stand_in_behind(tmp_path):
    """rec_a is built inside rec_b's build and calls rec_b's unfinished code; rec_b's
    build then fails (at its next callee). rec_a's code must not be kept: it called
    ``None`` afterwards."""
    module = load(tmp_path, RECURSIVE)
    calls = [lambda: ad.grad(module.rec_a)(1.5, 2), lambda: ad.grad(module.top)(1.5),
             lambda: ad.jvp(module.rec_a, (1.5, 2), (1.0, None)),
             lambda: ad.jvp(module.top, (1.5,), (1.0,))]
    for call in calls * 2:
        with pytest.raises(ad.UnsupportedSyntaxError, match="try"):
            call()
    fixed = load(tmp_path, RECURSIVE + FIXED)  # the same functions, broken() repaired
    # rec_a(x, 2) = 4 x^2 = top(x) (plus 0 * sin x)
    assert ad.grad(fixed.top)(1.5) == pytest.approx(12.0)
    assert ad.grad(fixed.rec_a)(1.5, 2) == pytest.approx(12.0)
    assert ad.jvp(fixed.top, (1.5,), (1.0,))[1] == pytest.approx(12.0)
    module.broken = fixed.broken  # rebinding the failing callee in place
    assert ad.grad(module.top)(1.5) == pytest.approx(12.0)
    assert ad.jvp(module.rec_a, (1.5, 2), (1.0, None))[1] == pytest.approx(12.0)


# -- the bound ----------------------------------------------------------------------------
@pytest.fixture
def small_cache():
    size = ad.cache_size()
    ad.clear_cache()
    ad.set_cache_size(3)
    yield
    ad.set_cache_size(size)
    ad.clear_cache()


def _filenames(g):
    generated = g._last
    return {f.__code__.co_filename for f in generated.functions.values()}


def test_lru_eviction_drops_entries_and_their_linecache_lines(small_cache):
    names = []
    for k in range(6):
        loss, _ = make_loss(float(k), np.sin)
        g = ad.value_and_grad(loss)
        _, gradient = g(X)
        _assert_close(gradient, _expected("grad", float(k), np.sin, np.cos))
        names.append(_filenames(g))
        assert all(n in linecache.cache for n in names[-1])
        del g, loss
    gc.collect()
    info = ad.cache_info()
    assert info.size == 3 and info.maxsize == 3
    assert not any(n in linecache.cache for group in names[:3] for n in group)
    assert all(n in linecache.cache for group in names[3:] for n in group)
    ad.clear_cache()
    gc.collect()
    assert not any(n in linecache.cache for group in names for n in group)


def test_the_least_recently_used_entry_goes_first(small_cache):
    fs = [make_loss(float(k), np.sin)[0] for k in range(4)]
    grads = [ad.grad(f) for f in fs[:3]]
    for g in grads:
        g(X)
    grads[0](X)  # a shortcut hit keeps fs[0] recent, so fs[1] is the oldest
    misses = ad.cache_info().misses
    ad.grad(fs[3])(X)
    grads[0](X)
    grads[2](X)
    assert ad.cache_info().misses == misses + 1
    grads[1](X)  # evicted: built again
    assert ad.cache_info().misses == misses + 2


def test_an_evicted_entry_used_by_a_live_grad_object_is_rebuilt_correctly(small_cache):
    loss, _, rebind = make_rebindable()
    g = ad.grad(loss)
    _assert_close(g(X), _expected("grad", 2.0, np.sin, np.cos))
    for k in range(4):  # push it out
        ad.grad(make_loss(float(k), np.sin)[0])(X)
    rebind(1.0, np.tanh)
    _assert_close(g(X), _expected("grad", 1.0, np.tanh, ACTS[2][1]))


def test_set_cache_size_refuses_nonsense():
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="positive int"):
            ad.set_cache_size(bad)


def test_clear_cache_frees_everything():
    loss, _ = make_loss(2.0, np.sin)
    ad.grad(loss)(X)
    assert ad.cache_info().size >= 1
    ad.clear_cache()
    info = ad.cache_info()
    assert (info.size, info.hits, info.misses) == (0, 0, 0)


# -- threads ------------------------------------------------------------------------------
THREADED = """
import numpy as np


def shared(x):
    return np.sin(x) * x


def other(x):
    return shared(x) + x * x


def f0(x):
    return np.sum(shared(x) * {c})


def f1(x):
    return np.sum(other(x)) + {c}


def f2(x):
    return np.sum(shared(x) + other(x)) * {c}


def f3(x):
    return np.sum(np.tanh(shared(x)))
"""


def _threaded_expected(k, c, x):
    d_shared = np.cos(x) * x + np.sin(x)
    d_other = d_shared + 2 * x
    return [c * d_shared, d_other, c * (d_shared + d_other),
            (1 - np.tanh(np.sin(x) * x) ** 2) * d_shared][k]


def test_sixteen_threads_compiling_functions_that_share_helpers(tmp_path):
    """The reproducer: a thread called another's unfinished stand-in for the shared helper
    (``TypeError: 'NoneType' object is not callable``), for grad and jvp alike."""
    x = np.array([0.4, -1.3])
    v = np.array([1.0, 0.5])
    errors: list[BaseException] = []
    wrong: list[tuple] = []
    for repetition in range(20):
        c = 1.0 + repetition
        module = load(tmp_path, THREADED.format(c=c))  # fresh functions: fresh builds
        fs = [module.f0, module.f1, module.f2, module.f3]
        barrier = threading.Barrier(16)

        def work(i, fs=fs, barrier=barrier, c=c, repetition=repetition):
            try:
                k = i % 4
                want = _threaded_expected(k, c, x)
                barrier.wait()
                g = ad.grad(fs[k])
                for call in range(200):
                    if i % 2 and call % 50 == 0:
                        got = ad.jvp(fs[k], (x,), (v,))[1]
                        if not np.isclose(got, want @ v):
                            wrong.append((repetition, i, "jvp", got))
                    else:
                        got = g(x)
                        if not np.allclose(got, want):
                            wrong.append((repetition, i, "grad", got))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert wrong == []


def test_one_key_is_built_once_by_many_threads():
    ad.clear_cache()
    loss, _ = make_loss(1.5, np.cos)
    barrier = threading.Barrier(8)
    out = [None] * 8

    def work(i):
        barrier.wait()
        out[i] = ad.grad(loss)(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in out:
        _assert_close(got, _expected("grad", 1.5, np.cos, ACTS[1][1]))
    assert ad.cache_info().misses == 1


MUTUAL = """
import numpy as np


def ping(x, n):
    if n > 0:
        return pong(x, n - 1) + np.sin(x)
    return x * x


def pong(x, n):
    if n > 0:
        return ping(x, n - 1) * 2.0
    return x * x * x
"""


def test_threads_building_mutually_recursive_functions_in_opposite_orders(tmp_path):
    """Each thread's build needs the key the other is building: neither may wait forever."""
    for _ in range(5):
        module = load(tmp_path, MUTUAL)
        barrier = threading.Barrier(2)
        out: dict = {}

        def work(name, module=module, barrier=barrier, out=out):
            barrier.wait()
            try:
                out[name] = ad.grad(getattr(module, name))(0.7, 3)
            except BaseException as exc:
                out[name] = exc

        threads = [threading.Thread(target=work, args=(n,)) for n in ("ping", "pong")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        x = 0.7
        # ping(x,3) = pong(x,2) + sin x = 2 ping(x,1) + sin x = 2 (pong(x,0) + sin x) + sin x
        assert out["ping"] == pytest.approx(2 * (3 * x * x + np.cos(x)) + np.cos(x))
        # pong(x,3) = 2 ping(x,2) = 2 (pong(x,1) + sin x) = 2 (2 ping(x,0) + sin x)
        assert out["pong"] == pytest.approx(2 * (2 * 2 * x + np.cos(x)))


def test_the_cache_memory_benchmark_runs_and_frees_its_lines():
    """benchmarks/cache_memory.py in a fresh process (the RSS numbers are its job, not
    this test's): its counts of entries and generated lines are exact there."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "benchmarks.cache_memory", "--closures", "10"],
                         check=False, cwd=root, capture_output=True, text=True,
                         timeout=600,
                         env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    assert "10 entries kept, 10 built" in out.stdout
    assert "10 after, 0 after clear_cache()" in out.stdout
