"""The stages in order: parse, validate, normalize, transform, optimize, print, compile.

``ADCOMPILER_DEBUG=1`` in the environment (or ``debug=True``) prints the source after
each stage, which is the quickest way to see where a surprising line comes from.
"""

from __future__ import annotations

import ast
import copy
import functools
import os
import pickle
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import rules  # noqa: F401  (registers every rule family)
from .backend import cache, names
from .backend.codegen import to_source, with_line_comments
from .backend.compile import compile_functions
from .display import GeneratedSource
from .errors import ADError, NonScalarOutputError
from .frontend.generated import is_generated, prepare_generated
from .frontend.normalize import AnfFunction, normalize
from .frontend.parse import ParsedFunction, parse_function
from .frontend.validate import require_result, validate
from .naming import Namer, identifier
from .optimize import optimize
from .request import Request, freeze
from .runtime import zeros_like_tree
from .transform.batched import batched_forward_transform
from .transform.forward import forward_transform
from .transform.reverse import ReverseProgram, reverse_transform

__all__ = ["KINDS", "Generated", "build", "build_nested"]

KINDS = ("grad", "value_and_grad", "vjp", "jvp")


@dataclass
class Generated:
    """Compiled code for one request, and the source users see."""

    source: str
    functions: dict[str, types.FunctionType]
    entry: str
    pullback: str | None
    guards: tuple  # (namespace, name, object) bindings it was built against
    # compiles the function that returns only the gradient (grad of grad transforms it)
    gradient_only: Callable[[], types.FunctionType] | None = None
    _gradient: types.FunctionType | None = None

    def __post_init__(self) -> None:
        # a str that notebooks display as highlighted Python (see display.py)
        self.source = GeneratedSource(self.source)

    def gradient_function(self) -> types.FunctionType:
        """The generated gradient as a plain function (compiled on first use)."""
        if self._gradient is None:
            if self.gradient_only is None:
                raise ADError("this generated code has no gradient-only function")
            self._gradient = self.gradient_only()
        return self._gradient


def _debug(stage: str, text: str, enabled: bool) -> None:
    if enabled:
        print(f"--- after {stage} ---\n{text}", file=sys.stderr)


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _tuple(items: list[ast.expr]) -> ast.expr:
    return items[0] if len(items) == 1 else ast.Tuple(elts=items, ctx=ast.Load())


def _args(names: list[str]) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _def(name: str, params: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    return ast.FunctionDef(name=name, args=_args(params), body=body or [ast.Pass()],
                           decorator_list=[], returns=None, type_comment=None)


def _gradient_atoms(program: ReverseProgram, wrt: list[str], np_name: str,
                    containers: set[str]) -> tuple[list[ast.stmt], list[ast.expr]]:
    """The returned gradients; a parameter the output does not depend on gets zeros
    (a container of them for a container argument)."""
    stmts: list[ast.stmt] = []
    atoms: list[ast.expr] = []
    for param in wrt:
        name = program.gradients.get(param)
        if name is None:
            zero = program.anf.namer.adjoint(param)
            func: ast.expr = (_name(program.scope.bind("zeros_like_tree", zeros_like_tree))
                              if param in containers else ast.Attribute(
                                  value=_name(np_name), attr="zeros_like", ctx=ast.Load()))
            call = ast.Call(func=func, args=[_name(param)], keywords=[])
            stmts.append(ast.Assign(targets=[ast.Name(id=zero, ctx=ast.Store())], value=call))
            name = zero
        atoms.append(_name(name))
    return stmts, atoms


def _with_aux(anf: AnfFunction) -> tuple[str, str]:
    """Split a ``(loss, aux)`` result into two names the transformer can use."""
    result = anf.result
    if not isinstance(result, str):
        raise ADError(f"{anf.name!r} was declared has_aux=True, so it must return a pair "
                      "(loss, aux)", anf.parsed.location(anf.parsed.node))
    loss, aux = anf.namer.fresh("loss"), anf.namer.fresh("aux")
    ret = anf.body.pop()
    for name, position in ((loss, 0), (aux, 1)):
        item = ast.Subscript(value=_name(result), slice=ast.Constant(position), ctx=ast.Load())
        stmt = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=item)
        anf.body.append(ast.fix_missing_locations(ast.copy_location(stmt, ret)))
    anf.body.append(ret)
    anf.result = loss
    return loss, aux


