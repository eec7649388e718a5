"""Forward mode: every primal statement followed by its tangent statement.

The input is the A-normal form of ``normalize``. A single sweep walks the body once;
after each statement ``y = f(a, b)`` whose target is *active* (it depends on a
differentiated argument and the output depends on it) comes ``dy = ...``, the rule's
forward template filled with the tangents of its arguments. Tangent names derive from
primal names (``x`` -> ``dx``), as adjoints do in reverse mode. There is no stack and no
second sweep: the tangent of a value is computed right after the value, so it reads the
same version of every name the primal statement read, inside loops too.

Zero tangents are tracked at compile time: a tangent that is known to be zero is the
literal ``ZERO`` of the template contract and is simplified away, so an inactive operand
costs nothing. Only where control flow joins a path with a zero tangent and one without
(the branches of an ``if``, the back edge of a loop) is a zero array materialised
(``dx = np.zeros_like(x)``). Tangents are never updated in place except ones this
transform allocated itself and nothing else reads (``dy[i] = dv`` after ``dy =
dx.copy()``).

``if``, ``for`` and ``while`` keep their structure, the tangent statements inside them.
Calls to user functions call the callee's own generated jvp (built recursively by the
pipeline and cached per callee, ``wrt`` and ranks, like reverse mode's callees): the
generated code stays one readable function per user function, and recursion works.
``ad.checkpoint(f)`` is just ``f`` in forward mode (nothing is stored to begin with); a
rule registered with ``ad.derivative(of=f, mode="forward")`` is called as
``y, dy = f_rule((a, b), (da, db))``.

Classification, activity, ranks and shapes are those of reverse mode (the transformer
subclasses it), so both modes agree on what is differentiable and why.
"""

from __future__ import annotations

import ast
import copy
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..control import UserRule
from ..errors import (
    ADError,
    NonDifferentiableError,
    UnsupportedSyntaxError,
    at_call_site,
    no_rule_message,
    user_code,
)
from ..frontend.generated import is_generated
from ..frontend.normalize import AnfFunction
from ..frontend.parse import UNRESOLVED
from ..optimize.simplify import ZERO, is_zero, simplify
from ..pytree import is_container, tree_leaves, tree_map
from ..rules import registry
from .fill import bind_arguments, fill
from .reverse import Primitive, _Reverse
from .scope import Scope

__all__ = ["ForwardProgram", "ForwardUserRule", "forward_transform", "require_zero_tangent",
           "zero_tangent"]


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[_store(target)], value=value)


def _call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def _zero() -> ast.Name:
    return ast.Name(id=ZERO, ctx=ast.Load())


def _loads(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for stmt in nodes for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _zero_leaf(x: Any) -> Any:
    if isinstance(x, bool) or x is None or isinstance(x, int | str | bytes):
        return 0.0  # a number zero: adds to anything, broadcasts against anything
    if isinstance(x, float):
        return 0.0
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        return 0.0
    return np.zeros_like(x)


def zero_tangent(x: Any) -> Any:
    """A zero tangent shaped like ``x``: 0.0, ``zeros_like``, or a container of them.

    Unlike a zero cotangent, leaves without a derivative (ints, flags) get ``0.0`` rather
    than None, because generated tangent code does arithmetic with whatever it reads.
    """
    return tree_map(_zero_leaf, x) if is_container(x) else _zero_leaf(x)


def require_zero_tangent(tangent: Any, what: str) -> None:
    """Raise unless ``tangent`` is zero: the tangent of an argument a rule does not
    differentiate (an axis read from a tape), which generated code checks at run time."""
    leaves = tree_leaves(tangent) if is_container(tangent) else [tangent]
    for leaf in leaves:
        if leaf is not None and np.any(np.asarray(leaf) != 0):
            raise NonDifferentiableError(f"a nonzero tangent reached the {what}, which has "
                                         "no derivative")


def _rule_name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)


