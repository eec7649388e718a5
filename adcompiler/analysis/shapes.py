"""Symbolic shapes: just enough to know where broadcasting cannot have happened.

Every value gets a symbolic shape: a hashable description such as ``("param", "x")`` or
``("index", ("param", "x"), "0")``. Two values with equal descriptions have equal shapes
at run time, so the adjoint of ``a * b`` needs no ``unbroadcast`` when the result's shape
equals the operand's. Anything the analysis cannot describe gets a unique symbol, which
never equals another one, so the answer is "maybe different" and ``unbroadcast`` stays.

>>> import ast
>>> shapes = Shapes(set())
>>> for s in ast.parse("a = x[0]\\nb = x[1]\\nt = b ** 2\\nc = a - t\\nd = 100 * c").body:
...     shapes.assign(s.targets[0].id, s.value, elementwise=True)
>>> shapes.same("d", "a"), shapes.same("d", "x")
(True, False)
>>> for s in ast.parse("p = x[1:]\\nq = x[:-1]\\nr = x[:-2]").body:
...     shapes.assign(s.targets[0].id, s.value, elementwise=True)
>>> shapes.same("p", "q"), shapes.same("p", "r")
(True, False)
"""

from __future__ import annotations

import ast
import itertools
from typing import Any

__all__ = ["SCALAR", "Shapes"]

SCALAR = ("scalar",)
_counter = itertools.count()


def _constant_int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
            node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _slice_key(part: ast.Slice) -> str | None:
    """Slices whose length is the same function of the axis length ``n``.

    ``x[a:-b]`` (``a >= 0``, ``b >= 0``, either bound left out) has ``max(0, n - a - b)``
    elements, so ``x[1:]`` and ``x[:-1]`` have equal shapes; ``x[:k]`` and ``x[-k:]``
    have ``min(n, k)``.
    """
    if part.step is not None:
        return None
    lower = 0 if part.lower is None else _constant_int(part.lower)
    upper = 0 if part.upper is None else _constant_int(part.upper)
    if lower is None or upper is None:
        return None
    if lower >= 0 and upper <= 0:
        return f"drop{lower - upper}"
    if part.lower is None and upper > 0:
        return f"keep{upper}"
    if part.upper is None and lower < 0:
        return f"keep{-lower}"
    return None


def _index_key(index: ast.expr) -> str:
    """Integer constants select equal-shaped parts (``x[0]`` and ``x[1]``), and so do
    slices that drop as many elements (``x[1:]`` and ``x[:-1]``)."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    keys = []
    for p in parts:
        if _constant_int(p) is not None:
            keys.append("int")
        elif isinstance(p, ast.Slice) and _slice_key(p) is not None:
            keys.append(_slice_key(p))
        else:
            keys.append(ast.dump(p))
    return ",".join(keys)  # type: ignore[arg-type]


class Shapes:
    """Symbolic shapes of the names of one function."""

    def __init__(self, multi_def: set[str]) -> None:
        self.multi_def = multi_def
        self.known: dict[str, Any] = {}

    def of(self, node: ast.expr | str) -> Any:
        if isinstance(node, str):
            node = ast.Name(id=node, ctx=ast.Load())
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int | float) and not isinstance(node.value, bool):
                return SCALAR
            return ("unknown", next(_counter))
        if isinstance(node, ast.Name):
            if node.id in self.multi_def:
                return ("unknown", next(_counter))
            return self.known.setdefault(node.id, ("param", node.id))
        return ("unknown", next(_counter))

    def same(self, a: ast.expr | str, b: ast.expr | str) -> bool:
        return self.of(a) == self.of(b)

    def broadcast(self, operands: list[ast.expr]) -> Any:
        shapes = [self.of(o) for o in operands]
        distinct = {s for s in shapes if s != SCALAR}
        if not distinct:
            return SCALAR
        if len(distinct) == 1:
            return distinct.pop()
        return ("unknown", next(_counter))

    def assign(self, name: str, value: ast.expr, elementwise: bool) -> None:
        """Record the shape of ``name = value``; ``elementwise`` for broadcasting ops."""
        if name in self.multi_def:
            return
        if isinstance(value, ast.Name | ast.Constant):
            shape = self.of(value)
        elif isinstance(value, ast.BinOp) and not isinstance(value.op, ast.MatMult):
            shape = self.broadcast([value.left, value.right])
        elif isinstance(value, ast.UnaryOp):
            shape = self.of(value.operand)
        elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            shape = ("index", self.of(value.value), _index_key(value.slice))
        elif isinstance(value, ast.Call) and elementwise and not value.keywords:
            shape = self.broadcast([a for a in value.args if not isinstance(a, ast.Starred)])
        else:
            shape = ("unknown", next(_counter))
        self.known[name] = shape
