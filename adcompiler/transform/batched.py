"""Forward mode with a batch of tangents: one sweep for many seeds (Jacobians, Hessians).

A Jacobian or Hessian by forward mode takes one tangent sweep per input coordinate.
Each sweep repeats the primal statements and pays Python's per-statement cost; with
all seeds stacked along a leading *batch axis* (``dx`` of shape ``(B,) + x.shape``) one
sweep does the work of B, and the primal runs once.

A leading batch axis is only safe where every tangent operation treats that axis as a
batch: elementwise arithmetic does (NumPy aligns shapes from the right), *provided*
every tangent has the full rank of the result it meets. A tangent of rank 1 meeting a
primal of rank 2 would align its batch axis with the primal's first axis, and when the
sizes happen to agree NumPy would silently compute something else. So this transform
knows the rank of every value it touches, expands lower-rank tangents after the batch
axis (``dx[:, None]``), and rewrites the few non-elementwise operations it supports:

* indexing and index assignment get a leading ``:`` (``dx[:, 1:]``);
* ``np.sum`` and ``np.mean`` shift their axes past the batch axis; ``.T`` transposes all
  but the batch axis; matrix products are ordered so the batch axis stays leading;
* the generated-code helpers ``unbroadcast`` / ``unbroadcast_to`` reduce to the batch
  shape.

Anything else (a reduction along an axis it cannot shift, reshapes, user-function calls,
helpers whose rank is unknown) raises :class:`BatchingRefusedError`, and the caller falls
back to one sweep per seed, which is always correct. Refusal is the safe default: a
rule is batched only when it is in the allow-list below.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import numpy as np

from ..errors import ADError, user_code
from ..frontend.normalize import AnfFunction, walk_statements
from ..optimize.simplify import is_zero
from ..pytree import is_container, tree_map
from ..rules import registry
from ..rules.operators import matmul_da, matmul_db
from ..runtime import add_at, unbroadcast, unbroadcast_to
from .forward import ForwardProgram, _Forward
from .reverse import Primitive

__all__ = ["BatchingRefusedError", "batched_forward_transform"]


class BatchingRefusedError(ADError):
    """This function's tangent program cannot run on a batch of seeds (see the module)."""


_ELEMENTWISE_CALLS = (np.where, np.ones_like, np.zeros_like)
_REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.var, np.std)
_REDUCTION_METHODS = ("sum", "mean", "max", "min", "prod", "var", "std")
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.FloorDiv,
              ast.Mod)


def batched_zeros(x: Any, batch: int) -> Any:
    """A zero tangent for each of ``batch`` seeds: shape ``(batch,) + np.shape(x)``."""
    def leaf(v: Any) -> Any:
        dtype = getattr(v, "dtype", None)
        kind = np.dtype(dtype).kind if dtype is not None else "f"
        return np.zeros((batch, *np.shape(v)), dtype=dtype if kind in "fc" else np.float64)

    return tree_map(leaf, x) if is_container(x) else leaf(x)


def batched_unbroadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """``unbroadcast_to`` of each seed's tangent: sum ``g`` (batch first) to ``shape``."""
    batch, rest = np.shape(g)[0], tuple(np.shape(g)[1:])
    if rest == tuple(shape):
        return g
    extra = len(rest) - len(shape)
    axes = tuple(1 + i for i in range(extra)) + tuple(
        1 + extra + i for i, n in enumerate(shape) if n == 1 and rest[extra + i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, (batch, *shape))


def batched_unbroadcast(g: Any, like: Any) -> Any:
    """``unbroadcast`` of each seed's tangent (batch first) to the shape of ``like``."""
    return batched_unbroadcast_to(g, np.shape(like))


def _elementwise_template(template: registry.Template) -> bool:
    """Whether a forward template only does elementwise arithmetic on its tangents."""
    for node in ast.walk(ast.Module(body=template.body, type_ignores=[])):
        if isinstance(node, ast.Call):
            target = _resolve(node.func, template.namespace)
            if target is registry.static or target is registry.active:
                continue
            if not (isinstance(target, np.ufunc) or any(target is c for c in
                                                        _ELEMENTWISE_CALLS)):
                return False
        elif isinstance(node, ast.Subscript | ast.Attribute) and not (
                isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "np"):
            return False
    return True


def _resolve(func: ast.expr, namespace: dict[str, Any]) -> Any:
    if isinstance(func, ast.Name):
        return namespace.get(func.id)
    if isinstance(func, ast.Attribute):
        base = _resolve(func.value, namespace)
        return getattr(base, func.attr, None) if base is not None else None
    return None


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _call(func: ast.expr, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args),
                    keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()])


