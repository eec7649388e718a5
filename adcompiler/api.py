"""The public entry points: ``differentiable``, ``grad``, ``value_and_grad``, ``vjp``, ``source``.

Everything here is bookkeeping around :func:`pipeline.build`: turning ``wrt`` into
parameter names, binding call arguments, choosing the cache entry, checking that a
gradient was asked of a scalar, and handing back gradients of the same type and dtype as
the arguments (a Python float gets a float; a float32 array a float32 array).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import pipeline, wrappers
from .aliasing import aliases, input_arrays, unshared, unshared_plain
from .backend import cache
from .errors import ADError, NonScalarOutputError
from .pytree import (
    is_container,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
)
from .pytree import version_cell as _tree_version_cell
from .request import Request
from .rules.registry import rule_for
from .rules.registry import version_cell as _rules_version_cell
from .runtime import zeros_like_tree
from .tracebacks import api_boundary
from .transform.forward import zero_tangent
from .unsupported_values import refuse_arguments, refuse_output, suspect

__all__ = ["differentiable", "grad", "hessian", "hvp", "jacobian", "jvp", "source",
           "value_and_grad", "vjp"]

Wrt = int | str | Sequence[int | str]


# -- resolving what to differentiate ---------------------------------------------------
def _derivative(f: Any) -> Transformed | None:
    """The generated derivative ``f`` is, or None for a plain function.

    ``grad(grad(f))`` differentiates the generated gradient's source, never ``f`` again:
    a transformed function also wraps ``f`` (``__wrapped__``), and unwrapping it would
    quietly differentiate the original.
    """
    seen: set[int] = set()
    while f is not None and id(f) not in seen:
        seen.add(id(f))
        if isinstance(f, Transformed):
            if f.kind not in ("grad", "value_and_grad") or f.has_aux:
                raise ADError(
                    f"{f!r} cannot be differentiated again: derivatives of derivatives are "
                    "built from grad and value_and_grad without has_aux. Differentiate "
                    "ad.grad(f) instead")
            return f
        if isinstance(f, Pullback | Jacobian | Hessian | HessianVectorProduct):
            raise ADError(
                f"{f!r} is a derivative adcompiler generated that cannot be differentiated "
                "again; higher derivatives are built from ad.grad: ad.grad(ad.grad(f)), "
                "ad.jacobian(ad.grad(f)), ad.hessian(f), ad.hvp(f)")
        f = getattr(f, "__ad_function__", None)  # ours only: see adcompiler.wrappers
    return None


def _function(f: Any) -> types.FunctionType:
    """The Python function whose signature ``f`` has (the original, for a derivative)."""
    inner = _derivative(f)
    if inner is not None:
        return inner.func
    return wrappers.target(f)


def _code_for(f: Any, func: types.FunctionType, values: list[Any]) -> types.FunctionType:
    """What to transform for a call with ``values``: ``func`` itself, or for a derivative
    the generated function it runs for arguments like these."""
    inner = _derivative(f)
    return func if inner is None else inner.generated_function(values)


def _default_wrt(f: Any) -> Wrt:
    return getattr(f, "__ad_wrt__", 0)


def _chosen_wrt(f: Any, wrt: Wrt | None, argnums: int | Sequence[int] | None) -> Wrt:
    """``wrt``, or JAX's ``argnums`` (integer positions only), or ``f``'s default."""
    if argnums is None:
        return _default_wrt(f) if wrt is None else wrt
    if wrt is not None:
        raise ADError(f"both wrt={wrt!r} and argnums={argnums!r} were given: argnums is "
                      "JAX's name for wrt, pass one of them")
    items = list(argnums) if isinstance(argnums, tuple | list) else [argnums]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ADError(f"argnums takes integer argument positions, not {item!r}; use "
                          f"wrt={item!r} to name an argument")
    return tuple(argnums) if isinstance(argnums, tuple | list) else argnums


def _param_names(func: types.FunctionType) -> list[str]:
    sig = inspect.signature(func, follow_wrapped=False)
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _wrt_names(func: types.FunctionType, wrt: Wrt) -> tuple[list[str], bool]:
    """Parameter names for ``wrt``, and whether the caller asked for a tuple."""
    params = _param_names(func)
    many = isinstance(wrt, tuple | list)
    items = list(wrt) if many else [wrt]  # type: ignore[list-item]
    if many and not items:
        raise ADError("wrt=() selects no argument to differentiate")
    names: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ADError(f"wrt entries are argument indices or names, not {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise ADError(f"wrt={item} is out of range: {func.__qualname__} has "
                              f"{len(params)} positional argument(s) {params}")
            names.append(params[item])
        else:
            if item not in params:
                raise ADError(f"wrt={item!r} is not an argument of {func.__qualname__}; its "
                              f"arguments are {params}")
            names.append(item)
    if len(set(names)) != len(names):
        raise ADError(f"wrt={wrt!r} names an argument twice")
    return names, many


@functools.lru_cache(maxsize=1024)
def _plain_arity(code: types.CodeType) -> int | None:
    """The parameter count of a function that takes plain positional parameters only."""
    flags = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    if code.co_flags & flags or code.co_kwonlyargcount or code.co_posonlyargcount:
        return None
    return code.co_argcount


def _bind(func: types.FunctionType, args: tuple, kwargs: dict) -> list[Any]:
    if not kwargs and len(args) == _plain_arity(func.__code__):
        return list(args)  # the common call: every argument given by position
    sig = inspect.signature(func, follow_wrapped=False)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            raise ADError(f"{func.__qualname__} has *args, **kwargs or keyword-only "
                          "parameters; differentiated functions take positional parameters")
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        # Python's own message for a call that does not bind: the call fails while
        # binding its arguments, before the body runs, so calling is safe
        func(*args, **kwargs)
        raise  # pragma: no cover - a signature inspect cannot bind but Python can
    bound.apply_defaults()
    return list(bound.arguments.values())


def _omitted(params: list[str], args: Sequence[Any], kwargs: dict) -> list[str]:
    """Parameters a call left to their defaults (a ``*args`` wrapper must not see them:
    ``wrappers.for_call``)."""
    return [p for p in params[len(args):] if p not in kwargs]


def _structure(value: Any) -> Any:
    """Ranks of a container's leaves by key (what the compiler specialises on)."""
    if is_container(value):
        if isinstance(value, dict):
            items = list(value.items())
        elif dataclasses.is_dataclass(value):
            items = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
        elif isinstance(value, tuple) and hasattr(type(value), "_fields"):
            items = [*enumerate(value), *zip(type(value)._fields, value, strict=True)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        else:
            return None
        return {k: _structure(v) for k, v in items}
    kind = _kind_of(value)
    if kind[1] is not None:
        return kind[1]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return 0
    return None


def _signature(value: Any) -> Any:
    """A hashable description of a container's structure and leaf ranks."""
    if _is_static(value):
        return ("function",)  # the function itself is in the request (``_request``)
    if is_container(value):
        return ("container", _shape_key(value))
    return _kind_of(value)


def _shape_key(value: Any) -> Any:
    if is_container(value):
        structure = _structure(value)
        return (type(value).__qualname__, _freeze(structure))
    return None


def _freeze(structure: Any) -> Any:
    if isinstance(structure, dict):
        return tuple((repr(k), _freeze(v)) for k, v in structure.items())
    return structure


def _kind_of(value: Any) -> Any:
    """What the generated code is specialised on: the type and, for arrays, the rank."""
    if isinstance(value, np.ndarray | np.generic):
        return ("array", np.ndim(value))
    if hasattr(value, "__array_function__") and hasattr(value, "ndim"):
        return (type(value).__name__, value.ndim)
    return (type(value).__name__, None)


def _is_static(value: Any) -> bool:
    """A function argument the generated code may call: Python source, or a rule."""
    if isinstance(value, types.FunctionType):
        return True
    return callable(value) and not isinstance(value, type) and rule_for(value) is not None


def _request(kind: str, func: types.FunctionType, wrt: Sequence[str], params: list[str],
             values: list[Any], has_aux: bool = False) -> Request:
    """The one description of this call the cache keys on (see ``backend/cache.py``)."""
    return Request(kind, func, tuple(wrt), tuple(_signature(v) for v in values),
                   tuple(_statics(params, values).items()), has_aux)


def _statics(names: list[str], values: list[Any]) -> dict[str, Any]:
    """Function arguments: the generated code calls their derivatives directly."""
    return {n: v for n, v in zip(names, values, strict=True) if _is_static(v)}


def _containers(names: list[str], values: list[Any]) -> dict[str, Any]:
    return {n: _structure(v) for n, v in zip(names, values, strict=True) if is_container(v)}


def _ranks(names: list[str], values: list[Any]) -> dict[str, int]:
    ranks: dict[str, int] = {}
    for name, value in zip(names, values, strict=True):
        if is_container(value):
            continue
        kind = _kind_of(value)
        if kind[1] is not None:
            ranks[name] = kind[1]
        elif isinstance(value, float | int) and not isinstance(value, bool):
            ranks[name] = 0
    return ranks


def _check_key(value: Any) -> Any:
    """What ``_check_differentiable`` decides on, for plain values (None: check again)."""
    if is_container(value):
        return None
    return type(value), getattr(value, "dtype", None)


def _check_differentiable(func: types.FunctionType, names: list[str], wrt: list[str],
                          values: list[Any]) -> None:
    refuse_arguments(func.__qualname__, names, values)
    for name in wrt:
        value = values[names.index(name)]
        dtype = getattr(value, "dtype", None)
        is_int = isinstance(value, bool | numbers.Integral) or (
            dtype is not None and np.dtype(dtype).kind in "biu")
        if is_container(value):
            if not any(_float_like(leaf) for leaf in tree_leaves(value)):
                raise ADError(f"argument {name!r} of {func.__qualname__} is a container with "
                              "no float leaves, so it has no derivative")
            continue
        if is_int:
            raise ADError(
                f"argument {name!r} of {func.__qualname__} is an integer or boolean "
                f"({type(value).__name__}{'' if dtype is None else ' of dtype ' + str(dtype)})"
                f" and has no derivative; pass a float (e.g. {name}=2.0) or leave it out "
                "of wrt")
        if not _float_like(value) and not _foreign(value):
            raise ADError(
                f"argument {name!r} of {func.__qualname__} is a {type(value).__name__}, not a "
                "float, a float array or a container of them, so it has no derivative; "
                "leave it out of wrt")


def _like(gradient: Any, value: Any) -> Any:
    """The gradient in the argument's own type: float for float, same dtype for arrays.

    Containers come back with the argument's structure and types; leaves that have no
    derivative (ints, strings, None) are None.
    """
    if is_container(value):
        if gradient is None:
            gradient = zeros_like_tree(value)
        return tree_map(_like_leaf, gradient if _same_structure(gradient, value)
                        else zeros_like_tree(value), value)
    return _like_leaf(gradient, value)


def _same_structure(a: Any, b: Any) -> bool:
    try:
        return tree_flatten(a)[1] is not None and len(tree_leaves(a)) == len(tree_leaves(b))
    except TypeError:
        return False


def _foreign(array: Any) -> bool:
    """An array of another library that speaks NumPy's dispatch protocols."""
    return not isinstance(array, np.ndarray | np.generic) and hasattr(
        array, "__array_function__") and hasattr(array, "dtype")


def _like_leaf(gradient: Any, value: Any) -> Any:
    if not _float_like(value):
        return None
    if gradient is None:
        gradient = zeros_like_tree(value)
    if _foreign(gradient):
        # a lazy or device array (Dask, CuPy): keep it, only match dtype and shape
        if np.dtype(getattr(value, "dtype", float)).kind in "fc" and (
                gradient.dtype != getattr(value, "dtype", gradient.dtype)):
            gradient = gradient.astype(getattr(value, "dtype", gradient.dtype))
        if np.shape(gradient) != np.shape(value):
            gradient = np.broadcast_to(gradient, np.shape(value))
        return gradient
    if isinstance(value, float):
        return float(gradient)
    if isinstance(value, np.ndarray):
        out = np.asarray(gradient)
        if out.dtype != value.dtype and np.dtype(value.dtype).kind in "fc":
            out = out.astype(value.dtype)
        if out.shape != value.shape:
            out = np.broadcast_to(out, value.shape).copy()
        return out
    if isinstance(value, np.generic):
        return value.dtype.type(gradient)
    return gradient


def _fast_key(args: tuple) -> tuple:
    """The kinds of plain arguments: floats, ints, NumPy arrays by rank and dtype; None
    for any other argument (a key holding None is never a shortcut)."""
    return tuple([kind if (kind := type(v)) is float or kind is int else (
        (v.ndim, v.dtype.char) if kind is np.ndarray else None) for v in args])


class _Shortcut:
    """A steady-state call's cache entry, kept by a transformed function for arguments
    of plain kinds. It is used while :meth:`current`: the entry is still in the cache,
    the registries unchanged, the function's code the same and every guard holding (the
    identity rules of ``backend/cache.py``, checked without building a key)."""

    __slots__ = ("cached", "entry", "floats", "generated", "guards")

    def __init__(self, cached: cache.Entry, floats: tuple[bool, ...]) -> None:
        self.cached = cached
        self.generated: pipeline.Generated = cached.value
        self.entry = self.generated.functions[self.generated.entry]
        self.guards = cached.guards
        self.floats = floats  # which differentiated arguments are Python floats

    def current(self) -> bool:
        cached = self.cached
        if not cached.live or cached.rules != _RULES_VERSION[0] or (
                cached.pytrees != _TREE_VERSION[0]) or cached.func.__code__ is not cached.code:
            return False
        return not self.guards or cache.guards_hold(self.guards)


_RULES_VERSION = _rules_version_cell()
_TREE_VERSION = _tree_version_cell()


def _like_plain(gradient: Any, value: Any) -> Any:
    """``_like`` for a plain float or array argument, without the general checks when the
    gradient already has the argument's type, dtype and shape."""
    if type(value) is float:
        return gradient if type(gradient) is float else float(gradient)
    if type(gradient) is np.ndarray and gradient.dtype == value.dtype and (
            gradient.shape == value.shape):
        return gradient
    return _like(gradient, value)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, numbers.Number):
        return True
    size = getattr(value, "size", None)
    shape = getattr(value, "shape", None)
    return shape is not None and (size == 1)


