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
"""

from __future__ import annotations

import ast
import itertools
from typing import Any

__all__ = ["SCALAR", "Shapes"]

SCALAR = ("scalar",)
_counter = itertools.count()


def _index_key(index: ast.expr) -> str:
    """Integer constants select equal-shaped parts (``x[0]`` and ``x[1]``)."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return ",".join(
        "int" if isinstance(p, ast.Constant) and type(p.value) is int else ast.dump(p)
        for p in parts
    )


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
