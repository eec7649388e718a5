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


def prepare_generated(parsed: ParsedFunction) -> None:
    """Rewrite the generated-code idioms of ``parsed`` in place (see the module docstring)."""
    parsed.node = ast.fix_missing_locations(_Rewrite(parsed).visit(parsed.node))
    for node in ast.walk(parsed.node):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if field == "body" and isinstance(block, list) and not block:
                block.append(ast.Pass())
