"""Algebraic simplification and constant folding of single expressions.

Used when a rule template is filled (so ``x ** (2 - 1)`` becomes ``x``) and by the
optimizer. Only identities that hold for every NumPy dtype and shape are applied:
multiplying by 1 or adding 0 never changes a value, but it can change a *shape* when the
constant is an array, so only Python scalar constants are folded.

>>> import ast
>>> def s(text): return ast.unparse(simplify(ast.parse(text, mode="eval").body))
>>> s("g * 2 * x ** (2 - 1)"), s("-(-g)"), s("0 + g * 1"), s("g if True else h")
('g * 2 * x', 'g', 'g', 'g')
"""

from __future__ import annotations

import ast
import operator
from typing import Any

__all__ = ["ZERO", "is_zero", "simplify", "static_value"]

ZERO = "ZERO"  # the name forward templates use for a tangent that is zero

_BINOPS: dict[type, Any] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMPOPS: dict[type, Any] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_SCALARS = (int, float, bool)
_MISSING = object()


def static_value(node: ast.AST) -> Any:
    """The value of an expression made only of constants, or ``_MISSING``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        items = [static_value(e) for e in node.elts]
        return _MISSING if any(i is _MISSING for i in items) else tuple(items)
    return _MISSING


def is_static(node: ast.AST) -> bool:
    return static_value(node) is not _MISSING


def is_zero(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == ZERO


def _const(value: Any) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple(elts=[_const(v) for v in value], ctx=ast.Load())
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def _number(node: ast.AST) -> Any:
    """A numeric constant, also written as ``-c``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = static_value(node.operand)
        if isinstance(inner, _SCALARS):
            return -inner
    return static_value(node)


def _scalar(node: ast.AST, value: float) -> bool:
    v = _number(node)
    return isinstance(v, _SCALARS) and not isinstance(v, bool) and v == value


_MASK_FUNCTIONS = {"isnan", "isfinite", "isinf", "isposinf", "isneginf", "signbit",
                   "logical_and", "logical_or", "logical_not", "logical_xor"}


def _boolean(node: ast.AST) -> bool:
    """An expression whose value may be boolean: a comparison, ``not``, ``and``/``or``,
    ``~m`` and ``m | n``, ``m & n``, ``m ^ n`` of such masks, a call of a mask function
    (``isnan``) or with ``dtype=bool``. ``1.0 * mask`` is kept: it is the float mask."""
    if isinstance(node, ast.Compare | ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.BitXor):
        return _boolean(node.left) or _boolean(node.right)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in _MASK_FUNCTIONS or any(
            k.arg == "dtype" and isinstance(k.value, ast.Name) and k.value.id == "bool"
            for k in node.keywords)
    return False


class _Simplifier(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        left, right, op = node.left, node.right, type(node.op)
        lv, rv = _number(left), _number(right)
        if isinstance(lv, _SCALARS) and isinstance(rv, _SCALARS) and op in _BINOPS:
            try:
                return _const(_BINOPS[op](lv, rv))
            except (ArithmeticError, ValueError, TypeError):
                return node
        if op is ast.Mult:
            if is_zero(left) or is_zero(right):
                return ast.Name(id=ZERO, ctx=ast.Load())
            # ``1.0 * (a > b)`` is a float mask: dropping the 1.0 would leave booleans
            if _scalar(right, 1) and not _boolean(left):
                return left
            if _scalar(left, 1) and not _boolean(right):
                return right
            if _scalar(right, -1) and not _boolean(left):
                return self.visit(ast.UnaryOp(op=ast.USub(), operand=left))
            if _scalar(left, -1) and not _boolean(right):
                return self.visit(ast.UnaryOp(op=ast.USub(), operand=right))
        if op is ast.Div:
            if is_zero(left):
                return left
            if _scalar(right, 1):
                return left
        if op is ast.Add:
            if is_zero(left) or _scalar(left, 0):
                return right
            if is_zero(right) or _scalar(right, 0):
                return left
            if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub):
                return ast.BinOp(left=left, op=ast.Sub(), right=right.operand)
        if op is ast.Sub:
            if is_zero(right):
                return left
            if is_zero(left):
                return self.visit(ast.UnaryOp(op=ast.USub(), operand=right))
            if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub):
                return ast.BinOp(left=left, op=ast.Add(), right=right.operand)
        if op is ast.Pow and _scalar(right, 1):
            return left
        if op is ast.MatMult and (is_zero(left) or is_zero(right)):
            return ast.Name(id=ZERO, ctx=ast.Load())
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        operand = node.operand
        if isinstance(node.op, ast.USub):
            if is_zero(operand):
                return operand
            if isinstance(operand, ast.UnaryOp) and isinstance(operand.op, ast.USub):
                return operand.operand
        if isinstance(node.op, ast.Not) and is_static(operand):
            return ast.Constant(not static_value(operand))
        value = static_value(operand)
        if isinstance(node.op, ast.USub) and isinstance(value, _SCALARS) and not isinstance(
            value, bool
        ):
            return _const(-value)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        values = [_number(node.left), *(_number(c) for c in node.comparators)]
        if all(type(op) in _CMPOPS for op in node.ops) and all(
                v is not _MISSING for v in values):  # ``0 < 0.5 < 1`` too
            try:
                return ast.Constant(all(bool(_CMPOPS[type(op)](a, b)) for op, a, b in zip(
                    node.ops, values, values[1:], strict=False)))
            except TypeError:
                return node
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        values = [static_value(v) for v in node.values]
        if all(v is not _MISSING for v in values):
            if isinstance(node.op, ast.And):
                return ast.Constant(bool(all(values)))
            return ast.Constant(bool(any(values)))
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        # forward templates only call functions that are linear in a tangent argument,
        # and never pass two tangents to one call, so a zero tangent zeroes the call
        self.generic_visit(node)
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if any(is_zero(a) for a in arguments):
            return ast.Name(id=ZERO, ctx=ast.Load())
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        test = static_value(node.test)
        if test is not _MISSING:
            return node.body if test else node.orelse
        return node


def simplify(node: ast.AST) -> Any:
    """Simplify ``node`` (an expression or statement) and return the new node."""
    return _Simplifier().visit(node)
