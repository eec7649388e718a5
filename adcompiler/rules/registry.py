"""The rule registry: a plain dictionary from a callable (or operator) to its rule.

A derivative rule is a *template*: a tiny Python function whose body is the derivative,
written with ordinary NumPy. The compiler inlines that body into the generated code with
the names substituted, so the generated code reads like the rule.

The template contract (stated once, here):

* A reverse template's parameters are ``result``, ``g`` and then the primal's own
  parameters with their defaults (``def sum(result, g, a, axis=None, keepdims=False)``).
  ``result`` is the primal output, ``g`` the cotangent arriving at it. The body assigns
  ``d<param>`` for every parameter it differentiates; parameters it never assigns have no
  derivative (``axis``). Other assigned names are locals and get fresh names.
* A forward template's parameters are ``result``, the primal's parameters (with their
  defaults), then keyword-only ``d<param>`` for each differentiable one
  (``def sum(result, a, axis=None, keepdims=False, *, da)``); its body assigns
  ``dresult``. A tangent that is zero is substituted by the literal ``ZERO`` and
  simplified away (``ZERO * x`` and any call with a ``ZERO`` argument become ``ZERO``,
  ``a + ZERO`` becomes ``a``), so rules never test for zeros: the driver does, once.
  Hence a forward template calls only functions linear in the tangent it passes and
  never passes two tangents to one call (write ``np.where(c, da, 0) + np.where(c, 0,
  db)``).
* ``if static(cond):`` takes the branch only when ``cond`` is known true at fill time
  (``if static(b == 2):`` for a constant exponent); ``np.ndim(x)`` is replaced by the
  rank of ``x`` where the compiler knows it, so rank-dependent rules are decided then.
* ``active(p)`` is true when the call site differentiates parameter ``p`` (reverse: its
  cotangent is wanted; forward: its tangent is not ``ZERO``). It is decided at fill time,
  like ``static``, for conventions that depend on which operands are constants (a tie in
  ``maximum``: a constant operand takes the whole cotangent).
* Methods are registered under ``("method", name)`` and attributes under ``("attr",
  name)``; the object is the template's first primal parameter. A subscript of an
  object that is not an array or a container (``np.r_[a, 0:3]``) is registered under
  ``("subscript", obj)``; its template takes ``(maker, items)``: the object and the
  tuple between the brackets, slices as ``slice`` values.
* ``if`` statements whose test only involves constant arguments are decided when the
  template is filled, so a rule may branch on ``axis is None`` and the generated code
  contains only the branch taken.

Registration helpers say what kind of rule it is: :func:`reverse` / :func:`forward` for
templates, :func:`zero_derivative` for functions whose derivative is zero everywhere it
exists (floor, sign, comparisons), and ``broadcasting=True`` for elementwise rules whose
contributions the driver must reduce to each operand's shape.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import NonDifferentiableError, public_name

__all__ = [
    "Rule",
    "Template",
    "active",
    "forward",
    "lookup",
    "register_builtin_forward",
    "register_user_rule",
    "reverse",
    "rule_for",
    "rules_version",
    "static",
    "zero_derivative",
]


@dataclass
class Template:
    """A parsed rule template (see the module docstring for the contract)."""

    func: Callable[..., Any]
    signature: inspect.Signature
    body: list[ast.stmt]
    outputs: tuple[str, ...]
    namespace: dict[str, Any]

    @property
    def primal_params(self) -> list[str]:
        return list(self.signature.parameters)

    @classmethod
    def from_function(cls, func: Callable[..., Any], mode: str) -> Template:
        source = textwrap.dedent(inspect.getsource(func))
        fdef = ast.parse(source).body[0]
        assert isinstance(fdef, ast.FunctionDef)
        body = [s for s in fdef.body if not (
            isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        if mode == "reverse":
            if [p.name for p in params[:2]] != ["result", "g"]:
                raise TypeError(f"reverse template {func.__name__} must start with (result, g)")
            primal = params[2:]
        else:
            if params[0].name != "result":
                raise TypeError(f"forward template {func.__name__} must start with result")
            primal = [p for p in params[1:] if not p.name.startswith("d")
                      or p.name[1:] not in sig.parameters]
        assigned = {
            t.id for node in ast.walk(fdef) if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)
        }
        names = [p.name for p in primal]
        if mode == "reverse":
            outputs = tuple(n for n in names if "d" + n in assigned)
        else:
            outputs = tuple(n for n in names if "d" + n in sig.parameters)
        return cls(func, sig.replace(parameters=primal), body, outputs, func.__globals__)


@dataclass
class Rule:
    """Everything the transformer needs to know to differentiate one callable."""

    key: Any
    name: str
    reverse: Template | None = None
    forward: Template | None = None
    broadcasting: bool = False
    zero: bool = False
    user_reverse: Callable[..., Any] | None = None
    user_forward: Callable[..., Any] | None = None
    notes: str = ""
    keys: list[Any] = field(default_factory=list)
    shape_only: tuple[str, ...] = ()  # parameters read for their shape only: no derivative
    builtin: bool = False  # a function-style rule of the compiler's own (not a user's)

    @property
    def has_reverse(self) -> bool:
        return self.zero or self.reverse is not None or self.user_reverse is not None

    @property
    def has_forward(self) -> bool:
        return self.zero or self.forward is not None or self.user_forward is not None


_RULES: dict[Any, Rule] = {}
_LOCK = threading.Lock()
_VERSION = [0]


def _key(obj: Any) -> Any:
    try:
        hash(obj)
    except TypeError:
        return ("id", id(obj))
    return obj


def rules_version() -> int:
    """Bumped by every registration, so cached code built with older rules is rebuilt."""
    return _VERSION[0]


def _rule(key: Any, name: str) -> Rule:
    k = _key(key)
    rule = _RULES.get(k)
    if rule is None:
        rule = _RULES[k] = Rule(key=key, name=name)
    return rule


def _describe(obj: Any) -> str:
    if isinstance(obj, tuple) and obj and obj[0] == "method":
        return f".{obj[1]}()"
    if isinstance(obj, tuple) and obj and obj[0] == "subscript":
        # a subscript of an object (``np.r_[...]``), named as NumPy exports it
        import numpy as np

        name = next((n for n, v in vars(np).items() if v is obj[1]), None)
        return f"np.{name}[...]" if name else f"{type(obj[1]).__name__}[...]"
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if module is None and hasattr(obj, "nin"):
        return public_name(obj)  # a ufunc does not say where it lives
    if module == "numpy" or (module or "").startswith("numpy."):
        return f"np{module[len('numpy'):]}.{name}"  # np.fft.fft, as users write it
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def reverse(*keys: Any, broadcasting: bool = False, notes: str = "",
            shape_only: tuple[str, ...] = ()) -> Callable:
    """Register the decorated function as the reverse template of ``keys``.

    ``shape_only`` names parameters the callable reads only for their shape (the second
    argument of ``unbroadcast``): they may be differentiated values, and get no
    contribution.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        template = Template.from_function(func, "reverse")
        with _LOCK:
            for key in keys:
                rule = _rule(key, _describe(key))
                rule.reverse = template
                rule.broadcasting = rule.broadcasting or broadcasting
                rule.notes = notes or rule.notes
                rule.shape_only = rule.shape_only or shape_only
            _VERSION[0] += 1
        return func

    return decorate


