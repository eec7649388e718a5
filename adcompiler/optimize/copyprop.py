"""Copy propagation: hand-over copies disappear from generated code.

Two patterns, both restricted to names stored exactly once so they are obviously safe:

* ``t = expr ... d = t`` in one block, ``t`` read only there and ``d`` untouched in
  between: ``t`` is renamed ``d`` (rule templates compute into their own locals and the
  driver then hands the value to the adjoint it belongs to).
* ``a = b`` at the top level of the function, with ``a`` and ``b`` each stored once:
  every ``a`` becomes ``b`` (an adjoint that is just another adjoint).

>>> import ast
>>> f = ast.parse("def f(x):\\n    t = x * 2\\n    u = t\\n    dx = u\\n    return dx").body[0]
>>> print(ast.unparse(propagate_copies(f, set())))
def f(x):
    dx = x * 2
    return dx
"""

from __future__ import annotations

import ast
from collections import Counter

__all__ = ["propagate_copies"]


def _counts(func: ast.FunctionDef) -> tuple[Counter, Counter]:
    loads: Counter = Counter()
    stores: Counter = Counter()
    for node in ast.walk(func):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores)[node.id] += 1
    for arg in func.args.args:
        stores[arg.arg] += 1
    return loads, stores


def _mentions(stmt: ast.stmt, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt))


def _rename(node: ast.AST, old: str, new: str) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == old:
            sub.id = new


def _single_copy(stmt: ast.stmt) -> tuple[str, str] | None:
    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Name)):
        return stmt.targets[0].id, stmt.value.id
    return None


def _fold_handover(stmts: list[ast.stmt], loads: Counter, stores: Counter,
                   keep: set[str]) -> bool:
    """Every hand-over in ``stmts`` (and nested blocks); the counts are kept current."""
    changed = False
    position = 0
    while position < len(stmts):
        stmt = stmts[position]
        position += 1
        copy = _single_copy(stmt)
        if copy is None:
            continue
        target, temp = copy
        if loads[temp] != 1 or stores[temp] != 1 or temp in keep:
            continue
        for back in range(position - 2, -1, -1):
            earlier = stmts[back]
            if (isinstance(earlier, ast.Assign) and len(earlier.targets) == 1
                    and isinstance(earlier.targets[0], ast.Name)
                    and earlier.targets[0].id == temp
                    and getattr(earlier, "ad_primal", False) <= getattr(stmt, "ad_primal",
                                                                        False)):
                # (a primal value keeps its name: ``sin_x``, not that of the adjoint it
                # feeds; a primal copy ``w_1 = w`` still folds)
                earlier.targets[0].id = target
                if hasattr(stmt, "ad_source_line") and not hasattr(earlier, "ad_source_line"):
                    earlier.ad_source_line = stmt.ad_source_line  # type: ignore[attr-defined]
                position -= 1
                del stmts[position]
                loads[temp] -= 1
                stores[temp] -= 1
                changed = True
                break
            if _mentions(earlier, target) or _mentions(earlier, temp):
                break
    for stmt in stmts:
        for attr in ("body", "orelse"):
            inner = getattr(stmt, attr, None)
            if inner and _fold_handover(inner, loads, stores, keep):
                changed = True
    return changed


def _inline_into_next(stmts: list[ast.stmt], loads: Counter, stores: Counter,
                      keep: set[str]) -> bool:
    """``t = a * b`` then ``d = d + t`` (or ``d += t``) becomes ``d = d + a * b`` (one
    level, adjacent); every such pair, the counts kept current."""
    changed = False
    position = -1
    while position + 2 < len(stmts):
        position += 1
        first, second = stmts[position], stmts[position + 1]
        if not (isinstance(first, ast.Assign) and len(first.targets) == 1
                and isinstance(first.targets[0], ast.Name)
                and isinstance(first.value, ast.BinOp | ast.UnaryOp)
                and all(isinstance(n, ast.Name | ast.Constant) for n in (
                    [first.value.left, first.value.right] if isinstance(first.value, ast.BinOp)
                    else [first.value.operand]))):
            continue
        temp = first.targets[0].id
        if loads[temp] != 1 or stores[temp] != 1 or temp in keep:
            continue
        if (isinstance(second, ast.AugAssign) and isinstance(second.op, ast.Add | ast.Sub)
                and isinstance(second.value, ast.Name) and second.value.id == temp):
            # ``d += t`` becomes ``d += a * b``, and ``d += -e`` becomes ``d -= e``
            value = first.value
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
                second.op = ast.Sub() if isinstance(second.op, ast.Add) else ast.Add()
                value = value.operand
            second.value = value
            if hasattr(first, "ad_source_line") and not hasattr(second, "ad_source_line"):
                second.ad_source_line = first.ad_source_line  # type: ignore[attr-defined]
            del stmts[position]
            loads[temp] -= 1
            stores[temp] -= 1
            changed = True
            position -= 1
            continue
        if not (isinstance(second, ast.Assign) and isinstance(second.value, ast.BinOp)
                and isinstance(second.value.op, ast.Add)
                and isinstance(second.value.right, ast.Name)
                and second.value.right.id == temp
                and isinstance(second.value.left, ast.Name)):
            continue
        second.value.right = first.value
        if hasattr(first, "ad_source_line") and not hasattr(second, "ad_source_line"):
            second.ad_source_line = first.ad_source_line  # type: ignore[attr-defined]
        del stmts[position]
        loads[temp] -= 1
        stores[temp] -= 1
        changed = True
        position -= 1
    for stmt in stmts:
        for attr in ("body", "orelse"):
            inner = getattr(stmt, attr, None)
            if inner and _inline_into_next(inner, loads, stores, keep):
                changed = True
    return changed


def _fold_alias(func: ast.FunctionDef, loads: Counter, stores: Counter,
                keep: set[str]) -> bool:
    """Every top-level alias; the counts are kept current."""
    changed = False
    position = 0
    while position < len(func.body):
        stmt = func.body[position]
        position += 1
        copy = _single_copy(stmt)
        if copy is None:
            continue
        alias, original = copy
        rest = func.body[position:]
        # the original may have been assigned before (``d = d + e; a = d``): only a later
        # assignment would make ``a`` and ``d`` differ
        settled = stores[original] <= 1 or not any(
            isinstance(n, ast.Name) and n.id == original and not isinstance(n.ctx, ast.Load)
            for s in rest for n in ast.walk(s))
        if stores[alias] == 1 and settled and alias not in keep and alias != original:
            position -= 1
            del func.body[position]
            if hasattr(stmt, "ad_source_line") and position < len(func.body):
                nxt = func.body[position]
                if not hasattr(nxt, "ad_source_line"):
                    nxt.ad_source_line = stmt.ad_source_line  # type: ignore[attr-defined]
            _rename(func, alias, original)
            loads[original] += loads[alias] - 1
            loads[alias] = stores[alias] = 0
            changed = True
    return changed


def propagate_copies(func: ast.FunctionDef, keep: set[str]) -> ast.FunctionDef:
    """Fold hand-over temporaries and top-level aliases until nothing changes."""
    loads, stores = _counts(func)
    while True:
        changed = _fold_handover(func.body, loads, stores, keep)
        changed = _fold_alias(func, loads, stores, keep) or changed
        changed = _inline_into_next(func.body, loads, stores, keep) or changed
        if not changed:
            return func
