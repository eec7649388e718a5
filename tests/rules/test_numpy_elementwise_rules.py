"""The NumPy elementwise rule templates, run directly on values, against finite differences.

Each rule's reverse template is checked in dot-product form, <g, J v> against
<d<param>, v> one parameter at a time, and its forward template against the directional
finite difference. Binary rules write full-shape contributions (the driver reduces
them), so the broadcasting cases reduce them here with ``_reduce_to`` before comparing.
The conventions at kinks (ties, bounds, 0) are asserted exactly.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler.errors import ADError
from adcompiler.frontend.parse import UNRESOLVED
from adcompiler.naming import Namer
from adcompiler.rules import numpy_elementwise, registry
from adcompiler.rules.registry import active, static
from adcompiler.transform.fill import bind_arguments, fill
from adcompiler.transform.scope import Scope

EPS = 1e-6


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _reduce_to(d: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a full-shape contribution over the axes broadcasting added to ``shape``."""
    d = np.asarray(d, dtype=float)
    d = d.sum(axis=tuple(range(d.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and d.shape[i] != 1)
    return d.sum(axis=axes, keepdims=True).reshape(shape)


def _shifted(args: tuple, i: int, step: Any) -> tuple:
    return (*args[:i], args[i] + step, *args[i + 1:])


def _fd(func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> np.ndarray:
    plus = func(*_shifted(args, i, EPS * v), **kwargs)
    minus = func(*_shifted(args, i, -EPS * v), **kwargs)
    return (np.asarray(plus, dtype=float) - np.asarray(minus, dtype=float)) / (2 * EPS)


def check_reverse(func: Any, args: tuple, argnums: tuple[int, ...], kwargs: dict) -> None:
    rule = registry.rule_for(func)
    assert rule is not None and rule.reverse is not None
    names = list(rule.reverse.signature.parameters)
    rng = _rng(1)
    result = func(*args, **kwargs)
    g = rng.standard_normal(np.shape(result))
    out = registry.evaluate(rule.reverse, {"result": result, "g": g}, *args, **kwargs)
    for i in argnums:
        v = rng.standard_normal(np.shape(args[i]))
        contribution = _reduce_to(out["d" + names[i]], np.shape(args[i]))
        np.testing.assert_allclose(
            np.sum(contribution * v), np.sum(g * _fd(func, args, kwargs, i, v)),
            rtol=1e-6, atol=1e-8, err_msg=f"reverse, d{names[i]}")


def check_forward(func: Any, args: tuple, argnums: tuple[int, ...], kwargs: dict) -> None:
    rule = registry.rule_for(func)
    assert rule is not None and rule.forward is not None
    names = list(rule.forward.signature.parameters)
    rng = _rng(2)
    result = func(*args, **kwargs)
    for i in argnums:
        v = rng.standard_normal(np.shape(args[i]))
        tangents = {"d" + n: 0.0 for n in rule.forward.outputs}
        tangents["d" + names[i]] = v
        out = registry.evaluate(rule.forward, {"result": result, **tangents}, *args, **kwargs)
        dresult = np.broadcast_to(out["dresult"], np.shape(result))
        np.testing.assert_allclose(dresult, _fd(func, args, kwargs, i, v), rtol=1e-6,
                                   atol=1e-8, err_msg=f"forward, tangent d{names[i]}")


# ----------------------------------------------------------------------------- the table


def _uniform(lo: float, hi: float, shape: tuple[int, ...] = (3, 4), seed: int = 0
             ) -> np.ndarray:
    return _rng(seed).uniform(lo, hi, shape)


def _away_from(points: np.ndarray, lo: float, hi: float, shape: tuple[int, ...], seed: int
               ) -> np.ndarray:
    """Values in [lo, hi] at least 0.1 away from ``points`` (kinks)."""
    x = _uniform(lo, hi, shape, seed)
    for p in np.atleast_1d(points):
        x = np.where(np.abs(x - p) < 0.1, p + 0.1 * np.sign(x - p + 1e-3), x)
    return x


POS = _uniform(0.5, 2.0)
ANY = _uniform(-2.0, 2.0, seed=1)
UNIT = _uniform(-0.8, 0.8, seed=2)
NONZERO = _away_from(np.array(0.0), -2.0, 2.0, (3, 4), seed=3)
COLUMN = _uniform(0.5, 2.0, (3, 1), seed=4)
ROW = _uniform(-1.0, 1.0, (4,), seed=5)
B = _uniform(1.5, 2.5, seed=6)
# a = b * (k + f) with f in (0.2, 0.8): away from the jumps of mod and fmod
A_MOD = B * (_rng(7).integers(-2, 3, (3, 4)) + _uniform(0.2, 0.8, seed=8))
SHIFT = np.sign(ANY) * _uniform(0.2, 1.0, seed=9)  # separates the operands of max/min
CLIP_A = _away_from(np.array([-0.5, 0.5]), -1.5, 1.5, (3, 4), seed=10)
LO = _uniform(-0.9, -0.6, (4,), seed=11)
HI = np.array(0.7)
COND = _rng(12).random((3, 4)) > 0.5

UNARY = [
    (np.exp, ANY), (np.expm1, ANY), (np.exp2, ANY), (np.log, POS), (np.log1p, POS),
    (np.log2, POS), (np.log10, POS), (np.sqrt, POS), (np.cbrt, NONZERO), (np.square, ANY),
    (np.reciprocal, NONZERO), (np.sin, ANY), (np.cos, ANY), (np.tan, UNIT),
    (np.arcsin, UNIT), (np.arccos, UNIT), (np.arctan, ANY), (np.deg2rad, ANY),
    (np.radians, ANY), (np.rad2deg, ANY), (np.degrees, ANY), (np.sinc, NONZERO),
    (np.sinh, ANY), (np.cosh, ANY), (np.tanh, ANY), (np.arcsinh, ANY),
    (np.arccosh, POS + 1.0), (np.arctanh, UNIT), (np.negative, ANY), (np.positive, ANY),
    (np.absolute, NONZERO), (np.fabs, NONZERO), (np.copy, ANY), (np.real, ANY),
    (np.nan_to_num, ANY),
]

CASES: list[tuple[str, Any, tuple, tuple[int, ...], dict]] = [
    (f.__name__, f, (x,), (0,), {}) for f, x in UNARY
]
BINARY = [
    (np.logaddexp, ANY, POS), (np.logaddexp2, ANY, POS),
    (np.power, POS, ANY), (np.float_power, POS, ANY), (np.hypot, ANY, NONZERO),
    (np.arctan2, ANY, NONZERO), (np.add, ANY, POS), (np.subtract, ANY, POS),
    (np.multiply, ANY, POS), (np.divide, ANY, POS), (np.mod, A_MOD, B),
    (np.fmod, A_MOD, B), (np.copysign, NONZERO, NONZERO[::-1]),
    (np.maximum, ANY, ANY + SHIFT), (np.minimum, ANY, ANY + SHIFT),
    (np.fmax, ANY, ANY + SHIFT), (np.fmin, ANY, ANY + SHIFT),
]
for f, a, b in BINARY:
    CASES.append((f.__name__, f, (a, b), (0, 1), {}))
# broadcasting: (3, 1) with (4,), and an array with a 0-d array
for f in (np.logaddexp, np.power, np.hypot, np.arctan2, np.add, np.subtract, np.multiply,
          np.divide, np.maximum, np.minimum, np.float_power, np.logaddexp2):
    CASES.append((f"{f.__name__}-broadcast", f, (COLUMN, ROW + 0.05), (0, 1), {}))
    CASES.append((f"{f.__name__}-0d", f, (POS, np.array(0.3)), (0, 1), {}))
CASES += [
    ("power-const2", np.power, (ANY, 2), (0,), {}),
    ("power-const3", np.power, (ANY, 3), (0,), {}),
    ("power-const-float", np.power, (POS, 2.5), (0,), {}),
    ("power-scalar-base", np.power, (1.7, ANY), (1,), {}),
    ("float_power-const2", np.float_power, (ANY, 2), (0,), {}),
    ("clip", np.clip, (CLIP_A, -0.5, 0.5), (0,), {}),
    ("clip-no-min", np.clip, (CLIP_A, None, 0.5), (0,), {}),
    ("clip-no-max", np.clip, (CLIP_A, -0.5, None), (0,), {}),
    ("clip-keyword-bound", np.clip, (CLIP_A,), (0,), {"a_max": 0.5, "a_min": -0.5}),
    ("clip-array-bounds", np.clip, (CLIP_A, LO, HI), (0, 1, 2), {}),
    ("clip-crossed-bounds", np.clip, (CLIP_A, HI, LO), (0, 1, 2), {}),
    ("where", np.where, (COND, ANY, POS), (1, 2), {}),
    ("where-broadcast", np.where, (COND, COLUMN, ROW), (1, 2), {}),
    ("where-scalar-branch", np.where, (COND, ANY, 0.5), (1,), {}),
    ("maximum-relu", np.maximum, (NONZERO, 0), (0,), {}),
    ("maximum-relu-flipped", np.maximum, (0, NONZERO), (1,), {}),
]


@pytest.mark.parametrize(("func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reverse_matches_finite_differences(func, args, argnums, kwargs):
    check_reverse(func, args, argnums, kwargs)


@pytest.mark.parametrize(("func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_matches_finite_differences(func, args, argnums, kwargs):
    check_forward(func, args, argnums, kwargs)


def test_every_rule_has_both_modes_and_binary_rules_broadcast():
    for name, func, args, _, _ in CASES:
        rule = registry.rule_for(func)
        assert rule is not None and rule.reverse is not None and rule.forward is not None, name
        if len(args) > 1 and func is not np.clip and not isinstance(args[1], int):
            assert rule.broadcasting, name


# ------------------------------------------------------------------------ conventions


def _reverse(func: Any, *args: Any, g: Any = None, inactive: tuple[str, ...] = ()
             ) -> dict[str, Any]:
    rule = registry.rule_for(func)
    result = func(*args)
    g = np.ones_like(result) if g is None else g
    return registry.evaluate(rule.reverse, {"result": result, "g": g}, *args,
                             inactive=inactive)


def _forward(func: Any, *args: Any, inactive: tuple[str, ...] = (), **tangents: Any) -> Any:
    rule = registry.rule_for(func)
    special = {"d" + n: 0.0 for n in rule.forward.outputs}
    special.update(tangents)
    return registry.evaluate(rule.forward, {"result": func(*args), **special}, *args,
                             inactive=inactive)["dresult"]


@pytest.mark.parametrize("func", [np.maximum, np.minimum, np.fmax, np.fmin],
                         ids=lambda f: f.__name__)
def test_ties_between_differentiated_operands_share_the_cotangent(func):
    x = np.array([-1.0, 0.0, 2.5])
    out = _reverse(func, x, x.copy(), g=np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(out["da"], [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(out["db"], [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(
        _forward(func, x, x.copy(), da=np.ones(3), db=np.array([3.0, 1.0, 0.0])),
        [2.0, 1.0, 0.5])


@pytest.mark.parametrize("func", [np.maximum, np.minimum, np.fmax, np.fmin],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("constant", ["a", "b"])
def test_a_tie_with_a_constant_operand_gives_it_the_whole_cotangent(func, constant):
    x = np.array([-1.0, 0.0, 2.5])
    other = "b" if constant == "a" else "a"
    out = _reverse(func, x, x.copy(), inactive=(constant,))
    np.testing.assert_array_equal(out["d" + other], 0.0)
    assert np.all(_forward(func, x, x.copy(), inactive=(constant,),
                           **{"d" + other: np.ones(3)}) == 0.0)


@pytest.mark.parametrize("flipped", [False, True], ids=["maximum(x, 0)", "maximum(0, x)"])
def test_relu_has_derivative_zero_at_zero(flipped):
    x = np.array([-1.0, 0.0, 2.0])
    if flipped:
        dx = _reverse(np.maximum, 0, x, inactive=("a",))["db"]
    else:
        dx = _reverse(np.maximum, x, 0, inactive=("b",))["da"]
    np.testing.assert_array_equal(dx, [0.0, 0.0, 1.0])


def test_fmax_fmin_route_around_nan():
    a, b = np.array([np.nan, 1.0]), np.array([2.0, np.nan])
    for func in (np.fmax, np.fmin):
        out = _reverse(func, a, b)
        np.testing.assert_array_equal(out["da"], [0.0, 1.0])
        np.testing.assert_array_equal(out["db"], [1.0, 0.0])


@pytest.mark.parametrize("func", [np.absolute, np.fabs], ids=lambda f: f.__name__)
def test_abs_at_zero_is_zero(func):
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(_reverse(func, x)["dx"], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(_forward(func, x, dx=np.ones(3)), [-1.0, 0.0, 1.0])


def test_clip_is_flat_at_and_beyond_its_bounds():
    a = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(_reverse(np.clip, a, -1.0, 1.0)["da"], [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(_reverse(np.clip, a, None, 1.0)["da"], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(_reverse(np.clip, a, -1.0, None)["da"], [0, 0, 1, 1, 1])
    out = _reverse(np.clip, a, np.full(5, -1.0), np.full(5, 1.0))
    np.testing.assert_array_equal(out["da_min"], [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(out["da_max"], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(
        _forward(np.clip, a, -1.0, 1.0, da=np.ones(5)), [0, 0, 1, 0, 0])


def test_where_routes_the_whole_cotangent_to_the_branch_taken():
    c = np.array([True, False, True])
    g = np.array([1.0, 2.0, 3.0])
    out = _reverse(np.where, c, np.zeros(3), np.ones(3), g=g)
    np.testing.assert_array_equal(out["dx"], [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(out["dy"], [0.0, 2.0, 0.0])
    dresult = _forward(np.where, c, np.zeros(3), np.ones(3), dx=g, dy=10 * g)
    np.testing.assert_array_equal(dresult, [1.0, 20.0, 3.0])


@pytest.mark.parametrize("func", [np.power, np.float_power], ids=lambda f: f.__name__)
@pytest.mark.parametrize("exponent", [2, 2.0, np.array([2.0, 3.0, 1.0])],
                         ids=["int-2", "float-2", "array"])
def test_power_at_base_zero_is_finite_and_silent(func, exponent):
    base = np.zeros(3)
    # filterwarnings=error turns any NumPy RuntimeWarning into a failure here
    out = _reverse(func, base, exponent)
    expected = np.where(np.asarray(exponent) == 1.0, 1.0, 0.0) * np.ones(3)
    np.testing.assert_array_equal(out["dbase"], expected)
    assert np.all(np.isfinite(out["dexponent"]))
    np.testing.assert_array_equal(_forward(func, base, exponent, dbase=np.ones(3)), expected)


def test_hypot_and_sinc_at_zero():
    zero = np.zeros(2)
    out = _reverse(np.hypot, zero, zero)
    np.testing.assert_array_equal(out["da"], 0.0)
    np.testing.assert_array_equal(out["db"], 0.0)
    np.testing.assert_array_equal(_reverse(np.sinc, np.array([0.0, 0.5]))["dx"][0], 0.0)


def test_mod_derivative_in_the_divisor_is_minus_the_quotient():
    out = _reverse(np.mod, np.array([7.0, -7.0]), np.array([2.0, 2.0]))
    np.testing.assert_array_equal(out["da"], [1.0, 1.0])
    np.testing.assert_array_equal(out["db"], [-3.0, 4.0])


FLOAT32_CASES = [
    (np.sin, (ANY,)), (np.exp2, (ANY,)), (np.log2, (POS,)), (np.log10, (POS,)),
    (np.deg2rad, (ANY,)), (np.sqrt, (POS,)), (np.arcsin, (UNIT,)), (np.absolute, (ANY,)),
    (np.maximum, (ANY, POS)), (np.where, (COND, ANY, POS)), (np.power, (POS, 2)),
    (np.power, (POS, 2.5)), (np.hypot, (ANY, POS)), (np.logaddexp, (ANY, POS)),
    (np.clip, (ANY, -0.5, 0.5)), (np.copysign, (ANY, POS)), (np.sinc, (NONZERO,)),
]


@pytest.mark.parametrize(("func", "args"), FLOAT32_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(FLOAT32_CASES)])
def test_float32_stays_float32(func, args):
    args = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == float
                 else a for a in args)
    result = func(*args)
    assert result.dtype == np.float32
    out = _reverse(func, *args, g=np.ones_like(result))
    for name, value in out.items():
        assert np.asarray(value).dtype == np.float32, name


def test_zero_derivative_declarations():
    for func in (np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc, np.fix,
                 np.floor_divide, np.equal, np.less, np.greater_equal, np.logical_and,
                 np.logical_not, np.isfinite, np.isnan, np.isinf, np.signbit, np.heaviside):
        rule = registry.rule_for(func)
        assert rule is not None and rule.zero, func.__name__


# --------------------------------------------------------------- filling (smoke test)
# Filling needs the compiler's Namer and Scope; this checks that every template's names
# resolve and that ``static`` branches are decided as the docstrings promise.


class _NoUserNames:
    def resolve(self, name: str, guard: bool = True) -> Any:
        return UNRESOLVED


def _filled(template: registry.Template, bindings: dict[str, ast.expr],
            special: dict[str, ast.expr]) -> str:
    namer = Namer({"x", "y", "gy", *(n.id for n in special.values())})
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer))
    return "\n".join(ast.unparse(s) for s in filled.stmts)


TEMPLATES = [(getattr(rule, mode), mode) for rule in registry.all_rules()
             for mode in ("reverse", "forward")
             if getattr(rule, mode) is not None
             and getattr(rule, mode).func.__module__ == numpy_elementwise.__name__]


@pytest.mark.parametrize(("template", "mode"), TEMPLATES,
                         ids=[t.func.__name__ for t, _ in TEMPLATES])
def test_every_template_fills(template, mode):
    required = [ast.Name(id=f"x_{p.name}", ctx=ast.Load())
                for p in template.signature.parameters.values() if p.default is p.empty]
    bindings = bind_arguments(template, required, {}, template.func.__name__)
    special = {"result": ast.Name(id="y", ctx=ast.Load())}
    if mode == "reverse":
        special["g"] = ast.Name(id="gy", ctx=ast.Load())
    else:
        special.update({"d" + n: ast.Name(id=f"t_{n}", ctx=ast.Load())
                        for n in template.outputs})
    assert _filled(template, bindings, special)


def test_power_with_constant_two_fills_to_the_short_form():
    template = registry.rule_for(np.power).reverse
    bindings = {"base": ast.Name(id="x", ctx=ast.Load()), "exponent": ast.Constant(2)}
    source = _filled(template, bindings, {"result": ast.Name(id="y", ctx=ast.Load()),
                                          "g": ast.Name(id="gy", ctx=ast.Load())})
    assert "gy * 2 * x" in source
    assert "np.power(x, 2 - 1)" not in source and "x ** 1" not in source


def _filled_reverse(func: Any, wanted: set[str]) -> str:
    template = registry.rule_for(func).reverse
    names = list(template.signature.parameters)
    bindings = {n: ast.Name(id=f"x_{n}", ctx=ast.Load()) for n in names}
    namer = Namer({"y", "gy", *(f"x_{n}" for n in names)})
    special = {"result": ast.Name(id="y", ctx=ast.Load()), "g": ast.Name(id="gy", ctx=ast.Load())}
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer), wanted)
    return "\n".join(ast.unparse(s) for s in filled.stmts)


def _filled_forward(func: Any, zero: set[str]) -> str:
    template = registry.rule_for(func).forward
    names = list(template.signature.parameters)
    bindings = {n: ast.Name(id=f"x_{n}", ctx=ast.Load()) for n in names}
    special = {"result": ast.Name(id="y", ctx=ast.Load())}
    special.update({"d" + n: ast.Name(id="ZERO" if n in zero else f"t_{n}", ctx=ast.Load())
                    for n in template.outputs})
    namer = Namer({"y", *(f"x_{n}" for n in names), *(f"t_{n}" for n in names)})
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer))
    return "\n".join(ast.unparse(s) for s in filled.stmts)


@pytest.mark.parametrize("func", [np.maximum, np.minimum, np.fmax, np.fmin],
                         ids=lambda f: f.__name__)
def test_the_tie_term_is_filled_only_when_both_operands_are_differentiated(func):
    assert "x_a == x_b" in _filled_reverse(func, {"a", "b"})
    assert "==" not in _filled_reverse(func, {"a"})
    assert "==" not in _filled_reverse(func, {"b"})
    assert "x_a == x_b" in _filled_forward(func, set())
    assert "==" not in _filled_forward(func, {"b"})


def test_active_of_an_unknown_name_is_refused_when_filling():
    def bad(result, g, a, b):
        if static(active(np)):  # a name, but not one of the rule's parameters
            da = g  # noqa: F841 - a template assigns its outputs
        db = g  # noqa: F841

    template = registry.Template.from_function(bad, "reverse")
    bindings = {"a": ast.Name(id="x", ctx=ast.Load()), "b": ast.Name(id="z", ctx=ast.Load())}
    namer = Namer({"x", "z", "y", "gy"})
    with pytest.raises(ADError, match="active"):
        fill(template, bindings, {"result": ast.Name(id="y", ctx=ast.Load()),
                                  "g": ast.Name(id="gy", ctx=ast.Load())},
             namer, Scope(_NoUserNames(), namer), {"a", "b"})
