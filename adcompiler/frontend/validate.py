"""Stage 2: refuse what the compiler cannot differentiate, before any work is done.

Every refusal names the construct and points at the user's file and line, and says what
to write instead. Refusing early keeps the later stages simple: they may assume the
grammar below and never have to guess.

Supported: ``def`` bodies made of assignments (including tuple unpacking and augmented
assignment to names and subscripts), expression statements, ``return``, ``if``/``elif``/
``else``, ``for`` and ``while`` (with ``break``, ``continue`` and ``else``), ``pass``,
``assert`` and ``raise``; expressions of every kind except the ones listed in
``_REFUSED_EXPRESSIONS``.
"""

from __future__ import annotations

import ast

from ..errors import NonScalarOutputError, UnsupportedSyntaxError
from .parse import ParsedFunction

__all__ = ["require_result", "validate"]

_REFUSED_STATEMENTS: dict[type, str] = {
    ast.Try: "a try statement (exceptions cannot be differentiated through; move the "
    "try outside the differentiated function)",
    ast.With: "a with-statement (context managers may have side effects the gradient "
    "cannot replay; move it outside the differentiated function)",
    ast.AsyncWith: "async with (move it outside the differentiated function)",
    ast.AsyncFor: "async for (loop with a plain for)",
    ast.AsyncFunctionDef: "an async function (await cannot be differentiated; define it "
    "with a plain def)",
    ast.Global: "a global statement (writing module state from differentiated code is "
    "not supported; return the value instead)",
    ast.Nonlocal: "a nonlocal statement (writing enclosing variables is not supported; "
    "return the value instead)",
    ast.Delete: "del (deleting variables or items is not supported; leave them bound)",
    ast.ClassDef: "a class definition inside a differentiated function (define it at "
    "module level)",
    ast.Import: "an import inside a differentiated function (import at module level)",
    ast.ImportFrom: "an import inside a differentiated function (import at module level)",
    ast.Match: "a match statement (rewrite it with if/elif)",
}
if hasattr(ast, "TryStar"):
    _REFUSED_STATEMENTS[ast.TryStar] = _REFUSED_STATEMENTS[ast.Try]

_REFUSED_EXPRESSIONS: dict[type, str] = {
    ast.Yield: "yield (generators cannot be differentiated; return a list or array)",
    ast.YieldFrom: "yield from (generators cannot be differentiated; return a list or "
    "array)",
    ast.Await: "await (coroutines cannot be differentiated; call a plain function)",
    ast.NamedExpr: "the walrus operator := (assign on a line of its own)",
    ast.SetComp: "a set comprehension (sets have no order, so no derivative; use a list)",
    ast.Set: "a set literal (sets have no order, so no derivative; use a list or tuple)",
}


def _fail(parsed: ParsedFunction, node: ast.AST, what: str) -> UnsupportedSyntaxError:
    return UnsupportedSyntaxError(
        f"unsupported syntax in {parsed.name!r}: {what}", parsed.location(node)
    )


def _check_target(parsed: ParsedFunction, target: ast.expr) -> None:
    if isinstance(target, ast.Attribute):
        raise _fail(
            parsed,
            target,
            f"assignment to the attribute '.{target.attr}' (objects must not be mutated "
            "in differentiated code; build a new object or return the value)",
        )
    if isinstance(target, ast.Starred):
        raise _fail(parsed, target, "starred assignment (unpack into named variables)")
    if isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            _check_target(parsed, elt)
    if isinstance(target, ast.Subscript) and not isinstance(target.value, ast.Name):
        raise _fail(
            parsed, target, "assignment into a nested subscript (assign to a name first)"
        )


def validate(parsed: ParsedFunction) -> None:
    """Raise :class:`UnsupportedSyntaxError` for the first construct we cannot handle."""
    fdef = parsed.node
    for node in ast.walk(fdef):
        if node is fdef:
            continue
        kind = type(node)
        if kind in _REFUSED_STATEMENTS:
            raise _fail(parsed, node, _REFUSED_STATEMENTS[kind])
        if kind in _REFUSED_EXPRESSIONS:
            raise _fail(parsed, node, _REFUSED_EXPRESSIONS[kind])
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _check_target(parsed, target)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            _check_target(parsed, node.target)
        elif isinstance(node, ast.For) and not isinstance(node.target, ast.Name | ast.Tuple):
            raise _fail(parsed, node, "a for-loop target that is not a name or a tuple")


def _returns_value(node: ast.AST) -> bool:
    """Whether a ``return <value>`` sits in ``node``'s own body (not in nested defs)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda |
                      ast.ClassDef):
            continue
        if isinstance(child, ast.Return) and child.value is not None and not (
                isinstance(child.value, ast.Constant) and child.value.value is None):
            return True
        if _returns_value(child):
            return True
    return False


def require_result(parsed: ParsedFunction) -> None:
    """The function being differentiated must return something: a forgotten ``return``
    is the likeliest mistake, and its symptom (the value None) says nothing about it."""
    if not _returns_value(parsed.node):
        last = parsed.node.body[-1]
        raise NonScalarOutputError(
            f"{parsed.name!r} has no 'return <value>' statement, so it returns None and "
            "there is nothing to differentiate. Add the missing 'return' (for example "
            "'return loss' at the end of the function)",
            parsed.location(last))
