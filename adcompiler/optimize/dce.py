"""Dead-code elimination on a generated function.

An assignment whose target is never read is dropped when its value has no side effect
(operators, subscripts, and calls into NumPy or our runtime helpers). The analysis is
flow-insensitive, so inside loops it only removes what no statement anywhere reads.

>>> import ast
>>> f = ast.parse("def f(x):\\n    t = np.sin(x)\\n    u = x * 2\\n    return u").body[0]
>>> print(ast.unparse(eliminate_dead_code(f, set())))
def f(x):
    u = x * 2
    return u
"""

from __future__ import annotations

import ast

__all__ = ["declare_pure", "eliminate_dead_code"]

_PURE_ROOTS = {"np", "numpy", "math", "unbroadcast", "len", "range", "float", "reversed",
               "list", "tuple", "abs", "min", "max", "slice", "add_item", "tree_add",
               "zeros_like_tree", "last_writes"}


def declare_pure(names: set[str]) -> None:
    """Name helpers (rule helpers such as ``matmul_da``) whose unread results may go.

    Generated code binds a helper under its own name or that name with a numeric suffix,
    which is how ``_pure`` recognises it.
    """
    _PURE_ROOTS.update(names)
_PURE_NODES = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Constant, ast.Subscript,
               ast.Attribute, ast.Tuple, ast.List, ast.Dict, ast.Slice, ast.expr_context,
               ast.operator, ast.unaryop, ast.cmpop, ast.keyword, ast.Starred, ast.BoolOp,
               ast.boolop, ast.IfExp)


def _pure(node: ast.expr) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            root = sub.func
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id.rstrip("_0123456789") in
                    _PURE_ROOTS):
                return False
            if isinstance(sub.func, ast.Attribute) and sub.func.attr in ("pop", "append"):
                return False
        elif not isinstance(sub, _PURE_NODES):
            return False
    return True


def _update_bases(stmt: ast.stmt) -> set[str]:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else (
        [stmt.target] if isinstance(stmt, ast.AugAssign) else [])
    return {t.value.id for t in targets
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)}


def _all_loads(body: list[ast.stmt]) -> set[str]:
    loads: set[str] = set()

    def visit(stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            bases = _update_bases(stmt)
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    if node.id in bases and _is_update_base(stmt, node):
                        continue
                    loads.add(node.id)
    visit(body)
    return loads


def _is_update_base(stmt: ast.stmt, node: ast.Name) -> bool:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]  # type: ignore
    return any(isinstance(t, ast.Subscript) and t.value is node for t in targets)


def _sweep(stmts: list[ast.stmt], live: set[str], local: set[str]
           ) -> tuple[list[ast.stmt], bool]:
    out: list[ast.stmt] = []
    changed = False
    for stmt in stmts:
        if isinstance(stmt, ast.Assign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id if isinstance(t, ast.Name) else (
                t.value.id if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                else None) for t in targets]
            if all(n is not None and n not in live and n in local for n in names) and _pure(
                    stmt.value):
                changed = True
                continue
        for attr in ("body", "orelse"):
            inner = getattr(stmt, attr, None)
            if inner and not isinstance(stmt, ast.FunctionDef):
                new, inner_changed = _sweep(inner, live, local)
                changed |= inner_changed
                setattr(stmt, attr, new)
        if isinstance(stmt, ast.For | ast.While) and all(
            isinstance(s, ast.Pass) for s in stmt.body
        ) and isinstance(stmt, ast.For) and _pure(stmt.iter):
            changed = True
            continue
        if isinstance(stmt, ast.If) and all(isinstance(s, ast.Pass) for s in stmt.body) and (
            all(isinstance(s, ast.Pass) for s in stmt.orelse)
        ) and _pure(stmt.test):
            changed = True
            continue
        if isinstance(stmt, ast.If) and not stmt.body:
            stmt.body = [ast.Pass()]
        if isinstance(stmt, ast.For | ast.While) and not stmt.body:
            stmt.body = [ast.Pass()]
        out.append(stmt)
    return out, changed


def eliminate_dead_code(func: ast.FunctionDef, keep: set[str]) -> ast.FunctionDef:
    """Remove unread pure assignments from ``func`` until nothing changes."""
    local = {a.arg for a in func.args.args} | {
        n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    changed = True
    while changed:
        live = _all_loads(func.body) | keep
        func.body, changed = _sweep(func.body, live, local)
    if not func.body:
        func.body = [ast.Pass()]
    return func
