"""Stage 1: from a function object to its AST, with every free name resolved.

``inspect.getsource`` gives the text; we dedent it, parse it, drop the decorators (the
function object we hold is already the undecorated one) and shift line numbers so every
node points at the user's real file and line. Lambdas assigned to names are parsed from
their line and turned into a one-statement ``def``.

Resolution answers "what object does this name mean" for names the function does not
assign: closure cells first, then the module's globals, then builtins -- the order Python
itself uses. The generated code still looks globals up when it runs (so rebinding a
module constant is seen); resolution is only used to pick derivative rules, callees and
modules, and every resolution that is not plain data (a number, an array, a string, a
list, tuple or dict) is recorded in ``ParsedFunction.guards``: the cache checks them on
every call and rebuilds when one was rebound (see ``backend/cache.py``).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backend.cache import MISSING
from ..errors import ADError, SourceLocation

__all__ = ["ParsedFunction", "Unresolved", "parse_function", "unwrap"]


class Unresolved:
    """Marker for a name that is not bound anywhere when the compiler looks."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED = Unresolved()

# values generated code reads when it runs: they never decide what code is generated
_DATA = (int, float, complex, str, bytes, np.ndarray, np.generic, list, tuple, dict,
         type(None))


def _guarded(obj: Any) -> Any:
    """The object a guard compares with (``MISSING`` for a name that was not bound)."""
    return MISSING if obj is UNRESOLVED else obj


def unwrap(func: Any) -> Any:
    """The plain Python function behind our own ``@ad.differentiable`` and
    ``ad.checkpoint`` wrappers.

    Only wrappers that call the function unchanged are looked through: ours, and
    ``functools.lru_cache`` / ``functools.cache``. A ``functools.wraps`` decorator's
    wrapper is code of its own (it may scale the result or change the arguments), so it
    is never skipped: the compiler differentiates the wrapper (see ``adcompiler.wrappers``).
    """
    seen = set()
    while id(func) not in seen:
        seen.add(id(func))
        inner = getattr(func, "__ad_function__", None) or getattr(
            func, "__ad_checkpoint__", None)
        if inner is None and _is_transparent_cache(func):
            inner = func.__wrapped__
        if inner is None:
            break
        func = inner
    return func


def _is_transparent_cache(func: Any) -> bool:
    """``functools.lru_cache`` / ``functools.cache``: the call returns ``__wrapped__``'s
    value unchanged, so its derivative is ``__wrapped__``'s."""
    import functools

    return isinstance(func, functools._lru_cache_wrapper)


def callee_object(value: Any) -> Any:
    """What a call of ``value`` differentiates: our ``@ad.differentiable`` wrapper stands
    for the function it wraps (unless a rule was registered for the wrapper itself)."""
    inner = getattr(value, "__ad_function__", None)
    if inner is None:
        return value
    from ..rules.registry import rule_for

    if rule_for(value) is not None:
        return value
    return callee_object(inner)