def _refuse_container_result(anf: AnfFunction, parsed: ParsedFunction) -> None:
    """A gradient of a function returning a tuple, list or dict display is refused here,
    before its seeded adjoint (``1.0[0]``) is generated and compiled."""
    values: dict[str, list[ast.Assign]] = {}
    for node in ast.walk(anf.body_module()):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            values.setdefault(node.targets[0].id, []).append(node)
    pending = [anf.result] if isinstance(anf.result, str) else []
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in values.get(name, []):
            if isinstance(node.value, ast.Name):  # a copy: follow it
                pending.append(node.value.id)
            elif isinstance(node.value, ast.Tuple | ast.List | ast.Dict):
                what = {ast.Tuple: "tuple", ast.List: "list", ast.Dict: "dict"}[
                    type(node.value)]
                raise NonScalarOutputError(
                    f"{parsed.func.__qualname__} returned a {what}; grad and value_and_grad "
                    "need a scalar output. Use ad.vjp(f, *args) to pull back a cotangent of "
                    "that shape, or ad.jacobian(f) for the full Jacobian",
                    parsed.location(node))


def _guards(parsed: ParsedFunction) -> tuple:
    """Every binding the code was chosen by (see ``backend/cache.py``): rebinding one
    must rebuild."""
    return cache.merge_guards(tuple(parsed.guards))


