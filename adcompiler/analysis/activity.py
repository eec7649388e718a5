"""Activity analysis: which names need a derivative.

A name is *varied* when its value depends differentiably on a differentiated argument,
and *useful* when the output depends differentiably on it. Only names that are both
(*active*) get an adjoint; everything else is plain primal code. The analysis is
flow-insensitive (a fixpoint over the def-use edges of the whole body), which is exact
for SSA straight-line code and safe inside loops, where a name keeps one version.

``differentiable(stmt)`` is supplied by the transformer: it says whether the value a
statement computes carries a derivative at all (a comparison, ``x.shape`` or a call with
a zero-derivative rule does not). ``plain_index(stmt)`` says whether a subscript
``y = a[i]`` is indexing (an array, list, tuple or dict: the index only chooses, so
the derivative flows from ``a`` alone) rather than a call of some object's
``__getitem__`` (``np.r_[x, c]``), where it flows from the index too.

Paths on which a varied value could be taken for a constant, and why none is wrong:

* the index of an indexing subscript: it only chooses positions (piecewise constant);
* a statement ``differentiable`` rejects: a comparison, a zero-derivative rule, a
  shape attribute (each is piecewise constant or does not depend on values);
* a call kept for its effect (``y.sort()``, ``f(x, out=y)``): refused by the
  transformer (``check_side_effect``), never silently dropped;
* ``if`` / ``while`` tests: control flow, whose derivative is that of the branch taken.

Everything else (operators, calls with or without rules, attributes, methods,
subscripts of other objects) flows from every name it reads, so a varied value that
reaches an operation without a rule makes its result active and the transformer
refuses it.

>>> import ast
>>> body = ast.parse("y = x * w\\nc = y > 0\\nz = y * n\\nr = z + c").body
>>> sorted(analyze(body, ["x"], "r", lambda s: not isinstance(s.value, ast.Compare)))
['r', 'x', 'y', 'z']
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from ..frontend.normalize import walk_statements

__all__ = ["analyze", "edges", "varied_names"]


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _always(stmt: ast.stmt) -> bool:
    return True


def edges(
    body: list[ast.stmt], differentiable: Callable[[ast.stmt], bool],
    plain_index: Callable[[ast.stmt], bool] = _always,
) -> list[tuple[str, set[str]]]:
    """``(target, sources)`` for every assignment through which a derivative flows."""
    out: list[tuple[str, set[str]]] = []
    for stmt in walk_statements(body):
        if not isinstance(stmt, ast.Assign):
            continue
        target = stmt.targets[0]
        if isinstance(target, ast.Subscript):  # index update: new version of the array
            assert isinstance(target.value, ast.Name)
            result = getattr(stmt, "ad_result", target.value.id)
            out.append((result, {target.value.id} | _loads(stmt.value)))
            continue
        if not isinstance(target, ast.Name) or not differentiable(stmt):
            continue
        sources = _loads(stmt.value)
        if isinstance(stmt.value, ast.Subscript) and plain_index(stmt):
            sources = _loads(stmt.value.value)  # the index itself carries no derivative
        out.append((target.id, sources))
    return out


def _varied(flow: list[tuple[str, set[str]]], wrt: Iterable[str]) -> set[str]:
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, sources in flow:
            if target not in varied and sources & varied:
                varied.add(target)
                changed = True
    return varied


def varied_names(body: list[ast.stmt], wrt: Iterable[str],
                 differentiable: Callable[[ast.stmt], bool],
                 plain_index: Callable[[ast.stmt], bool] = _always) -> set[str]:
    """Names whose value depends differentiably on ``wrt``, whether or not the output
    does: a side effect on one of them would be lost to the derivative."""
    return _varied(edges(body, differentiable, plain_index), wrt)


def analyze(
    body: list[ast.stmt],
    wrt: Iterable[str],
    result: str | None,
    differentiable: Callable[[ast.stmt], bool],
    plain_index: Callable[[ast.stmt], bool] = _always,
) -> set[str]:
    """The active names of ``body`` for inputs ``wrt`` and output ``result``."""
    flow = edges(body, differentiable, plain_index)
    varied = _varied(flow, wrt)
    useful = {result} if result else set()
    changed = True
    while changed:
        changed = False
        for target, sources in flow:
            if target in useful:
                new = sources - useful
                if new:
                    useful |= new
                    changed = True
    return varied & useful
