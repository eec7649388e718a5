"""Second derivatives of every rule: forward mode over each rule's generated gradient.

Each case of the family tables (``tests/rules/test_*_rules.py``: every rule times its
inputs, chosen away from kinks) becomes a user-style program, written out as source,

    def f(x0, x1):
        y = np.arctan2(x0, x1)
        return np.sum(W0 * y + y * y)

summing ``W * y + y * y`` over every float part of the result. Then

* ``ad.jvp(ad.grad(f), xs, vs)`` (forward over reverse) returns, for every differentiated
  argument, a gradient and a tangent that are float64 arrays (the primal's dtype: never a
  boolean mask, never None) of the argument's shape;
* that tangent equals central differences of the generated gradient along ``vs``;
* ``ad.hvp`` agrees with it;
* with float32 arguments (one case per rule), gradient and tangent stay float32.

``test_the_table_covers_every_rule`` iterates the registry: every rule with a template
is in the table, except the compiler's own helpers (their rules run whenever a gradient
here calls them, and ``tests/test_higher_order_corpus.py`` checks each one against
differences) and the few rules named in ``NOT_IN_TABLE`` with the reason.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import linecache
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.rules import registry

sys.path.insert(0, str(Path(__file__).parent))
import test_math_rules as t_math
import test_numpy_elementwise_rules as t_elementwise
import test_numpy_linalg_rules as t_linalg
import test_numpy_reduce_rules as t_reduce
import test_numpy_shape_rules as t_shape

PER_RULE = 2  # cases per rule (the family tables hold many more variants)

# -- the family tables in one form: (id, key, args, argnums, kwargs) ----------------------


def _family_cases() -> list[tuple[str, Any, tuple, tuple[int, ...], dict]]:
    cases = []
    for name, func, args, argnums in t_math.CASES:
        cases.append((f"math/{name}", func, args, argnums, {}))
    for name, func, args, argnums, kwargs in t_elementwise.CASES:
        cases.append((f"elementwise/{name}", func, args, argnums, kwargs))
    for name, key, _func, args, argnums, kwargs in t_linalg.CASES:
        cases.append((f"linalg/{name}", key, args, argnums, kwargs))
    for name, key, _func, a, args, kwargs in t_reduce.CASES:
        cases.append((f"reduce/{name}", key, (a, *args), (0,), kwargs))
    for name, key, _func, args, kwargs in t_shape.CASES:
        cases.append((f"shape/{name}", key, args, (0,), kwargs))
    return EXTRA + cases


_r = np.random.default_rng(7)
A23, B23, P23 = _r.standard_normal((2, 3)), _r.standard_normal((2, 3)), _r.uniform(0.5, 2, (2, 3))
A34, A33, V3 = _r.standard_normal((3, 4)), _r.standard_normal((3, 3)), _r.standard_normal(3)
WELL = A33 @ A33.T + 3 * np.eye(3)

# rules the family tables reach only through the compiler (operators) or not at all
EXTRA: list[tuple[str, Any, tuple, tuple[int, ...], dict]] = [
    ("operators/add", ast.Add, (A23, V3), (0, 1), {}),
    ("operators/sub", ast.Sub, (A23, B23), (0, 1), {}),
    ("operators/neg", ast.USub, (A23,), (0,), {}),
    ("operators/mul", ast.Mult, (A23, V3), (0, 1), {}),
    ("operators/div", ast.Div, (A23, P23), (0, 1), {}),
    ("operators/pow", ast.Pow, (P23, B23), (0, 1), {}),
    ("operators/pow-const3", ast.Pow, (A23, 3), (0,), {}),
    ("operators/pow-const-fraction", ast.Pow, (P23, 2.5), (0,), {}),
    ("operators/pow-float", ast.Pow, (1.3, 2.5), (0, 1), {}),
    ("operators/matmul", ast.MatMult, (A23, A34), (0, 1), {}),
    ("operators/matmul-vector", ast.MatMult, (A33, V3), (0, 1), {}),
    ("linalg/np.matmul", np.matmul, (A23, A34), (0, 1), {}),
    ("linalg/np.matmul-batch", np.matmul, (np.stack([A33, A33.T]), V3), (0, 1), {}),
    ("math/builtin-sum", builtins.sum, ([A23, B23],), (0,), {}),
    ("math/builtin-sum-floats", builtins.sum, ([0.3, 1.7, -0.2],), (0,), {}),
    ("linalg/slogdet", np.linalg.slogdet, (WELL,), (0,), {}),
    ("shape/tril", np.tril, (A33, -1), (0,), {}),
    ("shape/triu", np.triu, (A23, 1), (0,), {}),
    ("indexing/take", np.take, (A23, [0, 4, 4, 5]), (0,), {}),
    ("indexing/take-axis", np.take, (A23, [2, 0, 2]), (0,), {"axis": 1}),
    ("indexing/take_along_axis", np.take_along_axis, (A23, np.array([[2, 2], [0, 1]])), (0,),
     {"axis": 1}),
    ("indexing/full", np.full, ((2, 3), 0.7), (1,), {}),
    ("indexing/full_like", np.full_like, (A23, 0.7), (1,), {}),
    ("indexing/linspace", np.linspace, (0.4, 2.1, 5), (0, 1), {}),
    ("shape/np.r_", ("subscript", np.r_), (V3, A23[0], 0.5), (0, 1, 2), {}),
    ("shape/np.c_", ("subscript", np.c_), (V3, A33), (0, 1), {}),
    # scalar outputs, so the plain-sum variant seeds them with the literal 1.0
    ("elementwise/fmax-scalar-constant", np.fmax, (np.array(1.3), 0.2), (0,), {}),
    ("elementwise/fmin-scalar-constant", np.fmin, (np.array(0.3), 1.2), (0,), {}),
    ("elementwise/fmax-scalars", np.fmax, (np.array(0.3), np.array(1.2)), (0, 1), {}),
    ("elementwise/fmin-scalars", np.fmin, (np.array(0.3), np.array(1.2)), (0, 1), {}),
    ("elementwise/maximum-scalars", np.maximum, (np.array(1.3), np.array(0.2)), (0, 1), {}),
    ("elementwise/minimum-scalars", np.minimum, (np.array(1.3), np.array(0.2)), (0, 1), {}),
    ("elementwise/clip-scalar", np.clip, (np.array(0.3), -0.5, 0.5), (0,), {}),
    ("linalg/trace-plain", np.trace, (A33,), (0,), {}),
]

# rules with no second derivative to check, and why
NOT_IN_TABLE: dict[str, str] = {
    "np.arange": "refuses a differentiated argument (its length jumps)",
    "list": "the copy of a stack in generated pullbacks; user code reaches it only as "
            "list(...) of a sequence, which the container tests cover",
}


def _rule_id(key: Any) -> int:
    return id(registry.rule_for(key))


def _selected() -> list[tuple[str, Any, tuple, tuple[int, ...], dict]]:
    taken: dict[int, int] = {}
    out = []
    for case in _family_cases():
        rule = _rule_id(case[1])
        if taken.get(rule, 0) < PER_RULE:
            taken[rule] = taken.get(rule, 0) + 1
            out.append(case)
    return out


# -- writing a case as a program ----------------------------------------------------------

_LITERALS = (int, str, bool, type(None))
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
              ast.MatMult: "@"}


class _Program:
    """Source text of one case, with its constants as module globals."""

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.namespace: dict[str, Any] = {"np": np, "math": math}
        self.params: list[str] = []
        self.values: list[Any] = []
        self.counter = itertools.count()

    def constant(self, value: Any) -> str:
        if isinstance(value, _LITERALS) or (isinstance(value, float) and math.isfinite(value)):
            return repr(value)
        if isinstance(value, tuple | list) and all(isinstance(v, _LITERALS) for v in value):
            return repr(value)
        name = f"C{next(self.counter)}"
        self.namespace[name] = value
        return name

    def argument(self, value: Any, differentiated: bool) -> str:
        if differentiated and isinstance(value, list | tuple):
            parts = [self.argument(v, True) for v in value]
            return ("[" + ", ".join(parts) + "]" if isinstance(value, list)
                    else "(" + ", ".join(parts) + ",)")
        if differentiated and _is_float(value):
            name = f"x{len(self.params)}"
            self.params.append(name)
            self.values.append(value.copy() if isinstance(value, np.ndarray) else value)
            return name
        return self.constant(value)

    def callee(self, key: Any) -> str:
        for prefix, module in (("np", np), ("np.linalg", np.linalg), ("math", math)):
            name = getattr(key, "__name__", None)
            if name and getattr(module, name, None) is key:
                return f"{prefix}.{name}"
        if getattr(builtins, getattr(key, "__name__", ""), None) is key:
            return key.__name__
        name = f"F{next(self.counter)}"
        self.namespace[name] = key
        return name


def _is_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _float_leaves(value: Any, expr: str) -> list[tuple[str, Any]]:
    if isinstance(value, list | tuple):
        return [leaf for i, item in enumerate(value)
                for leaf in _float_leaves(item, f"{expr}[{i}]")]
    if isinstance(value, float | np.floating) or (
            isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        return [(expr, value)]
    return []


def _build(ident: str, key: Any, args: tuple, argnums: tuple[int, ...], kwargs: dict,
           plain: bool = False) -> tuple[Callable[..., Any], list[Any], Any] | None:
    """The program of one case, its differentiated arguments and its output's dtype.

    ``plain`` sums the output as it is (the seed is a uniform 1.0, which the compiler
    folds into the rule's formula), instead of weighting it.
    """
    program = _Program(ident)
    parts = [program.argument(a, i in argnums) for i, a in enumerate(args)]
    keywords = [f"{k}={program.constant(v)}" for k, v in kwargs.items()]
    if isinstance(key, type) and issubclass(key, ast.operator):
        call = f"{parts[0]} {_OPERATORS[key]} {parts[1]}"
    elif key is ast.USub:
        call = f"-{parts[0]}"
    elif isinstance(key, tuple) and key[0] == "subscript":  # np.r_[a, b]
        maker = "np.r_" if key[1] is np.r_ else "np.c_"
        call = f"{maker}[{', '.join(parts)}]"
    elif isinstance(key, tuple) and key[0] == "attr":
        call = f"{parts[0]}.{key[1]}"
    elif isinstance(key, tuple) and key[0] == "method":
        call = f"{parts[0]}.{key[1]}({', '.join(parts[1:] + keywords)})"
    else:
        call = f"{program.callee(key)}({', '.join(parts + keywords)})"
    if not program.params:
        return None
    value = eval(call, dict(program.namespace),
                 dict(zip(program.params, program.values, strict=True)))
    leaves = _float_leaves(value, "y")
    if not leaves:
        return None
    rng = np.random.default_rng(len(ident))
    terms = []
    for j, (expr, leaf) in enumerate(leaves):
        w = f"W{j}"
        program.namespace[w] = rng.standard_normal(np.shape(leaf)).astype(
            np.result_type(leaf))  # float32 outputs keep float32 weights
        if plain:  # a scalar output is returned as it is: its seed is the literal 1.0
            terms.append(expr if np.ndim(leaf) == 0 else f"np.sum({expr})")
        else:
            terms.append(f"np.sum({w} * {expr} + {expr} * {expr})")
    name = "case_" + "".join(c if c.isalnum() else "_" for c in ident)
    source = (f"def {name}({', '.join(program.params)}):\n"
              f"    y = {call}\n"
              f"    return {' + '.join(terms)}\n")
    filename = f"<second-order table: {ident}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), program.namespace)
    return program.namespace[name], program.values, np.result_type(*(v for _, v in leaves))


def _float32(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    if isinstance(value, list | tuple):
        return type(value)(_float32(v) for v in value)
    return value


SELECTED = _selected()
CASES = {ident: (key, args, argnums, kwargs) for ident, key, args, argnums, kwargs in SELECTED}

# -- the checks ---------------------------------------------------------------------------

STEP = 1e-5
RTOL, ATOL = 1e-4, 1e-6


def _shifted(values: list[Any], vectors: list[Any], step: float) -> list[Any]:
    return [float(x + step * v) if isinstance(x, float) else x + step * v
            for x, v in zip(values, vectors, strict=True)]


@pytest.mark.parametrize("ident", sorted(CASES))
def test_forward_over_reverse(ident):
    key, args, argnums, kwargs = CASES[ident]
    built = _build(ident, key, args, argnums, kwargs)
    if built is None:
        pytest.skip("no float argument or no float output to differentiate")
    f, values, _ = built
    wrt = tuple(range(len(values)))
    rng = np.random.default_rng(3)
    vectors = [float(rng.standard_normal()) if isinstance(x, float)
               else rng.standard_normal(np.shape(x)) for x in values]
    gradient, tangent = ad.jvp(ad.grad(f, wrt), values, vectors)
    scale = max([1.0, *(float(np.max(np.abs(x))) for x in values if np.size(x))])
    step = STEP * scale
    plus = ad.grad(f, wrt)(*_shifted(values, vectors, step))
    minus = ad.grad(f, wrt)(*_shifted(values, vectors, -step))
    product = ad.hvp(f, wrt)(*values, tuple(vectors))
    for i, x in enumerate(values):
        for what, part in (("gradient", gradient[i]), ("tangent", tangent[i])):
            assert part is not None, f"{what} of argument {i} is None"
            assert np.asarray(part).dtype == np.float64, (what, i, np.asarray(part).dtype)
            assert np.shape(part) == np.shape(x), (what, i, np.shape(part))
        numeric = (np.asarray(plus[i], dtype=float) - np.asarray(minus[i], dtype=float)) / (
            2 * step)
        np.testing.assert_allclose(tangent[i], numeric, rtol=RTOL, atol=ATOL * scale,
                                   err_msg=f"jvp(grad) against differences, argument {i}")
        np.testing.assert_allclose(product[i], tangent[i], rtol=1e-10, atol=1e-12,
                                   err_msg=f"hvp against jvp(grad), argument {i}")


ONE_PER_RULE = {}
for _ident, _case in CASES.items():
    if _rule_id(_case[0]) not in {_rule_id(k) for k, *_ in ONE_PER_RULE.values()}:
        ONE_PER_RULE[_ident] = _case


@pytest.mark.parametrize("ident", sorted(ONE_PER_RULE))
def test_forward_over_reverse_of_a_plain_sum(ident):
    """``sum(F(x))``: the cotangent is a uniform 1.0 the compiler folds into the rule (so a
    mask ``1.0 * (a > b)`` must stay a float), and for a linear ``F`` the second
    derivative is a real zero array, not None."""
    built = _build(f"{ident}-plain", *ONE_PER_RULE[ident], plain=True)
    if built is None:
        pytest.skip("no float argument or no float output to differentiate")
    f, values, _ = built
    wrt = tuple(range(len(values)))
    vectors = [np.ones_like(x) if isinstance(x, np.ndarray) else 1.0 for x in values]
    gradient, tangent = ad.jvp(ad.grad(f, wrt), values, vectors)
    step = 1e-5
    plus = ad.grad(f, wrt)(*_shifted(values, vectors, step))
    minus = ad.grad(f, wrt)(*_shifted(values, vectors, -step))
    for i, x in enumerate(values):
        for what, part in (("gradient", gradient[i]), ("tangent", tangent[i])):
            assert part is not None, f"{what} of argument {i} is None"
            assert np.asarray(part).dtype == np.float64, (what, i, np.asarray(part).dtype)
            assert np.shape(part) == np.shape(x), (what, i, np.shape(part))
        numeric = (np.asarray(plus[i], dtype=float) - np.asarray(minus[i], dtype=float)) / (
            2 * step)
        np.testing.assert_allclose(tangent[i], numeric, rtol=RTOL, atol=1e-5)


FLOAT32 = {}
for _ident, (_key, _args, _argnums, _kwargs) in CASES.items():
    if any(_is_float(a) for a in _args) and _rule_id(_key) not in {
            _rule_id(k) for k, *_ in FLOAT32.values()}:
        FLOAT32[_ident] = (_key, _float32(_args), _argnums, _kwargs)


@pytest.mark.parametrize("ident", sorted(FLOAT32))
def test_forward_over_reverse_keeps_float32(ident):
    """float32 in, float32 out: the gradient has the argument's dtype or the output's
    (``np.float_power`` promotes to float64), and the tangent the gradient's."""
    built = _build(f"{ident}-float32", *FLOAT32[ident])
    if built is None:
        pytest.skip("no float argument or no float output to differentiate")
    f, values, dtype = built
    wrt = tuple(range(len(values)))
    vectors = [np.ones_like(x) if isinstance(x, np.ndarray) else 1.0 for x in values]
    gradient, tangent = ad.jvp(ad.grad(f, wrt), values, vectors)
    for i, x in enumerate(values):
        if not isinstance(x, np.ndarray):
            continue  # a Python float argument: its derivative is a float64 number
        assert tangent[i] is not None, f"tangent of argument {i} is None"
        assert np.asarray(gradient[i]).dtype in (x.dtype, dtype), (
            i, np.asarray(gradient[i]).dtype)
        assert np.asarray(tangent[i]).dtype == np.asarray(gradient[i]).dtype, (
            i, np.asarray(tangent[i]).dtype)


# -- coverage -------------------------------------------------------------------------------

def _is_helper(rule: registry.Rule) -> bool:
    """A rule of one of the compiler's own functions (an adjoint helper generated code
    calls), as opposed to a NumPy / math / builtin callable a user writes."""
    module = getattr(rule.key, "__module__", None) or ""
    return module.startswith("adcompiler.")


def test_the_table_covers_every_rule():
    covered = {_rule_id(case[1]) for case in _family_cases()}
    missing = sorted(
        rule.name for rule in registry.all_rules()
        if not rule.zero and (rule.reverse is not None or rule.forward is not None)
        and not _is_helper(rule) and id(rule) not in covered and rule.name not in NOT_IN_TABLE)
    assert missing == []