class _Deferred:
    """Stands for a generated function still being built (a recursive call).

    Only the thread building it ever sees it, and code built on it is cached only when
    the build it stands for succeeds (``cache.building``).
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.__name__ = label  # the name of the def it stands for, as generated code calls it
        self.target: Any = None
        self.handed_out = False  # a recursive call received it

    def __call__(self, *args: Any) -> Any:
        return self.target(*args)

    def __repr__(self) -> str:
        return f"<generated {self.label}>"


def _resolve_stand_ins(functions: Any, handles: tuple[_Deferred, ...]) -> None:
    """Point every closure cell of ``functions`` that holds one of ``handles`` at its
    target.

    Generated code captures its helpers in closure cells; a recursive call captured the
    stand-in of a function still being built, which costs one extra Python frame per
    level of recursion. Once the target exists the cell holds it directly, so the
    derivative of a recursion needs one frame per level, as the function itself does.
    """
    for function in functions:
        for cell in function.__closure__ or ():
            content = cell.cell_contents
            if any(content is h for h in handles):
                cell.cell_contents = content.target


def _guard_recursion(function: types.FunctionType, label: str, where: Any
                     ) -> Callable[..., Any]:
    """``function`` (an entry point whose callees recurse) with Python's RecursionError
    turned into an ADError that states the limit and what to do."""

    @functools.wraps(function)
    def entry(*args: Any) -> Any:
        try:
            return function(*args)
        except RecursionError:
            limit = sys.getrecursionlimit()
            raise ADError(
                f"the {label} recursed deeper than Python's limit of {limit} frames. The "
                "derivative of a recursive function takes one frame per level of recursion, "
                "as the function does (plus a few); raise the limit with "
                "sys.setrecursionlimit() or write the recursion as a loop", where) from None

    return entry


def _may_recurse(value: Any) -> bool:
    return isinstance(value, _Deferred) or getattr(value, "__ad_recursive__", False)


def _mark_recursive(functions: Any) -> None:
    for function in functions:
        function.__ad_recursive__ = True  # a marker on the object, never a set of ids


def _recursion_checked(functions: dict[str, types.FunctionType], helpers: dict[str, Any],
                       callee: bool, label: str, parsed: ParsedFunction) -> dict[str, Any]:
    """Mark ``functions`` as recursive when anything they call may recurse; an entry
    point users call (not a callee) then gets :func:`_guard_recursion`."""
    if not any(_may_recurse(v) for v in helpers.values()):
        return functions
    _mark_recursive(functions.values())
    if callee:
        return functions
    where = parsed.location(parsed.node)
    return {name: _guard_recursion(f, label, where) for name, f in functions.items()}


# one def name per callee specialisation, so sources that show several never define a
# name twice: (kind, module, qualname, wrt, ranks, containers, statics) -> name suffix
_callee_suffixes: dict[Any, str] = {}
_callee_names_taken: set[tuple[str, ...]] = set()


def _callee_suffix(kind: str, callee: types.FunctionType, wrt: list[str],
                   ranks: dict[str, int], partial: bool,
                   containers: dict[str, Any] | None, statics: dict[str, Any] | None) -> str:
    """The suffix of a callee's generated defs: ``_wrt_a`` for a partial wrt, and a number
    when another specialisation of the same function (other ranks, containers or function
    arguments) already took the name. Redefining the function keeps its name. The numbers
    count specialisations in this process, so they depend on what was compiled before."""
    key = (kind, callee.__module__, callee.__qualname__, tuple(wrt),
           tuple(sorted(ranks.items())), repr(sorted((containers or {}).items())),
           tuple(sorted((k, id(v)) for k, v in (statics or {}).items())))
    suffix = _callee_suffixes.get(key)
    if suffix is None:
        base = "_wrt_" + "_".join(wrt) if partial else ""
        suffix, number = base, 1
        function = (kind, callee.__module__, callee.__qualname__)
        while (*function, suffix) in _callee_names_taken:
            number += 1
            suffix = f"{base}_{number}"
        _callee_names_taken.add((*function, suffix))
        _callee_suffixes[key] = suffix
    return suffix


def _callee_request(kind: str, callee: types.FunctionType, wrt: list[str],
                    ranks: dict[str, int], partial: bool,
                    containers: dict[str, Any] | None, statics: dict[str, Any] | None
                    ) -> Request:
    return Request(f"callee {kind}", callee, tuple(wrt),
                   arguments=(freeze(sorted(ranks.items())), freeze(containers or {})),
                   functions=tuple(sorted((statics or {}).items(), key=lambda i: i[0])),
                   options=("numpy", partial))


def _generated_callee(kind: str, callee: types.FunctionType, wrt: list[str],
                      ranks: dict[str, int], partial: bool,
                      containers: dict[str, Any] | None, sources: list[str],
                      statics: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """The generated functions of a callee, from the one cache; a recursive call while
    it is being built gets stand-ins that point at the finished functions afterwards."""
    request = _callee_request(kind, callee, wrt, ranks, partial, containers, statics)
    frame = cache.building(request)
    if frame is not None:
        for handle in frame.data:
            handle.handed_out = True
        return frame.data  # type: ignore[no-any-return]
    labels = ("forward", "pullback") if kind == "vjp" else ("jvp",)
    suffix = _callee_suffix(kind, callee, wrt, ranks, partial, containers, statics)

    def build_callee(frame: cache.Frame) -> Generated:
        handles = tuple(_Deferred(f"{callee.__name__}{suffix}_{label}") for label in labels)
        frame.data = handles
        generated = build(callee, kind, wrt, ranks, suffix=suffix, containers=containers,
                          callee=True, statics=statics)
        entries = [generated.entry] if kind == "jvp" else [generated.entry,
                                                           generated.pullback]
        for handle, entry in zip(handles, entries, strict=True):
            handle.target = generated.functions[entry]  # type: ignore[index]
        if any(h.handed_out for h in handles):
            # code built on the stand-ins: this function's and what waits to be cached
            # with it (``cache.building``) calls the finished functions directly now
            built = [*generated.functions.values(),
                     *(f for e in frame.pending
                       for f in getattr(e.value, "functions", {}).values())]
            _mark_recursive(generated.functions.values())
            _resolve_stand_ins(built, handles)
        return generated

    generated = cache.lookup(request, build_callee).value
    if generated.source not in sources:
        sources.append(generated.source)
    if kind == "jvp":
        return (generated.functions[generated.entry],)
    assert generated.pullback is not None
    return generated.functions[generated.entry], generated.functions[generated.pullback]


def _callee_builder(sources: list[str]) -> Any:
    """``build_callee`` for reverse mode: a callee's (forward, pullback)."""

    def build_callee(callee: types.FunctionType, wrt: list[str], ranks: dict[str, int],
                     partial: bool, checkpointed: bool = False,
                     containers: dict[str, Any] | None = None,
                     statics: dict[str, Any] | None = None) -> tuple[Any, Any]:
        if checkpointed:
            return _checkpoint_pair(callee, build_callee(callee, wrt, ranks, partial,
                                                         containers=containers,
                                                         statics=statics), sources)
        forward, pullback = _generated_callee("vjp", callee, wrt, ranks, partial, containers,
                                              sources, statics)
        return forward, pullback

    return build_callee