@dataclass
class ParsedFunction:
    """A parsed user function: its ``def`` node and where its free names point."""

    func: types.FunctionType
    node: ast.FunctionDef
    filename: str
    globals: dict[str, Any]
    closure: dict[str, Any] = field(default_factory=dict)
    # (namespace, name, object): every binding the generated code was chosen by
    guards: list[tuple[Any, str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def params(self) -> list[str]:
        args = self.node.args
        names = [a.arg for a in args.posonlyargs + args.args]
        if args.vararg:
            names.append(args.vararg.arg)
        names += [a.arg for a in args.kwonlyargs]
        if args.kwarg:
            names.append(args.kwarg.arg)
        return names

    def location(self, node: ast.AST | None) -> SourceLocation:
        lineno = getattr(node, "lineno", None) or self.node.lineno
        code = linecache.getline(self.filename, lineno).strip()
        return SourceLocation(self.filename, lineno, code)

    def resolve(self, name: str, guard: bool = True) -> Any:
        """The object ``name`` means in the function's scope, or ``UNRESOLVED``.

        ``guard``: record the binding (unless it is data) so the cache rebuilds when it
        changes; a caller that only asks whether a name is taken passes False.
        """
        if name in self.closure:
            cell = self.closure[name]
            try:
                value = cell.cell_contents
            except ValueError:
                value = UNRESOLVED
            if guard and not isinstance(value, _DATA):
                self.guards.append((cell, "cell_contents", _guarded(value)))
            return callee_object(value) if value is not UNRESOLVED else value
        value = self.globals.get(name, UNRESOLVED)
        if value is not UNRESOLVED:
            if guard and not isinstance(value, _DATA):
                self.guards.append((self.globals, name, value))
            return callee_object(value)
        builtin_ns = self.globals.get("__builtins__", builtins)
        if isinstance(builtin_ns, types.ModuleType):
            builtin_ns = builtin_ns.__dict__
        value = builtin_ns.get(name, UNRESOLVED)
        if guard:  # a later global of that name would shadow the builtin
            self.guards.append((self.globals, name, MISSING))
            self.guards.append((builtin_ns, name, _guarded(value)))
        return value

    def resolve_expr(self, node: ast.expr) -> Any:
        """Resolve a dotted name such as ``np.linalg.norm``; ``UNRESOLVED`` if not static."""
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve_expr(node.value)
            if base is UNRESOLVED or not isinstance(base, types.ModuleType | type):
                return UNRESOLVED
            value = getattr(base, node.attr, UNRESOLVED)
            if isinstance(base, types.ModuleType) and not isinstance(value, _DATA):
                self.guards.append((base, node.attr, _guarded(value)))  # monkeypatching
            return callee_object(value) if value is not UNRESOLVED else value
        return UNRESOLVED


def _read_source(func: types.FunctionType) -> tuple[str, str, int]:
    filename = inspect.getsourcefile(func) or func.__code__.co_filename
    try:
        # the code object, not the function: ``inspect`` follows ``__wrapped__`` and
        # would give a decorator's wrapper the wrapped function's source
        lines, firstlineno = inspect.getsourcelines(func.__code__)
    except (OSError, TypeError):
        raise ADError(
            f"cannot read the source of {func.__qualname__!r} (defined in "
            f"{func.__code__.co_filename!r}): adcompiler differentiates functions by "
            "reading their source. Define the function in a .py file, or give it a rule "
            "with @ad.derivative(of=...).",
            SourceLocation(func.__code__.co_filename, func.__code__.co_firstlineno),
        ) from None  # the message says it all; inspect's frames are noise
    return "".join(lines), filename, firstlineno


def _lambda_source(text: str, filename: str, firstlineno: int, func: types.FunctionType
                   ) -> ast.AST:
    """The syntax tree around a lambda, with the file's line numbers.

    ``inspect`` gives the lambda's lines only, which need not parse on their own (an
    entry of a multi-line dict literal, an argument of a multi-line call), so the whole
    file is parsed when it can be; the lines alone, or as an expression, are the
    fallbacks (source typed at a prompt has no file).
    """
    lines = linecache.getlines(filename, func.__globals__)
    if lines:
        try:
            return ast.parse("".join(lines))
        except SyntaxError:
            pass
    text = textwrap.dedent(text)
    for attempt in (text, "(\n" + text.strip().rstrip(",;") + "\n)"):
        try:
            module = ast.parse(attempt)
        except SyntaxError:
            continue
        shift = firstlineno - 1 - (attempt is not text)
        ast.increment_lineno(module, shift)
        return module
    raise ADError(f"cannot parse the source line of the lambda {func.__qualname__!r}; "
                  "write it as a def", SourceLocation(filename, firstlineno))


def _lambda_to_def(module: ast.AST, func: types.FunctionType) -> ast.FunctionDef:
    code = func.__code__
    params = list(code.co_varnames[: code.co_argcount])
    candidates = [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno
        and [a.arg for a in node.args.posonlyargs + node.args.args] == params
    ]
    if len(candidates) != 1:
        raise ADError(
            f"cannot tell which lambda on this line is {func.__qualname__!r}; "
            "write it as a def",
            SourceLocation(code.co_filename, code.co_firstlineno),
        )
    lam = candidates[0]
    ret = ast.Return(value=lam.body)
    ast.copy_location(ret, lam.body)
    fdef = ast.FunctionDef(
        name="lambda_", args=lam.args, body=[ret], decorator_list=[], returns=None,
        type_comment=None,
    )
    return ast.fix_missing_locations(ast.copy_location(fdef, lam))


def def_line(code: types.CodeType) -> int:
    """The line of the ``def`` itself (``co_firstlineno`` is that of its first decorator)."""
    lines = linecache.getlines(code.co_filename)
    for lineno in range(code.co_firstlineno, min(len(lines), code.co_firstlineno + 50) + 1):
        if lines[lineno - 1].lstrip().startswith(("def ", "async def ")):
            return lineno
    return code.co_firstlineno


def parse_function(func: Callable[..., Any]) -> ParsedFunction:
    """Parse ``func`` into a :class:`ParsedFunction` (see the module docstring)."""
    func = unwrap(func)
    if not isinstance(func, types.FunctionType):
        raise ADError(f"{func!r} is not a Python function; adcompiler needs its source")
    text, filename, firstlineno = _read_source(func)
    if func.__code__.co_name == "<lambda>":  # __name__ is whatever a user set
        node = _lambda_to_def(_lambda_source(text, filename, firstlineno, func), func)
    else:
        module = ast.parse(textwrap.dedent(text))
        ast.increment_lineno(module, firstlineno - 1)
        defs = [n for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        if not defs:
            raise ADError(
                f"could not find the def of {func.__qualname__!r} in its source",
                SourceLocation(filename, firstlineno),
            )
        node = defs[0]
        if isinstance(node, ast.AsyncFunctionDef):
            from ..errors import UnsupportedSyntaxError

            raise UnsupportedSyntaxError(
                "async functions cannot be differentiated",
                SourceLocation(filename, node.lineno, linecache.getline(filename, node.lineno)),
            )
        node.decorator_list = []
    closure = dict(zip(func.__code__.co_freevars, func.__closure__ or (), strict=True))
    called = getattr(getattr(func, "__ad_calls__", None), "__code__", None)
    if called is not None:
        # a call shim (adcompiler.wrappers): it stands at the def of what it calls, so
        # comments and errors quote the user's wrapper, not the generated line
        filename = called.co_filename
        line = def_line(called)
        for child in ast.walk(node):
            if hasattr(child, "lineno"):
                child.lineno = child.end_lineno = line
    return ParsedFunction(func, node, filename, func.__globals__, closure)
