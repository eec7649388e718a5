"""Freeing: a temporary is deleted right after the statement that reads it last.

Generated code is in SSA form, so without help every primal temporary stays alive until
the function returns, while a hand-written gradient lets each one die after its last
use. This pass, run once after the others, inserts ``del a, b`` after the top-level
statement that last mentions ``a`` and ``b``. Only names bound on every path (by a
top-level assignment) are deleted, never parameters, and nothing is deleted right before
the ``return`` (returning frees them anyway). Names not worth a line are left alone:
constants, shapes, stacks, items of containers, and what the transformer tagged
``ad_scalar`` (rank-0 values). After a loop or branch, a dead name it may have left
unbound is dropped with ``t = None`` instead (``del`` would fail on an unbound name).
Inside loop bodies nothing is deleted: a loop reuses its names, so each iteration frees
the previous one's values.

>>> import ast
>>> src = "def f(x):\\n    t = x * 2\\n    u = t + 1\\n    v = u * u\\n    return v"
>>> print(ast.unparse(free_dead_names(ast.parse(src).body[0])))
def f(x):
    t = x * 2
    u = t + 1
    del t
    v = u * u
    return v
"""

from __future__ import annotations

import ast

__all__ = ["free_dead_names", "protect_aliases"]


def _names(node: ast.AST, ctx: type) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def _bound(stmt: ast.stmt) -> set[str]:
    """Names a top-level simple statement binds on every path."""
    if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        out: set[str] = set()
        for target in targets:
            if isinstance(target, ast.Name):
                out.add(target.id)
            elif isinstance(target, ast.Tuple | ast.List):
                out |= {e.id for e in target.elts if isinstance(e, ast.Name)}
        return out
    return set()


def _cheap(stmt: ast.stmt, skip: set[str]) -> bool:
    """Bindings not worth a ``del`` line: constants, empty stacks, ranges, shapes (and
    items of a shape)."""
    value = getattr(stmt, "value", None)
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and (
            value.value.id in skip or isinstance(value.slice, ast.Constant)):
        return True  # an item of a shape, or of a container (a reference, no new data)
    if isinstance(value, ast.Constant | ast.List | ast.Compare) or (
            isinstance(value, ast.Tuple) and not value.elts):
        return True
    if isinstance(value, ast.Attribute) and value.attr in ("shape", "ndim", "size", "dtype"):
        return True
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
        value.func.id in ("range", "len"))


def free_dead_names(func: ast.FunctionDef) -> ast.FunctionDef:
    """Insert ``del`` after the last top-level mention of each dead local."""
    params = {a.arg for a in func.args.args}
    body = func.body
    later_loads: list[set[str]] = [set() for _ in body]
    seen: set[str] = set()
    for position in range(len(body) - 1, -1, -1):
        later_loads[position] = set(seen)
        seen |= _names(body[position], ast.Load)
    out: list[ast.stmt] = []
    bound: set[str] = set()
    skip: set[str] = set(params)
    for stmt in (n for s in body for n in ast.walk(s) if isinstance(n, ast.stmt)):
        names = _bound(stmt)
        if names and (_cheap(stmt, skip - params) or getattr(stmt, "ad_scalar", False)):
            skip |= names
        if isinstance(stmt, ast.For):
            skip |= _names(stmt.target, ast.Store)  # loop counters
    for position, stmt in enumerate(body):
        out.append(stmt)
        bound |= _bound(stmt)
        if isinstance(stmt, ast.Return) or position + 1 >= len(body) or isinstance(
                body[position + 1], ast.Return):
            continue
        stored = _names(stmt, ast.Store)
        dead = (_names(stmt, ast.Load) | stored) - later_loads[position] - skip
        deleted = dead & bound
        if deleted:
            out.append(ast.Delete(targets=[ast.Name(id=n, ctx=ast.Del())
                                           for n in sorted(deleted)]))
            bound -= deleted
        # names a loop or branch may have left unbound: ``del`` could fail, dropping the
        # reference cannot
        maybe = sorted((dead & stored) - deleted - bound)
        if maybe and isinstance(stmt, ast.For | ast.While | ast.If):
            out.append(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store()) for n in maybe],
                                  value=ast.Constant(None)))
    func.body = out
    return func


def protect_aliases(func: ast.FunctionDef) -> ast.FunctionDef:
    """``d += e`` only into a buffer of our own: never where ``d`` may alias another value.

    The transformer adds in place into adjoints it allocated, but folding the output seed
    can turn ``d = 1.0 * y`` into ``d = y``; then ``d += e`` would write into ``y``. Any
    such name gets its updates back as ``d = d + e``.
    """
    updated = {n.target.id for n in ast.walk(func)
               if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    if not updated:
        return func
    values: dict[str, list[ast.expr]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _names(target, ast.Store):
                    values.setdefault(name, []).append(
                        node.value if isinstance(target, ast.Name) else target)
    aliased = {name for name in updated
               if not all(_fresh(v, values, 0) for v in values.get(name, []))}
    aliased |= {a.arg for a in func.args.args} & updated
    if aliased:
        _Unfuse(aliased).visit(func)
    return func


def _root(func: ast.expr) -> str:
    return func.id.rstrip("_0123456789") if isinstance(func, ast.Name) else ""


def _fresh(value: ast.expr, values: dict[str, list[ast.expr]], depth: int) -> bool:
    """Whether ``value`` certainly evaluates to a new object (arithmetic makes one;
    ``unbroadcast`` may hand back its argument, so that argument must be new)."""
    if isinstance(value, ast.BinOp | ast.UnaryOp | ast.Constant):
        return True
    if isinstance(value, ast.Call) and _root(value.func) in ("matmul_da", "matmul_db"):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and (
            value.func.attr in ("zeros_like", "ones_like")) and _root(value.func.value) == "np":
        return True
    if isinstance(value, ast.Call) and _root(value.func) in ("unbroadcast", "unbroadcast_to"):
        return bool(value.args) and _fresh(value.args[0], values, depth)
    if isinstance(value, ast.Name) and depth < 8:
        definitions = values.get(value.id, [])
        return len(definitions) == 1 and _fresh(definitions[0], values, depth + 1)
    return False


class _Unfuse(ast.NodeTransformer):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        if isinstance(node.target, ast.Name) and node.target.id in self.names:
            value = ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=node.op,
                              right=node.value)
            return ast.copy_location(ast.Assign(targets=[ast.Name(id=node.target.id,
                                                                  ctx=ast.Store())],
                                                value=value), node)
        return node