def _non_scalar(what: str, loss: Any, func: Any) -> ADError:
    """``NonScalarOutputError`` for ``loss``, at the line where ``func`` returns it."""
    if loss is None:
        message = (f"{what} returned None, so there is nothing to differentiate: does a path "
                   "through it end without a 'return'? grad and value_and_grad need a "
                   "function that returns a scalar on every path (e.g. 'return loss')")
    elif is_container(loss):
        message = (f"{what} returned a {type(loss).__name__}; grad and value_and_grad need a "
                   "scalar output. Use ad.vjp(f, *args) to pull back a cotangent of that "
                   "structure, or ad.jacobian(f) for the full Jacobian")
    elif np.dtype(loss.dtype if hasattr(loss, "dtype") else np.asarray(loss).dtype
                  ).kind not in "biufc":
        message = (f"{what} returned a {type(loss).__name__}, not a number; grad and "
                   "value_and_grad need a function that returns a scalar (a float or 0-d "
                   "array)")
    else:
        message = (f"{what} returned a value of shape {np.shape(loss)}; grad and "
                   "value_and_grad need a scalar output. Use ad.vjp(f, *args) to pull back "
                   "a cotangent of that shape, or ad.jacobian(f) for the full Jacobian")
    return wrappers.located(NonScalarOutputError(message), func, at_return=True)


