"""Calls the normalizer inlines: nested defs, lambdas bound to names, some callees.

A nested ``def`` (or ``name = lambda ...``) has no function object when the compiler
runs, so it cannot be transformed on its own the way a module-level callee is. Its
calls are instead *inlined* by ``normalize``: the call's arguments are bound to fresh
names, the body's own variables are renamed apart, and its ``return`` becomes an
assignment to a fresh result name. Free variables read the enclosing function's
variables as they are *at the call*, which is Python's late binding.

The same machinery serves callees whose signature the call-by-call transform cannot
express (``def total(*xs)``) and methods whose receiver is a local object or ``self``:
when the callee lives in another module (or its namespace differs) its body is inlined
only if every global it reads means the same object in the caller; otherwise the
normalizer refuses it by name.

This module holds the pure AST work; ``normalize`` drives it.

>>> import ast
>>> fdef = ast.parse('''
... def clip(t, top=1.0):
...     if t > top:
...         return top
...     return t
... ''').body[0]
>>> body = returns_to_assignments(fdef, "out")
>>> print(ast.unparse(ast.Module(body=body, type_ignores=[])))
if t > top:
    out = top
else:
    out = t
"""

from __future__ import annotations

import ast
import copy
import types
from collections.abc import Callable
from dataclasses import dataclass, field

from .jumps import lower_jumps

__all__ = ["Inlinable", "bind_call", "local_names", "rename", "returns_to_assignments",
           "single_exit", "terminates"]


@dataclass
class Inlinable:
    """A function the normalizer inlines at its call sites.

    ``defaults`` are atoms already evaluated (a nested def's defaults are evaluated where
    the ``def`` runs); ``foreign`` is the function object of a callee defined elsewhere
    (its source positions belong to another file, so inlined lines take the call's).
    """

    node: ast.FunctionDef
    label: str
    defaults: dict[str, ast.expr] = field(default_factory=dict)
    foreign: types.FunctionType | None = None
    # a foreign callee's closure variables -> the names its inlined body reads them by
    # (cells the caller's generated code is given: see ``normalize``'s ``foreign``)
    free: dict[str, str] = field(default_factory=dict)


def local_names(fdef: ast.FunctionDef) -> set[str]:
    """Parameters and assigned names of ``fdef`` (those of nested defs included: they are
    renamed together, which keeps every shadowing as it was)."""
    names = {a.arg for a in ast.walk(fdef.args) if isinstance(a, ast.arg)}
    for stmt in fdef.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
                names |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            elif isinstance(node, ast.Lambda):
                names |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
    return names


class _Renamer(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.copy_location(ast.Name(id=self.renames.get(node.id, node.id),
                                          ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.renames.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.renames.get(node.name, node.name)
        self.generic_visit(node)
        return node


def rename(stmts: list[ast.stmt], renames: dict[str, str]) -> list[ast.stmt]:
    """A renamed copy of ``stmts`` (names, parameters and def names alike)."""
    renamer = _Renamer(renames)
    return [renamer.visit(copy.deepcopy(s)) for s in stmts]


def terminates(stmts: list[ast.stmt]) -> bool:
    """Whether every path through ``stmts`` ends in ``return`` or ``raise``."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return | ast.Raise):
        return True
    return isinstance(last, ast.If) and terminates(last.body) and terminates(last.orelse)


def single_exit(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Move what follows an ``if`` with a returning branch into its other branch."""
    out: list[ast.stmt] = []
    for index, stmt in enumerate(stmts):
        if isinstance(stmt, ast.If):
            rest = stmts[index + 1:]
            body_ends, else_ends = terminates(stmt.body), terminates(stmt.orelse)
            if body_ends and not else_ends:
                stmt.orelse = stmt.orelse + rest
            elif else_ends and not body_ends:
                stmt.body = stmt.body + rest
            stmt.body = single_exit(stmt.body)
            stmt.orelse = single_exit(stmt.orelse)
            out.append(stmt)
            if body_ends or else_ends:
                return out
            continue
        out.append(stmt)
        if isinstance(stmt, ast.Return | ast.Raise):
            return out
    return out


def _replace_returns(stmts: list[ast.stmt], result: str) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.Return):
            value = stmt.value if stmt.value is not None else ast.Constant(None)
            assign = ast.Assign(targets=[ast.Name(id=result, ctx=ast.Store())], value=value)
            out.append(ast.copy_location(assign, stmt))
            continue
        if isinstance(stmt, ast.If):
            stmt.body = _replace_returns(stmt.body, result) or [ast.Pass()]
            stmt.orelse = _replace_returns(stmt.orelse, result)
        out.append(stmt)
    return out


def returns_to_assignments(fdef: ast.FunctionDef, result: str) -> list[ast.stmt]:
    """The body of ``fdef`` with a single exit, every ``return v`` made ``result = v``.

    Returns inside loops are lowered to flags first (``jumps.lower_jumps``), so after
    :func:`single_exit` every return is the last statement on its path.
    """
    lowered = lower_jumps(copy.deepcopy(fdef))
    body = single_exit(list(lowered.body))
    if not terminates(body):  # a path that falls off the end returns None: start from it
        body = [ast.copy_location(ast.Return(value=None), body[0] if body else fdef), *body]
    return _replace_returns(body, result)


def _dict_display(items: dict[str, ast.expr]) -> ast.expr:
    return ast.Dict(keys=[ast.Constant(k) for k in items], values=list(items.values()))


def bind_call(args: ast.arguments, positional: list[ast.expr], keywords: dict[str, ast.expr],
              defaults: dict[str, ast.expr], pack: Callable[[list[ast.expr]], ast.expr],
              pack_keywords: Callable[[dict[str, ast.expr]], ast.expr] = _dict_display,
              ) -> list[tuple[str, ast.expr]]:
    """Each parameter of ``args`` with the atom it receives, as Python would bind them.

    ``pack`` makes the tuple a ``*args`` parameter receives, ``pack_keywords`` the dict
    a ``**kwargs`` parameter receives. A mismatch raises ``TypeError`` with Python's kind
    of message.
    """
    named = [a.arg for a in args.posonlyargs + args.args]
    posonly = {a.arg for a in args.posonlyargs}
    bound: dict[str, ast.expr] = {}
    extra = positional[len(named):]
    for name, value in zip(named, positional, strict=False):
        bound[name] = value
    if extra and args.vararg is None:
        raise TypeError(f"takes {len(named)} positional arguments but {len(positional)} "
                        "were given")
    kwonly = [a.arg for a in args.kwonlyargs]
    extra_keywords: dict[str, ast.expr] = {}
    for key, value in keywords.items():
        if key in posonly or key not in named + kwonly:
            if args.kwarg is not None:
                extra_keywords[key] = value
                continue
            raise TypeError(f"got an unexpected keyword argument {key!r}")
        if key in bound:
            raise TypeError(f"got multiple values for argument {key!r}")
        bound[key] = value
    out: list[tuple[str, ast.expr]] = []
    for name in [*named, *(["*"] if args.vararg else []), *kwonly]:
        if name == "*":
            assert args.vararg is not None
            out.append((args.vararg.arg, pack(extra)))
            continue
        if name in bound:
            out.append((name, bound[name]))
        elif name in defaults:
            out.append((name, defaults[name]))
        else:
            raise TypeError(f"missing a required argument: {name!r}")
    if args.kwarg is not None:
        out.append((args.kwarg.arg, pack_keywords(extra_keywords)))
    return out