class ForwardUserRule:
    """How generated code calls a user's forward rule: ``y, dy = rule((x,), (dx,))``."""

    def __init__(self, of: Any, rule: Any) -> None:
        self.of = of
        self.rule = rule
        self.name = _rule_name(rule)

    def __call__(self, primals: tuple, tangents: tuple) -> tuple[Any, Any]:
        result = self.rule(primals, tangents)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ADError(f"the forward derivative rule {self.name} for {_rule_name(self.of)} "
                          "must return (value, tangent_out)")
        value, tangent = result
        if tangent is None:
            tangent = zero_tangent(value)
        elif (hasattr(value, "shape") or isinstance(value, float)) and not is_container(
                tangent) and np.shape(tangent) != np.shape(value):
            raise ADError(f"the forward derivative rule {self.name} returned a tangent of "
                          f"shape {np.shape(tangent)} for a value of shape {np.shape(value)}")
        return value, tangent

    def __repr__(self) -> str:
        return f"<forward rule {self.name} for {_rule_name(self.of)}>"


@dataclass
class ForwardProgram:
    """The tangent program: primal and tangent statements interleaved."""

    anf: AnfFunction
    body: list[ast.stmt]
    tangent_params: list[str]
    result: ast.expr
    tangent: ast.expr
    scope: Scope