def _check_scalar_below(inner: Transformed, values: list[Any]) -> None:
    """A derivative of the gradient ``inner`` runs ``inner``'s gradient code only, whose
    seed ``1.0`` would silently differentiate ``sum(f)`` for a non-scalar ``f``: check
    here that what ``inner`` differentiates is scalar at these arguments.

    One primal evaluation of ``f`` (a gradient's, for a derivative of a derivative of a
    derivative): small next to the sweeps a second derivative takes.
    """
    if inner.inner is not None:
        inner(*values)  # its own call checks its output, and recursively what is below
        return
    try:
        out = inner.func(*values)
    except Exception:
        return
    if out is not None and type(out) is not float and not _is_scalar(out):
        # (None: a forgotten return, which the build reports with its line)
        raise _non_scalar(inner.func.__qualname__, out, inner.func)


def _locating(method: Callable[..., Any]) -> Callable[..., Any]:
    """Attach the user's function's location to an ``ADError`` ``method`` raises without
    one (``self.func`` for a method; the function ``f`` given first, for ``vjp``)."""

    @functools.wraps(method)
    def call(first: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(first, *args, **kwargs)
        except ADError as error:
            func = getattr(first, "func", None) or getattr(first, "_user", None)
            if func is None:
                try:
                    func = _function(first)
                except ADError:
                    func = first  # not a Python function: where its class says, if any
            if func is not None:
                wrappers.located(error, func)
            raise

    return call


# -- the transformed function -----------------------------------------------------------
class Transformed:
    """A generated function: call it like the original; ``.source`` shows its code."""

    def __init__(self, f: Any, kind: str, wrt: Wrt, has_aux: bool) -> None:
        self.inner = _derivative(f)  # a generated derivative to differentiate again
        if self.inner is not None and (has_aux or kind == "vjp"):
            raise ADError("derivatives of a generated derivative are gradients "
                          "(grad, value_and_grad) and jvps, without has_aux")
        self.func = _function(f)
        self.kind = kind
        self.wrt = wrt
        self.has_aux = has_aux
        self.names, self.many = _wrt_names(self.func, wrt)
        self.params = _param_names(self.func)
        self._last: pipeline.Generated | None = None
        self._ranks: dict[str, int] | None = None
        self._containers: dict[str, Any] | None = None
        self._checked: tuple | None = None  # argument kinds already found differentiable
        self._indices = [self.params.index(n) for n in self.names]
        self._plain_grad = kind == "grad" and not has_aux
        # argument kinds (plain floats, ints, arrays) -> (versions, generated code)
        self._fast: dict[tuple, _Shortcut] = {}
        functools.update_wrapper(self, self.func)  # type: ignore[arg-type]
        self.__name__ = f"{kind}_{self.func.__name__}"
        self.__qualname__ = self.__name__

    def _generated(self, values: list[Any], func: types.FunctionType | None = None
                   ) -> pipeline.Generated:
        return self._cached(values, func).value  # type: ignore[no-any-return]

    def _cached(self, values: list[Any], func: types.FunctionType | None = None
                ) -> cache.Entry:
        """The cache entry for a call with ``values``; ``func``: what to transform when it
        is not ``self.func`` (a wrapper's call shim for a call using defaults)."""
        if self.inner is not None:
            return self._nested(values)
        func = func or self.func
        build_kind = "vjp" if self.kind == "vjp" else "value_and_grad"
        request = _request(build_kind, func, self.names, self.params, values, self.has_aux)

        def build(_: cache.Frame) -> pipeline.Generated:
            return pipeline.build(func, build_kind, self.names,
                                  _ranks(self.params, values), self.has_aux,
                                  containers=_containers(self.params, values),
                                  statics=_statics(self.params, values))

        entry = cache.lookup(request, build)
        if entry.value is not self._last:  # shown by .source: the last call's specialisation
            self._last = entry.value
            self._ranks = _ranks(self.params, values)
            self._containers = _containers(self.params, values)
        return entry

    def _nested(self, values: list[Any]) -> cache.Entry:
        """Forward mode over the generated code of the derivative being differentiated."""
        assert self.inner is not None
        inner = self.inner._cached(values)
        code = inner.value.functions[inner.value.entry] if self.inner.kind == (
            "value_and_grad") else inner.value.gradient_function()
        request = _request("nested", code, self.names, self.params, values)

        def build(_: cache.Frame) -> pipeline.Generated:
            generated = pipeline.build_nested(code, self.names, _ranks(self.params, values),
                                              containers=_containers(self.params, values),
                                              statics=_statics(self.params, values))
            # what the derivative differentiated here was built against
            generated.guards = cache.merge_guards(generated.guards, inner.own_guards())
            return generated

        entry = cache.lookup(request, build)
        self._last = entry.value
        return entry

    def generated_function(self, values: list[Any]) -> types.FunctionType:
        """The plain generated function this derivative runs for arguments like ``values``
        (what a derivative of this derivative transforms)."""
        generated = self._generated(values)
        if self.kind == "value_and_grad":
            return generated.functions[generated.entry]
        return generated.gradient_function()

    def _shortcut(self, args: tuple) -> _Shortcut | None:
        """The compiled entry for plain arguments of kinds seen before, or None."""
        shortcut = self._fast.get(_fast_key(args))
        if shortcut is None or not shortcut.current():
            return None
        cache.record_hit(shortcut.cached)
        return shortcut

    def run(self, args: tuple, kwargs: dict) -> tuple[Any, Any]:
        if not kwargs:
            shortcut = self._shortcut(args)
            if shortcut is not None:
                return self._finish(shortcut.generated, args, fast=True)  # type: ignore
        values = _bind(self.func, args, kwargs)
        if self.inner is not None:
            _check_scalar_below(self.inner, values)
        checked = tuple(_check_key(values[self.params.index(n)]) for n in self.names)
        if checked != self._checked:
            _check_differentiable(self.func, self.params, self.names, values)
            if None not in checked:
                self._checked = checked
        entry = self._cached(values, wrappers.for_call(
            self.func, _omitted(self.params, args, kwargs)))
        key = _fast_key(tuple(values)) if not kwargs and len(args) == len(values) else None
        finished = self._finish(entry.value, values)
        if key is not None and None not in key and self.inner is None:
            # kept only after a call that succeeded: the shortcut skips the checks that
            # turn a failing run into a clear error (a non-scalar output)
            floats = tuple(type(values[i]) is float for i in self._indices)
            self._fast[key] = _Shortcut(entry, floats)
        return finished

    def _finish(self, generated: pipeline.Generated, values: list[Any], fast: bool = False
                ) -> tuple[Any, Any]:
        """Run the generated code and hand back results in the arguments' types.

        ``fast``: the arguments are plain floats, ints and NumPy arrays of kinds already
        checked on an earlier call (the common steady-state call).
        """
        try:
            value, grads = generated.functions[generated.entry](*values)
        except ADError:
            raise
        except Exception as exc:
            # a non-scalar output can make the seeded adjoint fail before the check below
            # (np.stack's adjoint of a scalar seed): report the real mistake
            try:
                out = (self.inner if self.inner is not None else self.func)(*values)
            except Exception:
                out = None
            if self.has_aux and not (isinstance(out, tuple) and len(out) == 2):
                raise wrappers.located(ADError(
                    f"{self.func.__qualname__} was differentiated with has_aux=True, so it "
                    f"must return a pair (loss, aux); it returned a {type(out).__name__}. "
                    "Return (loss, aux), or leave has_aux out"), self.func,
                    at_return=True) from exc
            loss = out[0] if self.has_aux else out
            if out is not None and not _is_scalar(loss):
                raise self._non_scalar(loss) from exc
            raise
        loss = value[0] if self.has_aux else value
        if type(loss) is not float:
            if not _is_scalar(loss):
                raise self._non_scalar(loss)
            refuse_output(self.func, loss)
        if len(self.names) == 1:
            grads = (grads,)
        if fast:
            grads = tuple(_like_plain(g, values[i]) for g, i in zip(grads, self._indices,
                                                                   strict=True))
        else:
            grads = tuple(_like(g, values[i]) for g, i in zip(grads, self._indices,
                                                             strict=True))
        grads = unshared(grads, input_arrays(values))
        return value, grads if self.many else grads[0]

    def _non_scalar(self, loss: Any) -> NonScalarOutputError:
        what = self.func.__qualname__
        if self.inner is not None:
            what = f"the gradient of {what} (the function differentiated here)"
        return _non_scalar(what, loss, self.func)  # type: ignore[return-value]

    @api_boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if self._plain_grad and not kwargs:
                shortcut = self._shortcut(args)
                if shortcut is not None:  # the steady-state call, kept short
                    try:
                        value, grads = shortcut.entry(*args)
                    except Exception:
                        # arguments of a kind seen before, of another shape: the slow
                        # path tells a non-scalar output from an error of the user's
                        return self._slow(args, kwargs)
                    if type(value) is not float:
                        if not _is_scalar(value):
                            raise self._non_scalar(value)
                        if suspect(value):
                            refuse_output(self.func, value)
                    if not self.many:
                        if shortcut.floats[0]:
                            return grads if type(grads) is float else float(grads)
                        grads = _like_plain(grads, args[self._indices[0]])
                        return grads.copy() if type(grads) is np.ndarray and aliases(
                            grads, args) else grads
                    if len(self._indices) == 1:
                        grads = (grads,)
                    if all(shortcut.floats):
                        return tuple([g if type(g) is float else float(g) for g in grads])
                    return unshared_plain(tuple([_like_plain(g, args[i]) for g, i in zip(
                        grads, self._indices, strict=True)]), args)
            return self._slow(args, kwargs)
        except ADError as error:
            wrappers.located(error, self.func)
            raise

    def _slow(self, args: tuple, kwargs: dict) -> Any:
        value, grads = self.run(args, kwargs)
        if self.kind == "grad":
            return (grads, value[1]) if self.has_aux else grads
        return value, grads

    @property
    @api_boundary
    def source(self) -> str:
        """The generated source (of the last call's specialisation, or a generic one)."""
        if self.inner is not None:
            if self._last is None:
                raise ADError(f"{self!r} is specialised on its arguments' types: call it "
                              "once, or use ad.source(f, args=...), to see its source")
            return self._last.source
        if self._last is not None and self.kind != "grad":
            return self._last.source
        return source(self.func, self.kind, self.wrt, has_aux=self.has_aux,
                      _ranks_override=self._ranks, _containers_override=self._containers)

    def __repr__(self) -> str:
        return f"<adcompiler {self.kind} of {self.func.__qualname__} wrt={self.wrt!r}>"


@api_boundary
@_locating
def grad(f: Callable[..., Any], wrt: Wrt | None = None, *, has_aux: bool = False,
         argnums: int | Sequence[int] | None = None) -> Transformed:
    """The gradient of scalar-valued ``f`` with respect to the arguments ``wrt``
    (``argnums=`` is accepted as JAX's name for integer positions)."""
    return Transformed(f, "grad", _chosen_wrt(f, wrt, argnums), has_aux)


@api_boundary
@_locating
def value_and_grad(f: Callable[..., Any], wrt: Wrt | None = None, *, has_aux: bool = False,
                   argnums: int | Sequence[int] | None = None) -> Transformed:
    """``f``'s value and gradient from one primal evaluation."""
    return Transformed(f, "value_and_grad", _chosen_wrt(f, wrt, argnums), has_aux)


class Pullback:
    """Maps an output cotangent to one cotangent per argument; callable many times."""

    def __init__(self, function: Callable[..., Any], saved: tuple, values: list[Any],
                 params: list[str], wrt: list[str], text: str, output: Any = None) -> None:
        self._output_leaves = tree_leaves(output)
        self._output_structure = tree_structure(output)
        self._function = function
        self._saved = saved
        self._values = values
        self._params = params
        self._wrt = wrt
        self._user: Any = None  # the user's function (where errors point)
        self.source = text

    def _check(self, cotangent: Any) -> None:
        """The cotangent must have the output's structure and, leaf by leaf, its shape."""
        if cotangent is None and self._output_leaves:
            raise ADError("pullback(None): the cotangent is an array (or container) of "
                          "the output's shape and structure, e.g. "
                          "pullback(np.ones_like(value)) for the sum of the outputs")
        structure = tree_structure(cotangent)
        if structure != self._output_structure:
            raise ADError(f"the cotangent's structure {structure} differs from the output's "
                          f"{self._output_structure} ('*' is an array or number)")
        leaves = tree_leaves(cotangent)
        for position, (leaf, want) in enumerate(zip(leaves, self._output_leaves,
                                                    strict=True)):
            if np.shape(leaf) != np.shape(want):
                where = f" (leaf {position})" if len(leaves) > 1 else ""
                raise ADError(f"the cotangent{where} has shape {np.shape(leaf)}, the output "
                              f"has shape {np.shape(want)}")

    @api_boundary
    @_locating
    def __call__(self, cotangent: Any) -> tuple[Any, ...]:
        self._check(cotangent)
        grads = self._function(*self._saved, cotangent)
        by_name = dict(zip(self._wrt, grads, strict=True))
        return unshared(tuple(_like(by_name[p], v) if p in by_name else None
                              for p, v in zip(self._params, self._values, strict=True)),
                        input_arrays([*self._values, cotangent]))


def _float_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float | complex | np.floating | np.complexfloating):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind in "fc"


