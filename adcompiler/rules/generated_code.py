"""Rules for the helpers generated code calls, so generated code can be differentiated again.

``ad.hessian``, ``ad.hvp`` and ``ad.grad(ad.grad(f))`` transform the *generated* gradient
source a second time (forward over reverse). Everything that source calls needs a rule:
NumPy functions have theirs already; these are the compiler's own helpers.

* ``unbroadcast(v, like)`` is linear in ``v``; ``like`` is read for its shape only.
* ``matmul_da(g, a, b)`` = ∂⟨g, a @ b⟩/∂a is linear in ``g`` and in ``b``; ``a`` is read
  for its shape. By the identity ⟨ḡ, matmul_da(g, a, b)⟩ = ⟨g, ḡ @ b⟩ its reverse rule is
  two more matrix products (likewise for ``matmul_db``).
* ``list(stack)`` (the pullback's copy of a stack) is linear.
* ``zeros_like_tree``, ``last_writes`` and ``zero_tangent`` build constants.
* The container helpers ``tree_add``, ``add_item`` and the scatter ``add_at`` are linear in
  every differentiable argument at once, which a template cannot say (a template call
  takes one tangent), so their forward rules are plain functions called with every
  tangent materialised, like a user's forward rule. Their reverse rules are the source
  transformation of their Python bodies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..pytree import is_container
from ..runtime import (
    add_at,
    add_item,
    add_items,
    assemble,
    basis,
    last_writes,
    tree_add,
    unbroadcast,
    unbroadcast_to,
    zeros_like_tree,
)
from .operators import matmul_da, matmul_db
from .registry import forward, register_builtin_forward, reverse, zero_derivative

# -------------------------------------------------------------------------- unbroadcast


@reverse(unbroadcast, shape_only=("like",))
def unbroadcast_rule(result, g, v, like):
    dv = np.broadcast_to(g, np.shape(v))


@forward(unbroadcast, shape_only=("like",))
def unbroadcast_fwd(result, v, like, *, dv):
    dresult = unbroadcast(dv, like)


@reverse(unbroadcast_to, shape_only=("shape",))
def unbroadcast_to_rule(result, g, v, shape):
    dv = np.broadcast_to(g, np.shape(v))


@forward(unbroadcast_to, shape_only=("shape",))
def unbroadcast_to_fwd(result, v, shape, *, dv):
    dresult = unbroadcast_to(dv, shape)


# ------------------------------------------------------------ matrix-product adjoints


@reverse(matmul_da, shape_only=("a",))
def matmul_da_rule(result, g, ct, a, b):
    dct = np.matmul(g, b)
    db = matmul_db(ct, g, b)


@forward(matmul_da, shape_only=("a",))
def matmul_da_fwd(result, ct, a, b, *, dct, db):
    dresult = matmul_da(dct, a, b) + matmul_da(ct, a, db)


@reverse(matmul_db, shape_only=("b",))
def matmul_db_rule(result, g, ct, a, b):
    dct = np.matmul(a, g)
    da = matmul_da(ct, a, g)


@forward(matmul_db, shape_only=("b",))
def matmul_db_fwd(result, ct, a, b, *, dct, da):
    dresult = matmul_db(dct, a, b) + matmul_db(ct, da, b)


# ------------------------------------------------------------------ copies of stacks


@reverse(list)
def list_rule(result, g, items):
    ditems = list(g)


@forward(list)
def list_fwd(result, items, *, ditems):
    dresult = list(ditems)


zero_derivative([zeros_like_tree, last_writes, basis],
                notes="builds a constant (zeros or unit seeds shaped like its argument, or an "
                "index mask)")


# --------------------------------------- forward-mode gradients (grad of a derivative)


@reverse(assemble, shape_only=("x",))
def assemble_rule(result, g, parts, x):
    dparts = list(np.reshape(g, (-1,)))


@forward(assemble, shape_only=("x",))
def assemble_fwd(result, parts, x, *, dparts):
    dresult = assemble(dparts, x)


# ---------------------------------------------------- container and scatter helpers


def _none_if_zero(tangent: Any, primal: Any) -> Any:
    """A materialised zero tangent (``0.0``) of an absent cotangent (None) is None again."""
    if primal is None and not is_container(tangent) and np.ndim(tangent) == 0 and (
            tangent == 0):
        return None
    return tangent


def tree_add_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """``tree_add`` is linear in both arguments: the tangent is ``tree_add`` of theirs."""
    a, b = primals
    da, db = (_none_if_zero(t, p) for t, p in zip(tangents, primals, strict=True))
    return tree_add(a, b), tree_add(da, db)


def add_item_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """``add_item(da, a, key, g)`` is linear in ``da`` and ``g``; ``a`` gives the structure."""
    so_far, container, key, g = primals
    dso_far = _none_if_zero(tangents[0], so_far)
    return add_item(so_far, container, key, g), add_item(dso_far, container, key,
                                                         tangents[3])


def add_items_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """``add_items(da, a, items)`` is linear in ``da`` and the values of ``items``."""
    so_far, container, items = primals
    dso_far = _none_if_zero(tangents[0], so_far)
    return (add_items(so_far, container, items),
            add_items(dso_far, container, tangents[2]))


def add_at_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """``add_at(buffer, index, g)`` (in place) is linear in ``buffer`` and ``g``.

    The tangent buffer is a fresh copy: the primal buffer is owned by generated code, its
    tangent may not be.
    """
    buffer, index, g = primals
    dbuffer = np.zeros_like(buffer) + tangents[0]  # a fresh array of the buffer's shape
    return add_at(buffer, index, g), add_at(dbuffer, index, tangents[2])


register_builtin_forward(tree_add, tree_add_jvp)
register_builtin_forward(add_item, add_item_jvp)
register_builtin_forward(add_items, add_items_jvp)
register_builtin_forward(add_at, add_at_jvp)


def _forward_helpers() -> list[Any]:
    from ..transform.forward import require_zero_tangent, zero_tangent

    return [zero_tangent, require_zero_tangent]


zero_derivative(_forward_helpers(), notes="builds a zero tangent shaped like its argument, "
                "or checks that a tangent is zero")
