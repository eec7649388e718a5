"""``ad.export``: a generated derivative written as a Python module that needs only NumPy.

``g.source`` ends with a block importing what the code uses from outside itself, some of
it from adcompiler (``unbroadcast``, ``matmul_da``, ...). An exported module has no such
imports: every helper is copied in as source (``inspect.getsource`` of the function or
class, then the same for whatever *it* uses, transitively), every constant is written as
a literal, every module is imported. Installed libraries (NumPy, the standard library,
SciPy if the user's code calls it) are imported; code from adcompiler and from the
user's own files is copied, so the file runs where neither is importable.

The file states what it is in its docstring: which function, which derivative, for which
argument shapes and dtypes, and what it needs. Its ``__all__`` lists the generated entry
function first. Anything that cannot be written as source (an open file held in a global,
a lambda, a closure over an object with no source) raises ``ADError`` naming it; nothing
is silently left out.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import os
import sys
import sysconfig
import textwrap
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import api
from .backend import names
from .backend.names import free_names, literal
from .errors import ADError

__all__ = ["export", "export_text"]

KINDS = ("grad", "value_and_grad", "vjp", "jvp")

_GENERATED = object()  # stands for a def of the generated code itself


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(os.path.realpath(r) + os.sep for r in roots)


def _installed(module_name: str) -> bool:
    """A module of the standard library or an installed package other than adcompiler:
    the exported file imports it rather than copying it."""
    top = module_name.partition(".")[0]
    if top == "adcompiler":
        return False
    if top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return True
    module = sys.modules.get(top)
    filename = getattr(module, "__file__", None)
    if filename is None:
        return False
    return os.path.realpath(filename).startswith(_library_roots())


def _is_builtin(name: str, obj: Any) -> bool:
    return getattr(builtins, name, names.UNRESOLVED) is obj


def _strip_function_annotations(tree: ast.AST) -> ast.AST:
    """Annotations of functions are never evaluated in the exported file (it starts with
    ``from __future__ import annotations``), so the names in them need no definition."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                        arguments.vararg, arguments.kwarg]:
                if arg is not None:
                    arg.annotation = None
    return tree


