"""The product and linear-algebra rule templates, run on values, against finite differences.

Reverse templates are checked in dot-product form, <g, J v> against <d<param>, v>, and
forward templates against the directional central difference, over the ranks and batch
shapes NumPy accepts. ``einsum``'s cotangent is a tuple (one entry per operand).
``cholesky`` reads one triangle of its argument, so besides unrestricted perturbations
(which see exactly what NumPy reads) the symmetric ones are checked against Murray's
symmetric cotangent, and the unread triangle of the cotangent is asserted zero.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest

import adcompiler as ad
import adcompiler.rules  # registers every rule family
from adcompiler.frontend.parse import UNRESOLVED
from adcompiler.naming import Namer
from adcompiler.rules import numpy_linalg, registry
from adcompiler.transform.fill import bind_arguments, fill
from adcompiler.transform.scope import Scope

EPS = 1e-6


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _normal(*shape: int, seed: int = 0) -> np.ndarray:
    return _rng(seed).standard_normal(shape)


def _well_conditioned(*shape: int, seed: int = 0) -> np.ndarray:
    """Square matrices (stacks) near 3 I: far from singular."""
    n = shape[-1]
    return 3.0 * np.eye(n) + 0.5 * _normal(*shape, seed=seed)


def _spd(*shape: int, seed: int = 0) -> np.ndarray:
    x = _normal(*shape, seed=seed)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def _shifted(args: tuple, i: int, step: Any) -> tuple:
    return (*args[:i], args[i] + step, *args[i + 1:])


def _fd(func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> np.ndarray:
    plus = func(*_shifted(args, i, EPS * v), **kwargs)
    minus = func(*_shifted(args, i, -EPS * v), **kwargs)
    return (np.asarray(plus, dtype=float) - np.asarray(minus, dtype=float)) / (2 * EPS)


def _cotangent(out: dict[str, Any], names: list[str], i: int) -> Any:
    """The cotangent of argument ``i`` (``*operands`` gives a tuple)."""
    if "operands" in names and i >= names.index("operands"):
        return out["doperands"][i - names.index("operands")]
    return out["d" + names[i]]


def _rule(key: Any) -> registry.Rule:
    rule = registry.rule_for(key)
    assert rule is not None and rule.reverse is not None and rule.forward is not None
    return rule


def _reverse(key: Any, func: Any, args: tuple, kwargs: dict, g: Any) -> dict[str, Any]:
    rule = _rule(key)
    return registry.evaluate(rule.reverse, {"result": func(*args, **kwargs), "g": g},
                             *args, **kwargs)


def _forward(key: Any, func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    template = _rule(key).forward
    names = list(template.signature.parameters)
    special: dict[str, Any] = {"result": func(*args, **kwargs)}
    # the other tangents are exact zeros (the compiler would simplify them away)
    if "operands" in names:
        first = names.index("operands")
        special["doperands"] = tuple(v if j == i else np.zeros_like(args[j])
                                     for j in range(first, len(args)))
    else:
        special.update({"d" + n: np.zeros_like(args[names.index(n)])
                        for n in template.outputs})
        special["d" + names[i]] = v
    return registry.evaluate(template, special, *args, **kwargs)["dresult"]


def check_reverse(key: Any, func: Any, args: tuple, argnums: tuple[int, ...], kwargs: dict
                  ) -> None:
    names = list(_rule(key).reverse.signature.parameters)
    rng = _rng(1)
    g = rng.standard_normal(np.shape(func(*args, **kwargs)))
    out = _reverse(key, func, args, kwargs, g)
    for i in argnums:
        v = rng.standard_normal(np.shape(args[i]))
        d = _cotangent(out, names, i)
        assert np.shape(d) == np.shape(args[i]), f"shape of the cotangent of argument {i}"
        np.testing.assert_allclose(
            np.sum(d * v), np.sum(g * _fd(func, args, kwargs, i, v)),
            rtol=1e-6, atol=1e-8, err_msg=f"reverse, argument {i}")


def check_forward(key: Any, func: Any, args: tuple, argnums: tuple[int, ...], kwargs: dict
                  ) -> None:
    rng = _rng(2)
    result = func(*args, **kwargs)
    for i in argnums:
        v = rng.standard_normal(np.shape(args[i]))
        dresult = np.broadcast_to(_forward(key, func, args, kwargs, i, v), np.shape(result))
        np.testing.assert_allclose(dresult, _fd(func, args, kwargs, i, v), rtol=1e-6,
                                   atol=1e-8, err_msg=f"forward, tangent of argument {i}")


def _method_dot(a: Any, b: Any) -> Any:
    return a.dot(b)


DOT = ("method", "dot")
M23, M34, M33 = _normal(2, 3), _normal(3, 4, seed=1), _normal(3, 3, seed=2)
V3, V4, V2 = _normal(3, seed=3), _normal(4, seed=4), _normal(2, seed=5)
T234 = _normal(2, 3, 4, seed=6)
T435 = _normal(4, 3, 5, seed=7)
T2345 = _normal(2, 3, 4, 5, seed=8)
SCALAR = np.array(1.3)

# (id, key, func, args, argnums, kwargs)
CASES: list[tuple[str, Any, Any, tuple, tuple[int, ...], dict]] = [
    ("dot-scalar-array", np.dot, np.dot, (SCALAR, M23), (0, 1), {}),
    ("dot-array-scalar", np.dot, np.dot, (T234, SCALAR), (0, 1), {}),
    ("dot-python-float", np.dot, np.dot, (1.5, M23), (1,), {}),
    ("dot-1d-1d", np.dot, np.dot, (V3, V3[::-1]), (0, 1), {}),
    ("dot-2d-1d", np.dot, np.dot, (M23, V3), (0, 1), {}),
    ("dot-1d-2d", np.dot, np.dot, (V3, M34), (0, 1), {}),
    ("dot-2d-2d", np.dot, np.dot, (M23, M34), (0, 1), {}),
    ("dot-nd-1d", np.dot, np.dot, (T234, V4), (0, 1), {}),
    ("dot-1d-nd", np.dot, np.dot, (V3, T435), (0, 1), {}),
    ("dot-nd-2d", np.dot, np.dot, (T234, _normal(4, 2, seed=9)), (0, 1), {}),
    ("dot-2d-nd", np.dot, np.dot, (M34, _normal(2, 4, 5, seed=22)), (0, 1), {}),
    ("dot-nd-md", np.dot, np.dot, (T234, T2345), (0, 1), {}),
    ("dot-method-2d-2d", DOT, _method_dot, (M23, M34), (0, 1), {}),
    ("dot-method-2d-1d", DOT, _method_dot, (M23, V3), (0, 1), {}),
    ("dot-method-nd-md", DOT, _method_dot, (T234, T2345), (0, 1), {}),
    ("outer-1d-1d", np.outer, np.outer, (V3, V4), (0, 1), {}),
    ("outer-flattens", np.outer, np.outer, (M23, V2), (0, 1), {}),
    ("inner-1d-1d", np.inner, np.inner, (V4, V4[::-1]), (0, 1), {}),
    ("inner-2d-1d", np.inner, np.inner, (M34, V4), (0, 1), {}),
    ("inner-2d-2d", np.inner, np.inner, (M34, _normal(2, 4, seed=10)), (0, 1), {}),
    ("inner-nd-md", np.inner, np.inner, (T234, T2345[:, :, :, 0]), (0, 1), {}),
    ("inner-scalar", np.inner, np.inner, (SCALAR, M23), (0, 1), {}),
    ("vdot-1d", np.vdot, np.vdot, (V3, V3[::-1]), (0, 1), {}),
    ("vdot-flattens", np.vdot, np.vdot, (M23, _normal(3, 2, seed=11)), (0, 1), {}),
    ("tensordot-default", np.tensordot, np.tensordot, (T234, _normal(3, 4, 2, seed=12)),
     (0, 1), {}),
    ("tensordot-int-1", np.tensordot, np.tensordot, (T234, _normal(4, 5, seed=13), 1),
     (0, 1), {}),
    ("tensordot-int-0", np.tensordot, np.tensordot, (M23, V4, 0), (0, 1), {}),
    ("tensordot-pairs", np.tensordot, np.tensordot, (T234, T435), (0, 1),
     {"axes": ([1, 2], [1, 0])}),
    ("tensordot-pair-ints", np.tensordot, np.tensordot, (T234, T435), (0, 1),
     {"axes": (2, 0)}),
    ("tensordot-negative", np.tensordot, np.tensordot, (T234, T435), (0, 1),
     {"axes": ([-1, 1], [0, -2])}),
    ("trace-2d", np.trace, np.trace, (M33,), (0,), {}),
    ("trace-rect", np.trace, np.trace, (M34,), (0,), {}),
    ("trace-offset", np.trace, np.trace, (M34, 1), (0,), {}),
    ("trace-negative-offset", np.trace, np.trace, (M34, -1), (0,), {}),
    ("trace-3d-axes", np.trace, np.trace, (T234,), (0,), {"axis1": 0, "axis2": 2}),
    ("trace-3d-negative-axes", np.trace, np.trace, (T234,), (0,),
     {"axis1": -1, "axis2": -2}),
    ("diagonal-2d", np.diagonal, np.diagonal, (M33,), (0,), {}),
    ("diagonal-rect-offset", np.diagonal, np.diagonal, (M34, 1), (0,), {}),
    ("diagonal-negative-offset", np.diagonal, np.diagonal, (M34.T, -1), (0,), {}),
    ("diagonal-3d-axes", np.diagonal, np.diagonal, (T234,), (0,), {"axis1": 2, "axis2": 0}),
    ("diagonal-method", ("method", "diagonal"), lambda a, *args, **kw: a.diagonal(*args, **kw),
     (T234, 0, 1, 2), (0,), {}),
    ("diag-1d", np.diag, np.diag, (V3,), (0,), {}),
    ("diag-1d-k", np.diag, np.diag, (V3, -2), (0,), {}),
    ("diag-2d", np.diag, np.diag, (M33,), (0,), {}),
    ("diag-2d-rect", np.diag, np.diag, (M34,), (0,), {}),
    ("diag-2d-tall-k", np.diag, np.diag, (M34.T,), (0,), {"k": -1}),
    ("diag-2d-k", np.diag, np.diag, (M34, 2), (0,), {}),
    ("inv-2d", np.linalg.inv, np.linalg.inv, (_well_conditioned(3, 3),), (0,), {}),
    ("inv-batch", np.linalg.inv, np.linalg.inv, (_well_conditioned(2, 3, 3, seed=1),), (0,),
     {}),
    ("solve-1d", np.linalg.solve, np.linalg.solve, (_well_conditioned(3, 3), V3), (0, 1), {}),
    ("solve-2d", np.linalg.solve, np.linalg.solve, (_well_conditioned(3, 3), M34), (0, 1),
     {}),
    ("solve-batch-1d", np.linalg.solve, np.linalg.solve,
     (_well_conditioned(2, 3, 3, seed=2), V3), (0, 1), {}),
    ("solve-batch-2d", np.linalg.solve, np.linalg.solve,
     (_well_conditioned(2, 3, 3, seed=3), _normal(2, 3, 2, seed=14)), (0, 1), {}),
    ("solve-broadcast-b", np.linalg.solve, np.linalg.solve,
     (_well_conditioned(2, 3, 3, seed=4), M34), (0, 1), {}),
    ("solve-broadcast-a", np.linalg.solve, np.linalg.solve,
     (_well_conditioned(3, 3, seed=5), _normal(2, 3, 2, seed=15)), (0, 1), {}),
    ("det-2d", np.linalg.det, np.linalg.det, (_well_conditioned(3, 3),), (0,), {}),
    ("det-1x1", np.linalg.det, np.linalg.det, (np.array([[2.5]]),), (0,), {}),
    ("det-batch", np.linalg.det, np.linalg.det, (_well_conditioned(2, 2, 4, 4, seed=6),),
     (0,), {}),
    ("cholesky-2d", np.linalg.cholesky, np.linalg.cholesky, (_spd(3, 3),), (0,), {}),
    ("cholesky-4x4", np.linalg.cholesky, np.linalg.cholesky, (_spd(4, 4, seed=1),), (0,),
     {}),
    ("cholesky-batch", np.linalg.cholesky, np.linalg.cholesky, (_spd(2, 3, 3, seed=2),),
     (0,), {}),
    ("cholesky-upper", np.linalg.cholesky, np.linalg.cholesky, (_spd(3, 3, seed=3),), (0,),
     {"upper": True}),
    ("cholesky-upper-batch", np.linalg.cholesky, np.linalg.cholesky,
     (_spd(2, 4, 4, seed=4),), (0,), {"upper": True}),
]

EINSUM = [
    ("matmul", "ij,jk->ik", (M23, M34)),
    ("matmul-implicit", "ij,jk", (M23, M34)),
    ("implicit-sorted", "jb,bA", (M23, M34)),
    ("transpose", "ij->ji", (M23,)),
    ("sum-all", "ij->", (M23,)),
    ("sum-axis", "ijk->ik", (T234,)),
    ("outer", "i,j->ij", (V3, V4)),
    ("inner", "i,i->", (V3, V3[::-1])),
    ("unique-summed", "ij,k->i", (M23, V4)),
    ("batch-matmul", "bij,bjk->bik", (T234, _normal(2, 4, 2, seed=16))),
    ("three-operands", "ij,jk,kl->il", (M23, M34, _normal(4, 2, seed=17))),
    ("three-implicit", "ij,jk,k", (M23, M34, V4)),
    ("three-unique", "ij,jk,lm->ik", (M23, M34, _normal(2, 2, seed=18))),
    ("ellipsis", "...ij,...jk->...ik", (T234, _normal(2, 4, 3, seed=19))),
    ("ellipsis-broadcast", "...j,j->...", (T234, V4)),
    ("ellipsis-implicit", "i...,i", (T234, V2)),
    ("size-one-broadcast", "ij,jk->ik", (np.ones((2, 1)) * 0.7, M34)),
    ("spaces", "ij, jk -> ik", (M23, M34)),
    # an index repeated within one operand: a trace or a diagonal
    ("trace", "ii->", (M33,)),
    ("trace-implicit", "ii", (M33,)),
    ("diagonal", "ii->i", (M33,)),
    ("diagonal-batch", "iij->j", (_normal(3, 3, 2, seed=22),)),
    ("diagonal-with-other", "ij,jj->i", (M23, M33)),
    ("diagonal-times-vector", "ii,i->i", (M33, V3)),
]
for name, spec, operands in EINSUM:
    CASES.append((f"einsum-{name}", np.einsum, np.einsum, (spec, *operands),
                  tuple(range(1, len(operands) + 1)), {}))


@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reverse_matches_finite_differences(key, func, args, argnums, kwargs):
    check_reverse(key, func, args, argnums, kwargs)


@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_matches_finite_differences(key, func, args, argnums, kwargs):
    check_forward(key, func, args, argnums, kwargs)


def test_einsum_rejects_what_it_cannot_differentiate():
    with pytest.raises(TypeError, match="string subscripts"):
        numpy_linalg.einsum_vjp(np.ones(3), [0, 1], [M33])


def test_einsum_forward_with_every_tangent_zero_is_zero():
    out = _forward(np.einsum, np.einsum, ("ij,jk", M23, M34), {}, 0, None)
    np.testing.assert_array_equal(out, np.zeros((2, 4)))


# --------------------------------------------------------------------------- slogdet


@pytest.mark.parametrize("a", [_well_conditioned(3, 3), -_well_conditioned(3, 3, seed=1),
                               _well_conditioned(2, 4, 4, seed=2)],
                         ids=["positive", "negative-det", "batch"])
def test_slogdet_differentiates_logabsdet(a):
    rule = _rule(np.linalg.slogdet)
    result = np.linalg.slogdet(a)
    rng = _rng(3)
    glog = rng.standard_normal(np.shape(result.logabsdet))
    g = type(result)(np.zeros_like(result.sign), glog)  # a cotangent shaped like the result
    da = registry.evaluate(rule.reverse, {"result": result, "g": g}, a)["da"]
    v = rng.standard_normal(a.shape)
    fd = _fd(lambda x: np.linalg.slogdet(x).logabsdet, (a,), {}, 0, v)
    np.testing.assert_allclose(np.sum(da * v), np.sum(glog * fd), rtol=1e-6)
    # no cotangent reached logabsdet: zero
    none = registry.evaluate(rule.reverse, {"result": result, "g": (None, None)}, a)["da"]
    np.testing.assert_array_equal(none, np.zeros_like(a))
    dsign, dlog = registry.evaluate(rule.forward, {"result": result, "da": v}, a)["dresult"]
    np.testing.assert_array_equal(dsign, 0.0)
    np.testing.assert_allclose(dlog, fd, rtol=1e-6)


# -------------------------------------------------------------------------- cholesky


@pytest.mark.parametrize("upper", [False, True], ids=["lower", "upper"])
def test_cholesky_cotangent_lives_on_the_triangle_numpy_reads(upper):
    a = _spd(2, 4, 4, seed=5)
    g = _normal(2, 4, 4, seed=6)
    out = _reverse(np.linalg.cholesky, np.linalg.cholesky, (a,), {"upper": upper}, g)["da"]
    unread = np.tril(out, -1) if upper else np.triu(out, 1)
    np.testing.assert_array_equal(unread, 0.0)
    # perturbing the unread triangle does not change NumPy's result
    bump = np.triu(np.ones((4, 4)), 1)
    bump = bump.T if upper else bump
    np.testing.assert_array_equal(np.linalg.cholesky(a + bump, upper=upper),
                                  np.linalg.cholesky(a, upper=upper))


def test_cholesky_agrees_with_murrays_symmetric_cotangent_on_symmetric_perturbations():
    a = _spd(3, 5, 5, seed=7)
    g = _normal(3, 5, 5, seed=8)
    L = np.linalg.cholesky(a)
    da = _reverse(np.linalg.cholesky, np.linalg.cholesky, (a,), {}, g)["da"]
    # Murray (2016): S = sym(L^-T Phi(L^T gL) L^-1), Phi = tril with halved diagonal
    phi = np.tril(np.swapaxes(L, -1, -2) @ g) * (1 - 0.5 * np.eye(5))
    linv = np.linalg.inv(L)
    s = np.swapaxes(linv, -1, -2) @ phi @ linv
    s = (s + np.swapaxes(s, -1, -2)) / 2
    rng = _rng(9)
    for _ in range(3):
        v = rng.standard_normal(a.shape)
        v = v + np.swapaxes(v, -1, -2)
        expected = np.sum(g * _fd(np.linalg.cholesky, (a,), {}, 0, v))
        np.testing.assert_allclose(np.sum(s * v), expected, rtol=1e-6)
        np.testing.assert_allclose(np.sum(da * v), expected, rtol=1e-6)


# --------------------------------------------------------------------------- float32

FLOAT32_CASES = [c for c in CASES if c[0] in {
    "dot-2d-2d", "dot-nd-md", "dot-scalar-array", "dot-method-2d-1d", "outer-1d-1d",
    "inner-2d-2d", "vdot-1d", "tensordot-pairs", "trace-2d", "trace-offset", "diag-1d",
    "diag-2d-rect", "inv-batch", "solve-batch-1d", "solve-2d", "det-batch", "cholesky-2d",
    "cholesky-upper-batch", "einsum-three-unique", "einsum-ellipsis-broadcast"}]


def _f32(x: Any) -> Any:
    return x.astype(np.float32) if isinstance(x, np.ndarray) else x


@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in FLOAT32_CASES], ids=[c[0] for c in FLOAT32_CASES])
def test_float32_stays_float32(key, func, args, argnums, kwargs):
    args = tuple(_f32(a) for a in args)
    result = func(*args, **kwargs)
    assert np.asarray(result).dtype == np.float32
    names = list(_rule(key).reverse.signature.parameters)
    out = _reverse(key, func, args, kwargs, np.ones_like(result))
    for i in argnums:
        assert np.asarray(_cotangent(out, names, i)).dtype == np.float32, f"reverse {i}"
        tangent = _f32(np.ones_like(args[i]))
        dresult = _forward(key, func, args, kwargs, i, tangent)
        assert np.asarray(dresult).dtype == np.float32, f"forward {i}"


def test_slogdet_and_cholesky_reverse_in_float32():
    a = _spd(3, 3).astype(np.float32)
    result = np.linalg.slogdet(a)
    g = (np.zeros_like(result.sign), np.ones_like(result.logabsdet))
    da = registry.evaluate(_rule(np.linalg.slogdet).reverse, {"result": result, "g": g},
                           a)["da"]
    assert da.dtype == np.float32


# ------------------------------------------------------------------ filling templates


class _NoUserNames:
    def resolve(self, name: str, guard: bool = True) -> Any:
        return UNRESOLVED


def _filled(template: registry.Template, bindings: dict[str, ast.expr],
            special: dict[str, ast.expr], ranks: dict[str, int] | None = None) -> str:
    namer = Namer({"x", "y", "gy", *(n.id for n in special.values())})
    filled = fill(template, bindings, special, namer, Scope(_NoUserNames(), namer),
                  ranks=ranks)
    return "\n".join(ast.unparse(s) for s in filled.stmts)


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


TEMPLATES = [(getattr(rule, mode), mode) for rule in registry.all_rules()
             for mode in ("reverse", "forward")
             if getattr(rule, mode) is not None
             and getattr(rule, mode).func.__module__ == numpy_linalg.__name__]


@pytest.mark.parametrize(("template", "mode"), TEMPLATES,
                         ids=[f"{t.func.__name__}" for t, _ in TEMPLATES])
def test_every_template_fills(template, mode):
    required = [_name(f"x_{p.name}") for p in template.signature.parameters.values()
                if p.default is p.empty]
    bindings = bind_arguments(template, required, {}, template.func.__name__)
    special = {"result": _name("y")}
    if mode == "reverse":
        special["g"] = _name("gy")
    else:
        special.update({"d" + n: _name(f"t_{n}") for n in template.outputs})
    assert _filled(template, bindings, special)


def test_every_rule_has_both_modes():
    keys = [np.dot, DOT, np.outer, np.inner, np.vdot, np.tensordot, np.einsum, np.trace,
            np.diagonal, ("method", "diagonal"), np.diag, np.linalg.inv, np.linalg.solve,
            np.linalg.det, np.linalg.slogdet, np.linalg.cholesky,
            # the adjoint helpers generated gradients call (for second derivatives)
            numpy_linalg.dot_da, numpy_linalg.dot_db, numpy_linalg.inner_da,
            numpy_linalg.inner_db, numpy_linalg.tensordot_da, numpy_linalg.tensordot_db,
            numpy_linalg.diag_vjp, numpy_linalg.diagonal_vjp, numpy_linalg.trace_vjp]
    for key in keys:
        _rule(key)
    assert len(TEMPLATES) == 2 * len(keys)


@pytest.mark.parametrize(("ranks", "expected"), [
    ({"a": 2, "b": 2}, "gy @ b.T"), ({"a": 2, "b": 1}, "outer(gy, b)"),
    ({"a": 1, "b": 1}, "gy * b"), ({"a": 3, "b": 2}, "dot_da(gy, a, b)"),
    ({}, "dot_da(gy, a, b)")], ids=["2-2", "2-1", "1-1", "3-2", "unknown"])
def test_known_ranks_fill_dot_to_the_short_form(ranks, expected):
    template = _rule(np.dot).reverse
    bindings = bind_arguments(template, [_name("a"), _name("b")], {}, "dot")
    source = _filled(template, bindings, {"result": _name("y"), "g": _name("gy")}, ranks)
    assert expected in source


def test_known_ranks_fill_solve_and_trace_to_the_short_form():
    template = _rule(np.linalg.solve).reverse
    bindings = bind_arguments(template, [_name("a"), _name("b")], {}, "solve")
    special = {"result": _name("y"), "g": _name("gy")}
    source = _filled(template, bindings, special, {"a": 2, "b": 1})
    assert "solve(a.T, gy)" in source and "solve_adjoint" not in source
    template = _rule(np.trace).reverse
    bindings = bind_arguments(template, [_name("a")], {}, "trace")
    assert "trace_vjp" not in _filled(template, bindings, special, {"a": 2})
    assert "trace_vjp" in _filled(template, bindings, special, {})


# ------------------------------------------------------------------------ end to end


def f_dot(a, b):
    return np.sum(np.dot(a, b) ** 2)


def f_method_dot(a, b):
    return np.sum(a.dot(b))


def f_vector_products(x, y):
    return np.inner(x, y) + np.vdot(x, y) + np.sum(np.outer(x, y) ** 2)


def f_tensordot(a, b):
    return np.sum(np.tensordot(a, b, axes=([1, 2], [1, 0])) ** 2)


def f_einsum(a, b, c):
    return np.einsum("ij,jk,k->", a, b, c)


def f_trace_diag(a):
    return np.trace(a @ a) + np.sum(np.diag(a) ** 2) + np.sum(np.diag(np.diag(a)))


def f_inv_det(a):
    return np.sum(np.linalg.inv(a)) + np.linalg.det(a)


def f_solve(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def f_cholesky(x):
    spd = x @ x.T + 3.0
    return np.sum(np.linalg.cholesky(spd + x.shape[0] * np.eye(x.shape[0])))


def f_cholesky_direct(a):
    return np.sum(np.linalg.cholesky(a) ** 2)


def f_slogdet(a):
    _sign, logdet = np.linalg.slogdet(a)
    return logdet


def f_slogdet_index(a):
    return np.linalg.slogdet(a)[1]


A3 = _well_conditioned(3, 3, seed=20)

END_TO_END = [
    ("dot-2d-1d", f_dot, (M23, V3)),
    ("dot-nd-md", f_dot, (T234, T2345)),
    ("dot-method", f_method_dot, (M23, M34)),
    ("vector-products", f_vector_products, (V3, V3[::-1])),
    ("tensordot", f_tensordot, (T234, T435)),
    ("einsum", f_einsum, (M23, M34, V4)),
    ("trace-diag", f_trace_diag, (M33,)),
    ("inv-det", f_inv_det, (A3,)),
    ("solve-1d", f_solve, (A3, V3)),
    ("solve-2d", f_solve, (A3, M34)),
    ("cholesky-through-x", f_cholesky, (M23.T @ M23 * 0.1 + M33,)),
    ("cholesky-direct", f_cholesky_direct, (_spd(3, 3, seed=21),)),
]


@pytest.mark.parametrize(("func", "args"), [c[1:] for c in END_TO_END],
                         ids=[c[0] for c in END_TO_END])
def test_end_to_end(func, args):
    wrt = tuple(range(len(args))) if len(args) > 1 else 0
    ad.check_grads(func, args, wrt=wrt, modes=("reverse",))


@pytest.mark.parametrize("func", [f_slogdet, f_slogdet_index], ids=["unpacked", "indexed"])
def test_end_to_end_slogdet(func):
    ad.check_grads(func, (-A3,), modes=("reverse",))