def _jvp_callee_builder(sources: list[str]) -> Any:
    """``build_callee`` for forward mode: a callee's jvp."""

    def build_callee(callee: types.FunctionType, wrt: list[str], ranks: dict[str, int],
                     partial: bool, containers: dict[str, Any] | None = None,
                     statics: dict[str, Any] | None = None) -> Any:
        (jvp,) = _generated_callee("jvp", callee, wrt, ranks, partial, containers, sources,
                                   statics)
        return jvp

    return build_callee


def _build_jvp(func: types.FunctionType, parsed: ParsedFunction, anf: AnfFunction,
               wrt: list[str], ranks: dict[str, int], suffix: str,
               containers: dict[str, Any] | None, debug: bool,
               callee: bool = False, statics: dict[str, Any] | None = None,
               batched: bool = False) -> Generated:
    """``f_jvp(*args, *tangents) -> (value, tangent)``: primal and tangent interleaved.

    ``batched``: every tangent carries a leading batch axis (one sweep for many seeds);
    raises ``BatchingRefusedError`` where that is not known to be safe.
    """
    callee_sources: list[str] = []
    if batched:
        program = batched_forward_transform(anf, wrt, ranks, containers=containers,
                                            statics=statics)
    else:
        program = forward_transform(anf, wrt, ranks,
                                    build_callee=_jvp_callee_builder(callee_sources),
                                    containers=containers, callee=callee, statics=statics)
    program.scope.helpers.update(anf.cells)  # cells of inlined callees, passed through
    body = with_line_comments(program.body, parsed.filename)
    returned = ast.Tuple(elts=[program.result, program.tangent], ctx=ast.Load())
    label = "_jvp_batched" if batched else "_jvp"
    function = _def(f"{anf.name}{suffix}{label}", [*anf.params, *program.tangent_params],
                    [*body, ast.Return(value=returned)])
    function = optimize(function, keep=set())
    own = to_source(function)
    _debug("forward transform", own, debug)
    functions = compile_functions(own, [function.name], program.scope.helpers, func,
                                  f"jvp of {anf.name}{suffix}")
    functions = _recursion_checked(functions, program.scope.helpers, callee,
                                   f"jvp of {anf.name!r}", parsed)
    return Generated(_with_callees(own, callee_sources, func, program.scope.helpers),
                     functions, function.name, None, _guards(parsed))