class _Writer:
    """Collects imports, copied definitions and constants for one exported module."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.bound: dict[str, Any] = {}
        self.imports: list[str] = []
        self.chunks: list[str] = []  # copied defs and assignments, in order of need
        self.modules: set[str] = set()  # top-level packages the file imports
        self.replacements: dict[int, Any] = {}  # id(value) -> the value to write instead

    # -- names --------------------------------------------------------------------------
    def bind(self, name: str, obj: Any, where: str) -> bool:
        """Reserve ``name`` for ``obj``; False if it already holds ``obj``."""
        if name in self.bound:
            held = self.bound[name]
            if held is obj or (held is not _GENERATED and literal(held, None) is not None
                               and literal(held, None) == literal(obj, None)):
                return False  # the same object, or a constant the block wrote by value
            raise ADError(f"cannot export {self.origin}: the name {name!r} means two "
                          f"different things ({where} reads it as {_describe(obj)}, "
                          f"elsewhere it is {_describe(self.bound[name])}); rename one")
        self.bound[name] = obj
        return True

    def define(self, name: str, obj: Any, where: str, text: str = "") -> None:
        """Make ``name`` hold ``obj`` at the module level of the exported file (``text``
        is the source that reads it)."""
        obj = names.plain(obj)
        if _is_builtin(name, obj) or not self.bind(name, obj, where):
            return
        if isinstance(obj, types.ModuleType) and not _installed(obj.__name__):
            # adcompiler.nn or the user's own module: a namespace of what the code reads
            attrs = sorted({node.attr for node in ast.walk(ast.parse(text))
                            if isinstance(node, ast.Attribute)
                            and isinstance(node.value, ast.Name) and node.value.id == name})
            items = [f"{attr}={self.expr(names.plain(getattr(obj, attr)), where)}"
                     for attr in attrs]
            self.imports.append("import types")
            self.chunks.append(f"{name} = types.SimpleNamespace({', '.join(items)})")
            return
        if isinstance(obj, types.ModuleType):
            self.imports.append(self._import_line(obj, name))
            return
        if self._copyable(obj):
            def_name = obj.__name__
            if def_name != name:
                self.define(def_name, obj, where)
                self.chunks.append(f"{name} = {def_name}")
            else:
                self._copy(obj)
            return
        value = self.expr(self.replacements.get(id(obj), obj), where)
        if value != name:
            self.chunks.append(f"{name} = {value}")

    def _import_line(self, module: types.ModuleType, name: str) -> str:
        self.modules.add(module.__name__.partition(".")[0])
        if name == module.__name__:
            return f"import {name}"
        head, _, tail = module.__name__.rpartition(".")
        if head and tail == name:
            return f"from {head} import {name}"
        return f"import {module.__name__} as {name}"

    def expr(self, obj: Any, where: str) -> str:
        """A source expression for ``obj`` (defining what it needs on the way)."""
        text = literal(obj, array_limit=None)
        if text is not None:
            if "np." in text:
                self.define("np", np, where)
            return text
        name = getattr(obj, "__name__", None)
        if isinstance(name, str) and _is_builtin(name, obj):
            return name
        if obj is type(None):
            return "type(None)"
        if isinstance(obj, types.ModuleType):
            self.define(obj.__name__.replace(".", "_"), obj, where)
            return obj.__name__.replace(".", "_")
        if self._copyable(obj):
            self.define(obj.__name__, obj, where)
            return obj.__name__
        if type(obj).__name__ == "UserRule" and type(obj).__module__ == "adcompiler.control":
            # a user's derivative rule as generated code calls it: its pullback's answer
            # normalised (a bare cotangent becomes a 1-tuple) and checked
            cls = self.expr(type(obj), where)
            return f"{cls}({self.expr(obj.of, where)}, {self.expr(obj.rule, where)})"
        state = getattr(obj, "__dict__", None)
        if (isinstance(state, dict) and self._copyable(type(obj))
                and not hasattr(type(obj), "__slots__")
                and type(obj).__reduce_ex__ is object.__reduce_ex__):
            # an instance of the user's own class (a config, a model object held in a
            # global): rebuilt from its class and its attributes
            self.define("_instance", _instance, where)
            return f"_instance({self.expr(type(obj), where)}, {self.expr(state, where)})"
        address = names.importable_as(obj)
        if address is not None and _installed(address[0]):
            module, qualname = address
            if module == "numpy":
                self.define("np", np, where)
                return "np." + qualname
            if "." not in qualname and self.bound.get(qualname, obj) is obj:
                self.bound[qualname] = obj
                self.imports.append(f"from {module} import {qualname}")
                self.modules.add(module.partition(".")[0])
                return qualname
            alias = module.replace(".", "_")
            self.define(alias, sys.modules[module], where)
            return f"{alias}.{qualname}"
        if type(obj) in (tuple, list, set, frozenset):
            items = [self.expr(item, where) for item in obj]
            if type(obj) is tuple:
                return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
            if type(obj) is list:
                return f"[{', '.join(items)}]"
            return f"{type(obj).__name__}([{', '.join(items)}])"
        if type(obj) is dict:
            pairs = [f"{self.expr(k, where)}: {self.expr(v, where)}" for k, v in obj.items()]
            return "{" + ", ".join(pairs) + "}"
        raise ADError(f"cannot export {self.origin}: {where} uses {_describe(obj)}, which "
                      "cannot be written as source (no literal form, no importable home, no "
                      "Python source). Pass it as an argument instead, or compute it inside "
                      "the function")

    # -- copying definitions ------------------------------------------------------------
    def _copyable(self, obj: Any) -> bool:
        """A Python function or class of adcompiler or the user's own code (not of an
        installed library, which is imported instead)."""
        if not isinstance(obj, types.FunctionType | type) or _is_builtin(
                getattr(obj, "__name__", ""), obj):
            return False
        module = getattr(obj, "__module__", None) or ""
        if module == "builtins" or (names.importable_as(obj) is not None and _installed(module)):
            return False
        if obj.__name__ == "<lambda>":
            return False  # its source is a fragment of a line
        # a nested function is copied with its closure values; a class needs its module
        return isinstance(obj, types.FunctionType) or "<locals>" not in obj.__qualname__

    def _copy(self, obj: Any) -> None:
        try:
            text = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError) as exc:
            raise ADError(f"cannot export {self.origin}: the source of {_describe(obj)} is "
                          "not available") from exc
        tree = ast.parse(text)
        node = tree.body[0]
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            # a registering decorator (returns the function itself) is left out; one that
            # wraps it would change what the copy does
            if hasattr(obj, "__wrapped__") or obj.__code__.co_name != node.name:
                raise ADError(f"cannot export {self.origin}: {_describe(obj)} is wrapped by "
                              "a decorator, whose effect a copy of its source would lose")
            text = "\n".join(text.splitlines()[node.lineno - 1:]) + "\n"
            tree = ast.parse(text)
        where = f"{obj.__module__}.{obj.__qualname__}"
        scope = dict(getattr(obj, "__globals__", None) or vars(sys.modules[obj.__module__]))
        if isinstance(obj, types.FunctionType) and obj.__closure__:
            for var, cell in zip(obj.__code__.co_freevars, obj.__closure__, strict=True):
                scope[var] = cell.cell_contents
        for name in free_names(ast.unparse(_strip_function_annotations(tree))):
            if name in (obj.__name__, "__name__"):
                continue
            if name not in scope:
                if hasattr(builtins, name):
                    continue
                raise ADError(f"cannot export {self.origin}: {where} reads {name!r}, which "
                              "is not defined in its module")
            self.define(name, scope[name], where, text)
        # after what it needs: a class body and its decorators run when the file is imported
        self.chunks.append(text.rstrip("\n"))


def _instance(cls: type, state: dict) -> Any:
    """An object of ``cls`` with attributes ``state``, without calling ``__init__``."""
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _describe(obj: Any) -> str:
    if obj is _GENERATED:
        return "a generated function"
    if isinstance(obj, types.ModuleType):
        return f"the module {obj.__name__}"
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{type(obj).__name__} {getattr(obj, '__module__', '?')}.{qualname}"
    return f"a {type(obj).__module__}.{type(obj).__qualname__} value"


def _describe_argument(value: Any) -> str:
    if isinstance(value, np.ndarray | np.generic):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, dict):
        return "dict {" + ", ".join(f"{k!r}: {_describe_argument(v)}"
                                    for k, v in value.items()) + "}"
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        inner = ", ".join(_describe_argument(v) for v in value)
        return f"{type(value).__name__} [{inner}]"
    return type(value).__qualname__


def _walk(value: Any) -> list[Any]:
    """``value`` and everything inside it, for containers."""
    from .pytree import _children, is_container

    out = [value]
    if is_container(value):
        for child in _children(value)[0]:
            out += _walk(child)
    return out


def _defs(code: str) -> list[str]:
    return [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]


def export_text(f: Callable[..., Any], wrt: Any = None, args: Sequence[Any] | None = None,
                kind: str = "grad", *, has_aux: bool = False,
                argnums: int | Sequence[int] | None = None) -> str:
    """The text :func:`export` writes (see there)."""
    if kind not in KINDS:
        raise ADError(f"kind={kind!r} is not one of {KINDS}")
    wrt = api._chosen_wrt(f, wrt, argnums)
    func = api._function(f)
    origin = f"the {kind} of {func.__qualname__}"
    # grad with aux returns (grad, aux): built on value_and_grad's code, which keeps aux
    build_kind = "value_and_grad" if kind == "grad" and has_aux else kind
    shown = api.source(f, build_kind, wrt, has_aux=has_aux,
                       args=None if args is None else tuple(args))
    code, _ = names.split_block(shown)
    namespace: dict[str, Any] = {"__name__": "adcompiler_export"}
    exec(compile(shown, f"<export of {func.__qualname__}>", "exec"), namespace)
    defs = _defs(code)
    writer = _Writer(origin)
    # the container types registered in this process: only those of the example arguments
    # go into the file (the others may be anything, and the code never meets them)
    from . import pytree

    types_used = {type(v) for v in _walk(list(args or ()))}
    writer.replacements[id(pytree._REGISTRY)] = {
        t: rule for t, rule in pytree._REGISTRY.items() if t in types_used}
    for name in defs:
        writer.bind(name, _GENERATED, "the generated code")
    for name in free_names(code):
        if name not in namespace:
            raise ADError(f"cannot export {origin}: the generated code reads {name!r}, a "
                          f"closure variable or global of {func.__qualname__} with no "
                          "literal form; make it a module-level constant or an argument")
        writer.define(name, namespace[name], "the generated code", code)
    entry = defs[0]
    extra = ""
    exported = [entry]
    if kind == "vjp":
        forward, pullback = defs[0], defs[1]
        params = ", ".join(a.arg for a in ast.parse(code).body[0].args.args)  # type: ignore
        entry = forward.removesuffix("_forward") + "_vjp"
        extra = (f"\n\ndef {entry}({params}):\n"
                 f'    """(value, pullback): pullback(cotangent) gives the cotangents."""\n'
                 f"    value, saved = {forward}({params})\n"
                 f"    return value, lambda cotangent: {pullback}(*saved, cotangent)\n")
        exported = [entry, forward, pullback]
    if build_kind != kind:
        params = ", ".join(a.arg for a in ast.parse(code).body[0].args.args)  # type: ignore
        entry = defs[0].removesuffix("_value_and_grad") + "_grad"
        extra = (f"\n\ndef {entry}({params}):\n"
                 f'    """(gradient, aux), as ad.grad(f, has_aux=True) returns."""\n'
                 f"    (value, aux), gradient = {defs[0]}({params})\n"
                 f"    return gradient, aux\n")
        exported = [entry, defs[0]]
    header = _header(func, kind, wrt, args, has_aux, entry, writer.modules)
    parts = [header, "from __future__ import annotations", "\n".join(sorted(
        set(writer.imports), key=lambda line: (not line.startswith("import "), line))),
        f"__all__ = {exported!r}", code.rstrip("\n") + extra.rstrip("\n"),
        "# -- helpers the code above calls, copied from adcompiler and the function's "
        "module --" if writer.chunks else "", *writer.chunks]
    text = "\n\n\n".join(p.rstrip("\n") for p in parts if p) + "\n"
    missing = free_names(text)
    if missing:  # pragma: no cover - every free name was defined above
        raise ADError(f"cannot export {origin}: {missing} left undefined")
    compile(text, "<export>", "exec")
    return text


def _header(func: types.FunctionType, kind: str, wrt: Any, args: Sequence[Any] | None,
            has_aux: bool, entry: str, modules: set[str]) -> str:
    from . import __version__

    params = api._param_names(func)
    what = {"grad": "the gradient", "value_and_grad": "the value and gradient",
            "vjp": "the vector-Jacobian product (reverse mode)",
            "jvp": "the Jacobian-vector product (forward mode)"}[kind]
    filename = inspect.getsourcefile(func) or "?"
    try:
        line = inspect.getsourcelines(func)[1]
    except OSError:  # pragma: no cover - a function adcompiler transformed has source
        line = 0
    wrt_text = api._default_wrt(func) if wrt is None else wrt
    lines = [f"{what.capitalize()} of {func.__qualname__} ({Path(filename).name}, line "
             f"{line}) with respect to wrt={wrt_text!r}{', with aux' if has_aux else ''},",
             f"written by adcompiler {__version__} (ad.export, kind={kind!r}).", ""]
    if args is None:
        lines.append("Generated without example arguments: not specialised on ranks.")
    else:
        lines.append("Specialised for arguments like:")
        lines += [f"    {p}: {_describe_argument(v)}" for p, v in zip(params, args,
                                                                      strict=False)]
        lines.append("Other ranks or container structures may need another export.")
    needs = sorted(modules - {"numpy", "__future__"} - set(sys.stdlib_module_names))
    lines += ["", "It needs only NumPy" + (f" and {', '.join(needs)}" if needs else "")
              + ", not adcompiler: the helpers it calls are copied below, and globals and "
              "closure variables are copied with their values at export time.",
              f"Entry point: {entry}."]
    wrapped = [textwrap.fill(line, 88, subsequent_indent=line[:len(line) - len(line.lstrip())])
               if line else "" for line in lines]
    body = "\n".join(wrapped).replace('"""', "'''")
    return f'"""{body}\n"""'


def export(f: Callable[..., Any], path: str | os.PathLike[str], wrt: Any = None,
           args: Sequence[Any] | None = None, kind: str = "grad", *,
           has_aux: bool = False, argnums: int | Sequence[int] | None = None) -> Path:
    """Write the generated ``kind`` of ``f`` as a standalone module at ``path``.

    ``args`` are example arguments: the code is specialised for their ranks, dtypes and
    container structures, as a call with them would be (without them, a generic
    version). The module needs only NumPy; its ``__all__`` names the entry function first
    (``<f>_grad``, ``<f>_value_and_grad``, ``<f>_vjp`` or ``<f>_jvp``). ``argnums=`` is
    JAX's name for integer positions, as everywhere ``wrt=`` is taken.
    """
    text = export_text(f, wrt, args, kind, has_aux=has_aux, argnums=argnums)
    target = Path(path)
    target.write_text(text, encoding="utf-8")
    return target
