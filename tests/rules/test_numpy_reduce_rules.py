"""The reduction and scan rule templates, run directly on values, against finite differences.

Each case's reverse template is checked in dot-product form, <g, J v> against <da, v>
(the cotangent must also have exactly the input's shape), and its forward template against
the directional finite difference. Function and method rules share templates, so each is
exercised through both keys. ``prod`` and ``cumprod`` are polynomials, so their cases
with zeros are checked against finite differences too; the conventions at ties and at the
zero vector are asserted exactly.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.errors import NonDifferentiableError
from adcompiler.frontend.parse import UNRESOLVED
from adcompiler.naming import Namer
from adcompiler.rules import numpy_reduce, registry
from adcompiler.transform.fill import bind_arguments, fill
from adcompiler.transform.scope import Scope

EPS = 1e-6


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _method(name: str) -> Any:
    def call(a: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(a, name)(*args, **kwargs)

    call.__name__ = f"method_{name}"
    return call


def _fd(func: Any, a: np.ndarray, args: tuple, kwargs: dict, v: np.ndarray) -> np.ndarray:
    plus = func(a + EPS * v, *args, **kwargs)
    minus = func(a - EPS * v, *args, **kwargs)
    return (np.asarray(plus, dtype=float) - np.asarray(minus, dtype=float)) / (2 * EPS)


def _template(key: Any, mode: str) -> registry.Template:
    rule = registry.rule_for(key)
    assert rule is not None, key
    template = getattr(rule, mode)
    assert template is not None, (key, mode)
    return template


def _run_reverse(key: Any, func: Any, a: Any, args: tuple, kwargs: dict, g: Any = None
                 ) -> tuple[Any, Any]:
    template = _template(key, "reverse")
    result = func(a, *args, **kwargs)
    g = np.ones_like(result) if g is None else g
    out = registry.evaluate(template, {"result": result, "g": g}, a, *args, **kwargs)
    return out["d" + template.primal_params[0]], result


def _run_forward(key: Any, func: Any, a: Any, args: tuple, kwargs: dict, da: Any) -> Any:
    template = _template(key, "forward")
    result = func(a, *args, **kwargs)
    tangent = "d" + template.primal_params[0]
    out = registry.evaluate(template, {"result": result, tangent: da}, a, *args, **kwargs)
    return out["dresult"]


def check_reverse(key: Any, func: Any, a: np.ndarray, args: tuple, kwargs: dict) -> None:
    rng = _rng(1)
    g = rng.standard_normal(np.shape(func(a, *args, **kwargs)))
    da, _ = _run_reverse(key, func, a, args, kwargs, g)
    assert np.shape(da) == np.shape(a)
    v = rng.standard_normal(np.shape(a))
    np.testing.assert_allclose(np.sum(da * v), np.sum(g * _fd(func, a, args, kwargs, v)),
                               rtol=1e-6, atol=1e-8)


def check_forward(key: Any, func: Any, a: np.ndarray, args: tuple, kwargs: dict) -> None:
    v = _rng(2).standard_normal(np.shape(a))
    dresult = _run_forward(key, func, a, args, kwargs, v)
    result = func(a, *args, **kwargs)
    assert np.shape(dresult) == np.shape(result)
    np.testing.assert_allclose(dresult, _fd(func, a, args, kwargs, v), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- the table

M = _rng(0).standard_normal((3, 4))
T = _rng(1).standard_normal((2, 3, 4))
V = _rng(2).standard_normal(5)
POS = _rng(3).uniform(0.5, 1.5, (3, 4))
NONZERO = np.sign(M) * (0.2 + np.abs(M))
ONE_ZERO = POS * np.array([[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]])  # zeros in rows 0, 2
TWO_ZEROS = POS * np.array([[0, 1, 0, 1], [1, 1, 1, 1], [1, 0, 0, 0]])
S = np.array(0.7)

# axis variations shared by the reductions: (case, args, kwargs, input)
AXES: list[tuple[str, tuple, dict, np.ndarray]] = [
    ("all", (), {}, M),
    ("all-keepdims", (), {"keepdims": True}, M),
    ("axis0", (), {"axis": 0}, M),
    ("axis1-positional", (1,), {}, M),
    ("axis-neg", (), {"axis": -1}, T),
    ("axis-neg-keepdims", (), {"axis": -2, "keepdims": True}, T),
    ("axis-tuple", (), {"axis": (0, 2)}, T),
    ("axis-tuple-neg-keepdims", (), {"axis": (0, -1), "keepdims": True}, T),
    ("vector", (), {"axis": 0}, V),
    ("0d", (), {}, S),
]

REDUCTIONS = [np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin, np.var, np.std]
METHODS = ["sum", "mean", "prod", "max", "min", "var", "std"]

CASES: list[tuple[str, Any, Any, np.ndarray, tuple, dict]] = []
for f in REDUCTIONS:
    for case, args, kwargs, a in AXES:
        CASES.append((f"{f.__name__}-{case}", f, f, a, args, kwargs))
for name in METHODS:
    for case, args, kwargs, a in AXES:
        if np.ndim(a) > 0:
            CASES.append((f"method-{name}-{case}", ("method", name), _method(name), a, args,
                          kwargs))
for key, func in ((np.var, np.var), (np.std, np.std), (("method", "var"), _method("var")),
                  (("method", "std"), _method("std"))):
    label = func.__name__
    CASES += [
        (f"{label}-ddof1", key, func, M, (), {"ddof": 1}),
        (f"{label}-ddof1-axis", key, func, T, (), {"axis": (0, -1), "ddof": 1}),
        (f"{label}-ddof-positional", key, func, M, (1, None, None, 1), {}),
    ]
CASES += [
    ("prod-one-zero", np.prod, np.prod, ONE_ZERO, (), {}),
    ("prod-one-zero-axis1", np.prod, np.prod, ONE_ZERO, (), {"axis": 1}),
    ("prod-two-zeros", np.prod, np.prod, TWO_ZEROS, (), {}),
    ("prod-two-zeros-axis", np.prod, np.prod, TWO_ZEROS, (), {"axis": -1, "keepdims": True}),
    ("method-prod-zeros-axis0", ("method", "prod"), _method("prod"), TWO_ZEROS, (0,), {}),
]
SCANS = [(np.cumsum, np.cumsum), (np.cumprod, np.cumprod),
         (("method", "cumsum"), _method("cumsum")), (("method", "cumprod"), _method("cumprod"))]
for key, func in SCANS:
    label = func.__name__
    CASES += [
        (f"{label}-flat", key, func, M, (), {}),
        (f"{label}-axis0", key, func, M, (), {"axis": 0}),
        (f"{label}-axis-positional", key, func, T, (1,), {}),
        (f"{label}-axis-neg", key, func, T, (), {"axis": -1}),
        (f"{label}-vector", key, func, V, (), {}),
    ]
    if "cumprod" in label:
        CASES += [
            (f"{label}-one-zero", key, func, ONE_ZERO, (), {"axis": 1}),
            (f"{label}-two-zeros", key, func, TWO_ZEROS, (), {"axis": -1}),
            (f"{label}-zeros-axis0", key, func, TWO_ZEROS.T, (), {"axis": 0}),
            (f"{label}-zeros-flat", key, func, TWO_ZEROS, (), {}),
        ]
CASES.append(("cumsum-0d", np.cumsum, np.cumsum, S, (), {}))
CASES.append(("cumprod-0d", np.cumprod, np.cumprod, S, (), {}))
NORM = np.linalg.norm
NORMS: list[tuple[str, np.ndarray, tuple, dict]] = [
    ("vector", V, (), {}),
    ("vector-ord2", V, (2,), {}),
    ("vector-ord1", NONZERO[0], (1,), {}),
    ("vector-inf", V, (np.inf,), {}),
    ("vector-neg-inf", NONZERO[1], (-np.inf,), {}),
    ("vector-ord3", V, (3,), {}),
    ("vector-ord1.5", NONZERO[2], (1.5,), {}),
    ("vector-keepdims", V, (), {"keepdims": True}),
    ("rows", M, (), {"axis": 1}),
    ("rows-ord1", NONZERO, (1,), {"axis": -1}),
    ("columns-inf-keepdims", M, (), {"ord": np.inf, "axis": 0, "keepdims": True}),
    ("axis-int-3d", T, (2,), {"axis": 1}),
    ("matrix", M, (), {}),
    ("matrix-fro", M, ("fro",), {}),
    ("matrix-fro-keepdims", M, ("fro",), {"keepdims": True}),
    ("matrix-axis-tuple", T, ("fro",), {"axis": (0, 2)}),
    ("matrix-axis-tuple-neg", T, (None, (-1, -2)), {}),
    ("flat-3d", T, (), {}),
]
for case, a, args, kwargs in NORMS:
    CASES.append((f"norm-{case}", NORM, NORM, a, args, kwargs))

IDS = [c[0] for c in CASES]
PARAMS = [c[1:] for c in CASES]


@pytest.mark.parametrize(("key", "func", "a", "args", "kwargs"), PARAMS, ids=IDS)
def test_reverse_matches_finite_differences(key, func, a, args, kwargs):
    check_reverse(key, func, a, args, kwargs)


@pytest.mark.parametrize(("key", "func", "a", "args", "kwargs"), PARAMS, ids=IDS)
def test_forward_matches_finite_differences(key, func, a, args, kwargs):
    check_forward(key, func, a, args, kwargs)


ALL_KEYS = [*REDUCTIONS, np.cumsum, np.cumprod, NORM,
            *[("method", n) for n in [*METHODS, "cumsum", "cumprod"]]]


@pytest.mark.parametrize("key", ALL_KEYS, ids=registry.describe)
def test_every_rule_has_both_modes(key):
    rule = registry.rule_for(key)
    assert rule is not None and rule.reverse is not None and rule.forward is not None
    assert not rule.broadcasting


# ------------------------------------------------------------------------ conventions


@pytest.mark.parametrize(("func", "key"), [(np.max, np.max), (np.amax, np.amax),
                                           (_method("max"), ("method", "max"))],
                         ids=["max", "amax", "method-max"])
def test_max_splits_ties_equally(func, key):
    a = np.array([1.0, 3.0, 3.0, -2.0])
    da, _ = _run_reverse(key, func, a, (), {})
    np.testing.assert_array_equal(da, [0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(
        _run_forward(key, func, a, (), {}, np.array([5.0, 1.0, 3.0, 7.0])), 2.0)
    m = np.array([[2.0, 2.0, 2.0], [0.0, 1.0, 1.0]])
    da, _ = _run_reverse(key, func, m, (), {"axis": 1}, g=np.array([3.0, 1.0]))
    np.testing.assert_array_equal(da, [[1.0, 1.0, 1.0], [0.0, 0.5, 0.5]])


@pytest.mark.parametrize(("func", "key"), [(np.min, np.min), (np.amin, np.amin),
                                           (_method("min"), ("method", "min"))],
                         ids=["min", "amin", "method-min"])
def test_min_splits_ties_equally(func, key):
    a = np.array([[1.0, -1.0], [-1.0, 4.0]])
    da, _ = _run_reverse(key, func, a, (), {})
    np.testing.assert_array_equal(da, [[0.0, 0.5], [0.5, 0.0]])
    assert np.sum(da) == 1.0


def test_prod_with_zeros_is_exact():
    da, _ = _run_reverse(np.prod, np.prod, np.array([2.0, 0.0, 3.0]), (), {})
    np.testing.assert_array_equal(da, [0.0, 6.0, 0.0])
    da, _ = _run_reverse(np.prod, np.prod, np.array([0.0, 0.0, 3.0]), (), {})
    np.testing.assert_array_equal(da, [0.0, 0.0, 0.0])
    m = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 4.0]])
    da, _ = _run_reverse(np.prod, np.prod, m, (), {"axis": 1})
    np.testing.assert_array_equal(da, [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    dresult = _run_forward(np.prod, np.prod, m, (), {"axis": 1}, np.ones((3, 3)))
    np.testing.assert_array_equal(dresult, [6, 0, 14])


def test_cumprod_with_zeros_is_exact():
    a = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    # result = [2, 0, 0, 0, 0]; d result_k / d a_1 = 2, 6, 0, 0 for k = 1..4
    da, _ = _run_reverse(np.cumprod, np.cumprod, a, (), {})
    np.testing.assert_array_equal(da, [1.0, 2.0 + 6.0, 0.0, 0.0, 0.0])
    dresult = _run_forward(np.cumprod, np.cumprod, a, (), {}, np.array([0, 1.0, 0, 0, 0]))
    np.testing.assert_array_equal(dresult, [0, 2, 6, 0, 0])


@pytest.mark.parametrize(("a", "args", "kwargs"), [
    (np.zeros(4), (), {}), (np.zeros(4), (1,), {}), (np.zeros(4), (2,), {}),
    (np.zeros(4), (np.inf,), {}), (np.zeros(4), (3,), {}), (np.zeros((2, 3)), ("fro",), {}),
    (np.zeros((2, 3)), (), {}), (np.array([[0.0, 0.0], [3.0, 4.0]]), (), {"axis": 1}),
], ids=["none", "ord1", "ord2", "inf", "ord3", "fro", "matrix", "one-zero-row"])
def test_norm_at_the_zero_vector_is_zero(a, args, kwargs):
    da, result = _run_reverse(NORM, NORM, a, args, kwargs)
    assert np.all(np.isfinite(da))
    zero_rows = np.broadcast_to(np.expand_dims(result == 0, -1) if "axis" in kwargs
                                else result == 0, a.shape)
    np.testing.assert_array_equal(da[zero_rows], 0.0)
    dresult = _run_forward(NORM, NORM, a, args, kwargs, np.ones_like(a))
    np.testing.assert_array_equal(np.asarray(dresult)[result == 0], 0.0)


@pytest.mark.parametrize("ord_", ["nuc", 2, 1, -2, 0.5, -1])
def test_unsupported_norms_raise(ord_):
    a = M if not isinstance(ord_, float) and ord_ != -1 else V
    with pytest.raises(NonDifferentiableError, match="norm"):
        _run_reverse(NORM, NORM, a, (ord_,), {})


def test_norm_ord0_has_derivative_zero():
    da, _ = _run_reverse(NORM, NORM, V, (0,), {})
    np.testing.assert_array_equal(da, 0.0)


@pytest.mark.parametrize(("key", "func"), [(np.std, np.std), (("method", "std"), _method("std"))],
                         ids=["std", "method-std"])
def test_std_of_a_constant_is_zero(key, func):
    a = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    da, _ = _run_reverse(key, func, a, (), {"axis": 1})
    np.testing.assert_array_equal(da[0], 0.0)
    assert np.all(np.isfinite(da))


def test_gradient_is_a_fresh_writable_array():
    da, _ = _run_reverse(np.sum, np.sum, M, (), {})
    assert da.shape == M.shape and da.flags.writeable
    da, _ = _run_reverse(np.mean, np.mean, M, (), {"axis": 0})
    assert da.shape == M.shape and da.flags.writeable


def test_initial_and_where_are_refused():
    template = _template(np.sum, "reverse")
    with pytest.raises(TypeError):
        template.signature.bind(M, initial=1.0)
    template = _template(np.max, "reverse")
    with pytest.raises(TypeError):
        template.signature.bind(M, where=M > 0)


FLOAT32 = [
    (np.sum, np.sum, {}), (np.sum, np.sum, {"axis": 1}), (np.mean, np.mean, {"axis": (0, 1)}),
    (np.prod, np.prod, {"axis": 0}), (np.max, np.max, {"axis": -1}), (np.min, np.min, {}),
    (np.var, np.var, {"ddof": 1}), (np.std, np.std, {"axis": 1}), (np.cumsum, np.cumsum, {}),
    (np.cumprod, np.cumprod, {"axis": 1}), (NORM, NORM, {}), (NORM, NORM, {"axis": 1}),
    (NORM, NORM, {"ord": np.inf, "axis": 0}), (NORM, NORM, {"ord": 3, "axis": 1}),
    (("method", "mean"), _method("mean"), {"keepdims": True}),
    (("method", "max"), _method("max"), {"axis": 0}),
]


@pytest.mark.parametrize(("key", "func", "kwargs"), FLOAT32,
                         ids=[f"{f.__name__}-{i}" for i, (_, f, _) in enumerate(FLOAT32)])
def test_float32_stays_float32(key, func, kwargs):
    a = ONE_ZERO.astype(np.float32) + np.float32(0.5)
    a[0, 0] = 0.0
    result = func(a, **kwargs)
    assert np.asarray(result).dtype == np.float32
    da, _ = _run_reverse(key, func, a, (), kwargs, g=np.ones_like(result))
    assert np.asarray(da).dtype == np.float32
    dresult = _run_forward(key, func, a, (), kwargs, np.ones_like(a))
    assert np.asarray(dresult).dtype == np.float32


# --------------------------------------------------------------- filling (smoke test)


class _NoUserNames:
    def resolve(self, name: str, guard: bool = True) -> Any:
        return UNRESOLVED


def _filled(template: registry.Template, keywords: dict[str, ast.expr], mode: str) -> str:
    special: dict[str, ast.expr] = {"result": ast.Name(id="y", ctx=ast.Load())}
    if mode == "reverse":
        special["g"] = ast.Name(id="gy", ctx=ast.Load())
    else:
        special.update({"d" + n: ast.Name(id=f"t_{n}", ctx=ast.Load())
                        for n in template.outputs})
    required = [ast.Name(id=f"x_{p.name}", ctx=ast.Load())
                for p in template.signature.parameters.values() if p.default is p.empty]
    bindings = bind_arguments(template, required, keywords, template.func.__name__)
    namer = Namer({"x", "y", "gy", *(n.id for n in special.values())})
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer))
    assert filled.outputs
    return "\n".join(ast.unparse(s) for s in filled.stmts)


TEMPLATES = [(getattr(rule, mode), mode) for rule in registry.all_rules()
             for mode in ("reverse", "forward")
             if getattr(rule, mode) is not None
             and getattr(rule, mode).func.__module__ == numpy_reduce.__name__]
TEMPLATE_IDS = [f"{t.func.__name__}-{rule.name}" for rule in registry.all_rules()
                for mode in ("reverse", "forward")
                if (t := getattr(rule, mode)) is not None
                and t.func.__module__ == numpy_reduce.__name__]
AXIS_BINDINGS = {"default": {}, "axis1": {"axis": ast.Constant(1)},
                 "keepdims": {"axis": ast.Constant(0), "keepdims": ast.Constant(True)},
                 "axis-name": {"axis": ast.Name(id="ax", ctx=ast.Load())}}


@pytest.mark.parametrize("binding", list(AXIS_BINDINGS))
@pytest.mark.parametrize(("template", "mode"), TEMPLATES, ids=TEMPLATE_IDS)
def test_every_template_fills(template, mode, binding):
    keywords = {k: v for k, v in AXIS_BINDINGS[binding].items()
                if k in template.signature.parameters}
    assert _filled(template, keywords, mode)


def test_sum_over_everything_fills_without_the_expand_helper():
    source = _filled(_template(np.sum, "reverse"), {}, "reverse")
    assert "expand_reduced" not in source and "np.ones_like(x_a)" in source
    source = _filled(_template(np.sum, "reverse"), {"axis": ast.Constant(1)}, "reverse")
    assert "expand_reduced(gy, x_a, 1, False)" in source


@pytest.mark.parametrize(("shape", "a", "axis", "keepdims"), [
    ((), M, None, False), ((1, 1), M, None, True), ((4,), M, 0, False),
    ((2, 4), T, -2, False), ((3,), T, (0, 2), False), ((2, 1, 4), T, 1, True),
], ids=["all", "all-keepdims", "axis0", "axis-neg", "axis-tuple", "keepdims"])
def test_expand_reduced_rules(shape, a, axis, keepdims):
    """The helper's own (linear) rules, so generated code can be differentiated again."""
    value = _rng(7).standard_normal(shape)
    expanded = numpy_reduce.expand_reduced(value, a, axis, keepdims)
    assert np.ndim(expanded) in (0, np.ndim(a))
    np.broadcast_shapes(np.shape(expanded), np.shape(a))
    rule = registry.rule_for(numpy_reduce.expand_reduced)
    g = _rng(8).standard_normal(np.shape(expanded))
    out = registry.evaluate(rule.reverse, {"result": expanded, "g": g}, value, a, axis,
                            keepdims)
    v = _rng(9).standard_normal(shape)
    np.testing.assert_allclose(np.sum(out["dvalue"] * v),
                               np.sum(g * numpy_reduce.expand_reduced(v, a, axis, keepdims)))
    out = registry.evaluate(rule.forward, {"result": expanded, "dvalue": v}, value, a, axis,
                            keepdims)
    np.testing.assert_array_equal(out["dresult"],
                                  numpy_reduce.expand_reduced(v, a, axis, keepdims))


