"""An independent oracle: HIPS autograd, run on the same programs and rule-table cases.

Finite differences blur errors below ~1e-6; two AD systems computing the same derivative
agree to rounding. So every random program (tests/test_random_programs.py) and every
rule-table case (tests/test_autograd_oracle.py) is also differentiated by autograd and the
results compared at :data:`RTOL`. autograd is an implementation we did not write: a bug in
our rules or transformation would have to be repeated there to pass.

A program is run through autograd by importing its source a second time with ``import
numpy as np`` replaced by ``import autograd.numpy as np``. A program or case autograd
cannot run (a function it has no derivative for, an in-place update of a plain array with
a traced value, ...) returns ``None`` and is compared with finite differences only;
:data:`COUNTS` says how many were compared each way.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import os
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from adcompiler.rules import registry

try:
    import autograd
    import autograd.numpy as anp
    from autograd.differential_operators import make_jvp_reversemode
except ImportError:  # pragma: no cover - autograd is in the test extra
    autograd = None
    anp = None

RTOL = 1e-10
EPS = 1e-6  # the step of the finite differences for cases autograd cannot do
COUNTS: Counter[str] = Counter()  # "autograd" / "fd-only" (+ ":<why>") per compared item
_counter = itertools.count()


def available() -> bool:
    return autograd is not None


# -- trees ------------------------------------------------------------------------------------
def leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key])]
    if isinstance(tree, list | tuple):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def scale_of(*trees: Any) -> float:
    values = [float(np.max(np.abs(np.asarray(leaf, dtype=np.float64))))
              for tree in trees for leaf in leaves(tree) if np.size(leaf)]
    return max([1.0, *values])


def agree(got: Any, want: Any, rtol: float = RTOL, scale: float | None = None) -> str | None:
    """None when the trees agree leaf by leaf at ``rtol`` (relative to the largest entry,
    so entries that should be 0 may carry rounding), else a message naming the leaf."""
    got_leaves, want_leaves = leaves(got), leaves(want)
    if len(got_leaves) != len(want_leaves):
        return f"structure differs: {len(got_leaves)} leaves against {len(want_leaves)}"
    scale = scale_of(got, want) if scale is None else scale
    for k, (a, b) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape and a.size != b.size:
            return f"leaf {k}: shape {a.shape} against autograd's {b.shape}"
        if not np.allclose(a.reshape(b.shape), b, rtol=rtol, atol=rtol * scale,
                           equal_nan=False):
            return f"leaf {k}: adcompiler {a!r}, autograd {b!r}"
    return None


def _quiet(call: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call()


# -- random programs ----------------------------------------------------------------------------
def twin_module(source: str, tmp: Path) -> Any:
    """The program's source imported with autograd's NumPy in place of NumPy."""
    twin = source.replace("import numpy as np", "import autograd.numpy as np", 1)
    name = f"adoracle_{os.getpid()}_{next(_counter)}"
    path = tmp / f"{name}.py"
    path.write_text(twin)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def program_gradients(source: str, tmp: Path, args: list[Any], wrt: tuple[int, ...]
                      ) -> list[Any] | None:
    """autograd's gradient of ``f`` for each index in ``wrt``, or None if it cannot."""
    if autograd is None:
        return None
    try:
        f = twin_module(source, tmp).f
        return [_quiet(lambda i=i: autograd.grad(f, i)(*args)) for i in wrt]
    except Exception:
        return None


# -- rule-table cases -------------------------------------------------------------------------
_MATH_TO_NUMPY = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
                  "acosh": "arccosh", "atanh": "arctanh", "atan2": "arctan2", "pow": "power",
                  "fabs": "abs"}


def twin_callable(func: Any) -> Any | None:
    """autograd's version of ``func``: the same-named autograd.numpy function, or a test
    helper (a method call, a lambda) re-created with autograd's NumPy as its ``np``."""
    if anp is None:
        return None
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", "")
    if module == "math" or (module == "builtins" and name in ("abs", "pow")):
        if name in ("erf", "erfc"):  # autograd has them only through SciPy
            try:
                from autograd.scipy import special
            except ImportError:
                return None
            return getattr(special, name)
        name = _MATH_TO_NUMPY.get(name, name)
        return getattr(anp, name, None)
    if isinstance(func, np.ufunc) or module.startswith("numpy"):
        namespace = anp
        for part in module.split(".")[1:]:
            if part in ("linalg", "fft"):
                namespace = getattr(namespace, part, None)
                break
        return getattr(namespace, name, None) if namespace is not None else None
    code = getattr(func, "__code__", None)
    if code is not None:  # a test helper: run it with autograd's np
        import types
        namespace = dict(func.__globals__)
        namespace["np"] = anp
        return types.FunctionType(code, namespace, name, func.__defaults__, func.__closure__)
    return None