@api_boundary
@_locating
def vjp(f: Callable[..., Any], *args: Any) -> tuple[Any, Pullback]:
    """``(f(*args), pullback)``; ``pullback(ct)`` gives one cotangent per argument."""
    if _derivative(f) is not None:
        raise ADError("ad.vjp of a generated derivative is not available: second "
                      "derivatives are forward over reverse. Use ad.jvp(ad.grad(f), ...), "
                      "ad.hvp(f) or ad.hessian(f)")
    func = _function(f)
    params = _param_names(func)
    values = _bind(func, args, {})
    func = wrappers.for_call(func, _omitted(params, args, {}))
    refuse_arguments(func.__qualname__, params, values)
    wrt = [p for p, v in zip(params, values, strict=True) if _float_like(v) or (
        is_container(v) and any(_float_like(leaf) for leaf in tree_leaves(v)))]
    if not wrt:
        raise ADError(f"no argument of {func.__qualname__} is a float or float array, so "
                      "there is nothing to differentiate")
    transformed = Transformed(func, "vjp", tuple(wrt), False)
    generated = transformed._generated(values)
    value, saved = generated.functions[generated.entry](*values)
    refuse_output(func, value)
    assert generated.pullback is not None
    pull = Pullback(generated.functions[generated.pullback], saved, values, params, wrt,
                    generated.source, output=value)
    pull._user = func
    return value, pull


