"""One hierarchy of errors, all under :class:`ADError`.

Every error the compiler raises about user code carries the user's file, line and the
offending source text, because "unsupported syntax" without a location is useless in a
thousand-line model. The location is rendered into the message so it survives any
logging or re-raising, and is also kept as attributes for tests and tools.
"""

from __future__ import annotations

__all__ = [
    "ADError",
    "NonDifferentiableError",
    "NonScalarOutputError",
    "SourceLocation",
    "UnsupportedSyntaxError",
    "at_call_site",
    "is_library_file",
    "no_rule_message",
    "operator_symbol",
    "public_name",
    "user_code",
]

import ast
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's source a problem sits."""

    filename: str
    lineno: int
    code: str = ""

    def __str__(self) -> str:
        text = f'File "{self.filename}", line {self.lineno}'
        if self.code:
            text += f"\n    {self.code.strip()}"
        return text


class ADError(Exception):
    """Base class of every error adcompiler raises about the user's program or call.

    ``call_sites`` are the calls that led from the differentiated function to the one
    where the problem sits (outermost last), shown under the location.
    """

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        self.message = message
        self.location = location
        self.call_sites: list[SourceLocation] = []
        super().__init__(self._render())

    @property
    def filename(self) -> str | None:
        return self.location.filename if self.location else None

    @property
    def lineno(self) -> int | None:
        return self.location.lineno if self.location else None

    def _render(self) -> str:
        if self.location is None:
            return self.message
        text = f"{self.message}\n  {self.location}"
        for site in getattr(self, "call_sites", ()):
            text += f"\n  called from {site}".replace("\n    ", "\n      ")
        return text

    def add_call_site(self, site: SourceLocation) -> ADError:
        """Record the call through which the compiler reached the problem."""
        if self.location is None:
            return self.with_location(site)
        if site != self.location and site not in self.call_sites:
            self.call_sites.append(site)
            self.args = (self._render(),)
        return self

    def with_location(self, location: SourceLocation) -> ADError:
        """Attach a location if none is known yet (errors raised deep in a rule)."""
        if self.location is None:
            self.location = location
            self.args = (self._render(),)
        return self


class UnsupportedSyntaxError(ADError):
    """A construct the compiler does not differentiate; the message names it."""


class NonDifferentiableError(ADError):
    """A call with no derivative rule and no Python source to transform."""


class NonScalarOutputError(ADError):
    """``grad`` of a function whose output is not a scalar."""


_SYMBOLS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/",
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.UAdd: "+", ast.USub: "-",
    ast.Not: "not", ast.Invert: "~",
}


def operator_symbol(op: ast.AST) -> str:
    """``//`` for ``ast.FloorDiv()`` (``ast.unparse`` of a bare operator is empty)."""
    return _SYMBOLS.get(type(op), type(op).__name__)


def user_code(node: ast.AST) -> str:
    """The user's code behind a normalised expression, for quoting in messages.

    Normalisation splits ``np.sin(x) * x // 2.0`` into ``sin_x = np.sin(x)``,
    ``t1 = sin_x * x``, ``t1 // 2.0``; the compiler's names (``sin_x``, ``t1``) mean
    nothing to the user. ``normalize`` records the expression it started from as
    ``ad_origin``; without one (code the compiler made) the node itself is quoted.
    """
    origin = getattr(node, "ad_origin", None)
    return ast.unparse(origin if origin is not None else node)


def no_rule_message(what: str, callee: object = None, mode: str = "reverse") -> str:
    """Why ``what`` cannot be differentiated, and the two ways out.

    ``callee`` is the object when one is known (a C function, a ufunc): then the way to
    register its rule can be written out in full.
    """
    kind = "forward-mode derivative rule" if mode == "forward" else "derivative rule"
    stop = "or wrap the value in ad.stop_gradient() if it should not be differentiated"
    forward = ", mode='forward'" if mode == "forward" else ""
    if callee is not None:
        return (f"no {kind} for {what}, and it has no Python source to transform. "
                f"Register one with @ad.derivative(of={what}{forward}) (see "
                f"docs/custom_rules.md), {stop}")
    if what.startswith("the call "):
        return (f"no {kind} for {what}: the function it calls is not known when the "
                "gradient is compiled (it is computed or looked up at run time). Call it "
                "by its name, or pass it to the differentiated function as an argument; "
                f"{stop}")
    if what.startswith("the method "):
        return (f"no {kind} for {what}. Call the equivalent NumPy function (np.sum(a) for "
                f"a.sum()) or register a rule with @ad.derivative, {stop}")
    return f"no {kind} for {what}. Rewrite it with operations that have rules, {stop}"


def public_name(obj: object) -> str:
    """``scipy.special.logsumexp``, not ``scipy.special._logsumexp.logsumexp``: the
    shortest public module path that offers ``obj``. A ufunc has no ``__module__``
    (``scipy.special.gammaln``), so it is looked for in every loaded module, installed
    packages first (the user's own module may have imported it under the same name).
    Only asked when a message names ``obj``, so the search costs nothing otherwise."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__name__", None)
    root = module.split(".")[0] if isinstance(module, str) else None
    found: list[tuple[tuple[bool, bool, bool, int], str]] = []
    for module_name, mod in list(sys.modules.items()):
        if mod is None or (root is not None and module_name.split(".")[0] != root):
            continue
        namespace = getattr(mod, "__dict__", {})
        if isinstance(name, str) and namespace.get(name) is obj:
            attrs = [name]
        elif root is None:
            attrs = [k for k, v in list(namespace.items()) if v is obj]
        else:
            continue
        library = is_library_file(getattr(mod, "__file__", None) or "")
        for attr in attrs:
            private = any(p.startswith("_") for p in [*module_name.split("."), attr])
            rank = (not library and root is None, private, attr != name, len(module_name))
            found.append((rank, f"{module_name}.{attr}"))
    if found:
        best = min(found)[1]
        return "np." + best[len("numpy."):] if best.startswith("numpy.") else best
    qualname = getattr(obj, "__qualname__", name) or repr(obj)
    return f"{module}.{qualname}" if module and module != "builtins" else str(qualname)


def _library_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    return [Path(paths[key]).resolve() for key in ("stdlib", "platstdlib", "purelib",
                                                   "platlib") if key in paths]


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to an installed package or the standard library (code
    the user cannot edit), as opposed to the user's own modules."""
    path = Path(filename)
    if not path.is_absolute():
        return False
    if {"site-packages", "dist-packages"} & set(path.parts):
        return True
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in _library_roots())


def at_call_site(exc: ADError, callee: object, site: SourceLocation) -> ADError:
    """An error found while transforming ``callee``, seen from the user's call ``site``.

    In the user's own code the error keeps its location (the line to change) and gains
    the call site. Inside an installed package the user can change nothing there, so
    the error is re-raised at the call site, names the function by its public name and
    says how to give it a rule.
    """
    location = exc.location
    if location is None or not is_library_file(location.filename):
        return exc.add_call_site(site)
    name = public_name(callee)
    text = (f"{name} cannot be differentiated: adcompiler transforms a function's Python "
            f"source, and {name}'s source has a construct it does not support at "
            f'"{location.filename}", line {location.lineno}')
    if location.code:
        text += f" ({location.code.strip()})"
    text += (f". Register a derivative rule with @ad.derivative(of={name}) (see "
             "docs/custom_rules.md), or wrap the value in ad.stop_gradient() if it should "
             "not be differentiated")
    return NonDifferentiableError(text, site)
