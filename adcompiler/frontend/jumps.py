"""Before ANF: ``break``, ``continue``, loop ``else`` and ``return`` inside loops become flags.

The later stages know structured control flow only (``if``, ``for``, ``while``), which
is what the adjoint can reverse with a stack of branch decisions. Jumps are rewritten
into that grammar, source to source, so the generated code still reads like the
user's loop:

* ``continue`` sets a flag that guards the rest of the iteration;
* ``break`` sets a flag that guards the rest of the iteration and, for a ``while``,
  joins the loop's test (``while not broke and cond``); a ``for`` keeps running its
  remaining iterations as no-ops (``if not broke:``), so its trip count stays static;
* the loop's ``else`` runs under ``if not broke:``;
* ``return v`` inside a loop records ``v`` and breaks out of every enclosing loop; the
  function returns it right after the outermost one.

>>> import ast
>>> tree = ast.parse('''
... def f(x):
...     for i in range(3):
...         if x > 2.0:
...             break
...         x = x * 2.0
...     return x
... ''').body[0]
>>> print(ast.unparse(lower_jumps(tree)))
def f(x):
    broke = False
    for i in range(3):
        if not broke:
            if x > 2.0:
                broke = True
            if not broke:
                x = x * 2.0
    return x
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

__all__ = ["lower_jumps"]


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _set(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value)


def _not(name: str) -> ast.expr:
    return ast.UnaryOp(op=ast.Not(), operand=_name(name))


def _guard(test: ast.expr, body: list[ast.stmt]) -> ast.If:
    return ast.If(test=test, body=body, orelse=[])


def _any_flag(names: list[str]) -> ast.expr:
    if len(names) == 1:
        return _not(names[0])
    return ast.UnaryOp(op=ast.Not(), operand=ast.BoolOp(op=ast.Or(),
                                                        values=[_name(n) for n in names]))


def _contains(stmts: list[ast.stmt], kinds: tuple[type, ...], into_loops: bool) -> bool:
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(stmt, ast.For | ast.While) and not into_loops:
            # a nested loop's break/continue are its own; its returns leave us too
            if ast.Return in kinds and _contains(stmt.body + stmt.orelse, (ast.Return,),
                                                 True):
                return True
            continue
        for attr in ("body", "orelse"):
            if _contains(getattr(stmt, attr, []) or [], kinds, into_loops):
                return True
    return False


@dataclass
class _Names:
    """Collision-free flag names for one function."""

    taken: set[str]
    made: dict[str, int] = field(default_factory=dict)

    def fresh(self, base: str) -> str:
        count = self.made.get(base, 0)
        while True:
            name = base if count == 0 else f"{base}_{count}"
            count += 1
            if name not in self.taken:
                self.taken.add(name)
                self.made[base] = count
                return name


@dataclass
class _Loop:
    """The flags of the innermost loop being lowered."""

    broke: str | None = None
    skip: str | None = None
    used_break: bool = False
    used_continue: bool = False

    def flags(self) -> list[str]:
        """The flags set so far: the rest of the iteration runs only if none is."""
        return [n for n, used in ((self.broke, self.used_break),
                                  (self.skip, self.used_continue)) if used and n]


class _Lowering:
    def __init__(self, node: ast.FunctionDef) -> None:
        taken = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        taken |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
        self.names = _Names(taken)
        self.returned: str | None = None
        self.value: str | None = None

    # -- blocks inside a loop ---------------------------------------------------------
    def block(self, stmts: list[ast.stmt], loop: _Loop) -> tuple[list[ast.stmt], bool]:
        """Lower a block of a loop body; the flag says whether it may jump."""
        out: list[ast.stmt] = []
        for position, stmt in enumerate(stmts):
            jumped = False
            if isinstance(stmt, ast.Break):
                loop.used_break = True
                out.append(ast.copy_location(_set(loop.broke, ast.Constant(True)), stmt))
                return out, True  # the rest of the block never runs
            if isinstance(stmt, ast.Continue):
                loop.used_continue = True
                out.append(ast.copy_location(_set(loop.skip, ast.Constant(True)), stmt))
                return out, True
            if isinstance(stmt, ast.Return):
                out.extend(self.loop_return(stmt, loop))
                return out, True
            if isinstance(stmt, ast.If):
                body, jumps_body = self.block(stmt.body, loop)
                orelse, jumps_else = self.block(stmt.orelse, loop)
                new = ast.copy_location(ast.If(test=stmt.test, body=body or [ast.Pass()],
                                               orelse=orelse), stmt)
                out.append(new)
                jumped = jumps_body or jumps_else
            elif isinstance(stmt, ast.For | ast.While):
                inner_returns = _contains([stmt], (ast.Return,), False)
                out.extend(self.loop(stmt))
                if inner_returns:
                    # a return in the inner loop leaves this loop too
                    loop.used_break = True
                    out.append(ast.copy_location(_guard(_name(self.returned), [
                        _set(loop.broke, ast.Constant(True))]), stmt))
                    jumped = True
            else:
                out.append(stmt)
            if jumped:
                rest, _ = self.block(stmts[position + 1:], loop)
                if rest:
                    flags = loop.flags()
                    out.append(ast.copy_location(_guard(_any_flag(flags), rest),
                                                 stmts[position + 1]))
                return out, True
        return out, False

    def loop_return(self, stmt: ast.Return, loop: _Loop) -> list[ast.stmt]:
        if self.returned is None:
            self.returned = self.names.fresh("returned")
            self.value = self.names.fresh("returned_value")
        assert self.value is not None
        loop.used_break = True
        value = stmt.value if stmt.value is not None else ast.Constant(None)
        return [ast.copy_location(s, stmt) for s in (
            _set(self.value, value), _set(self.returned, ast.Constant(True)),
            _set(loop.broke, ast.Constant(True)))]

    def loop(self, stmt: ast.For | ast.While) -> list[ast.stmt]:
        has_jump = _contains(stmt.body, (ast.Break, ast.Continue, ast.Return), False)
        if not has_jump and not stmt.orelse:
            stmt.body = self.function_block(stmt.body)
            return [stmt]
        loop = _Loop(broke=self.names.fresh("broke"), skip=self.names.fresh("skip"))
        body, _ = self.block(stmt.body, loop)
        if loop.used_continue:
            body = [ast.copy_location(_set(loop.skip, ast.Constant(False)), stmt), *body]
        before: list[ast.stmt] = []
        if loop.used_break:
            before.append(ast.copy_location(_set(loop.broke, ast.Constant(False)), stmt))
            if isinstance(stmt, ast.For):
                body = [ast.copy_location(_guard(_not(loop.broke), body), stmt)]
            else:
                stmt.test = ast.BoolOp(op=ast.And(), values=[_not(loop.broke), stmt.test])
        stmt.body = body or [ast.Pass()]
        after: list[ast.stmt] = []
        if stmt.orelse:
            orelse = self.function_block(stmt.orelse)
            after = ([ast.copy_location(_guard(_not(loop.broke), orelse), stmt.orelse[0])]
                     if loop.used_break else orelse)
            stmt.orelse = []
        return [*before, stmt, *after]

    # -- blocks outside any loop's own jumps -------------------------------------------
    def function_block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        """Lower the loops of a block that is not itself a jumping loop body: the function
        body, a loop body without jumps, a loop's ``else``. After a loop that returned,
        return; inside an outer loop that ``return`` is refused later, never lost."""
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ast.For | ast.While):
                returns = _contains([stmt], (ast.Return,), False)
                endless = isinstance(stmt, ast.While) and isinstance(
                    stmt.test, ast.Constant) and bool(stmt.test.value)
                out.extend(self.loop(stmt))
                if returns:
                    assert self.returned is not None and self.value is not None
                    leave = ast.copy_location(ast.Return(value=_name(self.value)), stmt)
                    # ``while True`` is left only by its returns: nothing follows it
                    out.append(leave if endless else ast.copy_location(
                        _guard(_name(self.returned), [leave]), stmt))
                    if endless:
                        break
            elif isinstance(stmt, ast.If):
                stmt.body = self.function_block(stmt.body)
                stmt.orelse = self.function_block(stmt.orelse)
                out.append(stmt)
            else:
                out.append(stmt)
        return out


def lower_jumps(node: ast.FunctionDef) -> ast.FunctionDef:
    """A copy of ``node`` whose loops have no ``break``, ``continue``, ``else`` or
    ``return`` (see the module docstring); ``node`` itself is left as it is."""
    loops = [n for n in ast.walk(node) if isinstance(n, ast.For | ast.While)]
    if not any(n.orelse or _contains(n.body, (ast.Break, ast.Continue, ast.Return), True)
               for n in loops):
        return node
    node = copy.deepcopy(node)
    lowering = _Lowering(node)
    body = lowering.function_block(node.body)
    if lowering.returned is not None:
        assert lowering.value is not None
        first = node.body[0]
        body = [ast.copy_location(_set(lowering.returned, ast.Constant(False)), first),
                ast.copy_location(_set(lowering.value, ast.Constant(None)), first), *body]
    node.body = body
    return ast.fix_missing_locations(node)