@api_boundary
@_locating
def source(f: Callable[..., Any], kind: str = "grad", wrt: Wrt | None = None, *,
           has_aux: bool = False, args: tuple | None = None,
           argnums: int | Sequence[int] | None = None,
           _ranks_override: dict[str, int] | None = None,
           _containers_override: dict[str, Any] | None = None) -> str:
    """The generated source for ``kind`` without running anything.

    With ``args`` (example arguments) the source is the one specialised for their ranks
    and types, exactly what a call with such arguments compiles.
    """
    func = _function(f)
    names, _ = _wrt_names(func, _chosen_wrt(f, wrt, argnums))
    params = _param_names(func)
    values = _bind(func, args, {}) if args is not None else None
    ranks = _ranks(params, values) if values is not None else (_ranks_override or {})
    containers = _containers(params, values) if values is not None else _containers_override
    if kind not in pipeline.KINDS:
        raise ADError(f"kind={kind!r} is not one of {pipeline.KINDS}")
    statics = _statics(params, values) if values is not None else None
    return pipeline.build(func, kind, names, ranks, has_aux, containers=containers,
                          statics=statics).source


# -- forward mode -----------------------------------------------------------------------
def _jvp_entry(func: types.FunctionType, params: list[str], wrt: list[str],
               values: list[Any]) -> cache.Entry:
    """The cache entry of the jvp of ``func`` for tangents of ``wrt``."""
    def build(_: cache.Frame) -> pipeline.Generated:
        return pipeline.build(func, "jvp", wrt, _ranks(params, values),
                              containers=_containers(params, values),
                              statics=_statics(params, values))

    return cache.lookup(_request("jvp", func, wrt, params, values), build)


def _jvp_generated(func: types.FunctionType, params: list[str], wrt: list[str],
                   values: list[Any]) -> pipeline.Generated:
    """The compiled jvp of ``func`` for tangents of ``wrt`` (cached like the other kinds)."""
    return _jvp_entry(func, params, wrt, values).value  # type: ignore[no-any-return]


@dataclasses.dataclass
class _Unbatched:
    """A cache entry saying the jvp of this function cannot take a batch of seeds."""

    reason: str
    guards: tuple = ()


