"""Stage 3: one primitive operation per statement (A-normal form), with SSA names.

The grammar this stage guarantees (``atom`` is a ``Name`` or a ``Constant``)::

    stmt   := name = expr                        one operation, single target
            | name = name[index] = atom          (as ast: Assign to Subscript) index update
            | expr_stmt(call)                    a call kept for its side effect
            | if atom: stmt* else: stmt*
            | for name in atom: stmt*            atom is always a range object
            | while atom: stmt*                  the test is recomputed at the body's end
            | return atom                        exactly one, the last top-level statement
            | raise ... | assert ...             primal only, kept verbatim
    expr   := atom | atom OP atom | UOP atom | atom CMP atom
            | callee(atom*, *atom, key=atom*)    callee: a static dotted name or atom.method
            | atom[index] | atom.attr
            | (atom, ...) | [atom, ...] | {const: atom, ...}
    index  := atom | slice(atom?, atom?, atom?) | None | ... | (index, ...)

Outside loops every assignment creates a new name (``x``, ``x_1``, ``x_2``; SSA), so
straight-line code never overwrites a value the adjoint might need and needs no stack.
At the end of an ``if`` the branches agree on one name per variable (a copy in the
branch that did not assign it). Inside a loop a variable keeps one name for the whole
loop; the reverse transform saves what it needs on stacks.

Control flow is made structured first: an ``if`` whose branch returns takes the rest of
the block into its other branch, so the function has a single exit; ``for`` over any
sequence becomes ``for i in range(len(s))`` with ``item = s[i]`` (which also gives the
adjoint the index it needs). Before all this, ``jumps.lower_jumps`` has turned
``break``, ``continue``, loop ``else`` and ``return`` inside loops into flags.

>>> import textwrap, ast
>>> from adcompiler.frontend.parse import parse_function
>>> def f(x):
...     y = x * 2
...     y = y + 1
...     return np.sin(y) * y
>>> import numpy as np; f.__globals__["np"] = np
>>> print(ast.unparse(normalize(parse_function(f)).body_module()))
y = x * 2
y_1 = y + 1
sin_y_1 = np.sin(y_1)
t1 = sin_y_1 * y_1
result = t1
return result
"""

from __future__ import annotations

import ast
import builtins
import collections
import copy
import dataclasses
import inspect
import math
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UnsupportedSyntaxError
from ..naming import Namer
from .inline import (
    Inlinable,
    bind_call,
    local_names,
    rename,
    returns_to_assignments,
    single_exit,
    terminates,
)
from .jumps import lower_jumps
from .parse import UNRESOLVED, ParsedFunction, parse_function

__all__ = ["AnfFunction", "normalize"]

# expressions a later stage may refuse, quoting them (see ``_Normalizer.expr``)
_QUOTED = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute, ast.Subscript, ast.Compare,
           ast.BoolOp)

RETURN = "<return>"

_BINOP_HINT = {ast.Add: "t", ast.Sub: "t", ast.Mult: "t", ast.Div: "t", ast.Pow: "t"}
_ALLOCATING_NAMES = {
    "sum", "mean", "prod", "dot", "matmul", "zeros", "ones", "full", "array", "copy",
    "zeros_like", "ones_like", "full_like", "empty_like", "concatenate", "stack", "vstack",
    "hstack", "einsum", "outer", "inner", "tensordot", "where", "clip", "cumsum", "cumprod",
    "std", "var", "max", "min", "amax", "amin", "norm", "inv", "solve", "det", "eye",
    "arange", "linspace", "tile", "repeat", "diff", "pad", "float", "int", "abs", "len",
}


@dataclass
class AnfFunction:
    """A function in A-normal form, ready for analysis and transformation."""

    parsed: ParsedFunction
    name: str
    params: list[str]
    body: list[ast.stmt]
    namer: Namer
    loop_names: set[str] = field(default_factory=set)
    multi_def: set[str] = field(default_factory=set)
    result: str | ast.Constant | None = None
    # closure cells of inlined callees (a decorator's wrapper reads the function it
    # wraps from one), by the name the body reads them with: generated code gets them
    cells: dict[str, types.CellType] = field(default_factory=dict)

    def body_module(self) -> ast.Module:
        return ast.Module(body=self.body, type_ignores=[])