def _batch_index(index: ast.expr) -> ast.expr:
    """``i`` -> ``(slice(None), i)``; a tuple index gets the slice prepended."""
    parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
    full = ast.Slice(lower=None, upper=None, step=None)
    return ast.Tuple(elts=[full, *[copy.deepcopy(p) for p in parts]], ctx=ast.Load())


class _Batched(_Forward):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch = self.namer.fresh("batch")
        self.expand_to: int | None = None

    # -- ranks of what generated gradients compute ---------------------------------------
    def _rank(self, value: ast.expr, prim: Primitive) -> int | None:
        rank = super()._rank(value, prim)
        if rank is not None or not isinstance(value, ast.Call):
            return rank
        args = value.args
        callee = self.resolve_callee(value.func)
        reduced = self._reduction(value, callee)
        if reduced is not None:
            operand, axes, keepdims = reduced
            base = self._rank_of(operand)
            if base is None or axes is None:
                return None if base is None or not keepdims else base
            return base if keepdims else base - (base if axes == "all" else len(axes))
        like = {unbroadcast: 1, matmul_da: 1, matmul_db: 2, add_at: 0, np.ones_like: 0,
                np.zeros_like: 0, np.full_like: 0}
        for function, position in like.items():
            if callee is function and len(args) > position:
                return self._rank_of(args[position])
        if callee is unbroadcast_to and len(args) == 2:
            return self._shape_rank(args[1])
        if isinstance(value.func, ast.Attribute) and isinstance(value.func.value, ast.Name):
            owner = value.func.value.id
            if value.func.attr == "copy" and not args:
                return self.ranks.get(owner)
            if value.func.attr == "pop" and not args and owner in self.locals:
                return self._pushed_rank(owner)
        return None

    def _rank_of(self, node: ast.expr) -> int | None:
        rank = super()._rank_of(node)
        if rank is not None or not isinstance(node, ast.Name):
            return rank
        base = self._updated().get(node.id)
        return None if base is None else self._rank_of(_name(base))

    def _updated(self) -> dict[str, str]:
        """``y_1`` -> ``y`` for index assignments ``y[i] = v`` that make a new ``y_1``."""
        if not hasattr(self, "_updates"):
            self._updates = {}
            for stmt in walk_statements(self.anf.body):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
                result = getattr(stmt, "ad_result", None)
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and (
                        result is not None and result != target.value.id):
                    self._updates[result] = target.value.id
        return self._updates

    def _reduction(self, value: ast.Call, callee: Any) -> tuple[ast.expr, Any, bool] | None:
        """``(operand, axes, keepdims)`` of ``np.sum(a, axis=...)`` and its kin (also the
        method forms); ``axes`` is ``"all"``, a tuple of ints, or None if not constant."""
        keywords = {k.arg: k.value for k in value.keywords}
        if callee in _REDUCTIONS and value.args:
            operand, rest = value.args[0], value.args[1:]
        elif isinstance(value.func, ast.Attribute) and value.func.attr in _REDUCTION_METHODS:
            operand, rest = value.func.value, value.args
        else:
            return None
        if rest or set(keywords) - {"axis", "keepdims"}:
            return None
        keep = keywords.get("keepdims", ast.Constant(False))
        if not isinstance(keep, ast.Constant):
            return None
        axis = keywords.get("axis", ast.Constant(None))
        if isinstance(axis, ast.Constant) and axis.value is None:
            return operand, "all", bool(keep.value)
        items = axis.elts if isinstance(axis, ast.Tuple) else [axis]
        if not all(isinstance(i, ast.Constant) and type(i.value) is int for i in items):
            return operand, None, bool(keep.value)
        return operand, tuple(i.value for i in items), bool(keep.value)  # type: ignore

    def _definitions(self, name: str) -> list[ast.Assign]:
        return [s for s in walk_statements(self.anf.body) if isinstance(s, ast.Assign)
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name]

    def _shape_rank(self, shape: ast.expr) -> int | None:
        """The length of ``shape`` where it is ``np.shape(t)`` of a ``t`` of known rank."""
        if not isinstance(shape, ast.Name):
            return None
        definitions = self._definitions(shape.id)
        if len(definitions) != 1:
            return None
        value = definitions[0].value
        if isinstance(value, ast.Call) and len(value.args) == 1 and (
                self.resolve_callee(value.func) is np.shape):
            return self._rank_of(value.args[0])
        return None

    def _pushed_rank(self, stack: str) -> int | None:
        """The rank every value pushed on ``stack`` has (``stack = [*stack, v]``)."""
        ranks = set()
        for definition in self._definitions(stack):
            value = definition.value
            if isinstance(value, ast.List) and not value.elts:
                continue
            if not (isinstance(value, ast.List) and len(value.elts) == 2 and isinstance(
                    value.elts[0], ast.Starred)):
                return None
            ranks.add(self._rank_of(value.elts[1]))
        return ranks.pop() if len(ranks) == 1 else None

    def refuse(self, what: str) -> BatchingRefusedError:
        return BatchingRefusedError(f"no batched tangents for {what}",
                               self.parsed.location(self.current))

    def rank(self, atom: ast.expr | None) -> int:
        if isinstance(atom, ast.Constant) and isinstance(atom.value, int | float | complex):
            return 0
        if isinstance(atom, ast.Name) and atom.id in self.ranks:
            return self.ranks[atom.id]
        if isinstance(atom, ast.Name) and self._rank_of(atom) is not None:
            return self._rank_of(atom)  # type: ignore[return-value]
        raise self.refuse(f"{ast.unparse(atom) if atom is not None else 'a value'} "
                          "(its rank is not known)")

    # -- tangents of full rank ------------------------------------------------------------
    def tangent_of(self, atom: ast.expr | None) -> ast.expr:
        tangent = super().tangent_of(atom)
        if self.expand_to is None or is_zero(tangent) or not isinstance(atom, ast.Name):
            return tangent
        missing = self.expand_to - self.rank(atom)
        if missing <= 0:
            return tangent
        parts = [ast.Slice(lower=None, upper=None, step=None),
                 *[ast.Constant(None) for _ in range(missing)]]
        return ast.Subscript(value=tangent, slice=ast.Tuple(elts=parts, ctx=ast.Load()),
                             ctx=ast.Load())

    def zero_value(self, name: str) -> ast.expr:
        return _call(_name(self.scope.bind("batched_zeros", batched_zeros)), _name(name),
                     _name(self.batch))

    # -- statements -------------------------------------------------------------------
    def tangent_value(self, stmt: ast.Assign, prim: Primitive, result: str,
                      out: list[ast.stmt]) -> ast.expr:
        kind = prim.kind
        if kind in ("copy", "zero", "tuple"):
            return super().tangent_value(stmt, prim, result, out)
        if kind == "index":
            base, index = prim.args
            if isinstance(base, ast.Name) and base.id in self.literals:
                return super().tangent_value(stmt, prim, result, out)
            tangent = super().tangent_of(base)
            if is_zero(tangent):
                return tangent
            if isinstance(base, ast.Name) and (base.id in self.sequences
                                               or base.id in self.children):
                raise self.refuse(f"indexing the container {base.id!r}")
            self.rank(base)
            self.check_index(index)
            return ast.Subscript(value=tangent, slice=_batch_index(index), ctx=ast.Load())
        if kind == "attr" and isinstance(stmt.value, ast.Attribute) and (
                stmt.value.attr == "T"):
            tangent = super().tangent_of(prim.args[0])
            if is_zero(tangent):
                return tangent
            rank = self.rank(prim.args[0])
            if rank <= 1:
                return tangent
            order = ast.Tuple(elts=[ast.Constant(0), *[ast.Constant(k)
                                                       for k in range(rank, 0, -1)]],
                              ctx=ast.Load())
            np_name = _name(self.scope.bind("np", np))
            return _call(ast.Attribute(value=np_name, attr="transpose", ctx=ast.Load()),
                         tangent, order)
        if kind == "rule" and prim.rule is not None:
            return self.batched_rule(stmt, prim, result, out)
        raise self.refuse(prim.what or repr(user_code(stmt.value)))

    def batched_rule(self, stmt: ast.Assign, prim: Primitive, result: str,
                     out: list[ast.stmt]) -> ast.expr:
        rule = prim.rule
        assert rule is not None
        key = rule.key
        if key is ast.MatMult or key is np.matmul:
            return self.matmul(prim)
        if key is np.sum or key is np.mean:
            return self.reduce(stmt, prim, "mean" if key is np.mean else "sum")
        if key is unbroadcast or key is unbroadcast_to:
            tangent = super().tangent_of(prim.args[0])
            if is_zero(tangent):
                return tangent
            helper = batched_unbroadcast if key is unbroadcast else batched_unbroadcast_to
            return _call(_name(self.scope.bind(helper.__name__, helper)), tangent,
                         copy.deepcopy(prim.args[1]))
        if key is list:
            return super().tangent_value(stmt, prim, result, out)
        elementwise = key in _OPERATORS or isinstance(key, np.ufunc) or key is np.where
        if not elementwise or rule.forward is None or prim.keywords or not (
                _elementwise_template(rule.forward)):
            raise self.refuse(prim.what or repr(user_code(stmt.value)))
        self.expand_to = self.rank(_name(result))
        try:
            value = self.fill_forward(stmt, prim, result, out)
        finally:
            self.expand_to = None
        return value

    def fill_forward(self, stmt: ast.Assign, prim: Primitive, result: str,
                     out: list[ast.stmt]) -> ast.expr:
        start = len(out)
        value = super().fill_forward(stmt, prim, result, out)
        batch_shape = _BatchShapes(result, self.batch)
        out[start:] = [batch_shape.visit(s) for s in out[start:]]
        return batch_shape.visit(value) if isinstance(value, ast.Call) else value

    def matmul(self, prim: Primitive) -> ast.expr:
        a, b = prim.args[:2]
        da, db = super().tangent_of(a), super().tangent_of(b)
        np_name = self.scope.bind("np", np)
        matmul = ast.Attribute(value=_name(np_name), attr="matmul", ctx=ast.Load())
        parts: list[ast.expr] = []
        if not is_zero(da):
            ra, rb = self.rank(a), self.rank(b)
            if rb > 2 and ra < rb:
                raise self.refuse("a matrix product of a batched tangent with a stack of "
                                  "matrices of higher rank")
            parts.append(_call(copy.deepcopy(matmul), da, copy.deepcopy(b)))
        if not is_zero(db):
            ra, rb = self.rank(a), self.rank(b)
            if rb >= 2:
                if ra > rb:
                    raise self.refuse("a matrix product with a batched right operand of "
                                      "lower rank")
                parts.append(_call(copy.deepcopy(matmul), copy.deepcopy(a), db))
            elif ra == 1:
                parts.append(_call(copy.deepcopy(matmul), db, copy.deepcopy(a)))
            elif ra == 2:
                transposed = ast.Attribute(value=copy.deepcopy(a), attr="T", ctx=ast.Load())
                parts.append(_call(copy.deepcopy(matmul), db, transposed))
            else:
                raise self.refuse("a matrix product of a stack of matrices with a batched "
                                  "vector")
        if not parts:
            return super().tangent_of(None)
        value = parts[0]
        for part in parts[1:]:
            value = ast.BinOp(left=value, op=ast.Add(), right=part)
        return value

    def reduce(self, stmt: ast.Assign, prim: Primitive, how: str) -> ast.expr:
        """``np.sum`` / ``np.mean`` (or the methods): the same reduction of the tangent,
        along the axes shifted past the batch axis."""
        value = stmt.value
        assert isinstance(value, ast.Call)
        reduced = self._reduction(value, self.resolve_callee(value.func))
        if reduced is None or reduced[1] is None:
            raise self.refuse(f"{prim.what} with arguments other than a constant axis and "
                              "keepdims")
        operand, axes, keepdims = reduced
        tangent = super().tangent_of(operand)
        if is_zero(tangent):
            return tangent
        rank = self.rank(operand)
        shifted = list(range(1, rank + 1)) if axes == "all" else [
            a + 1 if a >= 0 else a for a in axes]
        np_name = self.scope.bind("np", np)
        tuple_axes = ast.Tuple(elts=[ast.Constant(k) for k in shifted], ctx=ast.Load())
        return _call(ast.Attribute(value=_name(np_name), attr=how, ctx=ast.Load()),
                     tangent, axis=tuple_axes, keepdims=ast.Constant(keepdims))

    def slot_tangent(self, stmt: ast.Assign, base: str) -> ast.expr:
        target = stmt.targets[0]
        assert isinstance(target, ast.Subscript)
        self.expand_to = self.slot_rank(base, target.slice, stmt)
        try:
            return self.tangent_of(stmt.value)
        finally:
            self.expand_to = None

    def tangent_index(self, index: ast.expr) -> ast.expr:
        return _batch_index(index)

    def check_index(self, index: ast.expr) -> None:
        """An index whose parts are known not to be a tuple held in a name: a name that
        holds a tuple would index several axes, and ``dx[:, idx]`` would not."""
        for part in index.elts if isinstance(index, ast.Tuple) else [index]:
            if isinstance(part, ast.Name) and (part.id in self.sequences or (
                    part.id not in self.int_names and part.id not in self.ranks)):
                raise self.refuse(f"the index {part.id!r} (it may hold a tuple)")

    def slot_rank(self, base: str, index: ast.expr, stmt: ast.stmt) -> int:
        """The rank of ``base[index]`` for basic indexing (ints, slices, None)."""
        rank = self.rank(_name(base))
        for part in index.elts if isinstance(index, ast.Tuple) else [index]:
            if isinstance(part, ast.Constant) and part.value is None:
                rank += 1
            elif (isinstance(part, ast.Constant) and type(part.value) is int) or (
                    isinstance(part, ast.Name) and part.id in self.int_names):
                rank -= 1
            elif not isinstance(part, ast.Slice):
                raise self.refuse(f"the index assignment {ast.unparse(stmt)}")
        return rank

    def user_call(self, stmt: ast.Assign, prim: Primitive, name: str) -> list[ast.stmt]:
        raise self.refuse(f"the call to {prim.what} (callees run one seed at a time)")

    def run(self) -> ForwardProgram:
        program = super().run()
        first = self.tangent_params[0]
        np_name = self.scope.bind("np", np)
        size = _call(ast.Attribute(value=_name(np_name), attr="shape", ctx=ast.Load()),
                     _name(first))
        count = ast.Subscript(value=size, slice=ast.Constant(0), ctx=ast.Load())
        program.body.insert(0, ast.Assign(targets=[ast.Name(id=self.batch, ctx=ast.Store())],
                                          value=count))
        return program


class _BatchShapes(ast.NodeTransformer):
    """``np.broadcast_to(t, np.shape(result))`` -> ``(batch,) + np.shape(result)``."""

    def __init__(self, result: str, batch: str) -> None:
        self.result = result
        self.batch = batch

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "broadcast_to" and (
                len(node.args) == 2):
            shape = node.args[1]
            node.args[1] = ast.BinOp(left=ast.Tuple(elts=[_name(self.batch)], ctx=ast.Load()),
                                     op=ast.Add(), right=shape)
        return node


def batched_forward_transform(anf: AnfFunction, wrt: list[str], ranks: dict[str, int],
                              containers: dict[str, Any] | None = None,
                              statics: dict[str, Any] | None = None) -> ForwardProgram:
    """The tangent program of ``anf`` for a batch of tangents of ``wrt`` (batch axis
    first); raises :class:`BatchingRefusedError` where that is not known to be safe."""
    return _Batched(anf, wrt, ranks, None, containers, False, statics).run()