def _checkpoint_pair(callee: types.FunctionType, pair: tuple[Any, Any], sources: list[str]
                     ) -> tuple[Any, Any]:
    """Forward keeps only the inputs; the pullback recomputes, then pulls back."""
    name = identifier(callee.__name__)  # text spliced into source: never raw user text
    # the generated defs' own names, so the text calls what the source shows
    forward_name, pullback_name = pair[0].__name__, pair[1].__name__
    namer = Namer({name, forward_name, pullback_name})
    params = [namer.fresh(identifier(p, "arg")) for p in
              callee.__code__.co_varnames[: callee.__code__.co_argcount]]
    args = ", ".join(params)
    text = (
        f"def {name}_checkpoint_forward({args}):\n"
        f"    # checkpointed: run {name} without keeping its intermediates\n"
        f"    return {name}({args}), ({args},)\n\n\n"
        f"def {name}_checkpoint_pullback({args}, dresult):\n"
        f"    # recompute {name}'s forward sweep, then its adjoint\n"
        f"    result, tape = {forward_name}({args})\n"
        f"    return {pullback_name}(*tape, dresult)\n"
    )
    helpers = {name: callee, forward_name: pair[0], pullback_name: pair[1]}
    functions = compile_functions(text, [f"{name}_checkpoint_forward",
                                         f"{name}_checkpoint_pullback"], helpers, callee,
                                  f"checkpoint of {name}")
    shown = names.with_block(text, callee, helpers)
    if shown not in sources:
        sources.insert(0, shown)
    return (functions[f"{name}_checkpoint_forward"],
            functions[f"{name}_checkpoint_pullback"])


