"""Turning generated source into function objects: the only module that calls compile.

Generated functions run with the *user's* globals, so a module constant rebound after
the first call is seen by the next one, exactly as in the original function. The names
the compiler adds (``np`` for rule bodies, ``unbroadcast``, user rules) are closure
cells instead, so they can never be shadowed by or leak into the user's module. The
user's own closure cells are passed through unchanged, so closures stay live too.
The source is registered with ``linecache`` so tracebacks show generated lines, for as
long as the code lives: every function compiled from one source holds a token whose
finalizer drops the lines, so an evicted or cleared cache entry takes its lines with it
once nothing (a caller's code, a live ``grad`` object) still runs it.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import types
import weakref
from typing import Any

__all__ = ["compile_functions"]

_counter = itertools.count()
_FACTORY = "__adcompiler_factory__"


class _Lines:
    """Held by the functions compiled from one source; drops its lines when they go."""

    __slots__ = ("__weakref__", "filename")

    def __init__(self, filename: str) -> None:
        self.filename = filename
        finalizer = weakref.finalize(self, linecache.cache.pop, filename, None)
        finalizer.atexit = False


def _cell(value: Any) -> types.CellType:
    """A helper's cell; a helper that is a cell already (a closure cell of a callee
    inlined into the function) is passed through, so rebinding it stays visible."""
    return value if isinstance(value, types.CellType) else types.CellType(value)


def _factory(source: str, filename: str, names: list[str], helpers: dict[str, Any],
             user_func: types.FunctionType) -> ast.Module:
    """``def <factory>(): <free> = None ...; <source>; return (<names>,)`` as a tree.

    The factory makes the helpers and the user's closure variables free variables of the
    generated functions (cells, filled in afterwards). It is built from the parsed
    source, not by indenting its text, so a string constant spanning lines keeps its
    characters and line numbers in tracebacks are those of the source users see.
    """
    module = ast.parse(source, filename)
    free = sorted(set(helpers) | set(user_func.__code__.co_freevars))
    unset = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(None),
                        lineno=1, col_offset=0) for n in free]
    returned = ast.Return(value=ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Load()) for n in names],
                                          ctx=ast.Load()), lineno=1, col_offset=0)
    factory = ast.FunctionDef(
        name=_FACTORY, args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                          kw_defaults=[], kwarg=None, defaults=[]),
        body=[*unset, *module.body, returned], decorator_list=[], returns=None,
        type_comment=None, lineno=1, col_offset=0)
    return ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))


def compile_functions(
    source: str,
    names: list[str],
    helpers: dict[str, Any],
    user_func: types.FunctionType,
    label: str,
) -> dict[str, types.FunctionType]:
    """Compile ``source`` (one or more defs) and return the functions called ``names``."""
    filename = f"<adcompiler {label} #{next(_counter)}>"
    code = compile(_factory(source, filename, names, helpers, user_func), filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    lines = _Lines(filename)
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    user_cells = dict(zip(user_func.__code__.co_freevars, user_func.__closure__ or (),
                          strict=True))
    out: dict[str, types.FunctionType] = {}
    for const in factory_code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in names:
            const = const.replace(co_qualname=const.co_name)  # no "<factory>.<locals>."
            closure = tuple(
                user_cells[n] if n in user_cells else _cell(helpers[n])
                for n in const.co_freevars
            )
            func = types.FunctionType(const, user_func.__globals__, const.co_name, None,
                                      closure)
            func.__ad_generated__ = label  # type: ignore[attr-defined]  (see higher order)
            func.__ad_lines__ = lines  # type: ignore[attr-defined]
            out[const.co_name] = func
    return out