def case_vjp(twin: Any, args: tuple, kwargs: dict, i: int, g: Any) -> Any:
    """autograd's cotangent of argument ``i`` for output cotangent ``g``."""
    def partial(a: Any) -> Any:
        return twin(*args[:i], a, *args[i + 1:], **kwargs)
    return _quiet(lambda: autograd.make_vjp(partial)(args[i])[0](g))


def case_jvp(twin: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    """autograd's tangent of the output for tangent ``v`` of argument ``i`` (forward mode
    where autograd has it, else the reverse-mode construction)."""
    def partial(a: Any) -> Any:
        return twin(*args[:i], a, *args[i + 1:], **kwargs)
    try:
        return _quiet(lambda: autograd.make_jvp(partial)(args[i])(v)[1])
    except NotImplementedError:
        return _quiet(lambda: make_jvp_reversemode(partial)(args[i])(v))


# -- rule templates on values (tests/test_autograd_oracle.py, tests/rules/test_rule_mutants.py) ----
# -- trees ------------------------------------------------------------------------------------
def _map(func: Any, *trees: Any) -> Any:
    first = trees[0]
    if isinstance(first, list | tuple):
        return type(first)(_map(func, *items) for items in zip(*trees, strict=True))
    return func(*trees)


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    def draw(x: Any) -> Any:
        value = rng.standard_normal(np.shape(x))
        return float(value) if isinstance(x, float) else value
    return _map(draw, tree)


def _dot(a: Any, b: Any) -> float:
    return float(sum(np.sum(np.asarray(x, dtype=float) * np.asarray(y, dtype=float))
                     for x, y in zip(leaves(a), leaves(b), strict=True)))


def _reduce_to(d: Any, shape: tuple[int, ...]) -> Any:
    """A broadcasting rule's full-shape contribution summed to the operand's shape."""
    d = np.asarray(d, dtype=float)
    d = d.sum(axis=tuple(range(d.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and d.shape[i] != 1)
    return d.sum(axis=axes, keepdims=True).reshape(shape)


# -- the rule's own templates -------------------------------------------------------------------
def _position(template: registry.Template, i: int) -> tuple[str, int | None]:
    """The template parameter holding argument ``i`` (and the index into ``*operands``)."""
    params = list(template.signature.parameters.values())
    for k, param in enumerate(params):
        if param.kind is inspect.Parameter.VAR_POSITIONAL and i >= k:
            return param.name, i - k
    return params[i].name, None


def rule_vjp(key: Any, func: Any, args: tuple, kwargs: dict, i: int, g: Any) -> Any:
    rule = registry.rule_for(key)
    out = registry.evaluate(rule.reverse, {"result": func(*args, **kwargs), "g": g},
                            *args, **kwargs)
    name, index = _position(rule.reverse, i)
    d = out["d" + name] if index is None else out["d" + name][index]
    if not isinstance(args[i], list | tuple) and np.shape(d) != np.shape(args[i]):
        d = _reduce_to(d, np.shape(args[i]))  # a broadcasting rule's full-shape part
    return d


def rule_jvp(key: Any, func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    rule = registry.rule_for(key)
    template = rule.forward
    result = func(*args, **kwargs)
    name, index = _position(template, i)
    special: dict[str, Any] = {"result": result}
    bound = template.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    for out_name in template.outputs:  # the other tangents are exact zeros
        value = bound.arguments[out_name]
        if template.signature.parameters[out_name].kind is inspect.Parameter.VAR_POSITIONAL:
            special["d" + out_name] = tuple(np.zeros_like(a) for a in value)
        else:
            special["d" + out_name] = _map(lambda a: np.zeros_like(a, dtype=float), value)
    if index is None:
        special["d" + name] = v
    else:
        tangents = list(special["d" + name])
        tangents[index] = v
        special["d" + name] = tuple(tangents)
    dresult = registry.evaluate(template, special, *args, **kwargs)["dresult"]
    if not isinstance(result, list | tuple):
        dresult = np.broadcast_to(dresult, np.shape(result))
    return dresult


def _fd(func: Any, args: tuple, kwargs: dict, i: int, v: Any) -> Any:
    def moved(sign: float) -> Any:
        shifted = _map(lambda x, t: x + sign * EPS * t, args[i], v)
        return func(*args[:i], shifted, *args[i + 1:], **kwargs)
    return _map(lambda p, m: (np.asarray(p, dtype=float) - np.asarray(m, dtype=float))
                / (2 * EPS), moved(1.0), moved(-1.0))


def _differentiable(args: tuple, i: int) -> bool:
    return all(np.issubdtype(np.asarray(leaf).dtype, np.floating)
               or isinstance(leaf, float) for leaf in leaves(args[i]))


# -- the comparisons --------------------------------------------------------------------------
def _fd_problem(mode: str, func: Any, args: tuple, kwargs: dict, i: int, got: Any, g: Any,
                v: Any, rng: np.random.Generator) -> str | None:
    """None when ``got`` (a cotangent or a tangent) agrees with central differences."""
    try:
        if mode == "reverse":
            w = _random_like(args[i], rng)
            np.testing.assert_allclose(_dot(got, w), _dot(g, _fd(func, args, kwargs, i, w)),
                                       rtol=1e-6, atol=1e-8)
        else:
            for a, b in zip(leaves(got), leaves(_fd(func, args, kwargs, i, v)),
                            strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    except AssertionError as error:
        return str(error)
    return None


def _autograd(mode: str, twin: Any, key: Any, args: tuple, kwargs: dict, i: int, g: Any,
              v: Any) -> tuple[Any, str]:
    """autograd's answer, or None and the reason it has none."""
    if twin is None:
        return None, "no autograd function"
    if isinstance(key, tuple) and key[0] == "method" and i > 0:
        return None, "method argument (autograd traces the object only)"
    try:
        want = (case_vjp(twin, args, kwargs, i, g) if mode == "reverse"
                else case_jvp(twin, args, kwargs, i, v))
    except Exception as error:
        return None, f"autograd raises {type(error).__name__}"
    return want, ""


def compare_rule(mode: str, key: Any, func: Any, args: tuple, argnums: tuple[int, ...],
             kwargs: dict) -> str:
    """Check one case in ``mode``; return how it was compared: "autograd", or "fd-only:
    <why>" when autograd has no answer or a wrong one (shape, NaN, or refuted by finite
    differences -- then ours must agree with the differences)."""
    twin = twin_callable(func)
    rng = np.random.default_rng(7)
    result = func(*args, **kwargs)
    how = "autograd"
    for i in argnums:
        if not _differentiable(args, i):
            continue
        g = v = None
        if mode == "reverse":
            g = _random_like(result, rng)
            got = rule_vjp(key, func, args, kwargs, i, g)
        else:
            v = _random_like(args[i], rng)
            got = rule_jvp(key, func, args, kwargs, i, v)
        want, why = _autograd(mode, twin, key, args, kwargs, i, g, v)
        if want is not None:
            reference = args[i] if mode == "reverse" else result
            shapes = [np.shape(leaf) for leaf in leaves(want)]
            finite = all(np.all(np.isfinite(leaf)) for leaf in leaves(want))
            if shapes != [np.shape(leaf) for leaf in leaves(reference)]:
                want, why = None, "autograd's shape is wrong"
            elif not finite:
                want, why = None, "autograd gives NaN"
        if want is not None:
            problem = agree(got, want)
            if problem is None:
                continue
            if _fd_problem(mode, func, args, kwargs, i, want, g, v, rng) is None:
                raise AssertionError(f"{mode}, argument {i}, against autograd (which agrees "
                                     f"with finite differences): {problem}")
            why = "autograd refuted by finite differences"
        how = f"fd-only: {why}"
        problem = _fd_problem(mode, func, args, kwargs, i, got, g, v, rng)
        assert problem is None, f"{mode}, argument {i}, finite differences: {problem}"
    return how