def _raises(stmts: list[ast.stmt]) -> bool:
    """Whether every path through ``stmts`` ends in ``raise`` (so it joins nothing)."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Raise):
        return True
    if isinstance(last, ast.If):
        return _raises(last.body) and _raises(last.orelse)
    return False


def _has_jump(stmts: list[ast.stmt]) -> bool:
    """Whether a loop body has a ``break``/``continue`` of its own (not a nested loop's)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Break | ast.Continue):
            return True
        if isinstance(stmt, ast.If) and (_has_jump(stmt.body) or _has_jump(stmt.orelse)):
            return True
    return False


def _assigned_names(stmts: list[ast.stmt], updates: bool = True) -> list[str]:
    """User variables a block assigns, in order of first assignment.

    With ``updates``, a name written into (``x[i] = v``) counts as assigned too.
    """
    names: dict[str, None] = {}
    for stmt in stmts:
        for node in _walk_scope(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names[node.id] = None
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                names[node.target.id] = None
            elif (updates and isinstance(node, ast.Subscript)
                  and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name)):
                names[node.value.id] = None
    return list(names)


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` that does not enter nested functions (their names are their own)."""
    todo = collections.deque([node])
    while todo:
        current = todo.popleft()
        yield current
        if current is not node and isinstance(current, ast.FunctionDef | ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(current))


def _indexes_by(stmts: list[ast.stmt], seq: str, item: str) -> bool:
    """Whether ``stmts`` read ``seq[item]``."""
    return any(isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
               and n.value.id == seq and isinstance(n.slice, ast.Name) and n.slice.id == item
               for stmt in stmts for n in ast.walk(stmt))


def _is_function_token(name: str | None) -> bool:
    """Whether an environment entry stands for a nested function, not a variable."""
    return name is not None and name.startswith("<")


CONDITIONAL_FUNCTION = "<conditional function>"
_VARARGS = inspect.CO_VARARGS


def _user_class(value: Any) -> bool:
    """A class defined in Python by the user (its instances' methods can be inlined)."""
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, type) and module != "builtins" and not module.startswith(
        ("numpy", "adcompiler"))


def _calls_on_self(method: types.FunctionType) -> bool:
    """Whether a method's code calls a method of its own ``self`` (a ``LOAD_ATTR`` or
    ``LOAD_METHOD`` on the first parameter, read from the source)."""
    code = method.__code__
    if not code.co_argcount:
        return False
    first = code.co_varnames[0]
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and isinstance(n.func.value, ast.Name) and n.func.value.id == first
               for n in ast.walk(tree))


def _object_classes(parsed: ParsedFunction, fdef: ast.FunctionDef | None = None
                   ) -> dict[str, type]:
    """Local variables that only ever hold instances made by ``SomeClass(...)`` here."""
    stores: dict[str, int] = {}
    made: dict[str, list[Any]] = {}
    for node in _walk_scope(fdef or parsed.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name | ast.Attribute)):
            root = node.value.func
            while isinstance(root, ast.Attribute):
                root = root.value
            made.setdefault(node.targets[0].id, []).append(
                (root, parsed.resolve_expr(node.value.func)))
    made = {var: [UNRESOLVED if isinstance(root, ast.Name) and root.id in stores else kind
                  for root, kind in kinds] for var, kinds in made.items()}
    return {var: kinds[0] for var, kinds in made.items()
            if len(kinds) == stores.get(var) and all(k is kinds[0] for k in kinds)
            and _user_class(kinds[0])}


_NOT_CONSTANT = object()


def _constant_value(node: ast.expr) -> Any:
    """The value of a numeric literal, a negated one, or a tuple of them."""
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (
            int, float, bool, str)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Tuple):
        values = tuple(_constant_value(e) for e in node.elts)
        return _NOT_CONSTANT if _NOT_CONSTANT in values else values
    return _NOT_CONSTANT


class _Rename(ast.NodeTransformer):
    """Rename variables (comprehension targets) throughout a subtree."""

    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id=self.renames.get(node.id, node.id), ctx=node.ctx)


def _slice_value(index: ast.expr) -> ast.expr:
    """An index as a value (``1:3`` is ``slice(1, 3)``), to pass it to ``__getitem__``."""
    if isinstance(index, ast.Slice):
        parts = [p if p is not None else ast.Constant(None)
                 for p in (index.lower, index.upper, index.step)]
        return ast.Call(func=ast.Name(id="slice", ctx=ast.Load()), args=parts, keywords=[])
    if isinstance(index, ast.Tuple):
        return ast.Tuple(elts=[_slice_value(e) for e in index.elts], ctx=ast.Load())
    return index


def _is_atom(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Constant)


class _Normalizer:
    def __init__(self, parsed: ParsedFunction) -> None:
        self.parsed = parsed
        reserved = {n.id for n in ast.walk(parsed.node) if isinstance(n, ast.Name)}
        reserved |= {a.arg for a in ast.walk(parsed.node) if isinstance(a, ast.arg)}
        reserved |= set(parsed.globals) | set(parsed.closure) | {"np", "numpy"}
        reserved |= set(dir(builtins))
        self.namer = Namer(reserved)
        self.params = parsed.params
        self.locals = set(self.params) | set(_assigned_names(parsed.node.body, updates=False))
        # user variable -> its current SSA name
        self.env: dict[str, str] = {p: p for p in self.params}
        self.defined: set[str] = set(self.params)
        self.fresh: dict[str, bool] = dict.fromkeys(self.params, False)
        self.blocks: list[list[ast.stmt]] = [[]]
        self.loop_depth = 0
        self.loop_names: set[str] = set()
        self.def_counts: dict[str, int] = {}
        self.current: ast.stmt = parsed.node
        self.first_use: set[str] = set(self.params)
        # nested defs and lambdas: their names are locals whose environment entry is a
        # token for the function (see frontend/inline.py)
        self.locals |= {n.name for n in _walk_scope(parsed.node)
                        if isinstance(n, ast.FunctionDef) and n is not parsed.node}
        self.functions: dict[str, Inlinable] = {}
        self.inlining: list[Inlinable] = []
        self.displays: dict[str, int] = {}  # name -> length of the tuple/list it holds
        self.maybe_unbound: set[str] = set()  # names only a loop assigns
        self.ints: set[str] = set()  # indices of range loops
        self.unbound_inits: set[str] = set()  # of those, names bound to None up front
        self.keyword_displays: dict[str, list[str]] = {}  # name -> keys of its dict display
        self.cells: dict[str, types.CellType] = {}
        self.classes: dict[str, type] = _object_classes(parsed)

    # -- emitting ---------------------------------------------------------------------
    def error(self, what: str, node: ast.AST | None = None) -> UnsupportedSyntaxError:
        return UnsupportedSyntaxError(
            f"unsupported syntax in {self.parsed.name!r}: {what}",
            self.parsed.location(node or self.current),
        )

    def emit(self, stmt: ast.stmt) -> None:
        ast.copy_location(stmt, self.current)
        ast.fix_missing_locations(stmt)
        self.blocks[-1].append(stmt)

    def note_def(self, name: str) -> None:
        self.def_counts[name] = self.def_counts.get(name, 0) + 1
        if self.loop_depth:
            self.loop_names.add(name)

    def assign(self, name: str, value: ast.expr) -> None:
        reads_itself = any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(value))
        if self.loop_depth and reads_itself and not _is_atom(value):
            # the adjoint may need the old value: keep it alive under its own name
            value = self.temp(value, self.hint(value))
        self.note_def(name)
        self.displays.pop(name, None)
        self.keyword_displays.pop(name, None)
        if (isinstance(value, ast.Tuple | ast.List) and not self.loop_depth
                and not any(isinstance(e, ast.Starred) for e in value.elts)):
            self.displays[name] = len(value.elts)
        if isinstance(value, ast.Dict) and not self.loop_depth and all(
                isinstance(k, ast.Constant) and isinstance(k.value, str)
                and k.value.isidentifier() for k in value.keys):
            self.keyword_displays[name] = [k.value for k in value.keys]  # type: ignore
        self.emit(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value))

    def temp(self, value: ast.expr, hint: str = "t") -> ast.Name:
        name = self.namer.fresh(hint)
        self.assign(name, value)
        return ast.Name(id=name, ctx=ast.Load())

    def new_version(self, var: str) -> str:
        """The name the next assignment to user variable ``var`` writes."""
        if self.loop_depth and var in self.env:
            return self.env[var]
        if var == RETURN:
            return self.namer.fresh("result")
        if var not in self.first_use:
            self.first_use.add(var)
            return var
        return self.namer.fresh(var)

    def bind(self, var: str, value: ast.expr, fresh: bool) -> None:
        name = self.new_version(var)
        self.assign(name, value)
        self.env[var] = name
        self.defined.add(var)
        self.fresh[name] = fresh

    # -- expressions --------------------------------------------------------------------
    def load(self, var: str, node: ast.AST) -> ast.Name:
        if var in self.locals:
            if var not in self.env:
                raise UnsupportedSyntaxError(
                    f"variable {var!r} may be used before it is assigned in "
                    f"{self.parsed.name!r}: a path reaches this line without assigning it. "
                    f"Assign it on every path first (for example '{var} = 0.0' before the "
                    "if or loop that sets it)",
                    self.parsed.location(node),
                )
            if _is_function_token(self.env[var]):
                raise self.error(
                    f"the nested function {var!r} used as a value (nested defs and "
                    "lambdas are inlined where they are called, so they can only be "
                    "called; to pass a function around, define it at module level)", node)
            return ast.Name(id=self.env[var], ctx=ast.Load())
        return ast.Name(id=var, ctx=ast.Load())

    def atom(self, node: ast.expr, hint: str | None = None) -> ast.expr:
        if isinstance(node, ast.Constant):
            return node
        folded = _constant_value(node)
        if folded is not _NOT_CONSTANT and not isinstance(folded, tuple):
            return ast.Constant(folded)  # ``-1`` stays a literal
        if isinstance(node, ast.Name):
            return self.load(node.id, node)
        if self.is_static(node):
            return node
        value = self.expr(node)
        if _is_atom(value):
            return value
        return self.temp(value, hint or self.hint(value))

    def is_static(self, node: ast.expr) -> bool:
        """A dotted global such as ``np.pi`` or ``np.newaxis``: keep it inline."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id not in self.locals:
                return isinstance(self.parsed.resolve_expr(node.value), types.ModuleType)
        return False

    def hint(self, value: ast.expr) -> str:
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            index = value.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                return f"{value.value.id}{index.value}" if index.value >= 0 else "t"
            return "t"
        if isinstance(value, ast.Call):
            func = value.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "t")
            args = value.args
            if len(args) == 1 and isinstance(args[0], ast.Name) and len(args[0].id) <= 3:
                return f"{fname}_{args[0].id}"
            return fname
        if isinstance(value, ast.Attribute) and value.attr == "T":
            return f"{getattr(value.value, 'id', 't')}T"
        return "t"

    def expr(self, node: ast.expr) -> ast.expr:
        """Normalize one level: the result's operands are atoms.

        The result remembers the user's expression as ``ad_origin``, so a later stage
        that refuses it quotes the user's code, not the temporaries (``errors.user_code``).
        """
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.error(f"the expression {ast.unparse(node)!r} ({type(node).__name__})",
                             node)
        result = method(node)
        if isinstance(result, _QUOTED) and result is not node and (
                getattr(node, "end_col_offset", None) is not None) and not hasattr(
                result, "ad_origin"):
            result.ad_origin = getattr(node, "ad_origin", node)  # type: ignore[attr-defined]
        return result

    def expr_Constant(self, node: ast.Constant) -> ast.expr:
        return node

    def expr_Name(self, node: ast.Name) -> ast.expr:
        return self.load(node.id, node)

    def expr_BinOp(self, node: ast.BinOp) -> ast.expr:
        return ast.BinOp(left=self.atom(node.left), op=node.op, right=self.atom(node.right))

    def expr_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        operand = self.atom(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return ast.UnaryOp(op=node.op, operand=operand)

    def expr_Compare(self, node: ast.Compare) -> ast.expr:
        if len(node.ops) == 1:
            return ast.Compare(
                left=self.atom(node.left), ops=node.ops,
                comparators=[self.atom(node.comparators[0])],
            )
        # a < b < c: short-circuit chain, b evaluated once
        result = self.namer.fresh("cond")
        left = self.atom(node.left)
        pairs = list(zip(node.ops, node.comparators, strict=True))
        self.lower_chain(result, left, pairs)
        return ast.Name(id=result, ctx=ast.Load())

    def lower_chain(self, result: str, left: ast.expr, pairs: list) -> None:
        op, comparator = pairs[0]
        right = self.atom(comparator)
        self.assign(result, ast.Compare(left=left, ops=[op], comparators=[right]))
        if len(pairs) > 1:
            test = ast.Name(id=result, ctx=ast.Load())
            body = self.block(lambda: self.lower_chain(result, right, pairs[1:]))
            self.emit(ast.If(test=test, body=body, orelse=[]))

    def expr_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        result = self.namer.fresh("cond")
        self.lower_boolop(result, node.op, node.values)
        return ast.Name(id=result, ctx=ast.Load())

    def lower_boolop(self, result: str, op: ast.boolop, values: list[ast.expr]) -> None:
        self.assign(result, self.atom(values[0]))
        if len(values) == 1:
            return
        test = ast.Name(id=result, ctx=ast.Load())
        body = self.block(lambda: self.lower_boolop(result, op, values[1:]))
        if isinstance(op, ast.And):
            self.emit(ast.If(test=test, body=body, orelse=[]))
        else:
            self.emit(ast.If(test=test, body=[ast.Pass()], orelse=body))

    def expr_IfExp(self, node: ast.IfExp) -> ast.expr:
        test = self.atom(node.test)
        if isinstance(test, ast.Constant):  # decided now: only the branch taken is code
            return self.expr(node.body if test.value else node.orelse)
        result = self.namer.fresh("t")
        body = self.block(lambda: self.assign(result, self.atom(node.body)))
        orelse = self.block(lambda: self.assign(result, self.atom(node.orelse)))
        self.emit(ast.If(test=test, body=body, orelse=orelse))
        return ast.Name(id=result, ctx=ast.Load())

    def expr_Call(self, node: ast.Call) -> ast.expr:
        inlined = self.inline_call(node)
        if inlined is not None:
            return inlined
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.locals:
            func = self.load(func.id, func)
        elif isinstance(func, ast.Attribute) and not self.is_static(func):
            func = ast.Attribute(value=self.atom(func.value), attr=func.attr, ctx=ast.Load())
        elif not isinstance(func, ast.Name | ast.Attribute):
            func = self.atom(func, "fn")
        args = self.positional(node.args, strict=False)
        keywords = [ast.keyword(arg=k, value=v) for k, v in self.keywords(node, False)]
        return ast.Call(func=func, args=args, keywords=keywords)

    def keywords(self, call: ast.Call, strict: bool) -> list[tuple[str | None, ast.expr]]:
        """A call's keyword atoms; ``**kwargs`` of a dict display with known keys (the
        ``**kwargs`` an inlined wrapper received) becomes one keyword per key. With
        ``strict``, any other ``**arg`` is refused, else it stays as it is."""
        out: list[tuple[str | None, ast.expr]] = []
        for keyword in call.keywords:
            if keyword.arg is not None:
                out.append((keyword.arg, self.argument(keyword.value)))
                continue
            mapping = self.atom(keyword.value)
            keys = (self.keyword_displays.get(mapping.id)
                    if isinstance(mapping, ast.Name) else None)
            if keys is not None:
                out += [(key, self.temp(ast.Subscript(value=mapping, slice=ast.Constant(key),
                                                      ctx=ast.Load()), key)) for key in keys]
            elif strict:
                raise self.error(f"**{ast.unparse(keyword.value)} in the call "
                                 f"{ast.unparse(call)!r}, which is inlined: only a dict of "
                                 "known keys can be unpacked into it", call)
            else:
                out.append((None, mapping))
        return out

    def positional(self, nodes: list[ast.expr], strict: bool) -> list[ast.expr]:
        """A call's positional atoms; ``*parts`` of a tuple or list display of known length
        becomes its items (``parts[0], parts[1]``). With ``strict``, any other ``*arg``
        is refused, else it stays starred."""
        args: list[ast.expr] = []
        for arg in nodes:
            if not isinstance(arg, ast.Starred):
                args.append(self.argument(arg))
                continue
            if isinstance(arg.value, ast.Tuple | ast.List) and not any(
                    isinstance(e, ast.Starred) for e in arg.value.elts):
                args += [self.argument(e) for e in arg.value.elts]
                continue
            seq = self.atom(arg.value)
            count = self.displays.get(seq.id) if isinstance(seq, ast.Name) else None
            if count is not None:
                args += [self.temp(ast.Subscript(value=seq, slice=ast.Constant(i),
                                                 ctx=ast.Load()), f"{seq.id}{i}")
                         for i in range(count)]
            elif strict:
                raise self.error(f"the argument {ast.unparse(arg)!r}: only a tuple or list "
                                 "display of known length can be unpacked into a call "
                                 "that is inlined", arg)
            else:
                args.append(ast.Starred(value=seq, ctx=ast.Load()))
        return args

    # -- inlined calls (frontend/inline.py) ---------------------------------------------
    def inline_call(self, node: ast.Call) -> ast.expr | None:
        """The result of ``node`` inlined, or None if it is an ordinary call."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.locals:
            token = self.env.get(func.id)
            if token == CONDITIONAL_FUNCTION:
                raise self.error(f"a call to the nested function {func.id!r}, which the "
                                 "branches of an if define differently (define it once, "
                                 "before the if)", node)
            if not _is_function_token(token):
                return None
            return self.inline(self.functions[token], node)  # type: ignore[index]
        if isinstance(func, ast.Attribute) and not self.is_static(func):
            return self.inline_method(node, func)
        if not isinstance(func, ast.Name | ast.Attribute):
            return None
        callee = self.parsed.resolve_expr(func)
        if isinstance(callee, types.FunctionType) and (
                callee.__code__.co_flags & _VARARGS or callee.__name__ == "<lambda>"):
            if self.has_rule(callee):
                return None
            return self.inline(self.foreign(callee, node), node)
        return None

    @staticmethod
    def has_rule(callee: Any) -> bool:
        """A user rule or a checkpoint wrapper: the transform calls it as it is."""
        from ..rules import registry

        return registry.rule_for(callee) is not None or hasattr(callee, "__ad_checkpoint__")

    def inline_method(self, node: ast.Call, func: ast.Attribute) -> ast.expr | None:
        """``obj.method(...)`` with ``obj``'s class known here: the method body, inlined
        with ``self`` bound to ``obj``. A module-level object's methods are transformed as
        callees unless they call methods on ``self`` (which only inlining resolves)."""
        receiver = func.value
        if not isinstance(receiver, ast.Name):
            return None
        local = receiver.id in self.locals
        if local:
            cls = self.classes.get(receiver.id)
        else:
            obj = self.parsed.resolve(receiver.id)
            cls = type(obj) if obj is not UNRESOLVED and _user_class(type(obj)) else None
            if cls is not None and func.attr in getattr(obj, "__dict__", {}):
                return None  # an attribute of the instance, not a method
        if cls is None:
            return None
        method = inspect.getattr_static(cls, func.attr, None)
        if not isinstance(method, types.FunctionType) or self.has_rule(method):
            return None
        if not local and not (method.__code__.co_flags & _VARARGS or _calls_on_self(method)):
            return None
        target = self.foreign(method, node)
        return self.inline(target, node, receiver=(self.load(receiver.id, receiver), cls))

    def foreign(self, func: types.FunctionType, call: ast.Call) -> Inlinable:
        """A module-level function or method, made ready for inlining here, or a clear
        refusal when its body would not mean the same thing in this function."""
        what = f"the call to {func.__qualname__!r}"
        parsed = parse_function(func)
        from .validate import validate

        validate(parsed)
        args = parsed.node.args
        own = local_names(parsed.node)
        # closure variables (a decorator's wrapper reads the function it wraps from one)
        # are read from the callee's own cells, under names of their own here
        free: dict[str, str] = {}
        for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (),
                              strict=True):
            if name in own:
                continue
            free[name] = self.namer.fresh(f"{func.__name__}_{name}")
            self.cells[free[name]] = cell
            self.parsed.closure[free[name]] = cell
        for name in sorted({n.id for n in ast.walk(parsed.node) if isinstance(n, ast.Name)}
                           - own - set(free)):
            here = UNRESOLVED if name in self.locals else self.parsed.resolve(name)
            # another module's data (a float, an array) may be rebound there later, and
            # the inlined code would go on reading this module's binding
            data = func.__globals__ is not self.parsed.globals and not isinstance(
                here, types.ModuleType | types.FunctionType | types.BuiltinFunctionType
                | type | np.ufunc)
            if here is not parsed.resolve(name) or name in self.locals or data:
                raise self.error(
                    f"{what}: it is a lambda, takes *args or is a method calling methods "
                    f"of self, so it is inlined here, but the name {name!r} it reads means "
                    "something else "
                    f"in {self.parsed.name!r} (import it under the same name, or give "
                    "the function fixed parameters)", call)
        # its body is copied in here: a rebinding it depends on (or a new __code__)
        # must rebuild this function too
        self.parsed.guards.extend(parsed.guards)
        self.parsed.guards.append((func, "__code__", func.__code__))
        for name in {n.id for n in ast.walk(parsed.node) if isinstance(n, ast.Name)} | own:
            self.namer.reserve(name)
        defaults: dict[str, ast.expr] = {}
        named = [a.arg for a in args.posonlyargs + args.args]
        values = dict(zip(named[len(named) - len(func.__defaults__ or ()):],
                          func.__defaults__ or (), strict=True))
        values.update(func.__kwdefaults__ or {})
        for name, value in values.items():
            if value is not None and type(value) not in (int, float, bool, str):
                raise self.error(f"{what}: the default of its parameter {name!r} is not a "
                                 "number, string or None; pass it explicitly", call)
            defaults[name] = ast.Constant(value)
        return Inlinable(node=parsed.node, label=func.__name__, defaults=defaults,
                         foreign=func, free=free)

    def inline(self, target: Inlinable, call: ast.Call,
               receiver: tuple[ast.expr, type] | None = None) -> ast.expr:
        """Bind the arguments, normalize the renamed body in place, return its result."""
        if any(active.node is target.node for active in self.inlining):
            raise self.error(f"a recursive call to {target.label!r}, which is inlined "
                             "(a nested def, a lambda, a function taking *args or a "
                             "method called on self): recursion cannot be inlined; define "
                             "it at module level with fixed parameters", call)
        statement = self.current
        positional = self.positional(call.args, strict=True)
        if receiver is not None:
            positional.insert(0, receiver[0])
        keywords: dict[str, ast.expr] = {}
        for key, value in self.keywords(call, strict=True):
            assert key is not None
            if key in keywords:
                raise self.error(f"the call {ast.unparse(call)!r}: {target.label}() got "
                                 f"multiple values for keyword argument {key!r}", call)
            keywords[key] = value
        try:
            binding = bind_call(target.node.args, positional, keywords, target.defaults,
                                lambda items: ast.Tuple(elts=items, ctx=ast.Load()))
        except TypeError as exc:
            raise self.error(f"the call {ast.unparse(call)!r}: {target.label}() {exc}",
                             call) from None
        body = returns_to_assignments(target.node, "<result>")
        holder = ast.FunctionDef(name=target.node.name, args=target.node.args, body=body,
                                 decorator_list=[], returns=None, type_comment=None)
        renames = {name: self.namer.fresh(name) for name in sorted(local_names(holder))}
        renames.update(target.free)
        renames["<result>"] = self.namer.fresh(f"{target.label}_result")
        self.locals |= set(renames.values()) - set(target.free.values())
        body = rename(body, renames)
        holder.body = body
        self.classes.update(_object_classes(self.parsed, holder))
        shim_of = getattr(self.parsed.func, "__ad_calls__", None)
        if target.foreign is not None and target.foreign is not shim_of:
            # its lines are in another file: use the call's (a call shim's wrapper
            # keeps its own: the shim stands at the wrapper's def, in the same file)
            for stmt in body:
                for node in ast.walk(stmt):
                    if hasattr(node, "lineno"):
                        ast.copy_location(node, statement)
        assigned = set(_assigned_names(body))
        for position, (param, value) in enumerate(binding):
            if isinstance(value, ast.Name) and renames[param] not in assigned:
                # a parameter the body never writes is another name for the argument
                self.env[renames[param]] = value.id
                self.defined.add(renames[param])
            else:
                self.bind(renames[param], value, fresh=False)
            if receiver is not None and position == 0:
                self.classes[renames[param]] = receiver[1]
        self.inlining.append(target)
        try:
            self.statements(body)
        finally:
            self.inlining.pop()
            self.current = statement
        return self.load(renames["<result>"], call)

    def define_function(self, var: str, fdef: ast.FunctionDef) -> None:
        """``def var(...)`` or ``var = lambda ...``: its defaults are evaluated now."""
        if fdef.args.kwarg is not None:
            raise self.error(f"the nested function {var!r} takes **{fdef.args.kwarg.arg} "
                             "(give it named parameters)", fdef)
        args = fdef.args
        named = [a.arg for a in args.posonlyargs + args.args]
        defaults = {name: self.argument(value) for name, value in zip(
            named[len(named) - len(args.defaults):], args.defaults, strict=True)}
        defaults.update({a.arg: self.argument(value) for a, value in zip(
            args.kwonlyargs, args.kw_defaults, strict=True) if value is not None})
        token = f"<function {len(self.functions)}>"
        self.functions[token] = Inlinable(node=fdef, label=var, defaults=defaults)
        self.env[var] = token
        self.defined.add(var)

    def argument(self, node: ast.expr) -> ast.expr:
        """A call argument: literal tuples such as ``axis=(0, 1)`` stay inline, so rules
        can decide on them when they are filled."""
        folded = _constant_value(node)
        if isinstance(folded, tuple):
            return ast.Constant(folded)
        return self.atom(node)

    def index(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Slice):
            return ast.Slice(
                lower=self.atom(node.lower) if node.lower else None,
                upper=self.atom(node.upper) if node.upper else None,
                step=self.atom(node.step) if node.step else None,
            )
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self.index(e) for e in node.elts], ctx=ast.Load())
        return self.atom(node)

    def expr_Subscript(self, node: ast.Subscript) -> ast.expr:
        if self.python_getitem(node.value):
            # ``table[k]`` of a user object: a call of its ``__getitem__``, differentiated
            # (or inlined) like any method, not indexing whose index carries no derivative
            method = ast.Attribute(value=node.value, attr="__getitem__", ctx=ast.Load())
            call = ast.Call(func=method, args=[_slice_value(node.slice)], keywords=[])
            return self.expr(ast.fix_missing_locations(ast.copy_location(call, node)))
        value = self.atom(node.value)
        return ast.Subscript(value=value, slice=self.index(node.slice), ctx=ast.Load())

    def python_getitem(self, base: ast.expr) -> bool:
        """Whether ``base`` is an instance of a user class whose ``__getitem__`` is Python
        (a local made by ``SomeClass(...)`` here, or a module-level object)."""
        if not isinstance(base, ast.Name):
            return False
        if base.id in self.locals:
            cls = self.classes.get(base.id)
        else:
            obj = self.parsed.resolve(base.id)
            cls = type(obj) if obj is not UNRESOLVED and _user_class(type(obj)) else None
        return cls is not None and isinstance(inspect.getattr_static(cls, "__getitem__", None),
                                              types.FunctionType)

    def expr_Attribute(self, node: ast.Attribute) -> ast.expr:
        if self.is_static(node):
            return node
        return ast.Attribute(value=self.atom(node.value), attr=node.attr, ctx=ast.Load())

    def expr_Tuple(self, node: ast.Tuple) -> ast.expr:
        return ast.Tuple(elts=[self.atom(e) for e in node.elts], ctx=ast.Load())

    def expr_List(self, node: ast.List) -> ast.expr:
        return ast.List(elts=[self.element(e) for e in node.elts], ctx=ast.Load())

    def element(self, node: ast.expr) -> ast.expr:
        """An atom, or ``*atom`` inside a list display (``[*out, item]`` from append)."""
        if isinstance(node, ast.Starred):
            return ast.Starred(value=self.atom(node.value), ctx=ast.Load())
        return self.atom(node)

    def expr_Dict(self, node: ast.Dict) -> ast.expr:
        if any(k is None for k in node.keys):
            raise self.error("dict unpacking with ** in a literal", node)
        keys = [self.atom(k) for k in node.keys]  # type: ignore[arg-type]
        return ast.Dict(keys=keys, values=[self.atom(v) for v in node.values])

    def expr_JoinedStr(self, node: ast.JoinedStr) -> ast.expr:
        values: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                part = ast.FormattedValue(
                    value=self.atom(part.value), conversion=part.conversion,
                    format_spec=part.format_spec,
                )
            values.append(part)
        return ast.JoinedStr(values=values)

    def expr_Lambda(self, node: ast.Lambda) -> ast.expr:
        raise self.error("a lambda that is not assigned to a name (only `name = lambda "
                         "...` is supported, and its calls are inlined; or define the "
                         "function with def at module level)", node)

    def expr_ListComp(self, node: ast.ListComp | ast.GeneratorExp) -> ast.expr:
        """``[e for x in s if c]`` is the loop ``acc = []; for x in s: if c: acc.append(e)``.

        The comprehension's own variables get fresh names, so, as in Python, they never
        overwrite a variable of the function with the same name.
        """
        renames: dict[str, str] = {}
        for generator in node.generators:
            if generator.is_async:
                raise self.error("an async comprehension", node)
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    renames[target.id] = self.namer.fresh(target.id)
        comprehension = _Rename(renames).visit(copy.deepcopy(node))
        self.locals |= set(renames.values())
        acc = self.namer.fresh("items")
        self.locals.add(acc)
        statement = self.current
        self.stmt_Assign(ast.copy_location(ast.Assign(
            targets=[ast.Name(id=acc, ctx=ast.Store())], value=ast.List(elts=[], ctx=ast.Load())
        ), statement))
        body: list[ast.stmt] = [ast.Expr(value=ast.Call(
            func=ast.Attribute(value=ast.Name(id=acc, ctx=ast.Load()), attr="append",
                               ctx=ast.Load()),
            args=[comprehension.elt], keywords=[]))]
        for generator in reversed(comprehension.generators):
            for condition in reversed(generator.ifs):
                body = [ast.If(test=condition, body=body, orelse=[])]
            body = [ast.For(target=generator.target, iter=generator.iter, body=body, orelse=[])]
        loop = body[0]
        for child in ast.walk(loop):
            ast.copy_location(child, statement)
        self.statements([loop])
        self.current = statement
        return self.load(acc, node)

    expr_GeneratorExp = expr_ListComp

    def expr_DictComp(self, node: ast.DictComp) -> ast.expr:
        raise self.error("a dict comprehension (build the dict with a for loop)", node)

    expr_SetComp = expr_DictComp

    # -- statements ---------------------------------------------------------------------
    def block(self, fill: Any) -> list[ast.stmt]:
        self.blocks.append([])
        fill()
        stmts = self.blocks.pop()
        return stmts or [ast.Pass()]

    def statements(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.current = stmt
            method = getattr(self, "stmt_" + type(stmt).__name__, None)
            if method is None:
                raise self.error(f"the statement {type(stmt).__name__}", stmt)
            method(stmt)

    def stmt_Pass(self, stmt: ast.Pass) -> None:
        pass

    def stmt_Expr(self, stmt: ast.Expr) -> None:
        if isinstance(stmt.value, ast.Constant):
            return  # docstring or bare constant
        appended = self.local_append(stmt.value)
        if appended is not None:
            # ``out.append(v)`` on a local list is ``out = [*out, v]``: a new list, so the
            # adjoint sees an ordinary assignment and saved values are never mutated later
            name, item = appended
            rebuilt = ast.List(elts=[ast.Starred(value=ast.Name(id=name, ctx=ast.Load()),
                                                 ctx=ast.Load()), item], ctx=ast.Load())
            self.stmt_Assign(ast.copy_location(
                ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=rebuilt), stmt))
            return
        value = self.expr(stmt.value)
        if isinstance(value, ast.Call):
            self.emit(ast.Expr(value=value))

    def local_append(self, node: ast.expr) -> tuple[str, ast.expr] | None:
        """``(name, item)`` for ``name.append(item)`` on a local variable, else None."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append" and isinstance(node.func.value, ast.Name)
                and node.func.value.id in self.locals and node.func.value.id not in self.params
                and len(node.args) == 1 and not node.keywords
                and not isinstance(node.args[0], ast.Starred)):
            return None
        return node.func.value.id, node.args[0]

    def stmt_Assign(self, stmt: ast.Assign) -> None:
        if len(stmt.targets) == 1 and self.side_effect(stmt):
            return
        target = stmt.targets[0]
        if len(stmt.targets) > 1:
            value = self.atom(stmt.value)
            for target in stmt.targets:
                self.assign_to(target, value, fresh=False)
            return
        if isinstance(target, ast.Tuple | ast.List) and isinstance(
            stmt.value, ast.Tuple | ast.List
        ) and len(target.elts) == len(stmt.value.elts):
            values = [self.atom(v) for v in stmt.value.elts]
            for elt, value in zip(target.elts, values, strict=True):
                self.assign_to(elt, value, fresh=False)
            return
        if isinstance(target, ast.Name) and isinstance(stmt.value, ast.Lambda):
            lam = stmt.value
            body = ast.copy_location(ast.Return(value=lam.body), lam.body)
            fdef = ast.FunctionDef(name=target.id, args=lam.args, body=[body],
                                   decorator_list=[], returns=None, type_comment=None)
            self.define_function(target.id, ast.copy_location(fdef, stmt))
            return
        if isinstance(target, ast.Name):
            value = self.expr(stmt.value)
            # a copy of a range loop's index is an int: ``j = i; j += 1`` shares nothing
            self.bind(target.id, value, fresh=self.allocating(value) or (
                isinstance(value, ast.Name) and value.id in self.ints))
            return
        self.assign_to(target, self.atom(stmt.value), fresh=False)

    def stmt_AnnAssign(self, stmt: ast.AnnAssign) -> None:
        if stmt.value is not None:
            self.stmt_Assign(ast.Assign(targets=[stmt.target], value=stmt.value))

    def assign_to(self, target: ast.expr, value: ast.expr, fresh: bool) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value, fresh=fresh and isinstance(value, ast.Constant))
        elif isinstance(target, ast.Tuple | ast.List):
            for position, elt in enumerate(target.elts):
                item = ast.Subscript(value=value, slice=ast.Constant(position), ctx=ast.Load())
                self.assign_to(elt, self.atom(item, "t"), fresh=False)
        elif isinstance(target, ast.Subscript):
            self.index_assign(target, value)
        else:  # pragma: no cover - validate() refuses the rest
            raise self.error(f"assignment to {ast.unparse(target)}", target)

    def side_effect(self, stmt: ast.stmt) -> bool:
        """A write into a global or closure object: run it in the forward sweep, as is."""
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(
            stmt, "target", None)
        root = target
        while isinstance(root, ast.Subscript | ast.Attribute):
            root = root.value
        if isinstance(target, ast.Subscript) and isinstance(root, ast.Name) and (
                root.id not in self.locals):
            self.emit(self.rename_loads(stmt))
            return True
        return False

    def index_assign(self, target: ast.Subscript, value: ast.expr) -> None:
        assert isinstance(target.value, ast.Name)
        var = target.value.id
        current = self.load(var, target)
        if not self.fresh.get(current.id, False):
            raise self.error(
                f"assignment into {ast.unparse(target)!r}: {var!r} may share memory with "
                "an argument or another array, so writing into it in place would change "
                f"values the derivative depends on. Make a copy first ({var} = "
                f"{var}.copy()) or build a new array (np.where, np.concatenate)",
                target,
            )
        index = self.index(target.slice)
        name = self.new_version(var)
        self.note_def(name)
        update = ast.Subscript(value=current, slice=index, ctx=ast.Store())
        stmt = ast.Assign(targets=[update], value=value)
        stmt.ad_result = name  # type: ignore[attr-defined]
        self.emit(stmt)
        self.env[var] = name
        self.fresh[name] = True

    def stmt_AugAssign(self, stmt: ast.AugAssign) -> None:
        if self.side_effect(stmt):
            return
        target = stmt.target
        if isinstance(target, ast.Subscript):
            assert isinstance(target.value, ast.Name)
            old = self.atom(ast.Subscript(value=target.value, slice=target.slice,
                                          ctx=ast.Load()))
            new = self.atom(ast.BinOp(left=old, op=stmt.op, right=stmt.value))
            self.index_assign(target, new)
            return
        assert isinstance(target, ast.Name)
        current = self.load(target.id, target)
        if not self.fresh.get(current.id, False):
            what = "the argument" if current.id in self.params else "the variable"
            written = ast.unparse(ast.BinOp(left=ast.Name(id=target.id, ctx=ast.Load()),
                                            op=stmt.op, right=stmt.value))
            raise self.error(
                f"augmented assignment to {what} {target.id!r}: if it is an array, "
                f"{ast.unparse(stmt)!r} would modify in place an array that something "
                f"else also holds. Write '{target.id} = {written}' instead",
                stmt,
            )
        value = ast.BinOp(left=current, op=stmt.op, right=self.atom(stmt.value))
        self.bind(target.id, value, fresh=True)

    def allocating(self, value: ast.expr) -> bool:
        """Whether ``value`` certainly makes a new object no other name holds."""
        if isinstance(value, ast.BinOp | ast.UnaryOp | ast.Compare | ast.Constant):
            return True
        if isinstance(value, ast.List | ast.Dict):
            return True
        if isinstance(value, ast.Call):
            func = value.func
            target = self.parsed.resolve_expr(func) if not (
                isinstance(func, ast.Name) and func.id in self.locals) else UNRESOLVED
            if isinstance(target, np.ufunc):
                return True
            if getattr(target, "__module__", None) == "math" or target in (float, int, abs):
                return True
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return name in _ALLOCATING_NAMES
        return False

    def stmt_Return(self, stmt: ast.Return) -> None:
        if self.loop_depth:
            raise self.error("return inside a loop (set a variable and break, then "
                             "return after the loop)", stmt)
        value = self.atom(stmt.value) if stmt.value else ast.Constant(None)
        self.bind(RETURN, value, fresh=False)

    def stmt_Raise(self, stmt: ast.Raise) -> None:
        self.emit(self.rename_loads(stmt))

    def stmt_Assert(self, stmt: ast.Assert) -> None:
        self.emit(self.rename_loads(stmt))

    def rename_loads(self, stmt: ast.stmt) -> ast.stmt:
        normalizer = self

        class Rename(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.Name:
                return normalizer.load(node.id, node)

        return Rename().visit(stmt)

    def stmt_FunctionDef(self, stmt: ast.FunctionDef) -> None:
        if stmt.decorator_list:
            raise self.error(f"the decorated nested def {stmt.name!r} (decorators may "
                             "replace the function; define it at module level)", stmt)
        self.define_function(stmt.name, stmt)

    # -- control flow -------------------------------------------------------------------
    def stmt_If(self, stmt: ast.If) -> None:
        test = self.atom(stmt.test, "cond")
        before = dict(self.env)
        branches = []
        for body in (stmt.body, stmt.orelse):
            self.env = dict(before)
            self.blocks.append([])
            self.statements(body)
            self.current = stmt
            branches.append((self.blocks.pop(), dict(self.env), _raises(body)))
        live = [b for b in branches if not b[2]]
        merged = dict(before)
        if live:
            changed = {
                var for _, env, _ in live for var, name in env.items()
                if before.get(var) != name
            }
            for var in sorted(changed, key=str):
                names = [env.get(var) for _, env, _ in live]
                if any(n is None for n in names):
                    continue  # defined on one path only: reading it later is an error
                if any(_is_function_token(n) for n in names):
                    merged[var] = names[0] if len(set(names)) == 1 else CONDITIONAL_FUNCTION
                    continue
                join = self.new_join(var, [n for n in names if n != before.get(var)])
                for block, env, _ in live:
                    if env[var] != join:
                        self.note_def(join)
                        copy = ast.Assign(targets=[ast.Name(id=join, ctx=ast.Store())],
                                          value=ast.Name(id=env[var], ctx=ast.Load()))
                        block.append(ast.fix_missing_locations(ast.copy_location(copy, stmt)))
                merged[var] = join
                self.fresh[join] = all(self.fresh.get(n, False) for n in names)
        else:
            merged = branches[0][1]
            merged.update(branches[1][1])
        self.env = merged
        body, orelse = branches[0][0] or [ast.Pass()], branches[1][0]
        self.emit(ast.If(test=test, body=body, orelse=orelse))

    def new_join(self, var: str, created: list[str | None]) -> str:
        """The name both branches leave ``var`` in: a version a branch created."""
        if self.loop_depth and var in self.env:
            return self.env[var]
        return created[0]  # type: ignore[return-value]

    def enter_loop(self, body: list[ast.stmt], extra: list[str]) -> dict[str, str]:
        """Give every variable the loop assigns one name for the whole loop."""
        assigned = [v for v in _assigned_names(body) + extra if v in self.locals]
        for var in assigned:
            if _is_function_token(self.env.get(var)):
                del self.env[var]  # a lambda rebound in the loop: no loop-carried copy
        if not self.loop_depth:
            for var in assigned:
                if var in self.env:
                    # a loop never overwrites a name defined before it; the loop's own
                    # target too keeps its old value when the loop runs zero times
                    name = self.env[var]
                    self.bind_if_unbound(name)
                    loop_name = self.namer.fresh(var)
                    self.assign(loop_name, ast.Name(id=name, ctx=ast.Load()))
                    self.fresh[loop_name] = self.fresh.get(name, False)
                    self.env[var] = loop_name
                else:
                    self.env[var] = self.new_version(var)
                    self.maybe_unbound.add(self.env[var])
                self.loop_names.add(self.env[var])
        else:
            for var in assigned:
                if var not in self.env:
                    self.env[var] = self.new_version(var)
                    self.maybe_unbound.add(self.env[var])
        return dict(self.env)

    def bind_if_unbound(self, name: str) -> None:
        """``name`` = None at the top of the function when only a loop assigns it (it is
        unbound after a loop that ran zero times) and a later loop copies it in."""
        if name in self.maybe_unbound and name not in self.unbound_inits:
            self.unbound_inits.add(name)
            init = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                              value=ast.Constant(None))
            self.blocks[0].insert(0, ast.fix_missing_locations(
                ast.copy_location(init, self.parsed.node)))

    def read_before(self, name: str) -> bool:
        for block in self.blocks:
            for stmt in block:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Name) and node.id == name and isinstance(
                        node.ctx, ast.Load
                    ):
                        return True
        return False

    def loop_body(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        self.loop_depth += 1
        self.blocks.append([])
        self.statements(stmts)
        body = self.blocks.pop()
        self.loop_depth -= 1
        return body or [ast.Pass()]

    def stmt_For(self, stmt: ast.For) -> None:
        if stmt.orelse or _has_jump(stmt.body):
            raise self.error("break, continue or else in a for loop", stmt)
        index_var, prologue, bound = self.loop_iteration(stmt)
        targets = [n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)]
        self.enter_loop(stmt.body, targets)
        if prologue is None:  # range loop: the user's variable is the index
            index = self.env[index_var]
            self.fresh[index] = True  # an int: ``i += 1`` changes nothing shared
            self.ints.add(index)
            prologue = lambda i: []  # noqa: E731
        else:
            index = self.namer.fresh(index_var)
        self.loop_names.add(index)
        self.note_def(index)

        def body() -> None:
            for var, value in prologue(ast.Name(id=index, ctx=ast.Load())):
                if var is None:
                    continue
                self.bind(var, value, fresh=False)
            self.statements(stmt.body)

        self.loop_depth += 1
        block = self.block(body)
        self.loop_depth -= 1
        self.current = stmt
        self.emit(ast.For(target=ast.Name(id=index, ctx=ast.Store()), iter=bound, body=block,
                          orelse=[]))

    def loop_iteration(self, stmt: ast.For) -> tuple[str, Any, ast.expr]:
        """Rewrite the loop header as ``for i in range(...)`` plus per-iteration binds."""
        it = stmt.iter
        target = stmt.target
        callee = (self.parsed.resolve_expr(it.func) if isinstance(it, ast.Call)
                  and not (isinstance(it.func, ast.Name) and it.func.id in self.locals)
                  else UNRESOLVED)
        if callee is range and isinstance(target, ast.Name):
            args = [self.atom(a) for a in it.args]
            bound = self.temp(ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=args,
                                       keywords=[]), "steps")
            return target.id, None, bound
        if callee is enumerate:
            seq = self.atom(it.args[0])
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                raise self.error("enumerate() needs a two-name target: for i, x in ...", it)
            start = self.atom(it.args[1]) if len(it.args) > 1 else None
            counter, item = target.elts

            def bind_enum(i: ast.Name) -> list:
                value = i if start is None else ast.BinOp(left=i, op=ast.Add(), right=start)
                return [*self.bind_target(counter, value), *self.bind_target(
                    item, ast.Subscript(value=seq, slice=i, ctx=ast.Load()))]

            return "i", bind_enum, self.range_of_len([seq])
        if callee is zip:
            seqs = [self.atom(a) for a in it.args]
            if not (isinstance(target, ast.Tuple) and len(target.elts) == len(seqs)):
                raise self.error("zip() needs one target name per sequence", it)

            def bind_zip(i: ast.Name) -> list:
                out = []
                for elt, seq in zip(target.elts, seqs, strict=True):
                    out += self.bind_target(elt, ast.Subscript(value=seq, slice=i,
                                                               ctx=ast.Load()))
                return out

            return "i", bind_zip, self.range_of_len(seqs)
        if (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and not it.args
                and it.func.attr in ("items", "keys", "values")):
            assert isinstance(it.func, ast.Attribute)
            return self.dict_iteration(it.func.value, it.func.attr, target)
        if isinstance(it, ast.Call) and callee is UNRESOLVED and not isinstance(
            it.func, ast.Attribute
        ):
            raise self.error(f"a for loop over {ast.unparse(it)!r}: loops must run over "
                             "range(), a sequence, enumerate() or zip()", it)
        if isinstance(it, ast.Call) and callee not in (UNRESOLVED, list, tuple, reversed):
            raise self.error(f"a for loop over {ast.unparse(it)!r}: loops must run over "
                             "range(), a sequence, enumerate() or zip()", it)
        if (isinstance(it, ast.Name) and isinstance(target, ast.Name)
                and _indexes_by(stmt.body, it.id, target.id)):
            # ``for k in d: ... d[k]`` is the idiom of a dict: iterate over its keys
            # (for a list or tuple indexed by its own items the keys are the items)
            return self.dict_iteration(it, "keys", target)
        seq = self.atom(it)

        def bind_item(i: ast.Name) -> list:
            return self.bind_target(target, ast.Subscript(value=seq, slice=i, ctx=ast.Load()))

        return "i", bind_item, self.range_of_len([seq])

    def dict_iteration(self, it: ast.expr, kind: str, target: ast.expr
                       ) -> tuple[str, Any, ast.expr]:
        """``for k, v in d.items()`` as ``for i in range(len(keys))`` with ``v = d[k]``."""
        mapping = self.atom(it)
        keys = self.temp(ast.Call(func=ast.Name(id="list", ctx=ast.Load()), args=[mapping],
                                  keywords=[]), "keys")
        if kind == "items" and not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            raise self.error("iterating over .items() needs a two-name target: "
                             "for key, value in d.items()", it)

        def bind(i: ast.Name) -> list:
            key = ast.Subscript(value=keys, slice=i, ctx=ast.Load())
            if kind == "keys":
                return self.bind_target(target, key)
            holder = self.temp(key, "key")
            value = ast.Subscript(value=mapping, slice=holder, ctx=ast.Load())
            if kind == "values":
                return self.bind_target(target, value)
            assert isinstance(target, ast.Tuple)
            return [*self.bind_target(target.elts[0], holder),
                    *self.bind_target(target.elts[1], value)]

        return "i", bind, self.range_of_len([keys])

    def bind_target(self, target: ast.expr, value: ast.expr) -> list:
        if isinstance(target, ast.Name):
            return [(target.id, value)]
        if isinstance(target, ast.Tuple):
            holder = self.temp(value, "item")
            out = []
            for position, elt in enumerate(target.elts):
                out += self.bind_target(elt, ast.Subscript(value=holder,
                                                           slice=ast.Constant(position),
                                                           ctx=ast.Load()))
            return out
        raise self.error("this for-loop target", target)

    def range_of_len(self, seqs: list[ast.expr]) -> ast.Name:
        lengths = [self.temp(ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[s],
                                      keywords=[]), "n") for s in seqs]
        count: ast.expr = lengths[0]
        if len(lengths) > 1:
            count = self.temp(ast.Call(func=ast.Name(id="min", ctx=ast.Load()),
                                       args=lengths, keywords=[]), "n")
        return self.temp(ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[count],
                                  keywords=[]), "steps")

    def stmt_While(self, stmt: ast.While) -> None:
        if stmt.orelse or _has_jump(stmt.body):
            raise self.error("break, continue or else in a while loop", stmt)
        self.enter_loop(stmt.body, [])
        cond = self.namer.fresh("cond")
        self.loop_names.add(cond)
        self.assign(cond, self.atom(stmt.test))

        def body() -> None:
            self.statements(stmt.body)
            self.current = stmt
            self.assign(cond, self.atom(stmt.test))

        self.loop_depth += 1
        block = self.block(body)
        self.loop_depth -= 1
        self.current = stmt
        self.emit(ast.While(test=ast.Name(id=cond, ctx=ast.Load()), body=block, orelse=[]))

    def stmt_Break(self, stmt: ast.Break) -> None:  # pragma: no cover - refused above
        raise self.error("break", stmt)

    stmt_Continue = stmt_Break

    # -- driver ---------------------------------------------------------------------------
    def run(self) -> AnfFunction:
        body = single_exit(list(self.parsed.node.body))
        if body and not terminates(body):  # a path that falls off the end returns None
            end = ast.copy_location(ast.Return(value=None), body[-1])
            body = single_exit([*body, end])
        self.statements(body)
        self.current = body[-1] if body else self.parsed.node
        result = self.env.get(RETURN)
        if result is None:
            result_atom: ast.expr = ast.Constant(None)
        else:
            result_atom = ast.Name(id=result, ctx=ast.Load())
        self.emit(ast.Return(value=result_atom))
        multi = {name for name, count in self.def_counts.items() if count > 1}
        return AnfFunction(
            parsed=self.parsed, name=self.parsed.name, params=self.params,
            body=self.blocks[0], namer=self.namer, loop_names=set(self.loop_names),
            multi_def=multi | set(self.loop_names),
            result=result if result is not None else ast.Constant(None),
            cells=dict(self.cells),
        )


def normalize(parsed: ParsedFunction) -> AnfFunction:
    """Turn the parsed function into A-normal form (see the module docstring)."""
    lowered = lower_jumps(parsed.node)
    if lowered is not parsed.node:
        parsed = dataclasses.replace(parsed, node=lowered)
    return _Normalizer(parsed).run()


def walk_statements(stmts: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a block, nested ones included, in source order."""
    for stmt in stmts:
        yield stmt
        for attr in ("body", "orelse"):
            yield from walk_statements(getattr(stmt, attr, []) or [])


_ = math  # math functions are resolved through the user's namespace
