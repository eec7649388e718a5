"""Containers of parameters: gradients keep the structure and types of the arguments."""

import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.pytree import register_pytree, tree_flatten, tree_leaves, tree_unflatten
from adcompiler.testing import numerical_grad

sys.path.insert(0, str(Path(__file__).parent))
import corpus_containers as cc

rng = np.random.default_rng(5)


def _check_tree(f, args, index, grad):
    """Finite differences leaf by leaf of argument ``index`` (a container)."""
    leaves, treedef = tree_flatten(args[index])
    got = tree_leaves(grad)
    assert len(got) == len(leaves)
    for position, leaf in enumerate(leaves):
        if not (isinstance(leaf, float) or getattr(leaf, "dtype", np.dtype(int)).kind == "f"):
            assert got[position] is None
            continue

        def as_leaf(value, position=position):
            new = list(leaves)
            new[position] = value
            trial = list(args)
            trial[index] = tree_unflatten(treedef, new)
            return f(*trial)

        want = numerical_grad(as_leaf, [leaf], 0)
        np.testing.assert_allclose(got[position], want, rtol=1e-5, atol=1e-7)


def params_dict():
    return {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4),
            "W2": rng.standard_normal((4, 2)), "b2": rng.standard_normal(2)}


CASES = [
    ("dict", cc.dict_model, lambda: (params_dict(), rng.standard_normal((5, 3)))),
    ("list", cc.list_of_layers, lambda: ([(rng.standard_normal(3), rng.standard_normal(3)),
                                          (rng.standard_normal(3), rng.standard_normal(3))],
                                         rng.standard_normal(3))),
    ("tuple", cc.tuple_unpack, lambda: ((rng.standard_normal(3), 0.5), rng.standard_normal(3))),
    ("namedtuple", cc.namedtuple_attrs, lambda: (cc.Pair(rng.standard_normal(3), 0.25),
                                                 rng.standard_normal(3))),
    ("dataclass", cc.dataclass_attrs, lambda: (cc.Linear(rng.standard_normal(3),
                                                         rng.standard_normal(3)),
                                               rng.standard_normal(3))),
    ("frozen", cc.frozen_dataclass, lambda: (cc.Frozen(0.9, 3), 1.5)),
    ("nested", cc.nested, lambda: ({"inner": [rng.standard_normal(3),
                                              cc.Pair(rng.standard_normal(3), 1)],
                                    "scale": 2.0}, rng.standard_normal(3))),
    ("items", cc.items_loop, lambda: ({"a": rng.standard_normal(3), "b": 2.0},
                                      rng.standard_normal(3))),
    ("len", cc.uses_len, lambda: ([rng.standard_normal(3), rng.standard_normal(3)],
                                  rng.standard_normal(3))),
]


@pytest.mark.parametrize(("name", "func", "make"), CASES, ids=[c[0] for c in CASES])
def test_container_gradient_has_structure_types_and_values(name, func, make):
    args = make()
    grad = ad.grad(func)(*args)
    assert type(grad) is type(args[0])
    _check_tree(func, list(args), 0, grad)


def test_gradient_wrt_both_container_and_array():
    params, x = params_dict(), rng.standard_normal((5, 3))
    dparams, dx = ad.grad(cc.dict_model, (0, 1))(params, x)
    assert set(dparams) == set(params)
    assert dx.shape == x.shape
    ad.check_grads(cc.dict_model, (params, x), 1)


def test_non_float_leaves_are_none():
    layer = cc.Linear(np.ones(3), np.zeros(3), name="first")
    grad = ad.grad(cc.dataclass_attrs)(layer, np.ones(3))
    assert isinstance(grad, cc.Linear) and grad.name is None
    frozen = ad.grad(cc.frozen_dataclass)(cc.Frozen(0.5, 2), 1.0)
    assert frozen.steps is None and frozen.scale == pytest.approx(4 * 0.5 ** 3)


def test_tuples_built_and_unpacked_inside():
    ad.check_grads(cc.builds_tuple, (rng.standard_normal(3),))


def test_vjp_with_dict_output():
    x = rng.standard_normal(3)
    value, pullback = ad.vjp(cc.returns_dict, x)
    assert set(value) == {"a", "b"}
    (dx,) = pullback({"a": np.ones(3), "b": np.ones(3)})
    np.testing.assert_allclose(dx, 2.0 + np.cos(x))


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


register_pytree(Point, lambda p: ((p.x, p.y), None), lambda _, ch: Point(*ch))


def point_norm(p):
    return p.x * p.x + 3.0 * p.y


def test_registered_container():
    g = ad.grad(point_norm)(Point(2.0, 5.0))
    assert isinstance(g, Point) and (g.x, g.y) == (4.0, 3.0)


def test_a_list_passed_to_a_helper_keeps_its_gradient():
    # was a silent zero gradient: the helper took its list parameter for an array
    params, x = [rng.standard_normal(3), rng.standard_normal(3)], rng.standard_normal(3)
    grad = ad.grad(cc.list_through_helper)(params, x)
    np.testing.assert_allclose(grad[1], np.tanh(params[0] * x))
    ad.check_grads(cc.list_through_helper, (params, x))


def test_a_dict_literal_passed_to_a_helper_with_a_branch():
    w, x = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(ad.grad(cc.dict_literal_through_helper)(w, x), x)
    ad.check_grads(cc.dict_literal_through_helper, (w, x))
