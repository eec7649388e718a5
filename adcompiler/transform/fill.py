"""Filling a rule template: substitute the call site's names into the rule's body.

The filler binds the call's arguments to the template's signature exactly as Python
would bind them to the primal (so keyword arguments and defaults behave), checks that
every placeholder is bound, renames the template's locals to fresh names, routes the
template's globals (``np``, helpers) through the generated function's :class:`Scope`,
decides ``if`` statements on constant arguments and on ``active(p)`` (whether the call
site differentiates parameter ``p``), and simplifies what is left.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
from dataclasses import dataclass
from typing import Any

from ..errors import ADError
from ..naming import Namer
from ..optimize.simplify import ZERO, simplify, static_value
from ..rules.registry import Template
from .scope import Scope

__all__ = ["Filled", "bind_arguments", "fill"]

_MISSING = object()
_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))


@dataclass
class Filled:
    """A filled template: statements and, per differentiated parameter, its output name."""

    stmts: list[ast.stmt]
    outputs: dict[str, str]
    reads: set[str]


def _as_ast(value: Any) -> ast.expr | None:
    if isinstance(value, _CONSTANT_TYPES):
        return ast.Constant(value)
    if isinstance(value, tuple) and all(isinstance(v, _CONSTANT_TYPES) for v in value):
        return ast.Tuple(elts=[ast.Constant(v) for v in value], ctx=ast.Load())
    return None


def bind_arguments(
    template: Template, args: list[ast.expr], keywords: dict[str, ast.expr], what: str
) -> dict[str, ast.expr]:
    """Bind call-site atoms to the template's primal parameters (with defaults)."""
    try:
        bound = template.signature.bind(*args, **keywords)
    except TypeError as exc:
        raise ADError(f"cannot differentiate the call to {what}: {exc}") from exc
    result: dict[str, ast.expr] = {}
    for name, param in template.signature.parameters.items():
        if name in bound.arguments:
            value = bound.arguments[name]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                value = ast.Tuple(elts=list(value), ctx=ast.Load())
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                raise ADError(f"cannot differentiate the call to {what}: unexpected "
                              f"keywords {sorted(value)}")
            result[name] = value
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            result[name] = ast.Tuple(elts=[], ctx=ast.Load())
        elif param.default is not inspect.Parameter.empty:
            node = _as_ast(param.default)
            if node is None:
                raise ADError(f"rule for {what}: default of {name!r} is not a constant")
            result[name] = node
    return result


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.mapping:
            replacement = self.mapping[node.id]
            if isinstance(node.ctx, ast.Store):
                assert isinstance(replacement, ast.Name)
                return ast.Name(id=replacement.id, ctx=ast.Store())
            return copy.deepcopy(replacement)
        return node


class _KnownRanks(ast.NodeTransformer):
    """Replace ``np.ndim(x)`` by a constant where the rank of ``x`` is known."""

    def __init__(self, ranks: dict[str, int]) -> None:
        self.ranks = ranks

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "ndim" and len(node.args) == 1
                and not node.keywords):
            arg = node.args[0]
            if isinstance(arg, ast.Name) and arg.id in self.ranks:
                return ast.Constant(self.ranks[arg.id])
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int | float):
                return ast.Constant(0)
        return node


def _active_params(template: Template, wanted: set[str] | None,
                   special: dict[str, ast.expr]) -> set[str]:
    """The parameters differentiated at this call site: ``wanted`` in reverse mode, those
    with a nonzero tangent in forward mode (every output when neither is given)."""
    if wanted is not None:
        return set(wanted)
    return {p for p in template.outputs
            if not (isinstance(special.get("d" + p), ast.Name)
                    and special["d" + p].id == ZERO)}  # type: ignore[union-attr]


