"""What generated source reads from outside itself, and the lines that bring it in.

Generated code runs with the user's module globals plus the helpers the compiler binds
(``np``, ``unbroadcast``, the generated code of callees). Shown on its own, that code
would call names it never defines, so ``g.source`` ends with a block that imports or
defines each of them: NumPy and other modules by ``import``, the compiler's helpers and
the user's own functions by ``from module import name``, small constants by value, and a
callee bound under another name than its def by an alias. :mod:`adcompiler.export`
resolves the same names but writes their source instead of importing them.

>>> import math
>>> print(import_block("def f(x):\\n    return np.sin(x) * PI\\n",
...                    {"np": __import__("numpy"), "PI": math.pi}))
# names the code above uses from outside it (ad.export writes a NumPy-only file)
import numpy as np
PI = 3.141592653589793
"""

from __future__ import annotations

import builtins
import importlib
import math
import symtable
import sys
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["BLOCK_HEADER", "UNRESOLVED", "free_names", "import_block", "importable_as",
           "is_generated", "literal", "merge_blocks", "plain", "split_block", "with_block"]

BLOCK_HEADER = "# names the code above uses from outside it (ad.export writes a NumPy-only file)"


class _Unresolved:
    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED: Any = _Unresolved()


def free_names(source: str) -> list[str]:
    """Global names ``source`` reads and neither defines nor imports, in order of first use.

    >>> free_names("def f(x):\\n    y = np.exp(x)\\n    return g(y) + len(y)\\n"
    ...            "def g(z):\\n    return z * K\\n")
    ['np', 'K']
    """
    table = symtable.symtable(source, "<generated>", "exec")
    bound = {s.get_name() for s in table.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    seen: dict[str, None] = {}

    def walk(scope: symtable.SymbolTable) -> None:
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            global_read = (scope.get_type() == "module" or symbol.is_global())
            if symbol.is_referenced() and global_read and name not in bound:
                seen.setdefault(name, None)
        for child in scope.get_children():
            walk(child)

    walk(table)
    return [n for n in seen if not hasattr(builtins, n)]


def importable_as(obj: Any) -> tuple[str, str] | None:
    """``(module, qualified name)`` under which ``import`` finds this very object, or None.

    Objects defined in ``__main__`` or inside functions have no such address.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    if module == "__main__" or module.startswith("_adcompiler_cli_"):
        return None
    try:
        found: Any = sys.modules.get(module) or importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        found = UNRESOLVED
    if found is obj:
        return module, qualname
    # NumPy ufuncs say nothing of their module: they live in numpy itself
    if getattr(sys.modules.get("numpy"), qualname, None) is obj:
        return "numpy", qualname
    return None


_LITERAL_TYPES = (bool, int, float, complex, str, bytes, type(None))


def literal(value: Any, array_limit: int | None = 16) -> str | None:
    """Python source that evaluates to ``value`` (with ``np`` NumPy), or None.

    Numbers keep every bit (``repr`` of a float round-trips; ``nan`` and ``inf`` are
    spelled as ``float(...)``). Arrays larger than ``array_limit`` elements give None.

    >>> literal((1, 2.5, float("inf"), "a"))
    "(1, 2.5, float('inf'), 'a')"
    >>> import numpy as np
    >>> literal(np.array([1.0, 2.0], dtype=np.float32))
    "np.array([1.0, 2.0], dtype='float32')"
    """
    if isinstance(value, float) and type(value) is float and not math.isfinite(value):
        return f"float({str(value)!r})"
    if type(value) in _LITERAL_TYPES:
        return repr(value)
    if type(value) in (tuple, list, set, frozenset):
        parts = [literal(v, array_limit) for v in value]
        if any(p is None for p in parts):
            return None
        if type(value) is tuple:
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"  # type: ignore
        text = ", ".join(parts)  # type: ignore[arg-type]
        if type(value) is list:
            return f"[{text}]"
        return f"{type(value).__name__}([{text}])"
    if type(value) is dict:
        items = [(literal(k, array_limit), literal(v, array_limit)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    np = sys.modules.get("numpy")
    if np is None:
        return None
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        inner = literal(value.item(), array_limit)
        return None if inner is None else f"np.{value.dtype.name}({inner})"
    if type(value) is np.ndarray and value.dtype.kind in "biufc":
        if array_limit is not None and value.size > array_limit:
            return None
        items = literal(value.tolist(), None) if value.ndim else literal(value.item(), None)
        if items is None:
            return None
        return f"np.array({items}, dtype={value.dtype.name!r})"
    if isinstance(value, np.dtype):
        return f"np.dtype({value.name!r})"
    return None


def is_generated(obj: Any) -> bool:
    """A function the compiler generated (or a stand-in for one still being built)."""
    return (getattr(obj, "__ad_generated__", None) is not None
            or type(obj).__name__ == "_Deferred")


def plain(obj: Any) -> Any:
    """The user's own function behind an adcompiler wrapper that computes the same values:
    a ``@ad.checkpoint`` function or a ``@ad.differentiable`` one. Anything else is
    returned as is."""
    for _ in range(8):
        module = type(obj).__module__ or ""
        if not module.startswith("adcompiler."):
            inner = getattr(obj, "__ad_function__", None)
            if inner is None or not callable(inner):
                return obj
            obj = inner
        elif hasattr(obj, "__ad_checkpoint__"):
            obj = obj.__ad_checkpoint__
        else:
            return obj
    return obj


def _line_for(name: str, obj: Any, user_globals: Mapping[str, Any],
              user_module: str | None) -> str | None:
    """One line that gives ``name`` its value ``obj`` in a file holding the code."""
    obj = plain(obj)
    if is_generated(obj):  # defined by its def in the same source, perhaps under an alias
        return None if name == obj.__name__ else f"{name} = {obj.__name__}"
    if isinstance(obj, types.ModuleType):
        module = obj.__name__
        if name == module:
            return f"import {module}"
        head, _, tail = module.rpartition(".")
        if head and tail == name:
            return f"from {head} import {name}"
        return f"import {module} as {name}"
    # a global of the user's module is imported from it, so the block shows its value
    # now, not when the code was compiled (generated code reads globals when it runs)
    if user_module is not None and plain(user_globals.get(name, UNRESOLVED)) is obj:
        return f"from {user_module} import {name}"
    if user_module is not None and isinstance(obj, types.FunctionType) and plain(
            user_globals.get(obj.__name__, UNRESOLVED)) is obj:
        return f"from {user_module} import {obj.__name__}" + (
            "" if name == obj.__name__ else f" as {name}")
    text = literal(obj)  # a closure variable, a constant a rule template bound
    if text is not None:
        return f"{name} = {text}"
    if type(obj).__name__ == "UserRule" and type(obj).__module__ == "adcompiler.control":
        parts = [_line_for(f"{name}_of", obj.of, user_globals, user_module),
                 _line_for(f"{name}_rule", obj.rule, user_globals, user_module)]
        if all(p is not None and not p.startswith("#") for p in parts):
            return "\n".join([*parts, "from adcompiler.control import UserRule",  # type: ignore
                              f"{name} = UserRule({name}_of, {name}_rule)"])
    address = importable_as(obj)
    if address is not None and "." not in address[1]:
        module, qualname = address
        return f"from {module} import {qualname}" + ("" if qualname == name else f" as {name}")
    return f"# {name}: a {type(obj).__name__} from the function's closure, not written here"


def import_block(source: str, namespace: Mapping[str, Any],
                 user_globals: Mapping[str, Any] | None = None) -> str:
    """The block that gives every free name of ``source`` its value from ``namespace``.

    ``user_globals`` are the globals of the user's module: a global that is neither a
    module, a constant nor importable elsewhere is imported from that module.
    """
    user_globals = user_globals or {}
    user_module = user_globals.get("__name__")
    if isinstance(user_module, str):  # the command line's name for FILE.py is FILE
        user_module = user_module.removeprefix("_adcompiler_cli_")
    lines: list[str] = []
    for name in free_names(source):
        obj = namespace.get(name, UNRESOLVED)
        if obj is UNRESOLVED:
            lines.append(f"# {name}: not defined where the function was compiled")
            continue
        line = _line_for(name, obj, user_globals, user_module)
        if line is not None:
            lines += line.splitlines()
    if not lines:
        return ""
    return "\n".join([BLOCK_HEADER, *merge_blocks([lines])])


def split_block(source: str) -> tuple[str, list[str]]:
    """``source`` without its trailing block, and the block's lines (header left out)."""
    code, sep, block = source.partition("\n" + BLOCK_HEADER + "\n")
    if not sep:
        if source.startswith(BLOCK_HEADER + "\n"):
            return "", source.splitlines()[1:]
        return source, []
    return code + "\n", block.splitlines()


def merge_blocks(blocks: list[list[str]]) -> list[str]:
    """The lines of several blocks once each: ``import`` lines, then ``from`` imports
    (one line per module), then assignments and notes."""
    seen: dict[str, None] = {}
    for block in blocks:
        for line in block:
            seen.setdefault(line, None)
    imports = sorted(line for line in seen if line.startswith("import "))
    froms: dict[str, list[str]] = {}
    for line in seen:
        if line.startswith("from "):
            module, _, imported = line[len("from "):].partition(" import ")
            froms.setdefault(module, []).extend(i.strip() for i in imported.split(","))
    from_lines = [f"from {module} import {', '.join(sorted(set(items)))}"
                  for module, items in sorted(froms.items())]
    others = [line for line in seen if not line.startswith(("import ", "from "))]
    return imports + from_lines + others


def with_block(text: str, func: types.FunctionType, helpers: Mapping[str, Any]) -> str:
    """``text`` (generated from ``func``) followed by its block of outside names.

    The code runs with ``func``'s globals and closure cells plus the compiler's
    ``helpers``, in that order of precedence from last to first.
    """
    cells = dict(zip(func.__code__.co_freevars,
                     (c.cell_contents for c in func.__closure__ or ()
                      if _filled(c)), strict=False))
    namespace = {**func.__globals__, **cells, **helpers}
    block = import_block(text, namespace, func.__globals__)
    return text.rstrip("\n") + "\n" + ("\n" + block + "\n" if block else "")


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018  (an empty cell raises)
    except ValueError:
        return False
    return True
