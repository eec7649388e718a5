"""Every rule-table case against HIPS autograd at 1e-10 (issue 18: an independent oracle).

The rule tables of tests/rules/* (the cases those files check against finite differences)
are reused here: each rule's reverse template is evaluated on the case's values
(``registry.evaluate``, as the rule tests do) and its cotangent for every differentiated
argument compared with autograd's vector-Jacobian product for the same output cotangent;
its forward template's tangent is compared with autograd's Jacobian-vector product. Two AD
systems agree to rounding, so a wrong term that finite differences would blur (a missing
1e-7, a wrong convention far from the sample) fails here.

A case autograd cannot differentiate (no autograd function of that name, no derivative
for it in autograd, a helper autograd cannot trace) is checked against central finite
differences only, at the rule tests' tolerance; :func:`test_oracle_coverage` records how
many were compared each way and fails if autograd covers fewer than it does today.

The random programs are compared with autograd in tests/test_random_programs.py (the
comparison itself is tests/autograd_oracle.py).
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler.rules import registry

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "rules"))
import autograd_oracle as oracle
import test_math_rules as math_table
import test_numpy_elementwise_rules as elementwise_table
import test_numpy_linalg_rules as linalg_table
import test_numpy_reduce_rules as reduce_table
import test_numpy_shape_rules as shape_table

pytestmark = pytest.mark.skipif(not oracle.available(), reason="autograd is not installed")

EPS = 1e-6


def _cases() -> list[tuple[str, Any, Any, tuple, tuple[int, ...], dict]]:
    """(id, registry key, callable, args, differentiated positions, kwargs) of every table."""
    out = []
    for name, func, args, argnums in math_table.CASES:
        out.append((f"math-{name}", func, func, args, argnums, {}))
    for name, func, args, argnums, kwargs in elementwise_table.CASES:
        out.append((f"elementwise-{name}", func, func, args, argnums, kwargs))
    for name, key, func, args, argnums, kwargs in linalg_table.CASES:
        out.append((f"linalg-{name}", key, func, args, argnums, kwargs))
    for name, key, func, a, args, kwargs in reduce_table.CASES:
        out.append((f"reduce-{name}", key, func, (a, *args), (0,), kwargs))
    for name, key, func, args, kwargs in shape_table.CASES:
        out.append((f"shape-{name}", key, func, args, (0,), kwargs))
    return out


CASES = _cases()


# -- trees ------------------------------------------------------------------------------------
def _map(func: Any, *trees: Any) -> Any:
    first = trees[0]
    if isinstance(first, list | tuple):
        return type(first)(_map(func, *items) for items in zip(*trees, strict=True))
    return func(*trees)


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    def draw(x: Any) -> Any:
        value = rng.standard_normal(np.shape(x))
        return float(value) if isinstance(x, float) else value
    return _map(draw, tree)


def _dot(a: Any, b: Any) -> float:
    return float(sum(np.sum(np.asarray(x, dtype=float) * np.asarray(y, dtype=float))
                     for x, y in zip(oracle.leaves(a), oracle.leaves(b), strict=True)))


def _reduce_to(d: Any, shape: tuple[int, ...]) -> Any:
    """A broadcasting rule's full-shape contribution summed to the operand's shape."""
    d = np.asarray(d, dtype=float)
    d = d.sum(axis=tuple(range(d.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and d.shape[i] != 1)
    return d.sum(axis=axes, keepdims=True).reshape(shape)


# -- the rule's own templates -------------------------------------------------------------------
def _position(template: registry.Template, i: int) -> tuple[str, int | None]:
    """The template parameter holding argument ``i`` (and the index into ``*operands``)."""
    params = list(template.signature.parameters.values())
    for k, param in enumerate(params):
        if param.kind is inspect.Parameter.VAR_POSITIONAL and i >= k:
            return param.name, i - k
    return params[i].name, None


def rule_vjp(key: Any, func: Any, args: tuple, kwargs: dict, i: int, g: Any) -> Any:
    rule = registry.rule_for(key)
    out = registry.evaluate(rule.reverse, {"result": func(*args, **kwargs), "g": g},
                            *args, **kwargs)
    name, index = _position(rule.reverse, i)
    d = out["d" + name] if index is None else out["d" + name][index]
    if not isinstance(args[i], list | tuple) and np.shape(d) != np.shape(args[i]):
        d = _reduce_to(d, np.shape(args[i]))  # a broadcasting rule's full-shape part
    return d


def rule_jvp(key: Any, func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    rule = registry.rule_for(key)
    template = rule.forward
    result = func(*args, **kwargs)
    name, index = _position(template, i)
    special: dict[str, Any] = {"result": result}
    bound = template.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    for out_name in template.outputs:  # the other tangents are exact zeros
        value = bound.arguments[out_name]
        if template.signature.parameters[out_name].kind is inspect.Parameter.VAR_POSITIONAL:
            special["d" + out_name] = tuple(np.zeros_like(a) for a in value)
        else:
            special["d" + out_name] = _map(lambda a: np.zeros_like(a, dtype=float), value)
    if index is None:
        special["d" + name] = v
    else:
        tangents = list(special["d" + name])
        tangents[index] = v
        special["d" + name] = tuple(tangents)
    dresult = registry.evaluate(template, special, *args, **kwargs)["dresult"]
    if not isinstance(result, list | tuple):
        dresult = np.broadcast_to(dresult, np.shape(result))
    return dresult


def _fd(func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    def moved(sign: float) -> Any:
        shifted = _map(lambda x, t: x + sign * EPS * t, args[i], v)
        return func(*args[:i], shifted, *args[i + 1:], **kwargs)
    return _map(lambda p, m: (np.asarray(p, dtype=float) - np.asarray(m, dtype=float))
                / (2 * EPS), moved(1.0), moved(-1.0))


def _differentiable(args: tuple, i: int) -> bool:
    return all(np.issubdtype(np.asarray(leaf).dtype, np.floating)
               or isinstance(leaf, float) for leaf in oracle.leaves(args[i]))


# -- the comparisons --------------------------------------------------------------------------
def _fd_problem(mode: str, func: Any, args: tuple, kwargs: dict, i: int, got: Any, g: Any,
                v: Any, rng: np.random.Generator) -> str | None:
    """None when ``got`` (a cotangent or a tangent) agrees with central differences."""
    try:
        if mode == "reverse":
            w = _random_like(args[i], rng)
            np.testing.assert_allclose(_dot(got, w), _dot(g, _fd(func, args, kwargs, i, w)),
                                       rtol=1e-6, atol=1e-8)
        else:
            for a, b in zip(oracle.leaves(got), oracle.leaves(_fd(func, args, kwargs, i, v)),
                            strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    except AssertionError as error:
        return str(error)
    return None


def _autograd(mode: str, twin: Any, key: Any, args: tuple, kwargs: dict, i: int, g: Any,
              v: Any) -> tuple[Any, str]:
    """autograd's answer, or None and the reason it has none."""
    if twin is None:
        return None, "no autograd function"
    if isinstance(key, tuple) and key[0] == "method" and i > 0:
        return None, "method argument (autograd traces the object only)"
    try:
        want = (oracle.case_vjp(twin, args, kwargs, i, g) if mode == "reverse"
                else oracle.case_jvp(twin, args, kwargs, i, v))
    except Exception as error:
        return None, f"autograd raises {type(error).__name__}"
    return want, ""