def build(
    func: types.FunctionType,
    kind: str,
    wrt: list[str],
    ranks: dict[str, int],
    has_aux: bool = False,
    debug: bool = False,
    suffix: str = "",
    containers: dict[str, Any] | None = None,
    callee: bool = False,
    statics: dict[str, Any] | None = None,
) -> Generated:
    """Run the whole pipeline for one request (``suffix`` tells specialisations apart)."""
    debug = debug or bool(os.environ.get("ADCOMPILER_DEBUG"))
    callee_sources: list[str] = []
    parsed = parse_function(func)
    if is_generated(func):
        prepare_generated(parsed)
    validate(parsed)
    if not callee and not is_generated(func):
        require_result(parsed)
    anf = normalize(parsed)
    _debug("normalize", ast.unparse(anf.body_module()), debug)
    if kind in ("jvp", "jvp_batched"):
        return _build_jvp(func, parsed, anf, wrt, ranks, suffix, containers, debug, callee,
                          statics, batched=kind == "jvp_batched")
    aux = _with_aux(anf)[1] if has_aux else None
    if kind in ("grad", "value_and_grad"):
        _refuse_container_result(anf, parsed)
    program = reverse_transform(anf, wrt, ranks, seeded=kind != "vjp",
                                build_callee=_callee_builder(callee_sources),
                                containers=containers, callee=callee, statics=statics)
    program.scope.helpers.update(anf.cells)  # cells of inlined callees, passed through
    np_name = program.scope.bind("np", __import__("numpy"))
    result = anf.result
    result_atom = _name(result) if isinstance(result, str) else result
    value_atom: ast.expr = result_atom  # type: ignore[assignment]
    if aux is not None:
        value_atom = ast.Tuple(elts=[result_atom, _name(aux)], ctx=ast.Load())
    base = anf.name + suffix
    zero_stmts, grads = _gradient_atoms(program, wrt, np_name, set(containers or {}))
    adjoint = with_line_comments(program.adjoint, parsed.filename)
    params = list(anf.params)
    if kind in ("grad", "value_and_grad"):
        body = program.primal + adjoint + zero_stmts
        # the gradient-only function is built from a pickled copy on demand: a cached
        # entry then holds one bytes object instead of a tree of small nodes (most of an
        # entry's memory), and loading it is quicker than a deep copy
        frozen = _freeze_tree((body, grads))

        def gradient_def() -> ast.FunctionDef:
            """The function users read: it returns only the gradient."""
            own_body, own_grads = _thaw_tree(frozen)
            return optimize(_def(f"{base}_grad", params, [
                *own_body, ast.Return(value=_tuple(own_grads))]), keep=set())

        returned = ast.Tuple(elts=[value_atom, _tuple(grads)], ctx=ast.Load())
        run_body = [*body, ast.Return(value=returned)]
        run = optimize(_def(f"{base}_value_and_grad", params, run_body), keep=set())
        source = _with_callees(to_source(gradient_def() if kind == "grad" else run),
                               callee_sources, func, program.scope.helpers)
        compiled_src = to_source(run)
        functions = compile_functions(compiled_src, [run.name], program.scope.helpers, func,
                                      f"{kind} of {base}")
        functions = _recursion_checked(functions, program.scope.helpers, callee,
                                       f"gradient of {anf.name!r}", parsed)
        helpers = program.scope.helpers

        def gradient_only() -> types.FunctionType:
            shown = gradient_def()  # built when a derivative of the gradient asks for it
            return compile_functions(to_source(shown), [shown.name], helpers, func,
                                     f"grad of {base}")[shown.name]

        return Generated(source, functions, run.name, None, _guards(parsed),
                         gradient_only)
    if kind == "vjp":
        seed = program.seed or anf.namer.fresh("dresult")
        # zero gradients are shaped like their parameter, so the pullback needs it too
        zero_reads = {n.id for s in zero_stmts for n in ast.walk(s.value)  # type: ignore
                      if isinstance(n, ast.Name) and n.id in params}
        saved = sorted((program.adjoint_reads | zero_reads)
                       & (set(params) | _assigned(program.primal)))
        saved = [n for n in saved if n not in program.stacks]
        top_level = _assigned_top(program.primal) | set(params)
        unset = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())],
                            value=ast.Constant(None)) for n in saved if n not in top_level]
        forward = _def(f"{base}_forward", params, [
            *unset,
            *program.primal,
            ast.Return(value=ast.Tuple(elts=[value_atom, ast.Tuple(
                elts=[_name(n) for n in saved + program.stacks], ctx=ast.Load())],
                ctx=ast.Load()))])
        copies = [ast.Assign(targets=[ast.Name(id=s, ctx=ast.Store())], value=ast.Call(
            func=_name("list"), args=[_name(s)], keywords=[])) for s in program.stacks]
        backward = _def(f"{base}_pullback", [*saved, *program.stacks, seed], [
            *copies, *adjoint, *zero_stmts, ast.Return(value=ast.Tuple(elts=grads,
                                                                        ctx=ast.Load()))])
        forward = optimize(forward, keep=set(saved) | set(program.stacks))
        backward = optimize(backward, keep=set())
        own = to_source(forward) + "\n\n" + to_source(backward)
        source = _with_callees(own, callee_sources, func, program.scope.helpers)
        functions = compile_functions(own, [forward.name, backward.name],
                                      program.scope.helpers, func, f"vjp of {base}")
        functions = _recursion_checked(functions, program.scope.helpers, callee,
                                       f"vjp of {anf.name!r}", parsed)
        return Generated(source, functions, forward.name, backward.name,
                         _guards(parsed))
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _freeze_tree(tree: Any) -> Any:
    """A compact copy of syntax trees (pickled), or a deep copy if they cannot be."""
    try:
        return pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(tree)


def _thaw_tree(frozen: Any) -> Any:
    """A fresh copy of what ``_freeze_tree`` kept."""
    if isinstance(frozen, bytes):
        return pickle.loads(frozen)  # bytes this module pickled itself
    return copy.deepcopy(frozen)


def _with_callees(text: str, callee_sources: list[str], func: types.FunctionType,
                  helpers: dict[str, Any]) -> str:
    """The function's own source followed by that of every function it calls, then the
    block that imports or defines every name the code reads from outside (so the text
    runs when pasted into a file)."""
    blocks = [names.split_block(names.with_block(text, func, helpers))[1]]
    parts = [text]
    for callee_source in callee_sources:
        code, block = names.split_block(callee_source)
        if code != text and code not in parts:
            parts.append(code)
        blocks.append(block)
    shown = "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
    lines = names.merge_blocks(blocks)
    return shown + ("\n\n" + "\n".join([names.BLOCK_HEADER, *lines]) + "\n" if lines else "")