class _Forward(_Reverse):
    def __init__(self, anf: AnfFunction, wrt: list[str], ranks: dict[str, int],
                 build_callee: Any = None, containers: dict[str, Any] | None = None,
                 callee: bool = False, statics: dict[str, Any] | None = None) -> None:
        super().__init__(anf, wrt, ranks, build_callee, containers, callee, statics)
        self.tangent_params = [self.adjoint_name(p) for p in wrt]
        self.nonzero: set[str] = set(wrt)  # names whose tangent variable holds a value
        self.owned = set()  # tangents allocated here and read by nothing else
        self.defined: set[str] = set(anf.params)
        self.dry = False

    # -- classification: forward rules take precedence --------------------------------
    def resolve_callee(self, func: ast.expr) -> Any:
        """Generated code calls a recursive callee through a stand-in that points at the
        finished generated function: differentiate that function."""
        callee = super().resolve_callee(func)
        target = getattr(callee, "target", None) if callee is not UNRESOLVED else None
        if isinstance(target, types.FunctionType) and is_generated(target):
            return target
        return callee

    def _classify_call(self, call: ast.Call) -> Primitive:
        starred = any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords)
        callee = self.resolve_callee(call.func)
        if isinstance(callee, UserRule):  # only generated gradients call these
            raise self.error(
                NonDifferentiableError,
                f"second derivatives through the reverse rule {callee.name} registered with "
                f"@ad.derivative for {getattr(callee.of, '__qualname__', callee.of)!r}: the "
                "pullback it returns is an opaque function, so the gradient that calls it "
                "cannot be differentiated again. Leave that function without a rule (it is "
                "then transformed from its Python source) to take second derivatives")
        rule = registry.rule_for(callee) if callee is not UNRESOLVED else None
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        what = registry.describe(callee) if callee is not UNRESOLVED else (
            f"the call {user_code(call)!r}")
        if rule is not None and rule.user_forward is not None and not starred:
            return Primitive("custom", args=list(call.args), keywords=keywords, what=what,
                             callee=ForwardUserRule(callee, rule.user_forward))
        prim = super()._classify_call(call)
        if prim.kind == "custom":  # a reverse-only user rule: use the source, or a template
            if isinstance(callee, types.FunctionType) and not (
                    getattr(callee, "__module__", "") or "").startswith("numpy"):
                return Primitive("user", args=prim.args, keywords=prim.keywords, what=what,
                                 callee=callee)
            if rule is not None and rule.forward is not None:
                return Primitive("rule", rule, prim.args, prim.keywords, what=what)
            return Primitive("nondiff", what=f"{what} (it has only a reverse-mode rule)")
        if prim.kind in ("nondiff", "user") and rule is not None and (
                rule.forward is not None) and not starred:
            # a forward template (a runtime helper's) wins over the function's source
            return Primitive("rule", rule, list(call.args), keywords, what=what)
        return prim

    # -- tangents ---------------------------------------------------------------------
    def tangent_of(self, atom: ast.expr | None) -> ast.expr:
        """The tangent of an atom: ``dx`` or ``ZERO``; tuples of atoms give tuples."""
        if isinstance(atom, ast.Name):
            if atom.id in self.active and atom.id in self.nonzero:
                return _name(self.adjoint_name(atom.id))
            return _zero()
        if isinstance(atom, ast.Tuple | ast.List):
            parts = [self.tangent_of(e.value if isinstance(e, ast.Starred) else e)
                     for e in atom.elts]
            if all(is_zero(p) for p in parts):
                return _zero()
            return type(atom)(elts=[self.materialised(e) for e in atom.elts], ctx=ast.Load())
        return _zero()

    def materialised(self, atom: ast.expr) -> ast.expr:
        """The tangent of ``atom`` as a value (a zero array instead of ``ZERO``)."""
        if isinstance(atom, ast.Starred):
            return ast.Starred(value=self.materialised(atom.value), ctx=ast.Load())
        tangent = self.tangent_of(atom)
        if not is_zero(tangent):
            return tangent
        if isinstance(atom, ast.Name):
            return self.zero_value(atom.id)
        return ast.Constant(0.0)

    def zero_value(self, name: str) -> ast.expr:
        if name in self.array_names or (name in self.ranks and name not in self.children):
            np_name = self.scope.bind("np", np)
            return _call(ast.Attribute(value=_name(np_name), attr="zeros_like",
                                       ctx=ast.Load()), _name(name))
        return _call(_name(self.scope.bind("zero_tangent", zero_tangent)), _name(name))

    def zeros(self, name: str) -> ast.stmt:
        return _assign(self.adjoint_name(name), self.zero_value(name))

    def set_tangent(self, name: str, value: ast.expr, out: list[ast.stmt]) -> None:
        """``dname = value``, or record that the tangent of ``name`` is zero."""
        self.owned.discard(name)
        if isinstance(value, _AlreadyAssigned):
            self.nonzero.add(name)
            return
        if is_zero(value):
            self.nonzero.discard(name)
            return
        out.append(_assign(self.adjoint_name(name), value))
        self.nonzero.add(name)

    def release_reads(self, stmts: list[ast.stmt]) -> None:
        """A tangent that generated code read may now be aliased: never update it in place."""
        reads = _loads(stmts)
        self.owned = {n for n in self.owned if self.adjoint_name(n) not in reads}

    # -- statements -----------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            self.current = stmt
            chunk = self.statement(stmt)
            if chunk and getattr(stmt, "lineno", None) is not None:
                chunk[0].ad_source_line = stmt.lineno  # type: ignore[attr-defined]
            out.extend(chunk)
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if isinstance(stmt, ast.Return):
            return []
        if isinstance(stmt, ast.Assign):
            return self.assign(stmt)
        if isinstance(stmt, ast.If):
            return self.if_stmt(stmt)
        if isinstance(stmt, ast.For | ast.While):
            return self.loop(stmt)
        if isinstance(stmt, ast.Expr):
            self.check_side_effect(stmt)
            call = stmt.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and (
                    isinstance(call.func.value, ast.Name)) and (
                    call.func.value.id in self.active and call.func.value.id in self.locals):
                raise self.error(UnsupportedSyntaxError,
                                 f"the method call {user_code(call)!r} kept for its side "
                                 "effect on a differentiated value (it would change the "
                                 "value in place, not its tangent); assign a new value "
                                 "instead (y = np.sort(y))")
        return [stmt]

    def assign(self, stmt: ast.Assign) -> list[ast.stmt]:
        target = stmt.targets[0]
        if isinstance(target, ast.Subscript):
            return self.update(stmt)
        if not isinstance(target, ast.Name):  # pragma: no cover - ANF has one Name target
            raise self.error(UnsupportedSyntaxError, f"assignment to {ast.unparse(target)}")
        name = target.id
        self.defined.add(name)
        stack = _popped_stack(stmt.value, self.locals)
        if name not in self.active:
            self.nonzero.discard(name)
            if stack is not None and stack in self.active and stack in self.nonzero:
                # keep the tangent stack in step with the primal one
                pop = _call(ast.Attribute(value=_name(self.adjoint_name(stack)), attr="pop",
                                          ctx=ast.Load()))
                return [stmt, ast.Expr(pop)]
            return [stmt]
        if stack is not None:
            return self.pop(stmt, name, stack)
        prim = self.classify(stmt)
        if prim.kind in ("user", "custom", "checkpoint"):
            return self.user_call(stmt, prim, name)
        out: list[ast.stmt] = [stmt]
        if name in _loads([ast.Expr(stmt.value)]) and prim.kind != "copy":
            # the primal overwrites an operand its tangent still needs: compute into a
            # temporary first (ANF avoids this; kept for safety)
            temp = self.namer.fresh(name)
            out = [ast.copy_location(_assign(temp, stmt.value), stmt)]
            if name in self.array_names:
                self.array_names.add(temp)
            tangent: list[ast.stmt] = []
            value = self.tangent_value(stmt, prim, temp, tangent)
            out += tangent
            out.append(_assign(name, _name(temp)))
        else:
            value = self.tangent_value(stmt, prim, name, out)
        self.release_reads(out[1:])
        self.set_tangent(name, value, out)
        return out

    def pop(self, stmt: ast.Assign, name: str, stack: str) -> list[ast.stmt]:
        """``v = stack.pop()``: the tangent stack holds the tangents of the values pushed,
        so ``dv = dstack.pop()`` (generated gradients save values on stacks)."""
        out: list[ast.stmt] = [stmt]
        if stack in self.active and stack in self.nonzero:
            pop = _call(ast.Attribute(value=_name(self.adjoint_name(stack)), attr="pop",
                                      ctx=ast.Load()))
            self.set_tangent(name, pop, out)
        else:
            self.set_tangent(name, _zero(), out)
        return out

    def tangent_value(self, stmt: ast.Assign, prim: Primitive, result: str,
                      out: list[ast.stmt]) -> ast.expr:
        """The tangent of ``result`` (statements it needs go to ``out``)."""
        kind = prim.kind
        if kind == "copy":
            return self.tangent_of(prim.args[0])
        if kind == "zero":
            return _zero()
        if kind == "rule" or (kind == "attr" and prim.rule is not None
                              and not self.container_like(prim.args[0])):
            return self.fill_forward(stmt, prim, result, out)
        if kind == "index":
            base, index = prim.args
            literal = self.literals.get(base.id) if isinstance(base, ast.Name) else None
            if literal is not None and isinstance(index, ast.Constant) and (
                    type(index.value) is int):
                return self.tangent_of(literal[index.value])
            tangent = self.tangent_of(base)
            if is_zero(tangent):
                return tangent
            return ast.Subscript(value=tangent, slice=copy.deepcopy(index), ctx=ast.Load())
        if kind == "attr":
            assert isinstance(stmt.value, ast.Attribute)
            refusal = self.array_attribute_refusal(prim, stmt.value)
            if refusal is not None:
                out.append(refusal)
                return _zero()
            tangent = self.tangent_of(prim.args[0])
            if is_zero(tangent):
                return tangent
            return ast.Attribute(value=tangent, attr=stmt.value.attr, ctx=ast.Load())
        if kind == "tuple":
            assert isinstance(stmt.value, ast.Tuple | ast.List)
            return self.tangent_of(stmt.value)
        if kind == "dict":
            assert isinstance(stmt.value, ast.Dict)
            parts = [self.tangent_of(v) for v in stmt.value.values]
            if all(is_zero(p) for p in parts):
                return _zero()
            return ast.Dict(keys=copy.deepcopy(stmt.value.keys),
                            values=[self.materialised(v) for v in stmt.value.values])
        if kind == "nondiff":
            message = (f"no forward-mode derivative rule for {prim.what}{prim.advice}"
                       if prim.advice else no_rule_message(prim.what, prim.callee,
                                                           mode="forward"))
            raise self.error(NonDifferentiableError, message)
        raise self.error(UnsupportedSyntaxError,  # pragma: no cover - every kind is above
                         f"{ast.unparse(stmt)} in forward mode")

    def fill_forward(self, stmt: ast.Assign, prim: Primitive, result: str,
                     out: list[ast.stmt]) -> ast.expr:
        rule = prim.rule
        assert rule is not None
        if rule.forward is None:
            raise self.error(NonDifferentiableError,
                             f"no forward-mode template for {prim.what}; register one with "
                             "@ad.derivative(of=..., mode='forward')")
        template = rule.forward
        try:
            bindings = bind_arguments(template, prim.args, prim.keywords, prim.what)
        except ADError as exc:
            raise exc.with_location(self.parsed.location(stmt)) from None
        special: dict[str, ast.expr] = {"result": _name(result)}
        for param in template.outputs:
            special["d" + param] = self.tangent_of(bindings.get(param))
        wanted = [p for p, atom in bindings.items()
                  if not is_zero(self.tangent_of(atom))
                  and isinstance(atom, ast.Name | ast.Tuple | ast.List)
                  and p not in rule.shape_only]
        missing = [p for p in wanted if p not in template.outputs]
        if missing and is_generated(self.parsed.func):
            # generated code passes tape entries (an ``axis``, a shape) that are active
            # only because the tape is: their tangents are zeros, checked when it runs
            for param in missing:
                what = f"argument {param!r} of {prim.what}"
                check = _call(_name(self.scope.bind("require_zero_tangent",
                                                    require_zero_tangent)),
                              self.tangent_of(bindings[param]), ast.Constant(what))
                out.append(ast.Expr(check))
            wanted = [p for p in wanted if p not in missing]
        elif missing:
            raise self.error(NonDifferentiableError,
                             f"the rule for {prim.what} has no derivative with respect to "
                             f"its argument {missing[0]!r}")
        if not any(not is_zero(v) for k, v in special.items() if k != "result"):
            return _zero()
        try:
            filled = fill(template, bindings, special, self.namer, self.scope, None,
                          self.ranks)
        except ADError as exc:
            raise exc.with_location(self.parsed.location(stmt)) from None
        stmts, zeros = _propagate_zeros(filled.stmts)
        temp = filled.outputs.get("result")
        if temp is None or temp in zeros:
            return _zero()
        dresult = self.adjoint_name(result) if result in self.active else None
        value: ast.expr = _name(temp)
        if rule.broadcasting and not self.full_shape(stmts, bindings, special, template,
                                                     result):
            # the tangent may have an operand's smaller shape (``dx + ZERO``): give it
            # the result's shape, as the value has
            np_name = _name(self.scope.bind("np", np))
            shape = _call(ast.Attribute(value=np_name, attr="shape", ctx=ast.Load()),
                          _name(result))
            last = stmts[-1] if stmts else None
            if isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name) and (
                    last.targets[0].id == temp):
                last.value = _call(ast.Attribute(value=copy.deepcopy(np_name),
                                                 attr="broadcast_to", ctx=ast.Load()),
                                   last.value, shape)
            else:
                value = _call(ast.Attribute(value=copy.deepcopy(np_name), attr="broadcast_to",
                                            ctx=ast.Load()), value, shape)
        out.extend(stmts)
        if isinstance(value, ast.Name) and dresult is not None and (
                dresult not in _loads(stmts)):
            _rename(stmts, temp, dresult)
            return _AlreadyAssigned()
        return value

    def full_shape(self, stmts: list[ast.stmt], bindings: dict[str, ast.expr],
                   special: dict[str, ast.expr], template: registry.Template, result: str
                   ) -> bool:
        """Whether a broadcasting rule's tangent certainly has the result's shape.

        It has when it reads the result, or, for every operand, the operand itself or its
        nonzero tangent (the broadcast of the operands' shapes is the result's shape).
        """
        reads = _loads(stmts)
        if result in reads:
            return True
        for param in template.outputs:
            atom = bindings.get(param)
            if not isinstance(atom, ast.Name):
                continue
            if not is_zero(special["d" + param]) and self.same_shape(atom.id, result):
                return True
            if atom.id not in reads and is_zero(special["d" + param]):
                return False
        return True

    def update(self, stmt: ast.Assign) -> list[ast.stmt]:
        """``y = x[i] = v``: ``dy = dx.copy(); dy[i] = dv`` (in place when it is ours)."""
        target = stmt.targets[0]
        assert isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
        result = getattr(stmt, "ad_result", target.value.id)
        base = target.value.id
        out: list[ast.stmt] = []
        if result != base:
            copy_call = _call(ast.Attribute(value=_name(base), attr="copy", ctx=ast.Load()))
            out.append(ast.copy_location(_assign(result, copy_call), stmt))
        out.append(ast.copy_location(ast.Assign(targets=[ast.Subscript(
            value=_name(result), slice=target.slice, ctx=ast.Store())], value=stmt.value),
            stmt))
        self.defined.add(result)
        if result not in self.active:
            self.nonzero.discard(result)
            return out
        dbase, dvalue = self.tangent_of(_name(base)), self.slot_tangent(stmt, base)
        if is_zero(dbase) and is_zero(dvalue):
            self.set_tangent(result, _zero(), out)
            return out
        in_place = result == base and base in self.owned and not is_zero(dbase)
        dresult = self.adjoint_name(result)
        tangent: list[ast.stmt] = []
        if not in_place:
            if is_zero(dbase):
                fresh = self.zero_value(result)
            else:
                fresh = _call(ast.Attribute(value=dbase, attr="copy", ctx=ast.Load()))
            tangent.append(_assign(dresult, fresh))
        slot = ast.Subscript(value=_name(dresult), slice=self.tangent_index(target.slice),
                             ctx=ast.Store())
        tangent.append(ast.Assign(targets=[slot], value=dvalue if not is_zero(dvalue)
                                  else ast.Constant(0.0)))
        self.release_reads([ast.Expr(dvalue)])
        out += tangent
        self.nonzero.add(result)
        self.owned.add(result)
        return out

    def slot_tangent(self, stmt: ast.Assign, base: str) -> ast.expr:
        """The tangent written into ``dy[i]`` for ``y[i] = v`` (the batched transform
        widens it to the slot's rank)."""
        return self.tangent_of(stmt.value)

    def tangent_index(self, index: ast.expr) -> ast.expr:
        """The index of a tangent for the primal's ``index`` (the batched transform puts
        ``:`` in front)."""
        return copy.deepcopy(index)

    def user_call(self, stmt: ast.Assign, prim: Primitive, name: str) -> list[ast.stmt]:
        """``y, dy = f_jvp(a, b, da)`` for a user function; a user rule likewise."""
        target = _store(name)
        pair = ast.Tuple(elts=[target, _store(self.adjoint_name(name))], ctx=ast.Store())
        if prim.kind == "custom":
            if prim.keywords:
                raise self.error(UnsupportedSyntaxError,
                                 f"keyword arguments in the call to {prim.what}, which has a "
                                 "user derivative rule (pass them positionally)")
            if all(is_zero(self.tangent_of(a)) for a in prim.args):
                self.set_tangent(name, _zero(), [])
                return [stmt]
            rule_name = self.scope.bind(f"{getattr(prim.callee.rule, '__name__', 'rule')}"
                                        "_checked", prim.callee)
            primals = ast.Tuple(elts=list(prim.args), ctx=ast.Load())
            tangents = ast.Tuple(elts=[self.materialised(a) for a in prim.args],
                                 ctx=ast.Load())
            invoke = _call(_name(rule_name), primals, tangents)
            out: list[ast.stmt] = [ast.copy_location(ast.Assign(targets=[pair], value=invoke),
                                                     stmt)]
            self.release_reads(out)
            self.owned.discard(name)
            self.nonzero.add(name)
            return out
        callee = prim.callee
        atoms = self.bind_user_call(callee, prim)
        wrt = [p for p, atom in atoms.items() if not is_zero(self.tangent_of(atom))]
        if not wrt:
            self.set_tangent(name, _zero(), [])
            return [stmt]
        self.owned.discard(name)
        self.nonzero.add(name)
        if self.dry:
            return [stmt]
        ranks = {p: self.ranks[a.id] for p, a in atoms.items()
                 if isinstance(a, ast.Name) and a.id in self.ranks}
        passive = [p for p, a in atoms.items() if isinstance(a, ast.Name) and p not in wrt]
        if self.build_callee is None:  # pragma: no cover - the pipeline always passes it
            raise self.error(UnsupportedSyntaxError, f"the call to {prim.what}")
        try:
            jvp = self.build_callee(callee, wrt, ranks, bool(passive),
                                    containers=self.callee_containers(atoms),
                                    statics=self.callee_statics(atoms))
        except ADError as exc:
            raise at_call_site(exc, callee, self.parsed.location(stmt)) from None
        function = self.scope.bind(getattr(jvp, "__name__", f"{callee.__name__}_jvp"), jvp)
        args = [*atoms.values(), *(self.tangent_of(atoms[p]) for p in wrt)]
        out = [ast.copy_location(ast.Assign(targets=[pair], value=_call(_name(function),
                                                                        *args)), stmt)]
        self.release_reads(out)
        return out

    # -- control flow ---------------------------------------------------------------------
    def if_stmt(self, stmt: ast.If) -> list[ast.stmt]:
        before = (set(self.nonzero), set(self.owned), set(self.defined))
        body = self.block(stmt.body)
        after_body = (self.nonzero, self.owned, self.defined)
        self.nonzero, self.owned, self.defined = set(before[0]), set(before[1]), set(
            before[2])
        orelse = self.block(stmt.orelse)
        after_else = (self.nonzero, self.owned, self.defined)
        if _raises(stmt.body) or _raises(stmt.orelse):
            # a branch that raises never reaches the join: the state after the ``if`` is
            # that of the other branch (joining with it would zero live tangents)
            self.nonzero, self.owned, self.defined = (
                after_else if _raises(stmt.body) else after_body)
            new = ast.If(test=stmt.test, body=body or [ast.Pass()], orelse=orelse)
            return [ast.copy_location(new, stmt)]
        joined: set[str] = set()
        for names, branch, defined in ((after_body[0] - after_else[0], orelse, after_else[2]),
                                       (after_else[0] - after_body[0], body, after_body[2])):
            for name in sorted(names):
                if name in defined:
                    branch.append(self.zeros(name))
                    joined.add(name)
        self.nonzero = (after_body[0] & after_else[0]) | joined
        self.owned = after_body[1] & after_else[1]
        self.defined = after_body[2] | after_else[2]
        new = ast.If(test=stmt.test, body=body or [ast.Pass()], orelse=orelse)
        return [ast.copy_location(new, stmt)]

    def loop_body(self, body: list[ast.stmt], entry: set[str]) -> list[ast.stmt]:
        """One pass of a loop body; tangents nonzero on entry are nonzero at its end."""
        out = self.block(body)
        for name in sorted(entry - self.nonzero):
            out.append(self.zeros(name))
            self.nonzero.add(name)
            self.owned.add(name)
        return out

    def _dry_run(self, body: list[ast.stmt], nonzero: set[str], owned: set[str]
                 ) -> tuple[set[str], set[str]]:
        """The tangent states after one pass of ``body``; generates nothing."""
        namer = (set(self.namer._taken), dict(self.namer._adjoints),
                 dict(self.namer._counters))
        scope = (dict(self.scope.helpers), dict(self.scope._by_id))
        state = (self.nonzero, self.owned, set(self.defined), self.dry)
        self.nonzero, self.owned, self.dry = set(nonzero), set(owned), True
        try:
            self.loop_body(body, nonzero)
            return self.nonzero, self.owned
        finally:
            self.namer._taken, self.namer._adjoints, self.namer._counters = namer
            self.scope.helpers, self.scope._by_id = scope
            self.nonzero, self.owned, self.defined, self.dry = state

    def loop(self, stmt: ast.For | ast.While) -> list[ast.stmt]:
        if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
            self.defined.add(stmt.target.id)
        initial = set(self.nonzero)
        entry = set(initial)
        excluded: set[str] = set()
        while True:  # a fixpoint: tangents the body makes nonzero are nonzero on entry
            owned = (self.owned | (entry - initial)) - excluded
            after, after_owned = self._dry_run(stmt.body, entry, owned)
            carried = {n for n in after - entry if n in self.defined}
            shrunk = owned - after_owned
            if not carried and not shrunk:
                break
            entry |= carried
            excluded |= shrunk
        before = [self.zeros(n) for n in sorted(entry - initial)]
        self.nonzero, self.owned = set(entry), set(owned)
        body = self.loop_body(stmt.body, entry)
        self.owned &= owned
        if isinstance(stmt, ast.For):
            new: ast.stmt = ast.For(target=stmt.target, iter=stmt.iter,
                                    body=body or [ast.Pass()], orelse=[])
        else:
            new = ast.While(test=stmt.test, body=body or [ast.Pass()], orelse=[])
        return [*before, ast.copy_location(new, stmt)]

    # -- driver ---------------------------------------------------------------------------
    def run(self) -> ForwardProgram:
        body = self.block(self.anf.body)
        result = self.anf.result
        atom: ast.expr = _name(result) if isinstance(result, str) else (
            result if result is not None else ast.Constant(None))
        tangent = self.tangent_of(atom)
        if is_zero(tangent):
            tangent = self.zero_value(result) if isinstance(result, str) else ast.Constant(
                0.0)
        return ForwardProgram(self.anf, body, self.tangent_params, atom, tangent, self.scope)