def _compare(mode: str, key: Any, func: Any, args: tuple, argnums: tuple[int, ...],
             kwargs: dict) -> str:
    """Check one case in ``mode``; return how it was compared: "autograd", or "fd-only:
    <why>" when autograd has no answer or a wrong one (shape, NaN, or refuted by finite
    differences -- then ours must agree with the differences)."""
    twin = oracle.twin_callable(func)
    rng = np.random.default_rng(7)
    result = func(*args, **kwargs)
    how = "autograd"
    for i in argnums:
        if not _differentiable(args, i):
            continue
        g = v = None
        if mode == "reverse":
            g = _random_like(result, rng)
            got = rule_vjp(key, func, args, kwargs, i, g)
        else:
            v = _random_like(args[i], rng)
            got = rule_jvp(key, func, args, kwargs, i, v)
        want, why = _autograd(mode, twin, key, args, kwargs, i, g, v)
        if want is not None:
            reference = args[i] if mode == "reverse" else result
            shapes = [np.shape(leaf) for leaf in oracle.leaves(want)]
            finite = all(np.all(np.isfinite(leaf)) for leaf in oracle.leaves(want))
            if shapes != [np.shape(leaf) for leaf in oracle.leaves(reference)]:
                want, why = None, "autograd's shape is wrong"
            elif not finite:
                want, why = None, "autograd gives NaN"
        if want is not None:
            problem = oracle.agree(got, want)
            if problem is None:
                continue
            if _fd_problem(mode, func, args, kwargs, i, want, g, v, rng) is None:
                raise AssertionError(f"{mode}, argument {i}, against autograd (which agrees "
                                     f"with finite differences): {problem}")
            why = "autograd refuted by finite differences"
        how = f"fd-only: {why}"
        problem = _fd_problem(mode, func, args, kwargs, i, got, g, v, rng)
        assert problem is None, f"{mode}, argument {i}, finite differences: {problem}"
    return how


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_against_autograd(mode, key, func, args, argnums, kwargs):
    _compare(mode, key, func, args, argnums, kwargs)


# every case autograd covered when this file was written minus a margin: the oracle must
# not quietly stop comparing (an autograd upgrade, a table edit that breaks the twins)
MIN_AUTOGRAD_SHARE = 0.8


def test_oracle_coverage():
    """How many cases were compared each way (printed with -s); most go through autograd."""
    counts: Counter[str] = Counter()
    fd_only = []
    for c in CASES:
        for mode in ("reverse", "forward"):
            how = _compare(mode, *c[1:])
            counts[f"{mode}: {how}"] += 1
            if how != "autograd":
                fd_only.append(f"{c[0]} ({mode}): {how[len('fd-only: '):]}")
    print(f"\nrule-table cases: {len(CASES)} (each in both modes)")
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count}")
    print("compared with finite differences only:\n  " + "\n  ".join(fd_only))
    for mode in ("reverse", "forward"):
        assert counts[f"{mode}: autograd"] >= MIN_AUTOGRAD_SHARE * len(CASES), dict(counts)


def test_oracle_catches_a_wrong_rule(monkeypatch):
    """The comparison can fail: a rule off by 1e-7 (invisible to finite differences at the
    rule tests' tolerance) is caught."""
    rule = registry.rule_for(np.sin)
    original = rule.reverse

    def sin(result, g, x):
        dx = g * np.cos(x) * (1.0 + 1e-7)  # noqa: F841 (a template assigns dx)

    monkeypatch.setattr(rule, "reverse", registry.Template.from_function(sin, "reverse"))
    x = np.linspace(-1.0, 1.0, 5)
    with pytest.raises(AssertionError, match="against autograd"):
        _compare("reverse", np.sin, np.sin, (x,), (0,), {})
    monkeypatch.setattr(rule, "reverse", original)
    assert _compare("reverse", np.sin, np.sin, (x,), (0,), {}) == "autograd"