def forward(*keys: Any, broadcasting: bool = False, shape_only: tuple[str, ...] = ()
            ) -> Callable:
    """Register the decorated function as the forward (tangent) template of ``keys``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        template = Template.from_function(func, "forward")
        with _LOCK:
            for key in keys:
                rule = _rule(key, _describe(key))
                rule.forward = template
                rule.broadcasting = rule.broadcasting or broadcasting
                rule.shape_only = rule.shape_only or shape_only
            _VERSION[0] += 1
        return func

    return decorate


def zero_derivative(keys: Iterable[Any], notes: str = "") -> None:
    """Declare callables whose derivative is zero wherever it exists."""
    with _LOCK:
        for key in keys:
            rule = _rule(key, _describe(key))
            rule.zero = True
            rule.notes = notes or rule.notes
        _VERSION[0] += 1


def register_user_rule(of: Any, func: Callable[..., Any], mode: str) -> None:
    """Back end of ``ad.derivative``: user rules live in the same table as ours."""
    with _LOCK:
        rule = _rule(of, _describe(of))
        if mode == "reverse":
            rule.user_reverse = func
        else:
            rule.user_forward = func
        _VERSION[0] += 1


def register_builtin_forward(of: Any, func: Callable[..., Any]) -> None:
    """A forward rule written as a function ``(primals, tangents) -> (value, tangent)``.

    For the compiler's own helpers that are linear in several arguments at once (a
    template call takes one tangent); generated code calls it as it calls a user's rule.
    """
    register_user_rule(of, func, "forward")
    _rule(of, _describe(of)).builtin = True


def rule_for(obj: Any) -> Rule | None:
    """The rule registered for ``obj``, or None."""
    try:
        return _RULES.get(_key(obj))
    except TypeError:  # pragma: no cover - unhashable keys go through _key
        return None


def lookup(obj: Any, mode: str = "reverse") -> Rule:
    """The rule for ``obj`` in ``mode``; raise ``NonDifferentiableError`` naming it."""
    rule = rule_for(obj)
    if rule is not None and (rule.has_reverse if mode == "reverse" else rule.has_forward):
        return rule
    raise NonDifferentiableError(
        f"no {mode}-mode derivative rule for {_describe(obj)} and no Python source to "
        "transform. Register one with @ad.derivative(of=...)"
        + (", mode='forward'" if mode == "forward" else "")
        + ", or wrap the value in ad.stop_gradient() if it should not be differentiated"
    )


def all_rules() -> list[Rule]:
    """Every registered rule, each once (a rule may sit under several keys)."""
    seen: dict[int, Rule] = {}
    for rule in _RULES.values():
        seen.setdefault(id(rule), rule)
    return list(seen.values())


def describe(obj: Any) -> str:
    return _describe(obj)


def static(condition: Any) -> bool:
    """Marker for template ``if`` tests decided at fill time (see the module docstring)."""
    return condition is True


def active(parameter: Any) -> bool:
    """Marker for "is this parameter differentiated here", decided at fill time (see the
    module docstring); run directly (``evaluate``), every parameter is active."""
    return True


def evaluate(template: Template, special: dict[str, Any], *args: Any,
             inactive: Iterable[str] = (), **kwargs: Any) -> dict[str, Any]:
    """Run a template's body directly on values (for testing rules in isolation).

    ``special`` holds ``result`` and ``g`` (reverse) or ``result`` and the tangents
    ``d<param>`` (forward); ``inactive`` names the parameters ``active(p)`` calls
    constants. Returns every ``d<name>`` the body assigned.
    """
    inactive = set(inactive)
    bound = template.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    namespace: dict[str, Any] = dict(template.namespace)
    namespace.update(bound.arguments)
    namespace.update(special)
    namespace.setdefault("ZERO", 0.0)
    namespace.setdefault("static", static)
    body = [_StaticThunks(inactive).visit(copy.deepcopy(s)) for s in template.body]
    namespace["static_thunk"] = _static_thunk
    module = ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))
    exec(compile(module, f"<rule {template.func.__name__}>", "exec"), namespace)
    names = [*template.outputs, "result"]
    return {f"d{n}": namespace[f"d{n}"] for n in names if f"d{n}" in namespace
            and (f"d{n}" not in special)}


def _static_thunk(condition: Callable[[], Any]) -> bool:
    """``static(cond)`` run on values: true only for a plain ``True`` (an array condition,
    or one that raises on arrays, is not decided at fill time either)."""
    try:
        return condition() is True
    except (TypeError, ValueError):
        return False


class _StaticThunks(ast.NodeTransformer):
    """``static(cond)`` -> ``static_thunk(lambda: cond)``, so ``b > 0 and b < 1`` on an
    array does not raise where the filler would simply leave the branch untaken; and
    ``active(p)`` -> whether ``p`` is not named ``inactive``."""

    def __init__(self, inactive: set[str]) -> None:
        self.inactive = inactive

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "active"
                and len(node.args) == 1 and isinstance(node.args[0], ast.Name)):
            return ast.Constant(node.args[0].id not in self.inactive)
        if isinstance(node.func, ast.Name) and node.func.id == "static" and len(node.args) == 1:
            thunk = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                  kw_defaults=[], defaults=[]),
                               body=node.args[0])
            return ast.Call(func=ast.Name(id="static_thunk", ctx=ast.Load()), args=[thunk],
                            keywords=[])
        return node


def version_cell() -> list[int]:
    """The one-element list holding the version (a hot path reads it without a call)."""
    return _VERSION