def _raises(block: list[ast.stmt]) -> bool:
    """Whether ``block`` certainly ends in a ``raise`` (in ANF, or in both branches of a
    final ``if``)."""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, ast.Raise):
        return True
    return isinstance(last, ast.If) and _raises(last.body) and _raises(last.orelse)


def _popped_stack(value: ast.expr, local_names: set[str]) -> str | None:
    """The local list ``s`` of ``s.pop()``, else None."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and (
            value.func.attr == "pop") and not value.args and not value.keywords and (
            isinstance(value.func.value, ast.Name)) and value.func.value.id in local_names:
        return value.func.value.id
    return None


class _AlreadyAssigned(ast.Name):
    """Marker: the tangent was assigned by the filled statements themselves."""

    def __init__(self) -> None:
        super().__init__(id="<assigned>", ctx=ast.Load())


def _rename(stmts: list[ast.stmt], old: str, new: str) -> None:
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == old:
                node.id = new


class _Zeros(ast.NodeTransformer):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.names:
            return _zero()
        return node


def _propagate_zeros(stmts: list[ast.stmt]) -> tuple[list[ast.stmt], set[str]]:
    """Drop ``t = ZERO`` from a filled template and substitute ``ZERO`` for ``t``."""
    zeros: set[str] = set()
    out: list[ast.stmt] = []
    for stmt in stmts:
        stmt = simplify(_Zeros(zeros).visit(stmt))
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if is_zero(stmt.value):
                zeros.add(name)
                continue
            zeros.discard(name)
            if isinstance(stmt.value, ast.Name) and stmt.value.id == name:
                continue
        elif isinstance(stmt, ast.Expr) and is_zero(stmt.value):
            continue
        elif isinstance(stmt, ast.If):
            for attr in ("body", "orelse"):
                inner, inner_zeros = _propagate_zeros(getattr(stmt, attr))
                for name in sorted(inner_zeros):  # zero on one path only: a number zero
                    inner.append(_assign(name, ast.Constant(0.0)))
                setattr(stmt, attr, inner or ([ast.Pass()] if attr == "body" else []))
            zeros -= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Store)}
        out.append(stmt)
    return out, zeros


def forward_transform(anf: AnfFunction, wrt: list[str], ranks: dict[str, int] | None = None,
                      build_callee: Any = None, containers: dict[str, Any] | None = None,
                      callee: bool = False, statics: dict[str, Any] | None = None
                      ) -> ForwardProgram:
    """The tangent program of ``anf`` for tangents of the parameters ``wrt``.

    ``build_callee(func, wrt, ranks, partial)`` returns the generated jvp of a user
    function the code calls (the pipeline supplies it).
    """
    return _Forward(anf, wrt, ranks or {}, build_callee, containers, callee, statics).run()


