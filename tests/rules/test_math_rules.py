"""The ``math`` and builtin rule templates, run directly on values, against finite differences.

Inputs are Python floats, and the derivatives must stay Python floats (``type(d) is
float``), so scalar code differentiated by the compiler never sees NumPy scalars. The
conventions at kinks (abs at 0, ties of two-argument max/min, hypot at the origin) are
asserted exactly.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np
import pytest

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler.frontend.parse import UNRESOLVED
from adcompiler.naming import Namer
from adcompiler.rules import math_rules, registry
from adcompiler.transform.fill import bind_arguments, fill
from adcompiler.transform.scope import Scope

EPS = 1e-6
G = 0.7  # the cotangent (a Python float, as scalar generated code passes it)
V = -1.3  # the direction of every finite difference


def _shifted(args: tuple, i: int, step: float) -> tuple:
    return (*args[:i], args[i] + step, *args[i + 1:])


def _fd(func: Any, args: tuple, i: int) -> float:
    return (func(*_shifted(args, i, EPS * V)) - func(*_shifted(args, i, -EPS * V))) / (2 * EPS)


def _names(template: registry.Template) -> list[str]:
    return list(template.signature.parameters)


CASES: list[tuple[str, Any, tuple, tuple[int, ...]]] = [
    (f"{f.__name__}({x})", f, (x,), (0,)) for f, x in [
        (math.exp, 0.4), (math.expm1, -0.3), (math.exp2, 1.3), (math.log, 1.7),
        (math.log1p, 0.6), (math.log2, 2.2), (math.log10, 3.1), (math.sqrt, 1.9),
        (math.cbrt, -2.4), (math.sin, 0.8), (math.cos, 0.8), (math.tan, 0.6),
        (math.asin, 0.3), (math.acos, -0.4), (math.atan, 1.6), (math.degrees, 0.5),
        (math.radians, 40.0), (math.sinh, 0.9), (math.cosh, -0.9), (math.tanh, 0.5),
        (math.asinh, -1.2), (math.acosh, 1.8), (math.atanh, 0.45), (math.erf, 0.3),
        (math.erfc, -0.6), (math.fabs, -1.4), (math.fabs, 2.0), (abs, -2.5), (abs, 0.5),
        (float, 1.25),
    ]
]
CASES += [
    ("log-base", math.log, (5.0, 3.0), (0, 1)),
    ("pow", math.pow, (1.6, 2.3), (0, 1)),
    ("pow-const2", math.pow, (-1.6, 2), (0,)),
    ("pow-negative-base-int-exponent", math.pow, (-1.6, 3.0), (0,)),
    ("atan2", math.atan2, (0.4, -1.1), (0, 1)),
    ("hypot", math.hypot, (0.4, -1.1), (0, 1)),
    ("copysign", math.copysign, (1.5, -0.3), (0, 1)),
    ("copysign-negative", math.copysign, (-1.5, 2.0), (0, 1)),
    ("fmod", math.fmod, (-7.3, 2.0), (0, 1)),
    ("max", max, (0.3, 1.2), (0, 1)),
    ("max-first", max, (2.3, 1.2), (0, 1)),
    ("min", min, (0.3, 1.2), (0, 1)),
    ("min-second", min, (2.3, 1.2), (0, 1)),
    ("builtin-pow", pow, (1.6, 2.3), (0, 1)),
    ("builtin-pow-const2", pow, (-1.6, 2), (0,)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("func", "args", "argnums"), [c[1:] for c in CASES], ids=IDS)
def test_reverse_matches_finite_differences(func, args, argnums):
    rule = registry.rule_for(func)
    assert rule is not None and rule.reverse is not None
    names = _names(rule.reverse)
    out = registry.evaluate(rule.reverse, {"result": func(*args), "g": G}, *args)
    for i in argnums:
        assert out["d" + names[i]] * V == pytest.approx(G * _fd(func, args, i), rel=1e-6,
                                                        abs=1e-9), names[i]


@pytest.mark.parametrize(("func", "args", "argnums"), [c[1:] for c in CASES], ids=IDS)
def test_forward_matches_finite_differences(func, args, argnums):
    rule = registry.rule_for(func)
    assert rule is not None and rule.forward is not None
    names = _names(rule.forward)
    for i in argnums:
        tangents = {"d" + n: 0.0 for n in rule.forward.outputs}
        tangents["d" + names[i]] = V
        out = registry.evaluate(rule.forward, {"result": func(*args), **tangents}, *args)
        assert out["dresult"] == pytest.approx(_fd(func, args, i), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("func", "args", "argnums"),
                         [c[1:] for c in CASES if c[1] is not pow],
                         ids=[c[0] for c in CASES if c[1] is not pow])
def test_derivatives_stay_python_floats(func, args, argnums):
    rule = registry.rule_for(func)
    out = registry.evaluate(rule.reverse, {"result": func(*args), "g": G}, *args)
    tangents = {"d" + n: 0.0 for n in rule.forward.outputs}
    tangents["d" + _names(rule.forward)[argnums[0]]] = V
    out.update(registry.evaluate(rule.forward, {"result": func(*args), **tangents}, *args))
    for name, value in out.items():
        assert type(value) is float, (name, type(value))


# ------------------------------------------------------------------------ conventions


def _reverse(func: Any, *args: Any, g: Any = 1.0, inactive: tuple[str, ...] = ()
             ) -> dict[str, Any]:
    rule = registry.rule_for(func)
    return registry.evaluate(rule.reverse, {"result": func(*args), "g": g}, *args,
                             inactive=inactive)


@pytest.mark.parametrize("func", [math.fabs, abs], ids=["fabs", "abs"])
def test_abs_at_zero_is_zero(func):
    assert _reverse(func, 0.0) == {"dx": 0.0}
    assert _reverse(func, -0.0) == {"dx": 0.0}


def test_builtin_abs_on_arrays_keeps_dtype_and_gives_zero_at_zero():
    x = np.array([-2.0, 0.0, 3.0], dtype=np.float32)
    dx = _reverse(abs, x, g=np.ones(3, dtype=np.float32))["dx"]
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("func", [max, min], ids=["max", "min"])
def test_two_argument_max_min_ties_are_shared_between_differentiated_operands(func):
    assert _reverse(func, 1.5, 1.5) == {"da": 0.5, "db": 0.5}


@pytest.mark.parametrize("func", [max, min], ids=["max", "min"])
def test_two_argument_max_min_tie_with_a_constant_goes_to_the_constant(func):
    assert _reverse(func, 1.5, 1.5, inactive=("b",))["da"] == 0.0
    assert _reverse(func, 1.5, 1.5, inactive=("a",))["db"] == 0.0


def test_hypot_at_the_origin_is_zero():
    assert _reverse(math.hypot, 0.0, 0.0) == {"dx": 0.0, "dy": 0.0}


@pytest.mark.parametrize("func", [math.pow, pow], ids=["math.pow", "pow"])
def test_pow_at_base_zero_with_constant_two(func):
    out = _reverse(func, 0.0, 2)
    assert out[f"d{_names(registry.rule_for(func).reverse)[0]}"] == 0.0
    assert all(v == 0.0 for v in out.values())


def test_log_without_base_uses_natural_log_and_with_base_differentiates_both():
    assert _reverse(math.log, 4.0) == {"dx": 0.25}
    out = _reverse(math.log, 8.0, 2.0)
    assert out["dx"] == pytest.approx(1 / (8.0 * math.log(2.0)))
    assert out["dbase"] == pytest.approx(-3.0 / (2.0 * math.log(2.0)))


def test_builtin_pow_on_arrays():
    x = np.array([0.0, 1.5, 2.0])
    out = _reverse(pow, x, np.array([2.5, 2.5, 2.5]), g=np.ones(3))
    np.testing.assert_allclose(out["dbase"], 2.5 * x ** 1.5)
    np.testing.assert_allclose(out["dexp"], x ** 2.5 * np.log(np.where(x > 0, x, 1)))


def test_one_argument_max_does_not_bind():
    template = registry.rule_for(max).reverse
    with pytest.raises(TypeError):
        template.signature.bind([1.0, 2.0])


def test_zero_derivative_declarations():
    for func in (math.floor, math.ceil, math.trunc, math.isfinite, math.isnan, round, int,
                 bool, len, range):
        rule = registry.rule_for(func)
        assert rule is not None and rule.zero, func


# --------------------------------------------------------------- filling (smoke test)
# Filling needs the compiler's Namer and Scope; this checks that every template's names
# resolve and that ``static`` branches are decided as the comments promise.


class _NoUserNames:
    def resolve(self, name: str, guard: bool = True) -> Any:
        return UNRESOLVED


def _filled(template: registry.Template, args: list[ast.expr], mode: str) -> str:
    bindings = bind_arguments(template, args, {}, template.func.__name__)
    special = {"result": ast.Name(id="y", ctx=ast.Load())}
    if mode == "reverse":
        special["g"] = ast.Name(id="gy", ctx=ast.Load())
    else:
        special.update({"d" + n: ast.Name(id=f"t_{n}", ctx=ast.Load())
                        for n in template.outputs})
    namer = Namer({"x", "y", "gy", *(n.id for n in special.values())})
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer))
    return "\n".join(ast.unparse(s) for s in filled.stmts)


TEMPLATES = [(getattr(rule, mode), mode) for rule in registry.all_rules()
             for mode in ("reverse", "forward")
             if getattr(rule, mode) is not None
             and getattr(rule, mode).func.__module__ == math_rules.__name__]


@pytest.mark.parametrize(("template", "mode"), TEMPLATES,
                         ids=[t.func.__name__ for t, _ in TEMPLATES])
def test_every_template_fills(template, mode):
    required = [p for p in template.signature.parameters.values()
                if p.default is p.empty]
    assert _filled(template, [ast.Name(id=f"x_{p.name}", ctx=ast.Load()) for p in required],
                   mode)


def test_static_branches_are_decided_when_filled():
    x = ast.Name(id="x", ctx=ast.Load())
    assert _filled(registry.rule_for(math.log).reverse, [x], "reverse") == "dx = gy / x"
    pow_source = _filled(registry.rule_for(math.pow).reverse, [x, ast.Constant(2)], "reverse")
    assert pow_source.splitlines()[0] == "dx = gy * 2.0 * x"
