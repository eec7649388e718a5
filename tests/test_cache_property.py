"""The cache over generated programs: sharing a cache never changes an answer.

Each random program from tests/random_programs.py gets a module constant ``C`` and an
activation ``ACT`` (a binding that chooses a derivative rule): ``f`` returns
``C * (its result) + np.sum(ACT(x))``. The same text is then compiled

* in two module namespaces with different ``C`` and ``ACT``,
* as two closures of one factory with different cells,
* and again after rebinding the cells (``nonlocal``) and the module globals,

each time through the shared cache, and compared with a fresh compile of the same
function (the cache cleared first): what a fresh process would compute. Gradients
and, for an array ``x``, the jvp along a random direction must be identical.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).parent))
from random_programs import Program, programs

_DIR = Path(tempfile.mkdtemp(prefix="adcache_property_"))
_counter = itertools.count()
EXAMPLES = int(os.environ.get("ADCOMPILER_CACHE_PROPERTY_EXAMPLES", "5"))


def _load(text: str):
    name = f"adcache_prop_{os.getpid()}_{next(_counter)}"
    path = _DIR / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(source: str) -> tuple[str, str, str]:
    """(the module up to ``def f``, f's body without its return line, the return expr)."""
    head, _, f_text = source.partition("\ndef f(")
    lines = f_text.rstrip("\n").split("\n")
    assert lines[-1].startswith("    return ")
    return head + "\n", "def f(" + "\n".join(lines[:-1]), lines[-1][len("    return "):]


def module_text(program: Program, c: float, act: str) -> str:
    head, body, result = _split(program.source)
    head = head.replace("import numpy as np\n", f"import numpy as np\nC = {c!r}\n"
                        f"ACT = np.{act}\n", 1)
    return f"{head}{body}\n    return C * ({result}) + np.sum(ACT(x))\n"


def closure_text(program: Program) -> str:
    head, body, result = _split(program.source)
    inner = "\n".join("    " + line if line else line for line in body.split("\n"))
    return (f"{head}def make(C, ACT):\n{inner}\n"
            f"        return C * ({result}) + np.sum(ACT(x))\n\n"
            "    def rebind(c, act):\n        nonlocal C, ACT\n        C = c\n"
            "        ACT = act\n\n    return f, rebind\n")


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [np.asarray(value, dtype=np.float64)]


def answers(f, program: Program, args: list) -> list:
    """Gradient (and jvp along a fixed direction for an array x) of ``f``."""
    params = list(program.arg_shapes)
    wrt = tuple(params.index(n) for n in program.wrt)
    with np.errstate(all="ignore"):
        out = _leaves(ad.grad(f, wrt)(*args))
        if isinstance(args[0], np.ndarray):
            tangent = np.linspace(-1.0, 1.0, args[0].size).reshape(args[0].shape)
            tangents = (tangent, *[None] * (len(args) - 1))
            out += _leaves(ad.jvp(f, tuple(args), tangents))
    return out


def fresh(f, program: Program, args: list) -> list:
    ad.clear_cache()
    return answers(f, program, args)


def same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(programs(max_depth=2, max_statements=2))
def test_shared_cache_answers_like_a_fresh_compile(program):
    args = program.arguments()
    a = _load(module_text(program, 1.5, "sin"))
    b = _load(module_text(program, -0.5, "cos"))
    assert a.f.__code__ == b.f.__code__  # one text: only the function objects differ
    factory = _load(closure_text(program))
    f1, rebind1 = factory.make(1.5, np.sin)
    f2, _ = factory.make(-0.5, np.cos)

    functions = (a.f, b.f, f1, f2)
    shared = [answers(f, program, args) for f in functions]  # one cache for all four
    for got, f in zip(shared, functions, strict=True):
        same(got, fresh(f, program, args))
    same(shared[0], shared[2])  # module a and closure 1 bind the same values

    # rebinding after the first calls: the cached entries, and a grad object's shortcut
    wrt = tuple(list(program.arg_shapes).index(n) for n in program.wrt)
    g = ad.grad(f1, wrt)
    with np.errstate(all="ignore"):
        g(*args)
    answers(f1, program, args)
    answers(a.f, program, args)
    rebind1(0.75, np.tanh)
    a.C, a.ACT = 0.75, np.tanh
    with np.errstate(all="ignore"):
        from_shortcut = _leaves(g(*args))
    rebound = [answers(f1, program, args), answers(a.f, program, args)]
    same(from_shortcut, rebound[0][:len(from_shortcut)])
    same(rebound[0], fresh(f1, program, args))
    same(rebound[1], fresh(a.f, program, args))
    same(rebound[0], rebound[1])