# ----------------------------------------------------------------------- end to end


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_rows(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


def normalized_energy(x):
    centered = x - x.mean(axis=0)
    return np.sum(centered ** 2) / np.linalg.norm(x) + x.std(ddof=1)


def product_and_scan(x):
    return np.prod(x, axis=1).sum() + np.sum(np.cumprod(x, axis=-1)) + x.cumsum().max()


def norm_mix(x):
    return np.sum(np.linalg.norm(x, axis=1)) + np.linalg.norm(x, "fro") + np.var(x, axis=0).sum()


def amax_amin(x):
    return np.amax(x, axis=0).sum() - np.amin(x) * x.min(1).mean()


@pytest.mark.parametrize("f", [logsumexp, logsumexp_rows, normalized_energy, product_and_scan,
                               norm_mix, amax_amin], ids=lambda f: f.__name__)
def test_end_to_end(f):
    ad.check_grads(f, (_rng(5).standard_normal((3, 4)),))


def test_logsumexp_gradient_is_softmax():
    x = np.array([1.0, 2.0, 3.0, 3.0])
    expected = np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)))
    np.testing.assert_allclose(ad.grad(logsumexp)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.grad(logsumexp)(x * 1000.0), [0, 0, 0.5, 0.5], atol=1e-12)


def test_end_to_end_with_zeros_in_prod():
    x = np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]])

    np.testing.assert_array_equal(ad.grad(_sum_of_row_products)(x), [[0, 6, 0], [8, 4, 2]])
    ad.check_grads(_sum_of_row_products, (x,))


def _sum_of_row_products(x):
    return np.sum(np.prod(x, axis=1))
