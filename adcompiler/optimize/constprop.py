"""Constant propagation: ``dt = 1.0`` (the output seed) folds into its uses.

A name assigned exactly once, at the top level of the function, to a numeric constant
is replaced by the constant wherever it is read, and each statement is simplified, so
``dx = dt * 6 * x ** 5`` becomes ``dx = 6 * x ** 5``.

>>> import ast
>>> f = ast.parse("def f(x):\\n    dt = 1.0\\n    dx = dt * 6 * x\\n    return dx").body[0]
>>> print(ast.unparse(propagate_constants(f, set())))
def f(x):
    dx = 6.0 * x
    return dx
"""

from __future__ import annotations

import ast
from collections import Counter

from .simplify import simplify

__all__ = ["propagate_constants"]


class _Substitute(ast.NodeTransformer):
    def __init__(self, name: str, value: float) -> None:
        self.name = name
        self.value = value

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            return ast.Constant(self.value)
        return node


def propagate_constants(func: ast.FunctionDef, keep: set[str]) -> ast.FunctionDef:
    """Fold single-assignment numeric constants into their readers."""
    stores: Counter = Counter(
        n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    )
    for position, stmt in enumerate(func.body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant)
                and type(stmt.value.value) in (int, float)):
            continue
        name = stmt.targets[0].id
        if stores[name] != 1 or name in keep:
            continue
        value = stmt.value.value
        del func.body[position]
        if position < len(func.body) and hasattr(stmt, "ad_source_line"):
            nxt = func.body[position]
            if not hasattr(nxt, "ad_source_line"):
                nxt.ad_source_line = stmt.ad_source_line  # type: ignore[attr-defined]

        func.body = [_substituted(s, name, value) for s in func.body]
        return propagate_constants(func, keep)
    return func


def _substituted(stmt: ast.stmt, name: str, value: float) -> ast.stmt:
    """``stmt`` with the constant folded in; statements that never read ``name`` are left
    exactly as they were (a primal ``w = v * 1.0`` must stay a new array, not ``w = v``)."""
    if not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt)):
        return stmt
    return simplify(_Substitute(name, value).visit(stmt))
