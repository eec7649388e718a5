"""Turning generated source into function objects: the only module that calls compile.

Generated functions run with the *user's* globals, so a module constant rebound after
the first call is seen by the next one, exactly as in the original function. The names
the compiler adds (``np`` for rule bodies, ``unbroadcast``, user rules) are closure
cells instead, so they can never be shadowed by or leak into the user's module. The
user's own closure cells are passed through unchanged, so closures stay live too.
The source is registered with ``linecache`` so tracebacks show generated lines.
"""

from __future__ import annotations

import itertools
import linecache
import types
from typing import Any

__all__ = ["compile_functions"]

_counter = itertools.count()


def _cell(value: Any) -> types.CellType:
    return types.CellType(value)


def compile_functions(
    source: str,
    names: list[str],
    helpers: dict[str, Any],
    user_func: types.FunctionType,
    label: str,
) -> dict[str, types.FunctionType]:
    """Compile ``source`` (one or more defs) and return the functions called ``names``."""
    filename = f"<adcompiler {label} #{next(_counter)}>"
    free = sorted(set(helpers) | set(user_func.__code__.co_freevars))
    factory_src = "def __adcompiler_factory__():\n"
    factory_src += "".join(f"    {n} = None\n" for n in free)
    factory_src += "".join("    " + line + "\n" for line in source.splitlines())
    factory_src += f"    return ({', '.join(names)},)\n"
    code = compile(factory_src, filename, "exec")
    linecache.cache[filename] = (len(factory_src), None, factory_src.splitlines(True),
                                 filename)
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    user_cells = dict(zip(user_func.__code__.co_freevars, user_func.__closure__ or (),
                          strict=True))
    out: dict[str, types.FunctionType] = {}
    for const in factory_code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in names:
            closure = tuple(
                user_cells[n] if n in user_cells else _cell(helpers[n])
                for n in const.co_freevars
            )
            func = types.FunctionType(const, user_func.__globals__, const.co_name, None,
                                      closure)
            func.__ad_generated__ = label  # type: ignore[attr-defined]  (see higher order)
            out[const.co_name] = func
    return out