class _Activity(ast.NodeTransformer):
    """Replace ``active(p)`` by whether parameter ``p`` is differentiated here."""

    def __init__(self, template: Template, active: set[str]) -> None:
        self.template = template
        self.active = active

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "active":
            if not (len(node.args) == 1 and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in self.template.signature.parameters):
                raise ADError(f"rule {self.template.func.__name__}: active() takes one of "
                              f"the rule's parameters, got {ast.unparse(node)}")
            return ast.Constant(node.args[0].id in self.active)
        return node


def _is_static_marker(test: ast.expr) -> bool:
    return (isinstance(test, ast.Call) and isinstance(test.func, ast.Name)
            and test.func.id == "static" and len(test.args) == 1)


def _decide_ifs(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.If) and _is_static_marker(stmt.test):
            # ``if static(cond):`` -- taken only when cond is known true at fill time
            decided = static_value(simplify(stmt.test.args[0]))  # type: ignore[attr-defined]
            stmt.test = ast.Constant(decided is not _static_missing() and bool(decided))
        stmt = simplify(stmt)
        if isinstance(stmt, ast.If):
            test = static_value(stmt.test)
            if test is not _static_missing():
                out.extend(_decide_ifs(stmt.body if test else stmt.orelse))
                continue
            stmt.body = _decide_ifs(stmt.body) or [ast.Pass()]
            stmt.orelse = _decide_ifs(stmt.orelse)
        out.append(stmt)
    return out


def _static_missing() -> Any:
    return static_value(ast.Name(id="_", ctx=ast.Load()))


def fill(
    template: Template,
    bindings: dict[str, ast.expr],
    special: dict[str, ast.expr],
    namer: Namer,
    scope: Scope,
    wanted: set[str] | None = None,
    ranks: dict[str, int] | None = None,
) -> Filled:
    """Fill ``template`` (see the module docstring).

    ``bindings`` maps primal parameters to atoms, ``special`` maps ``result``/``g`` (and
    forward tangents ``dx``) to atoms; ``wanted`` restricts the outputs to compute.
    """
    body = copy.deepcopy(template.body)
    activity = _Activity(template, _active_params(template, wanted, special))
    body = [activity.visit(stmt) for stmt in body]
    mapping: dict[str, ast.expr] = {**bindings, **special}
    outputs: dict[str, str] = {}
    assigned: list[str] = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.append(node.id)
    for name in dict.fromkeys(assigned):
        if name in mapping:
            continue
        fresh = namer.fresh(name)
        mapping[name] = ast.Name(id=fresh, ctx=ast.Load())
        if name.startswith("d") and name[1:] in template.outputs:
            outputs[name[1:]] = fresh
        elif name == "dresult":
            outputs["result"] = fresh
    # globals of the rule module: np, helpers
    local_names = set(mapping) | set(template.signature.parameters)
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if (isinstance(node, ast.Name) and node.id not in local_names
                and node.id not in (ZERO, "static", "active")):
            if node.id in template.namespace:
                obj = template.namespace[node.id]
            elif hasattr(builtins, node.id):
                continue
            else:
                raise ADError(f"rule {template.func.__name__}: unknown name {node.id!r}")
            mapping[node.id] = ast.Name(id=scope.bind(node.id, obj), ctx=ast.Load())
            local_names.add(node.id)
    for param in template.signature.parameters:
        if param not in mapping:
            raise ADError(f"rule {template.func.__name__}: parameter {param!r} is unbound")
    body = [_Substitute(mapping).visit(stmt) for stmt in body]
    if ranks:
        body = [_KnownRanks(ranks).visit(stmt) for stmt in body]
    body = _decide_ifs(body)
    if wanted is not None:
        outputs = {k: v for k, v in outputs.items() if k in wanted or k == "result"}
    assigned_now = {
        t.id for s in ast.walk(ast.Module(body=body, type_ignores=[]))
        if isinstance(s, ast.Assign) for t in s.targets if isinstance(t, ast.Name)
    }
    outputs = {k: v for k, v in outputs.items() if v in assigned_now}
    reads = {
        n.id for s in body for n in ast.walk(s)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return Filled([ast.fix_missing_locations(s) for s in body], outputs, reads)