def _jvp_batched(func: types.FunctionType, params: list[str], wrt: list[str],
                 values: list[Any]) -> pipeline.Generated | None:
    """The jvp taking a batch of seeds (leading axis), or None where batching is refused."""
    from .transform.batched import BatchingRefusedError

    def build(_: cache.Frame) -> Any:
        try:
            return pipeline.build(func, "jvp_batched", wrt, _ranks(params, values),
                                  containers=_containers(params, values),
                                  statics=_statics(params, values))
        except BatchingRefusedError as exc:
            return _Unbatched(str(exc))

    entry = cache.lookup(_request("jvp_batched", func, wrt, params, values), build).value
    return None if isinstance(entry, _Unbatched) else entry


def _tangent_for(func: types.FunctionType, name: str, value: Any, tangent: Any) -> Any:
    """The user's tangent for argument ``name``, checked against the primal's shape."""
    where = f"the tangent of argument {name!r} of {func.__qualname__}"
    if is_container(value):
        leaves, treedef = tree_flatten(value)
        try:
            given = tree_leaves(tangent) if is_container(tangent) else None
        except TypeError:  # pragma: no cover - tree_leaves accepts anything
            given = None
        if given is None or len(given) != len(leaves):
            raise ADError(f"{where} must have the argument's structure "
                          f"({type(value).__name__} with {len(leaves)} leaves)")
        out = []
        for leaf, t in zip(leaves, given, strict=True):
            if not _float_like(leaf) or t is None:
                out.append(zero_tangent(leaf))
                continue
            if np.shape(t) != np.shape(leaf):
                raise ADError(f"{where} has a leaf of shape {np.shape(t)} where the argument "
                              f"has shape {np.shape(leaf)}")
            out.append(t)
        from .pytree import tree_unflatten

        return tree_unflatten(treedef, out)
    if np.shape(tangent) != np.shape(value):
        raise ADError(f"{where} has shape {np.shape(tangent)}; the argument has shape "
                      f"{np.shape(value)} (tangents have exactly the primal's shape)")
    if isinstance(value, float) and not hasattr(tangent, "shape"):
        return float(tangent)
    return tangent


def _jvp_call(func: types.FunctionType, primals: Sequence[Any], tangents: Sequence[Any]
              ) -> tuple[Any, Any, pipeline.Generated | None]:
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise ADError("jvp(f, primals, tangents): primals and tangents are tuples with one "
                      "entry per argument (use None as the tangent of an argument that is "
                      "not differentiated)")
    if len(tangents) != len(primals):
        raise ADError(f"jvp(f, primals, tangents): {len(primals)} primal(s) but "
                      f"{len(tangents)} tangent(s); give one tangent per argument (None for "
                      "arguments that are not differentiated)")
    params = _param_names(func)
    values = _bind(func, tuple(primals), {})
    given = list(tangents) + [None] * (len(values) - len(tangents))
    wrt = [p for p, t in zip(params, given, strict=True) if t is not None]
    _check_differentiable(func, params, wrt, values)
    if not wrt:
        value = func(*values)
        return value, _like(zero_tangent(value), value), None
    seeds = [_tangent_for(func, p, values[params.index(p)], given[params.index(p)])
             for p in wrt]
    generated = _jvp_generated(func, params, wrt, values)
    value, tangent = generated.functions[generated.entry](*values, *seeds)
    return value, _like(tangent, value), generated


