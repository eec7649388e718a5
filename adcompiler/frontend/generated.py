"""Stage 1b: the idioms of generated code that user code never has.

Second derivatives transform the generated gradient source again. That source is
ordinary Python, with these exceptions the later stages must see in their general form:

* ``add_at(buffer, index, g)`` is an expression statement that accumulates into a
  buffer the generated code owns. Written as ``buffer = add_at(buffer, index, g)`` (the
  helper returns its buffer) it is an assignment like any other, so activity analysis
  sees that ``buffer`` now depends on ``g``.
* A callee's pullback is called as ``f_pullback(*tape, g)``. The pullback is a function
  object the compiler holds, so its arity is known and the call can name each tape entry
  (``tape[0], tape[1], g``), which is what calls to user functions need.

* The adjoint loop runs ``for i in reversed(steps)`` over the range of the primal
  loop; ``steps[::-1]`` is the same range backwards, and can be indexed.

* ``dx += g`` accumulates in place into a buffer only the generated code holds, so it
  is ``dx = dx + g``.
* ``del t5`` frees a temporary early; it is dropped, as it changes no value.

* A value computed in one branch of the primal sweep is read again only under the same
  condition in the adjoint sweep (``if cond: t1 = ...`` ... ``if cond: ... t1``). User
  code that did this would be refused (``t1`` may be unassigned); generated code is
  right by construction, so such names are bound to None at the top of the function,
  which makes every read a read of a defined name and changes no value. Names a loop
  assigns that are used outside it get the same treatment (a loop may run zero times).

* ``dc = unbroadcast(g, c)`` then ``dc[::-1] += t``: generated code owns ``dc``, but the
  transform cannot tell (a helper may return its argument), so a name that is written
  into is copied right after each binding that is not a fresh allocation.

Nothing else is special: stacks are lists (``append`` and ``pop`` have rules in both
modes' transformers), loops and branches are those of any user function.
"""

from __future__ import annotations

import ast
import copy
import types
from typing import Any

from ..runtime import add_at
from .parse import UNRESOLVED, ParsedFunction

__all__ = ["is_generated", "prepare_generated"]


def is_generated(func: Any) -> bool:
    """Whether ``func`` was compiled by adcompiler from generated source."""
    return getattr(func, "__ad_generated__", None) is not None


class _Rewrite(ast.NodeTransformer):
    def __init__(self, parsed: ParsedFunction) -> None:
        self.parsed = parsed

    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        call = node.value
        if isinstance(call, ast.Call) and len(call.args) == 3 and isinstance(
                call.args[0], ast.Name) and self.parsed.resolve_expr(call.func) is add_at:
            target = ast.Name(id=call.args[0].id, ctx=ast.Store())
            return ast.copy_location(ast.Assign(targets=[target], value=call), node)
        return self.generic_visit(node)  # type: ignore[return-value]

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        if isinstance(node.target, ast.Name):
            # ``dx += g`` accumulates into a buffer the generated code owns (nothing else
            # holds it), so it means ``dx = dx + g``
            value = ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=node.op,
                              right=node.value)
            target = ast.Name(id=node.target.id, ctx=ast.Store())
            return ast.copy_location(ast.Assign(targets=[target], value=value), node)
        return node

    def visit_Delete(self, node: ast.Delete) -> ast.stmt | None:
        if all(isinstance(t, ast.Name) for t in node.targets):
            return None  # ``del t5`` only frees memory early; the transform keeps names
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if len(node.args) == 1 and not node.keywords and (
                self.parsed.resolve_expr(node.func) is reversed):
            # ``reversed(steps)`` of a range is ``steps[::-1]``, a range with a length
            backwards = ast.Slice(lower=None, upper=None, step=ast.Constant(-1))
            return ast.copy_location(ast.Subscript(value=node.args[0], slice=backwards,
                                                   ctx=ast.Load()), node)
        starred = [a for a in node.args if isinstance(a, ast.Starred)]
        if len(starred) != 1 or not isinstance(starred[0].value, ast.Name):
            return node
        callee = self.parsed.resolve_expr(node.func)
        callee = getattr(callee, "target", None) or callee  # a recursive stand-in
        if callee is UNRESOLVED or not isinstance(callee, types.FunctionType):
            return node
        code = callee.__code__
        if code.co_flags & 0x04:  # the callee itself takes *args: leave the call alone
            return node
        count = code.co_argcount - (len(node.args) - 1)
        tape = starred[0].value
        items = [ast.Subscript(value=copy.deepcopy(tape), slice=ast.Constant(k),
                               ctx=ast.Load()) for k in range(max(count, 0))]
        args: list[ast.expr] = []
        for arg in node.args:
            args.extend(items if arg is starred[0] else [arg])
        return ast.copy_location(ast.Call(func=node.func, args=args,
                                          keywords=node.keywords), node)


