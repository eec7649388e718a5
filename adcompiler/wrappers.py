"""What calling a user's callable runs: the Python function the compiler transforms.

``ad.grad(f)`` must differentiate what the user calls, ``f(*args)``, and nothing else.
Most of the time that is ``f``'s own source. Three kinds of callable need more care:

* **Our own ``@ad.differentiable`` wrapper** calls the function it wraps unchanged, and so
  do ``functools.lru_cache`` / ``functools.cache``: they are looked through.
* **A decorator's wrapper** (a function carrying ``__wrapped__``, as ``functools.wraps``
  leaves it) is code of its own: it may scale the result, change the arguments, or
  both. It is never skipped. A wrapper with ordinary positional parameters is
  transformed as it is. A wrapper taking ``*args, **kwargs`` is called from a *call
  shim*: a one-line generated function with the wrapped function's signature (what
  ``inspect.signature`` reports for the wrapper, and what users bind their arguments
  against), whose body calls the wrapper; the frontend inlines the wrapper there, with
  its closure (the wrapped function) read from the wrapper's own cells.
* **A function with a rule of its own** (``@ad.derivative(of=f)``) is differentiated by
  that rule, exactly as when ``f`` is called from another function: the call shim calls
  ``f``, and the transform uses the rule for the call.

A wrapper object that is not a Python function (a class instance with ``__wrapped__``)
cannot be read, so it is refused with an ``ADError`` naming it, rather than skipped.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import linecache
import types
from typing import Any

from .errors import ADError, SourceLocation
from .frontend.parse import callee_object, def_line, parse_function, unwrap
from .rules.registry import rule_for

__all__ = ["for_call", "located", "location", "target"]

_PLAIN = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _plain(func: types.FunctionType) -> bool:
    """Whether ``func`` takes positional parameters only (no ``*args``, ``**kwargs``)."""
    sig = inspect.signature(func, follow_wrapped=False)
    return all(p.kind in _PLAIN for p in sig.parameters.values())


def _has_user_rule(func: Any) -> bool:
    rule = rule_for(func)
    return rule is not None and (rule.user_reverse is not None or rule.user_forward is not None)


def _signature_function(wrapper: types.FunctionType) -> types.FunctionType:
    """The function whose parameters a ``*args`` wrapper is called with: the first
    function down the ``__wrapped__`` chain with plain parameters (what
    ``inspect.signature`` reports)."""
    seen: set[int] = set()
    func: Any = wrapper
    while id(func) not in seen:
        seen.add(id(func))
        if isinstance(func, types.FunctionType) and _plain(func):
            return func
        inner = getattr(func, "__wrapped__", None)
        if inner is None:
            break
        func = inner
    raise ADError(
        f"{wrapper.__qualname__} wraps {func!r} and takes *args or **kwargs, and no "
        "function down its __wrapped__ chain has fixed positional parameters to bind the "
        "arguments to; give the wrapper (or the function it wraps) named parameters")


def _shim(call: Any, signature: types.FunctionType, omitted: tuple[str, ...] = ()
          ) -> types.FunctionType:
    """``def name(a, b): return name_as_called(a, b)``, with ``signature``'s parameters.

    ``omitted`` parameters (ones the user's call left to their defaults) are not passed
    on: a ``*args, **kwargs`` wrapper then sees the call the user made (it may supply
    such an argument itself). One shim per callable and omitted set, kept on the
    callable, so its cache entries are reused by every ``ad.grad`` of it.
    """
    from .backend.compile import compile_functions

    params = [p.name for p in inspect.signature(signature, follow_wrapped=False)
              .parameters.values()]
    key = (tuple(params), omitted)
    shims = call.__dict__.setdefault("__ad_shims__", {})
    if key in shims:
        return shims[key]
    name = signature.__name__ if signature.__name__.isidentifier() else "lambda_"
    passed: list[str] = []
    for param in params:
        if param in omitted:
            continue
        keyword = len(passed) < params.index(param)  # an earlier parameter was left out
        passed.append(f"{param}={param}" if keyword else param)
    text = (f"def {name}({', '.join(params)}):\n"
            f"    return {name}_as_called({', '.join(passed)})\n")
    shim = compile_functions(text, [name], {name + "_as_called": call}, call,
                             f"call of {signature.__qualname__}")[name]
    del shim.__ad_generated__  # type: ignore[attr-defined]  (user code, not a derivative)
    shim.__qualname__ = signature.__qualname__
    shim.__doc__ = signature.__doc__
    shim.__defaults__ = signature.__defaults__  # the same parameters: the same defaults
    shim.__ad_calls__ = call  # type: ignore[attr-defined]
    shim.__ad_signature__ = signature  # type: ignore[attr-defined]
    shims[key] = shim
    return shim


def for_call(func: types.FunctionType, omitted: list[str]) -> types.FunctionType:
    """The function to transform for a call of ``func`` that left ``omitted`` parameters
    to their defaults: ``func`` itself, except for the call shim of a ``*args`` wrapper,
    which must not pass those arguments on (see :func:`_shim`)."""
    if not omitted or not hasattr(func, "__ad_signature__") or _plain(func.__ad_calls__):
        return func
    return _shim(func.__ad_calls__, func.__ad_signature__, tuple(omitted))


def target(f: Any) -> types.FunctionType:
    """The Python function to transform so that its derivative is that of calling ``f``
    (see the module docstring)."""
    func = callee_object(f)
    if rule_for(func) is None:
        func = callee_object(unwrap(func))
    if isinstance(func, types.FunctionType):
        if _has_user_rule(func):
            return _shim(func, func)
        if getattr(func, "__wrapped__", None) is not None and not _plain(func):
            return _shim(func, _signature_function(func))
        return func
    if getattr(func, "__wrapped__", None) is not None:
        raise ADError(
            f"{func!r} is a wrapper ({type(func).__qualname__}) around "
            f"{func.__wrapped__!r}, and not a Python function, so adcompiler cannot read "
            "what it does to the value; differentiate the wrapped function, write the "
            "wrapper as a def, or register a rule with @ad.derivative(of=...)")
    if callable(func) and _has_user_rule(func):
        raise ADError(
            f"{func!r} has a rule registered with @ad.derivative but is not a Python "
            "function, so it has no signature to bind arguments to; call it from a "
            "Python function and differentiate that")
    raise ADError(f"{f!r} is not a Python function; adcompiler differentiates functions "
                  "written in Python (register a rule with @ad.derivative for others)")


def location(func: Any, at_return: bool = False) -> SourceLocation | None:
    """Where the user wrote ``func`` (the function a call shim calls, for a shim): its
    ``def`` line, or with ``at_return`` the line of its last ``return`` (what a
    non-scalar output error points at). None for a callable without Python source."""
    func = getattr(func, "__ad_calls__", func)
    code = getattr(func, "__code__", None)
    if code is None:  # a callable object: where its class's __call__ is written
        func = type(func).__call__ if callable(func) else None
        code = getattr(func, "__code__", None)
    if code is None:
        return None
    lineno = def_line(code)
    if at_return:
        with contextlib.suppress(Exception):  # no source: the def line will do
            node = parse_function(func).node
            returns = [n.lineno for n in ast.walk(node) if isinstance(n, ast.Return)]
            lineno = max(returns, default=node.lineno)
    return SourceLocation(code.co_filename, lineno,
                          linecache.getline(code.co_filename, lineno).strip())


def located(error: ADError, func: Any, at_return: bool = False) -> ADError:
    """``error`` with ``func``'s location attached if it has none yet."""
    if error.location is None:
        where = location(func, at_return)
        if where is not None:
            error.with_location(where)
    return error