@api_boundary
@_locating
def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), J·tangents)`` from one sweep of generated code.

    ``primals`` and ``tangents`` are tuples with one entry per argument; a tangent of
    None means the argument is not differentiated. A container argument takes a
    tangent of the same structure; the output tangent has the output's structure,
    shape and dtype.
    """
    func = _function(f)
    inner = _derivative(f)
    if inner is not None and isinstance(primals, tuple | list):
        values = _bind(func, tuple(primals), {})
        _check_scalar_below(inner, values)
        func = _code_for(f, func, values)
        if isinstance(tangents, tuple | list) and len(tangents) == len(primals):
            # the generated derivative takes every parameter: defaults bound here
            tangents = [*tangents, *[None] * (len(values) - len(primals))]
            primals = values
    if inner is None and isinstance(primals, tuple | list):
        func = wrappers.for_call(func, _omitted(_param_names(func), primals, {}))
    try:
        value, tangent, _ = _jvp_call(func, primals, tangents)
        refuse_output(func, value)
    except ADError as error:
        wrappers.located(error, func)
        raise
    tangent = unshared(tangent, input_arrays([*primals, *tangents]))
    if inner is not None and inner.many and len(inner.names) == 1:
        # the generated code returns the one gradient; the derivative returns a 1-tuple
        if inner.kind == "grad":
            return (value,), (tangent,)
        return (value[0], (value[1],)), (tangent[0], (tangent[1],))
    return value, tangent


_JACOBIAN_MODES = ("auto", "forward", "reverse")


class Jacobian:
    """``J(*args)``: the Jacobian of ``f`` w.r.t. ``wrt``, shape ``out.shape + in.shape``."""

    def __init__(self, f: Any, wrt: Wrt, mode: str) -> None:
        if mode not in _JACOBIAN_MODES:
            raise ADError(f"mode={mode!r}: expected one of {_JACOBIAN_MODES}")
        self.inner = _derivative(f)
        if self.inner is not None and mode == "reverse":
            raise ADError("jacobian(..., mode='reverse') of a generated derivative is not "
                          "available: second derivatives are forward over reverse; use "
                          "mode='forward' (or 'auto')")
        self.f = f
        self.func = _function(f)
        self.wrt = wrt
        self.mode = mode
        self.names, self.many = _wrt_names(self.func, wrt)
        self.params = _param_names(self.func)
        self.last_mode: str | None = None
        self.last_batched = False  # whether the last forward Jacobian took one sweep
        self._source: str | None = None
        functools.update_wrapper(self, self.func)  # type: ignore[arg-type]
        self.__name__ = f"jacobian_{self.func.__name__}"
        self.__qualname__ = self.__name__

    @api_boundary
    @_locating
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = _bind(self.func, args, kwargs)
        _check_differentiable(self.func, self.params, self.names, values)
        if self.inner is not None:
            _check_scalar_below(self.inner, values)
        func = _code_for(self.f, wrappers.for_call(
            self.func, _omitted(self.params, args, kwargs)), values)
        for name in self.names:
            value = values[self.params.index(name)]
            if is_container(value) or not (_float_like(value) or isinstance(value, float)):
                raise ADError(f"jacobian: argument {name!r} of {self.func.__qualname__} must "
                              f"be a float or a float array, not {type(value).__name__}")
        out = unshared(tuple(self._one(func, values, name) for name in self.names),
                       input_arrays(values))
        return out if self.many else out[0]

    def _one(self, func: types.FunctionType, values: list[Any], name: str) -> Any:
        index = self.params.index(name)
        x = values[index]
        mode = self.mode
        value = None
        if mode == "auto":
            value = func(*values)
            fewer = np.size(x) < np.size(value)
            mode = "forward" if fewer or self.inner is not None else "reverse"
        self.last_mode = mode
        if mode == "forward":
            return self._forward(func, values, index, x)
        return self._reverse(func, values, index, x)

    def _check_output(self, value: Any) -> tuple[int, ...]:
        refuse_output(self.func, value)
        if is_container(value) or not hasattr(np.asarray(value), "shape"):
            raise ADError(f"jacobian: {self.func.__qualname__} returned a "
                          f"{type(value).__name__}; the Jacobian needs an array or float "
                          "output")
        return tuple(np.shape(value))

    def _forward(self, func: types.FunctionType, values: list[Any], index: int, x: Any
                 ) -> np.ndarray:
        """One jvp per input coordinate: the columns of J (one sweep for all of them
        where the tangent program can take a batch of seeds)."""
        name = self.params[index]
        batched = _jvp_batched(func, self.params, [name], values) if np.size(x) > 1 else None
        if batched is not None:
            size = int(np.size(x))
            seeds = np.reshape(np.eye(size, dtype=getattr(x, "dtype", np.float64)),
                               (size, *np.shape(x)))
            value, tangent = batched.functions[batched.entry](*values, seeds)
            out_shape = self._check_output(value)
            if np.shape(tangent) == (size, *out_shape):
                self._source = batched.source
                self.last_batched = True
                return np.moveaxis(np.asarray(tangent), 0, -1).astype(
                    _jacobian_dtype(value, x), copy=False).reshape(out_shape + np.shape(x))
        self.last_batched = False
        generated = _jvp_generated(func, self.params, [name], values)
        self._source = generated.source
        run = generated.functions[generated.entry]
        basis = np.zeros(np.shape(x), dtype=getattr(x, "dtype", np.float64))
        columns = []
        value: Any = None
        for k in range(basis.size):
            seed = basis.copy()
            seed.flat[k] = 1
            tangent_in = float(seed) if isinstance(x, float) else seed
            value, tangent = run(*values, tangent_in)
            columns.append(np.broadcast_to(np.asarray(tangent), np.shape(value)))
        out_shape = self._check_output(value if value is not None else func(*values))
        dtype = _jacobian_dtype(value, x)
        if not columns:
            return np.zeros(out_shape + np.shape(x), dtype=dtype)
        stacked = np.stack(columns, axis=-1).astype(dtype, copy=False)
        return stacked.reshape(out_shape + np.shape(x))

    def _reverse(self, func: types.FunctionType, values: list[Any], index: int, x: Any
                 ) -> np.ndarray:
        """One pullback per output coordinate: the rows of J."""
        value, pullback = vjp(func, *values)
        self._source = pullback.source
        out_shape = self._check_output(value)
        dtype = _jacobian_dtype(value, x)
        rows = []
        basis = np.zeros(out_shape, dtype=getattr(np.asarray(value), "dtype", np.float64))
        for k in range(basis.size):
            seed = basis.copy()
            seed.flat[k] = 1
            cotangent = float(seed) if not out_shape and isinstance(value, float) else seed
            row = pullback(cotangent)[index]
            rows.append(np.broadcast_to(np.asarray(row), np.shape(x)))
        if not rows:
            return np.zeros(out_shape + np.shape(x), dtype=dtype)
        return np.stack(rows).astype(dtype, copy=False).reshape(out_shape + np.shape(x))

    @property
    @api_boundary
    def source(self) -> str:
        """The generated code the last call ran (jvp or vjp), or the generic jvp/vjp."""
        if self._source is not None:
            return self._source
        if self.inner is not None:
            raise ADError(f"{self!r} is specialised on its arguments' types: call it once "
                          "to see its source")
        kind = "vjp" if self.mode == "reverse" else "jvp"
        return source(self.func, kind, self.wrt)

    def __repr__(self) -> str:
        return f"<adcompiler jacobian of {self.func.__qualname__} wrt={self.wrt!r} " \
               f"mode={self.mode!r}>"


def _jacobian_dtype(value: Any, x: Any) -> Any:
    kinds = [np.asarray(v).dtype for v in (value, x)]
    if all(k == np.float32 for k in kinds):
        return np.float32
    return np.result_type(np.float64, *[k for k in kinds if k.kind in "fc"])


@api_boundary
@_locating
def jacobian(f: Callable[..., Any], wrt: Wrt | None = None, *, mode: str = "auto",
             argnums: int | Sequence[int] | None = None) -> Jacobian:
    """``J(*args)`` → the Jacobian of ``f`` with shape ``out.shape + in.shape``.

    ``mode="forward"`` takes one jvp per input coordinate, ``"reverse"`` one pullback per
    output coordinate, ``"auto"`` whichever needs fewer sweeps.
    """
    return Jacobian(f, _chosen_wrt(f, wrt, argnums), mode)


@api_boundary
def jacfwd(f: Callable[..., Any], wrt: Wrt | None = None, *,
           argnums: int | Sequence[int] | None = None) -> Jacobian:
    """``jacobian(f, wrt, mode="forward")`` under JAX's name."""
    return Jacobian(f, _chosen_wrt(f, wrt, argnums), "forward")


@api_boundary
def jacrev(f: Callable[..., Any], wrt: Wrt | None = None, *,
           argnums: int | Sequence[int] | None = None) -> Jacobian:
    """``jacobian(f, wrt, mode="reverse")`` under JAX's name."""
    return Jacobian(f, _chosen_wrt(f, wrt, argnums), "reverse")


class Hessian:
    """``H(*args)``: second derivatives of scalar ``f``, forward over reverse.

    One argument gives an array of shape ``x.shape + x.shape``; a tuple ``wrt`` gives the
    blocks ``H[i][j]`` (the derivative of the gradient w.r.t. argument i by argument j).
    """

    def __init__(self, f: Any, wrt: Wrt) -> None:
        self.func = _function(f)
        self.wrt = wrt
        self.names, self.many = _wrt_names(self.func, wrt)
        self.blocks = [[Jacobian(grad(f, row), column, "forward") for column in self.names]
                       for row in self.names]
        functools.update_wrapper(self, self.func)  # type: ignore[arg-type]
        self.__name__ = f"hessian_{self.func.__name__}"
        self.__qualname__ = self.__name__

    @api_boundary
    @_locating
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = _bind(self.func, args, kwargs)
        params = _param_names(self.func)
        floats = [isinstance(values[params.index(n)], float) for n in self.names]
        rows = tuple(tuple(_float_if(floats[i] and floats[j], block(*args, **kwargs))
                           for j, block in enumerate(row))
                     for i, row in enumerate(self.blocks))
        return rows if self.many else rows[0][0]

    @property
    @api_boundary
    def source(self) -> str:
        """The jvp of the generated gradient that the last call ran (first block)."""
        return self.blocks[0][0].source

    def __repr__(self) -> str:
        return f"<adcompiler hessian of {self.func.__qualname__} wrt={self.wrt!r}>"