def _assigned_top(stmts: list[ast.stmt]) -> set[str]:
    """Names every path through ``stmts`` assigns (top-level assignments only)."""
    return {t.id for s in stmts if isinstance(s, ast.Assign) for t in s.targets
            if isinstance(t, ast.Name)} | {
        e.id for s in stmts if isinstance(s, ast.Assign) for t in s.targets
        if isinstance(t, ast.Tuple) for e in t.elts if isinstance(e, ast.Name)}


def _assigned(stmts: list[ast.stmt]) -> set[str]:
    return {n.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def build_nested(derivative: types.FunctionType, wrt: list[str], ranks: dict[str, int],
                 containers: dict[str, Any] | None = None,
                 statics: dict[str, Any] | None = None) -> Generated:
    """The gradient of a generated derivative: forward mode over its source.

    ``derivative`` is generated code (a gradient, or itself a gradient of one). Its
    gradient with respect to ``x`` is assembled from one tangent sweep per coordinate
    of ``x`` (a scalar ``x`` takes one): the jvp of ``derivative``'s source, seeded with
    the unit vectors. The loop over the seeds is generated source too, so the result
    can be differentiated once more.
    """
    from .runtime import assemble, basis

    if containers and set(containers) & set(wrt):
        raise ADError("the gradient of a generated derivative with respect to a container "
                      f"argument ({sorted(set(containers) & set(wrt))[0]!r}) is not "
                      "supported; differentiate with respect to its arrays one by one")
    name = identifier(derivative.__name__)  # text spliced into source: never raw text
    params = list(derivative.__code__.co_varnames[: derivative.__code__.co_argcount])
    if not all(p.isidentifier() for p in params):  # pragma: no cover - generated names
        raise ADError(f"cannot differentiate {derivative!r}: its parameters are not names")
    helpers: dict[str, Any] = {"basis": basis, "assemble": assemble}
    sources: list[str] = []
    guards: list[tuple] = []
    lines: list[str] = []
    for param in wrt:
        jvp = build(derivative, "jvp", [param], ranks, suffix=f"_wrt_{param}"
                    if len(wrt) > 1 else "", containers=containers, statics=statics)
        helpers[jvp.entry] = jvp.functions[jvp.entry]
        sources.append(jvp.source)
        guards.append(jvp.guards)
        lines += [
            f"seeds = basis({param})",
            "parts = []",
            "for seed in seeds:",
            f"    value, part = {jvp.entry}({', '.join(params)}, seed)",
            "    parts.append(part)",
            f"d{param} = assemble(parts, {param})",
        ]
    grads = ", ".join(f"d{p}" for p in wrt)
    comment = (f"# the gradient of {name} by forward mode: one tangent sweep of its jvp per "
               "coordinate")

    def function(suffix: str, returned: str) -> str:
        body = "".join(f"    {line}\n" for line in [comment, *lines, f"return {returned}"])
        return f"def {name}_{suffix}({', '.join(params)}):\n{body}"

    run_text = function("value_and_grad", f"value, ({grads})" if len(wrt) > 1
                        else f"value, {grads}")
    grad_text = function("grad", grads)
    functions = compile_functions(run_text, [f"{name}_value_and_grad"], helpers, derivative,
                                  f"value_and_grad of {name}")

    def gradient_only() -> types.FunctionType:
        return compile_functions(grad_text, [f"{name}_grad"], helpers, derivative,
                                 f"grad of {name}")[f"{name}_grad"]

    return Generated(_with_callees(grad_text, sources, derivative, helpers), functions,
                     f"{name}_value_and_grad", None, cache.merge_guards(*guards),
                     gradient_only)
