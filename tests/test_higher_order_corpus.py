"""Second derivatives across the corpora: forward mode over every generated gradient.

For every corpus function with a scalar output, differentiated with respect to floats or
float arrays, ``ad.hvp`` (forward over the generated gradient) is checked against central
differences of the generated gradient itself, ``(grad(x + h v) - grad(x - h v)) / 2h`` in
float64, for a random ``v``. For small inputs (at most 6 numbers in all) the full
``ad.hessian`` is formed too: it must be symmetric, and its columns must be the
Hessian-vector products with unit vectors.

The case tables are the corpora's own (imported from their test modules, so the
evaluation points stay those chosen away from kinks and ties). Cases whose gradient is
refused are expected to be refused here too, with the same error.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.rules import indexing as r_indexing
from adcompiler.rules import numpy_linalg as r_linalg
from adcompiler.rules import numpy_shape as r_shape
from adcompiler.rules import registry

sys.path.insert(0, str(Path(__file__).parent))
import test_containers as t_containers
import test_control_flow as t_control
import test_end_to_end_core as t_core
import test_indexing as t_indexing
import test_jumps as t_jumps
import test_numpy_corpus as t_numpy

# -- the case table ----------------------------------------------------------------------


def _as_tuple(wrt):
    return tuple(wrt) if isinstance(wrt, tuple | list) else (wrt,)


def _numpy_cases():
    for func, args, wrt, suffix in t_numpy.CASES:
        yield t_numpy._id(func, suffix), func, args, _as_tuple(wrt)


def _core_cases():
    for i, (func, args, wrt) in enumerate(t_core.CASES):
        yield f"{func.__name__}-{i}", func, args, _as_tuple(wrt)


def _control_cases():
    for param in t_control.CASES:
        func, args, wrt = param.values
        yield param.id, func, args, _as_tuple(wrt)


def _jump_cases():
    for i, (func, args) in enumerate(t_jumps.CASES):
        yield f"{func.__name__}-{i}", func, args, (0,)


def _container_cases():
    """The container corpus, differentiated w.r.t. its float arguments (the data)."""
    for name, func, make in t_containers.CASES:
        args = make()
        wrt = tuple(i for i, a in enumerate(args) if _is_float(a))
        yield name, func, args, wrt


def _indexing_cases():
    for func, x in t_indexing.CASES:
        yield func.__name__, func, (x.copy(),), (0,)


def _is_float(value):
    if isinstance(value, float):
        return True
    return isinstance(value, np.ndarray | np.floating) and value.dtype.kind == "f"


def _is_scalar_output(func, args):
    value = func(*args)
    return isinstance(value, float | np.floating) or (
        isinstance(value, np.ndarray) and value.shape == ())


def _all_cases():
    sources = [("numpy", _numpy_cases()), ("core", _core_cases()),
               ("control", _control_cases()), ("jumps", _jump_cases()),
               ("containers", _container_cases()), ("indexing", _indexing_cases()),
               ("extra", _extra_cases())]
    seen: dict[str, int] = {}
    for corpus, cases in sources:
        for name, func, args, wrt in cases:
            wrt = tuple(i for i in wrt if _is_float(args[i]))
            if not wrt or not _is_scalar_output(func, args):
                continue
            ident = f"{corpus}/{name}"
            seen[ident] = seen.get(ident, 0) + 1
            if seen[ident] > 1:
                ident = f"{ident}-{seen[ident]}"
            yield ident, func, args, wrt


# -- more NumPy, one function per rule family the corpora reach little --------------------

_W = np.array([0.3, -1.2, 0.8, 2.0, -0.5, 1.1])


def prod_axis(x):
    return np.sum(np.prod(x, axis=1)) + np.prod(x)


def norms(x):
    return (np.linalg.norm(x) + np.linalg.norm(x, axis=0) @ _W[:3]
            + np.linalg.norm(x, ord=1, axis=1) @ _W[:2] + np.linalg.norm(x, "fro") ** 2)


def tile_repeat_pad_diff(x):
    t = np.tile(x, (2, 1)) @ _W[:3]
    r = np.repeat(x, 2, axis=1).sum(axis=0)[:3] * np.repeat(x, [1, 2], axis=0)[2]
    p = np.pad(x, ((1, 0), (0, 2))) ** 2
    d = np.diff(x, n=2, axis=1)
    return np.sum(np.sin(t)) + np.sum(r * r) + np.sum(p * p) + np.sum(d ** 3)


def stacks(x):
    h = np.hstack([x, x * x])
    v = np.vstack([x[0], np.sin(x)])
    d = np.dstack([x, np.cos(x)])
    parts = np.array_split(x, 3, axis=1)
    return np.sum(h ** 2) + np.sum(v * v[::-1]) + np.sum(d ** 3) + np.sum(parts[2] * parts[0])


def products(x):
    v = x[0]
    return (np.inner(x, x).sum() + np.dot(x, v) @ x[:, 1] + np.outer(v, x[1]).sum() ** 2
            + np.vdot(x, x) + np.tensordot(x, x, axes=([0, 1], [0, 1])) * np.sum(v))


def einsums(x):
    return np.einsum("ij,ij->", x, x) * np.einsum("ij,kj->ik", x, x).sum() + np.sum(
        np.einsum("ij->j", np.sin(x)) ** 2)


def gathers(x):
    flat = np.take(x, [0, 4, 4, 5])
    cols = np.take(x, [2, 0, 2], axis=1)
    along = np.take_along_axis(x, np.array([[2, 2], [0, 1]]), axis=1)
    return np.sum(flat ** 2) + np.sum(np.exp(cols)) + np.sum(along ** 3)


def shapes(x):
    y = np.transpose(x) @ x
    z = np.roll(x, 1, axis=1) * x
    w = np.reshape(x, (3, 2)).T.squeeze() * np.expand_dims(x[0], 0)
    return np.sum(y ** 2) + np.sum(z * z) + np.sum(np.sin(w)) + np.sum(np.concatenate(
        [x, x ** 2], axis=None) ** 2)


def reductions(x):
    return (np.max(x, axis=1) @ _W[:2] + np.min(x, axis=0) @ _W[:3] + np.std(x) * np.var(
        x, axis=1).sum() + np.mean(x ** 3, axis=0).sum() + np.cumsum(x ** 2).sum()
        + np.cumprod(x).sum())


def elementwise(x):
    y = np.where(x > 0, x ** 3, np.sinh(x)) + np.maximum(x, 0.1) ** 2 + np.abs(x) ** 3
    z = np.arctan2(x, 2.0 + x ** 2) + np.clip(x, -1.0, 1.0) ** 2 + np.log1p(x ** 2)
    return np.sum(y * z) + np.sum(np.tanh(x) * np.exp(-x ** 2) / (1.0 + x ** 2))


def linalg(x):
    a = x @ x.T + 3.0 * np.eye(2)
    b = np.stack([x[:, 0], x[:, 1]])
    _, logdet = np.linalg.slogdet(a)
    return (np.trace(np.linalg.inv(a)) + np.linalg.det(a) + logdet
            + np.sum(np.linalg.solve(a, b) ** 2) + np.sum(np.diag(np.diag(a)) * a)
            + np.sum(np.linalg.cholesky(a)))


def batched_matmul(x):
    stack = np.stack([x, x ** 2])  # (2, 2, 3)
    return np.sum(np.matmul(stack, np.swapaxes(stack, -1, -2)) ** 2) + np.sum(
        stack @ x[0])


def array_of_parts(x):
    a = np.array([x[0, 0] * x[1, 1], np.sin(x[0, 2]), x[1, 0] ** 2])
    return np.sum(a * a) + np.linspace(x[0, 0], x[1, 2], 4) @ np.arange(4.0)


_X23 = np.array([[0.7, -1.3, 0.4], [1.9, 0.6, -0.8]])
EXTRA = [prod_axis, norms, tile_repeat_pad_diff, stacks, products, einsums, gathers, shapes,
         reductions, elementwise, linalg, batched_matmul, array_of_parts]


def _extra_cases():
    for func in EXTRA:
        yield func.__name__, func, (_X23.copy(),), (0,)


CASES = {ident: (func, args, wrt) for ident, func, args, wrt in _all_cases()}

# Cases whose *gradient* is refused already (see the corpora's own tests): refused here
# with the same error class and construct.
REFUSED = {
    "numpy/scatter_add": (ad.UnsupportedSyntaxError, "np.add.at"),
    "numpy/copyto_owned": (ad.UnsupportedSyntaxError, "np.copyto"),
    "numpy/ufunc_out": (ad.UnsupportedSyntaxError, "out="),
    "control/list_concatenate_operator": (ad.UnsupportedSyntaxError, "list"),
}

# -- the checks ------------------------------------------------------------------------

STEP = 1e-5
RTOL, ATOL = 1e-4, 1e-6
SMALL = 6  # the full Hessian is formed for inputs of at most this many numbers


def _float64(value):
    return float(value) if isinstance(value, float) else np.asarray(value, dtype=np.float64)


def _moved(args, wrt, vectors, step):
    moved = list(args)
    for i, v in zip(wrt, vectors, strict=True):
        x = _float64(args[i])
        moved[i] = float(x + step * v) if isinstance(args[i], float) else x + step * v
    return moved


def _random_vectors(args, wrt, rng):
    vectors = []
    for i in wrt:
        v = rng.standard_normal(np.shape(args[i]))
        vectors.append(float(v) if isinstance(args[i], float) else v)
    return vectors


def _hvp(func, args, wrt, vectors):
    """``ad.hvp`` as a list with one entry per argument in ``wrt``."""
    if len(wrt) == 1:
        return [ad.hvp(func, wrt[0])(*args, vectors[0])]
    return list(ad.hvp(func, wrt)(*args, tuple(vectors)))


def _grad(func, args, wrt):
    return list(ad.grad(func, wrt)(*args))


def _scale(args, wrt):
    sizes = [float(np.max(np.abs(args[i]))) for i in wrt if np.size(args[i])]
    return max([1.0, *sizes])


def check_hvp_against_gradient_differences(func, args, wrt, seed=0):
    rng = np.random.default_rng(seed)
    vectors = _random_vectors(args, wrt, rng)
    product = _hvp(func, args, wrt, vectors)
    step = STEP * _scale(args, wrt)
    plus = _grad(func, _moved(args, wrt, vectors, step), wrt)
    minus = _grad(func, _moved(args, wrt, vectors, -step), wrt)
    for k, i in enumerate(wrt):
        numeric = (_float64(plus[k]) - _float64(minus[k])) / (2 * step)
        assert np.shape(product[k]) == np.shape(args[i]), (k, np.shape(product[k]))
        np.testing.assert_allclose(product[k], numeric, rtol=RTOL, atol=ATOL,
                                   err_msg=f"H v, block of argument {i}")


def _full_hessian(func, args, wrt):
    """The Hessian as one (n, n) matrix over the flattened ``wrt`` arguments."""
    sizes = [int(np.size(args[i])) for i in wrt]
    if len(wrt) == 1:
        blocks = [[ad.hessian(func, wrt[0])(*args)]]
    else:
        blocks = ad.hessian(func, wrt)(*args)
    rows = [np.hstack([np.reshape(blocks[r][c], (sizes[r], sizes[c]))
                       for c in range(len(wrt))]) for r in range(len(wrt))]
    return np.vstack(rows), sizes


def _unit_vectors(args, wrt, sizes, k):
    vectors, offset = [], 0
    for i, size in zip(wrt, sizes, strict=True):
        e = np.zeros(size)
        if offset <= k < offset + size:
            e[k - offset] = 1.0
        offset += size
        vectors.append(float(e[0]) if isinstance(args[i], float) else e.reshape(
            np.shape(args[i])))
    return vectors


def check_hessian_symmetric_with_hvp_columns(func, args, wrt):
    hessian, sizes = _full_hessian(func, args, wrt)
    scale = max(1.0, float(np.max(np.abs(hessian))))
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-7, atol=1e-9 * scale,
                               err_msg="Hessian not symmetric")
    for k in range(hessian.shape[1]):
        product = _hvp(func, args, wrt, _unit_vectors(args, wrt, sizes, k))
        column = np.concatenate([np.ravel(p) for p in product])
        np.testing.assert_allclose(column, hessian[:, k], rtol=1e-10, atol=1e-12,
                                   err_msg=f"column {k} of the Hessian")


def _small(args, wrt):
    return sum(int(np.size(args[i])) for i in wrt) <= SMALL


@pytest.mark.parametrize("ident", sorted(CASES))
def test_second_derivatives(ident):
    func, args, wrt = CASES[ident]
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    if ident in REFUSED:
        error, construct = REFUSED[ident]
        with pytest.raises(error, match=construct):
            _hvp(func, args, wrt, _random_vectors(args, wrt, np.random.default_rng(0)))
        return
    check_hvp_against_gradient_differences(func, args, wrt)
    if _small(args, wrt):
        check_hessian_symmetric_with_hvp_columns(func, args, wrt)


def test_the_table_covers_every_corpus():
    corpora = {ident.split("/")[0] for ident in CASES}
    assert corpora == {"numpy", "core", "control", "jumps", "containers", "indexing",
                       "extra"}
    assert len(CASES) > 150


def test_exact_hessian_by_hand():
    """f = sum(sin(x) x^2): H is diagonal with (2 - x^2) sin x + 4 x cos x."""

    def f(x):
        return np.sum(np.sin(x) * x ** 2)

    x = np.array([0.3, 0.7, -1.1])
    want = (2 - x ** 2) * np.sin(x) + 4 * x * np.cos(x)
    np.testing.assert_allclose(ad.hessian(f)(x), np.diag(want), rtol=1e-12)
    np.testing.assert_allclose(ad.hvp(f)(x, np.ones(3)), want, rtol=1e-12)


# -- the rules of the adjoint helpers generated gradients call ----------------------------
#
# Second derivatives run only their forward rules; their reverse rules (third derivatives,
# or gradients of user code calling them) are checked here too: the forward template
# against central differences of the helper, the reverse template by the dot-product
# test <w, J t> = <J^T w, t>.

_r = np.random.default_rng(11)


def _n(*shape):
    return _r.standard_normal(shape)


def _flat(value):
    if isinstance(value, list | tuple):
        return np.concatenate([_flat(v) for v in value]) if value else np.zeros(0)
    return np.ravel(np.asarray(value, dtype=np.float64))


def _like(value, rng):
    """A random (co)tangent with the structure of ``value``."""
    if isinstance(value, list | tuple):
        return type(value)(_like(v, rng) for v in value)
    if isinstance(value, float):
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(value))


def _shift(value, tangent, step):
    if isinstance(value, list | tuple):
        return type(value)(_shift(v, t, step) for v, t in zip(value, tangent, strict=True))
    return value + step * tangent


# (helper, arguments); the rule says which arguments are differentiated
HELPER_CASES = [
    ("untile", r_shape.untile, [_n(4, 3), _n(2, 3), (2, 1)]),
    ("untile-promoted", r_shape.untile, [_n(2, 2, 3), _n(3), (2, 2, 1)]),
    ("unrepeat", r_shape.unrepeat, [_n(6, 2), _n(3, 2), 2, 0]),
    ("unrepeat-counts", r_shape.unrepeat, [_n(3, 2), _n(3, 2), np.array([1, 2, 0]), 0]),
    ("unrepeat-flat", r_shape.unrepeat, [_n(12), _n(3, 2), 2, None]),
    ("unpad", r_shape.unpad, [_n(6), _n(3), ((1, 2),), "constant"]),
    ("undiff", r_shape.undiff, [_n(3), 2, 0]),
    ("unconcatenate", r_shape.unconcatenate, [_n(5), [_n(2), _n(3)], 0]),
    ("unconcatenate-flat", r_shape.unconcatenate, [_n(7), (_n(2), _n(5)), None]),
    ("unstack", r_shape.unstack, [_n(3, 2), [_n(3), _n(3)], 1]),
    ("unhstack", r_shape.unhstack, [_n(2, 5), [_n(2, 2), _n(2, 3)]]),
    ("unvstack", r_shape.unvstack, [_n(3, 2), [_n(2), _n(2, 2)]]),
    ("undstack", r_shape.undstack, [_n(2, 2, 3), [_n(2, 2), _n(2, 2, 2)]]),
    ("unarray", r_shape.unarray, [_n(3), [0.5, -1.0, 2.0], np.array([0.5, -1.0, 2.0])]),
    ("restack", r_shape.restack, [[_n(2), _n(2)], [_n(2), _n(2)], _n(2, 2)]),
    ("diagonal_vjp", r_linalg.diagonal_vjp, [_n(2), _n(2, 3), 1, 0, 1]),
    ("diagonal_vjp-axes", r_linalg.diagonal_vjp, [_n(3, 2), _n(2, 3, 4), 0, 2, 0]),
    ("tril", np.tril, [_n(3, 3), -1]),
    ("triu", np.triu, [_n(2, 3), 1]),
    ("take_adjoint", r_indexing.take_adjoint, [_n(3), _n(4), np.array([0, 2, 2]), None]),
    ("take_adjoint-axis", r_indexing.take_adjoint, [_n(2, 2), _n(2, 3), [1, 1], 1]),
    ("take_along_axis_adjoint", r_indexing.take_along_axis_adjoint,
     [_n(3, 2), _n(3, 4), np.array([[0, 0], [1, 3], [2, 2]]), 1]),
    ("dot_da", r_linalg.dot_da, [_n(2, 4), _n(2, 3), _n(3, 4)]),
    ("dot_da-vector", r_linalg.dot_da, [_n(2), _n(2, 3), _n(3)]),
    ("dot_db", r_linalg.dot_db, [_n(2, 4), _n(2, 3), _n(3, 4)]),
    ("dot_db-scalar", r_linalg.dot_db, [_n(3), 1.5, _n(3)]),
    ("inner_da", r_linalg.inner_da, [_n(2, 4), _n(2, 3), _n(4, 3)]),
    ("inner_db", r_linalg.inner_db, [_n(2, 4), _n(2, 3), _n(4, 3)]),
    ("tensordot_da", r_linalg.tensordot_da, [_n(2, 2), _n(2, 3, 4), _n(3, 4, 2), 2]),
    ("tensordot_db", r_linalg.tensordot_db, [_n(4, 2), _n(3, 4), _n(3, 2), ([0], [0])]),
    ("diag_vjp", r_linalg.diag_vjp, [_n(4, 4), _n(3), 1]),
    ("diag_vjp-matrix", r_linalg.diag_vjp, [_n(2), _n(3, 2), -1]),
    ("trace_vjp", r_linalg.trace_vjp, [0.7, _n(3, 4), 1, 0, 1]),
]


def _templates(helper):
    rule = registry.rule_for(helper)
    assert rule is not None and rule.reverse is not None and rule.forward is not None
    return rule.reverse, rule.forward


@pytest.mark.parametrize(("name", "helper", "args"), HELPER_CASES,
                         ids=[c[0] for c in HELPER_CASES])
def test_helper_rules_in_both_modes(name, helper, args):
    reverse, forward = _templates(helper)
    rng = np.random.default_rng(3)
    params = reverse.primal_params
    assert forward.outputs == reverse.outputs
    position = {p: params.index(p) for p in forward.outputs}
    tangents = {p: _like(args[position[p]], rng) for p in forward.outputs}
    value = helper(*args)
    step = 1e-6

    def moved(sign):
        trial = list(args)
        for p, t in tangents.items():
            trial[position[p]] = _shift(args[position[p]], t, sign * step)
        return helper(*trial)

    numeric = (_flat(moved(1)) - _flat(moved(-1))) / (2 * step)
    special = {"result": value, **{f"d{p}": t for p, t in tangents.items()}}
    got = registry.evaluate(forward, special, *args)["dresult"]
    np.testing.assert_allclose(_flat(got), numeric, rtol=1e-6, atol=1e-8)
    w = _like(value, rng)
    cotangents = registry.evaluate(reverse, {"result": value, "g": w}, *args)
    left = float(_flat(w) @ numeric)
    right = sum(float(_flat(cotangents[f"d{p}"]) @ _flat(t)) for p, t in tangents.items())
    assert left == pytest.approx(right, rel=1e-6, abs=1e-8)


def test_einsum_vjp_forward_rule():
    subscripts, operands = "ij,jk,k->i", (_n(2, 3), _n(3, 4), _n(4))
    g = _n(2)
    rule = registry.rule_for(r_linalg.einsum_vjp)
    tangents = (_n(2), None, tuple(_n(*np.shape(x)) for x in operands), None)
    value, tangent = rule.user_forward((g, subscripts, operands, False), tangents)
    step = 1e-6

    def at(sign):
        ops = tuple(x + sign * step * t for x, t in zip(operands, tangents[2], strict=True))
        return r_linalg.einsum_vjp(g + sign * step * tangents[0], subscripts, ops, False)

    numeric = (_flat(at(1)) - _flat(at(-1))) / (2 * step)
    np.testing.assert_allclose(_flat(value), _flat(r_linalg.einsum_vjp(g, subscripts,
                                                                        operands)))
    np.testing.assert_allclose(_flat(tangent), numeric, rtol=1e-6, atol=1e-8)


# Helpers reverse templates call that have no rule of their own: second derivatives
# transform their Python source (each is exercised by a case of the table above).
FROM_SOURCE = {"solve_adjoint", "solve_da", "slogdet_vjp", "det_vjp", "cholesky_vjp",
               "cumprod_da", "norm_partials", "prod_partials", "dense_parts", "_swap"
}


def test_every_helper_a_reverse_template_calls_has_a_rule_or_is_known():
    import ast
    import types

    missing = set()
    for rule in registry.all_rules():
        if rule.reverse is None:
            continue
        for node in ast.walk(ast.Module(body=rule.reverse.body, type_ignores=[])):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                obj = rule.reverse.namespace.get(node.func.id)
                if isinstance(obj, types.FunctionType) and obj.__module__.startswith(
                        "adcompiler") and obj not in (registry.static, registry.active) and (
                        registry.rule_for(obj) is None):
                    missing.add(obj.__name__)
    assert missing == FROM_SOURCE


# -- regressions found by this file ---------------------------------------------------------


def square_unless_refused(x, ok):
    if ok:
        y = x * x
    else:
        raise ValueError("refused")
    return y


def sine_unless_refused(x, bad):
    if bad:
        raise ValueError("refused")
    else:  # noqa: RET506  (the raise in the body, the value in the else, on purpose)
        y = np.sin(x)
    return 2.0 * y


@pytest.mark.parametrize(("func", "flag", "want"), [
    (square_unless_refused, True, 6.0),
    (sine_unless_refused, False, 2.0 * np.cos(3.0)),
])
def test_a_branch_that_raises_keeps_the_other_branchs_tangent(func, flag, want):
    # was a silent 0.0 in forward mode: the join zeroed the tangent the raising branch
    # never defined (seen first in the second derivative of np.linalg.norm(x, "fro"))
    _, tangent = ad.jvp(func, (3.0, flag), (1.0, None))
    assert tangent == pytest.approx(want, rel=1e-12)
    assert ad.grad(func)(3.0, flag) == pytest.approx(want, rel=1e-12)