def _float_if(plain: bool, entry: Any) -> Any:
    """A Hessian entry between two Python float arguments is a Python float."""
    return float(entry) if plain else entry


class HessianVectorProduct:
    """``hvp(*args, v)``: the Hessian of scalar ``f`` times ``v``, without forming it.

    ``v`` (the last positional argument) has the shape of the ``wrt`` argument, or is a
    tuple with one entry per argument for a tuple ``wrt``; the product has the same form.
    One forward sweep over the generated gradient: about the cost of two gradients.
    """

    def __init__(self, f: Any, wrt: Wrt) -> None:
        self.func = _function(f)
        self.wrt = wrt
        self.names, self.many = _wrt_names(self.func, wrt)
        self.params = _param_names(self.func)
        self.gradient = grad(f, wrt)
        # argument kinds -> (the gradient's entry, its jvp's entry, seed order)
        self._fast: dict[tuple, tuple[_Shortcut, _Shortcut, list[int]]] = {}
        self._scalar_at: set[tuple] = set()  # argument shapes where f was found scalar
        functools.update_wrapper(self, self.func)  # type: ignore[arg-type]
        self.__name__ = f"hvp_{self.func.__name__}"
        self.__qualname__ = self.__name__

    @api_boundary
    @_locating
    def __call__(self, *args: Any) -> Any:
        if not args:
            raise ADError(f"{self!r} takes the arguments of {self.func.__qualname__} and "
                          "then the vector v")
        *primals, v = args
        vectors = tuple(v) if self.many else (v,)
        if self.many and len(vectors) != len(self.names):
            raise ADError(f"v must be a tuple of {len(self.names)} vectors, one per "
                          f"argument in wrt={self.wrt!r}")
        key = (_fast_key(tuple(primals)), _fast_key(vectors))
        hit = self._fast.get(key)
        if hit is not None and hit[0].current() and hit[1].current():
            shapes = tuple([p.shape if type(p) is np.ndarray else np.shape(p)
                            for p in primals])
            if shapes not in self._scalar_at:  # f's output shape follows its inputs'
                _check_scalar_below(self.gradient, list(primals))
                self._scalar_at.add(shapes)
            cache.record_hit(hit[1].cached)
            _, product = hit[1].entry(*primals, *[vectors[j] for j in hit[2]])
            products = product if len(self.names) > 1 else (product,)
            shaped = unshared_plain(tuple([_like_plain(p, primals[self.params.index(n)])
                                           for p, n in zip(products, self.names,
                                                           strict=True)]),
                                    (*primals, *vectors))
            return shaped if self.many else shaped[0]
        values = _bind(self.func, tuple(primals), {})
        tangents: list[Any] = [None] * len(values)
        for name, vector in zip(self.names, vectors, strict=True):
            tangents[self.params.index(name)] = vector
        _, product = jvp(self.gradient, tuple(values), tuple(tangents))
        if None not in key[0] + key[1] and len(primals) == len(values):
            self._remember(key, values)
        return product

    def _remember(self, key: tuple, values: list[Any]) -> None:
        """Keep the compiled jvp of the gradient for arguments of these plain kinds."""
        gradient = self.gradient._cached(values)
        code = self.gradient.generated_function(values)
        order = [p for p in self.params if p in self.names]  # the jvp's tangent order
        product = _jvp_entry(code, self.params, order, values)
        self._fast[key] = (_Shortcut(gradient, ()), _Shortcut(product, ()),
                           [self.names.index(p) for p in order])

    def __repr__(self) -> str:
        return f"<adcompiler hvp of {self.func.__qualname__} wrt={self.wrt!r}>"


@api_boundary
@_locating
def hessian(f: Callable[..., Any], wrt: Wrt | None = None, *,
            argnums: int | Sequence[int] | None = None) -> Hessian:
    """``H(*args)`` → the Hessian of scalar ``f``: forward mode over the generated gradient."""
    return Hessian(f, _chosen_wrt(f, wrt, argnums))


@api_boundary
@_locating
def hvp(f: Callable[..., Any], wrt: Wrt | None = None, *,
        argnums: int | Sequence[int] | None = None) -> HessianVectorProduct:
    """``hvp(*args, v)`` → H·v for scalar ``f``, one forward sweep over its gradient."""
    return HessianVectorProduct(f, _chosen_wrt(f, wrt, argnums))


@api_boundary
def differentiable(f: Callable[..., Any] | None = None, *, wrt: Wrt | None = None,
                   argnums: int | Sequence[int] | None = None) -> Any:
    """Mark ``f`` as differentiable; the wrapper calls exactly like ``f``.

    The wrapper carries ``.grad()``, ``.value_and_grad()``, ``.vjp()`` and ``.jvp()``;
    ``wrt`` (or ``argnums``) here is the default for them and for ``ad.grad(wrapper)``.
    """
    wrt = _chosen_wrt(None, wrt, argnums)
    if f is None:
        return lambda func: differentiable(func, wrt=wrt)
    _wrt_names(_function(f), wrt)  # fail early on a bad wrt

    # the wrapper calls f itself and stands for it: a decorated f, or a generated
    # derivative, is differentiated (and called) as it is, never what it wraps
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(*args, **kwargs)

    wrapper.__ad_function__ = f  # type: ignore[attr-defined]
    wrapper.__ad_wrt__ = wrt  # type: ignore[attr-defined]
    wrapper.grad = lambda wrt=None, has_aux=False, argnums=None: grad(  # type: ignore
        wrapper, wrt, has_aux=has_aux, argnums=argnums)
    wrapper.value_and_grad = lambda wrt=None, has_aux=False, argnums=None: value_and_grad(
        wrapper, wrt, has_aux=has_aux, argnums=argnums)  # type: ignore[attr-defined]
    wrapper.vjp = lambda *args: vjp(wrapper, *args)  # type: ignore[attr-defined]
    wrapper.jvp = lambda primals, tangents: jvp(  # type: ignore[attr-defined]
        wrapper, primals, tangents)
    return wrapper