def _stores(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for stmt in nodes for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _one_path_names(fdef: ast.FunctionDef) -> list[str]:
    """Names an ``if`` assigns on one path only and the function reads outside it, and
    names a loop assigns and the function uses outside it."""
    params = {a.arg for a in (*fdef.args.posonlyargs, *fdef.args.args,
                              *fdef.args.kwonlyargs)}
    found: dict[str, None] = {}
    for node in ast.walk(fdef):
        if isinstance(node, ast.If):
            one_path = _stores(node.body) ^ _stores(node.orelse)
            kinds: tuple[type, ...] = (ast.Load,)
        elif isinstance(node, ast.For | ast.While):
            # a loop that may run zero times: its names are unbound after it, and the
            # next loop that assigns them copies them in
            one_path = _stores(node.body)
            if isinstance(node, ast.For):
                one_path -= _stores([ast.Assign(targets=[node.target], value=node.iter)])
            kinds = (ast.Load, ast.Store)
        else:
            continue
        if not one_path - params:
            continue
        inside = {id(n) for n in ast.walk(node)}
        used_outside = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, kinds) and id(n) not in inside}
        for name in sorted(one_path & used_outside - params):
            found.setdefault(name)
    return list(found)


def _bind_one_path_names(fdef: ast.FunctionDef) -> None:
    first = 1 if fdef.body and isinstance(fdef.body[0], ast.Expr) and isinstance(
        fdef.body[0].value, ast.Constant) else 0
    inits = [ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                        value=ast.Constant(None), lineno=fdef.lineno, col_offset=0)
             for name in _one_path_names(fdef)]
    fdef.body[first:first] = inits


_ALLOCATING = {"zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "empty",
               "empty_like", "copy", "array", "eye", "arange", "concatenate", "stack",
               "where"}


def _allocates(value: ast.expr) -> bool:
    """Whether ``value`` certainly makes an array no other name holds."""
    if isinstance(value, ast.BinOp | ast.UnaryOp | ast.Compare | ast.Constant | ast.List):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _ALLOCATING
    return False


def _written_base(stmt: ast.stmt) -> str | None:
    """``x`` of ``x[i] = v`` or ``x[i] += v``."""
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
        else getattr(stmt, "target", None) if isinstance(stmt, ast.AugAssign) else None
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        return target.value.id
    return None


def _copy_shared_before_writes(fdef: ast.FunctionDef) -> None:
    """``dc = unbroadcast(g, c)`` then, anywhere later, ``dc[::-1] += t``: the generated
    code owns ``dc``, but the helper may have returned its argument, which the transform
    cannot tell. ``dc = dc.copy()`` right after every binding of a written-into name that
    is not a fresh allocation makes the array provably its own (no value changes)."""
    written = {base for node in ast.walk(fdef) if isinstance(node, ast.stmt)
               for base in [_written_base(node)] if base is not None}
    if not written:
        return
    for node in ast.walk(fdef):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            k = 0
            while k < len(block):
                stmt = block[k]
                k += 1
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                    continue
                target = stmt.targets[0]
                names = [target] if isinstance(target, ast.Name) else [
                    e for e in getattr(target, "elts", []) if isinstance(e, ast.Name)]
                if isinstance(target, ast.Name) and _allocates(stmt.value):
                    continue
                for name in names:
                    if name.id not in written:
                        continue
                    copy_call = ast.Call(func=ast.Attribute(
                        value=ast.Name(id=name.id, ctx=ast.Load()), attr="copy",
                        ctx=ast.Load()), args=[], keywords=[])
                    block.insert(k, ast.copy_location(ast.Assign(
                        targets=[ast.Name(id=name.id, ctx=ast.Store())], value=copy_call),
                        stmt))
                    k += 1


def prepare_generated(parsed: ParsedFunction) -> None:
    """Rewrite the generated-code idioms of ``parsed`` in place (see the module docstring)."""
    parsed.node = _Rewrite(parsed).visit(parsed.node)
    if isinstance(parsed.node, ast.FunctionDef):
        _bind_one_path_names(parsed.node)
    parsed.node = ast.fix_missing_locations(parsed.node)
    if isinstance(parsed.node, ast.FunctionDef):
        _copy_shared_before_writes(parsed.node)
    for node in ast.walk(parsed.node):
        block = getattr(node, "body", None)
        if isinstance(block, list) and not block:
            block.append(ast.Pass())
