"""A hypothesis strategy for random user-style programs the compiler supports.

A generated *program* is the source of a small module: zero or more module-level helper
functions and one function ``f(x, y[, p])`` returning a scalar. Expressions use the
registered elementwise rules, the arithmetic operators, broadcasting between the shapes
``()``, ``(3,)``, ``(1, 3)`` and ``(2, 3)``, reductions, ``@``, constant indexing,
reassignment, ``if`` on data-dependent conditions, ``for``/``while`` loops with
loop-carried values, helper calls and a dict or list argument.

Every expression stays in its function's domain by construction (``np.log`` and
``np.sqrt`` of ``e * e + c``, division by ``e * e + 1.0``, ``np.exp`` of a bounded value);
kinks (``np.maximum``, ``abs``, branch conditions) are not avoided by construction, so the
test compares against central differences at two step sizes and discards the rare input
where they disagree (a kink within the step) -- see tests/test_random_programs.py.

Shapes are tracked while generating: ``Expr.shape`` is the exact NumPy shape of the
expression's value, and binary operators only combine shapes that broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

SHAPES: list[tuple[int, ...]] = [(), (3,), (1, 3), (2, 3)]


@dataclass(frozen=True)
class Expr:
    code: str
    shape: tuple[int, ...]


@dataclass
class Program:
    """A generated module: its source, the function's arguments and what to differentiate."""

    source: str
    arg_shapes: dict[str, object]
    wrt: tuple[str, ...]
    seed: int
    features: set[str] = field(default_factory=set)

    def arguments(self) -> list[object]:
        rng = np.random.default_rng(self.seed)
        return [_value(spec, rng) for spec in self.arg_shapes.values()]

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return (f"Program(wrt={self.wrt}, seed={self.seed}, shapes={self.arg_shapes})\n"
                f"{self.source}")


def _value(spec: object, rng: np.random.Generator) -> object:
    if isinstance(spec, dict):
        return {k: _value(v, rng) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_value(v, rng) for v in spec]
    if spec == "float":
        return float(rng.uniform(-1.2, 1.2))
    return rng.uniform(-1.2, 1.2, size=spec)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


class _Gen:
    """Draws one program; ``env`` maps visible names to shapes."""

    def __init__(self, draw: st.DrawFn, max_depth: int) -> None:
        self.draw = draw
        self.max_depth = max_depth
        self.features: set[str] = set()
        self.counter = 0
        self.helpers: list[tuple[str, list[tuple[str, tuple[int, ...]]]]] = []

    def choice(self, options: list) -> object:
        return self.draw(st.sampled_from(options))

    def fresh(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    # -- expressions -------------------------------------------------------------------
    def const(self) -> Expr:
        return Expr(self.choice(["0.5", "1.5", "2.0", "0.25", "3.0", "-0.75"]), ())

    def leaf(self, env: dict[str, tuple[int, ...]]) -> Expr:
        names = sorted(env)
        kind = self.draw(st.integers(0, 9))
        if kind == 0 or not names:
            return self.const()
        name = self.choice(names)
        shape = env[name]
        if kind <= 2 and shape:
            return self.index(Expr(name, shape))
        return Expr(name, shape)

    def index(self, e: Expr) -> Expr:
        self.features.add("index")
        options: list[tuple[str, tuple[int, ...]]]
        if e.shape == (3,):
            options = [("[0]", ()), ("[2]", ()), ("[-1]", ()), ("[::-1]", (3,)),
                       ("[0:3]", (3,))]
        elif e.shape == (1, 3):
            options = [("[0]", (3,)), ("[0, 1]", ()), ("[:, ::-1]", (1, 3))]
        elif e.shape == (2, 3):
            options = [("[1]", (3,)), ("[0, 2]", ()), ("[-1, 0]", ()), ("[1:2]", (1, 3)),
                       ("[:, ::-1]", (2, 3)), ("[0:1, :]", (1, 3))]
        else:
            return e
        suffix, shape = self.choice(options)
        return Expr(f"{e.code}{suffix}", shape)

    def exact(self, e: Expr, shape: tuple[int, ...]) -> Expr:
        """``e`` turned into exactly ``shape`` (reduce it, or broadcast with np.ones)."""
        if e.shape == shape:
            return e
        if shape == ():
            return Expr(f"np.sum({e.code})", ())
        if _broadcast(e.shape, shape) != shape:
            e = Expr(f"np.sum({e.code})", ())
        return Expr(f"{e.code} * np.ones({shape!r})", shape)

    def expr(self, env: dict[str, tuple[int, ...]], depth: int = 0) -> Expr:
        if depth >= self.max_depth:
            return self.leaf(env)
        kind = self.choice(["leaf", "unary", "unary", "binary", "binary", "binary",
                            "reduce", "matmul", "maxmin", "power", "method"])
        sub = lambda: self.expr(env, depth + 1)  # noqa: E731
        if kind == "leaf":
            return self.leaf(env)
        if kind == "unary":
            a = sub()
            template = self.choice([
                "np.sin({a})", "np.cos({a})", "np.tanh({a})", "np.exp(np.tanh({a}))",
                "np.exp(0.3 * {a})", "np.log({a} * {a} + 0.5)", "np.log1p({a} * {a})",
                "np.sqrt({a} * {a} + 1.0)", "np.arctan({a})", "-({a})", "np.square({a})",
                "np.expm1(np.sin({a}))",
            ])
            self.features.add("unary")
            return Expr(template.format(a=a.code), a.shape)
        if kind == "binary":
            a, b = sub(), sub()
            shape = _broadcast(a.shape, b.shape)
            if shape is None:
                b = Expr(f"np.sum({b.code})", ())
                shape = a.shape
            op = self.choice(["+", "-", "*", "/"])
            self.features.add("broadcast" if a.shape != b.shape else "binary")
            if op == "/":
                return Expr(f"({a.code}) / ({b.code} * {b.code} + 1.0)", shape)
            return Expr(f"({a.code} {op} {b.code})", shape)
        if kind == "power":
            a = sub()
            self.features.add("power")
            template = self.choice(["({a}) ** 2", "({a}) ** 3", "({a} * {a} + 1.0) ** 0.5",
                                    "({a} * {a} + 0.5) ** -1.5", "0.5 ** ({a})"])
            return Expr(template.format(a=a.code), a.shape)
        if kind == "reduce":
            a = sub()
            self.features.add("reduce")
            if len(a.shape) == 2 and self.draw(st.booleans()):
                axis, shape = self.choice([("0", (3,)), ("-1", (a.shape[0],)), ("1", None)])
                if shape is None or shape == (2,):
                    return Expr(f"np.sum(np.sum({a.code}, axis={axis}))", ())
                return Expr(f"np.sum({a.code}, axis={axis})", shape)
            fn = self.choice(["np.sum", "np.mean"])
            return Expr(f"{fn}({a.code})", ())
        if kind == "method":
            a = sub()
            if not a.shape:
                return a
            self.features.add("method")
            template, shape = self.choice([("({a}).sum()", ()), ("({a}).mean()", ()),
                                           ("({a}).T", tuple(reversed(a.shape)))])
            if shape not in SHAPES:  # (3, 2) / (3, 1): reduce it again
                return Expr(f"np.sum(({a.code}).T)", ())
            return Expr(template.format(a=a.code), shape)
        if kind == "maxmin":
            a, b = sub(), sub()
            shape = _broadcast(a.shape, b.shape)
            if shape is None:
                b = Expr(f"np.sum({b.code})", ())
                shape = a.shape
            self.features.add("maxmin")
            if a.code == b.code:  # a tie everywhere: the convention (0 to both) is not the
                b = Expr(f"({b.code} + 0.5)", b.shape)  # derivative, so keep them apart
            fn = self.choice(["np.maximum", "np.minimum"])
            if self.draw(st.booleans()):
                return Expr(f"{fn}({a.code}, {b.code})", shape)
            return Expr(f"np.abs({a.code} - {b.code})", shape)
        # matmul
        self.features.add("matmul")
        u = self.exact(sub(), (3,))
        form = self.choice(["vv", "Av", "AAt", "AtA"])
        if form == "vv":
            return Expr(f"(({u.code}) @ ({u.code} * 0.5 + 1.0))", ())
        a = self.exact(sub(), (2, 3))
        if form == "Av":
            return Expr(f"np.sum(({a.code}) @ ({u.code}))", ())
        if form == "AAt":
            return Expr(f"np.sum(({a.code}) @ ({a.code}).T)", ())
        return Expr(f"(({u.code}) @ (({a.code}).T @ ({a.code})))", (3,))

    def condition(self, env: dict[str, tuple[int, ...]]) -> str:
        """A data-dependent test whose outcome is decided by a wide margin, or random."""
        e = self.expr(env, self.max_depth - 1)
        return self.choice([
            f"np.sum({e.code}) > 100.0",
            f"np.mean({e.code} * {e.code}) < 50.0",
            f"np.sum(np.tanh({e.code})) > 0.0",
            f"np.max({e.code}) < -1e3 or np.mean({e.code}) > -1e3",
        ])

    # -- statements --------------------------------------------------------------------
    def statements(self, env: dict[str, tuple[int, ...]], count: int,
                   indent: str = "    ", allow_helpers: bool = True) -> list[str]:
        lines: list[str] = []
        for _ in range(count):
            kind = self.choice(["assign", "assign", "reassign", "augassign", "if", "for",
                                "while", "helper"])
            if kind == "helper" and not allow_helpers:
                kind = "assign"
            if kind == "assign" or (kind in ("reassign", "augassign") and
                                    not any(n.startswith("t") for n in env)):
                e = self.expr(env)
                name = self.fresh()
                lines.append(f"{indent}{name} = {e.code}")
                env[name] = e.shape
            elif kind == "reassign":
                name = self.choice(sorted(n for n in env if n.startswith("t")))
                e = self.exact(self.expr(env, 1), env[name])
                self.features.add("reassign")
                lines.append(f"{indent}{name} = {name} * 0.5 + {e.code}")
            elif kind == "augassign":
                name = self.choice(sorted(n for n in env if n.startswith("t")))
                e = self.expr(env, 1)
                if _broadcast(e.shape, env[name]) != env[name]:
                    e = Expr(f"np.sum({e.code})", ())
                op = self.choice(["+=", "-=", "*="])
                self.features.add("augassign")
                # a fresh copy first, so the in-place update never writes to an argument
                lines.append(f"{indent}{name} = {name} * 1.0")
                lines.append(f"{indent}{name} {op} {e.code}")
            elif kind == "if":
                self.features.add("if")
                name = self.fresh()
                shape = self.choice(SHAPES)
                test = self.condition(env)
                then = self.exact(self.expr(env), shape)
                other = self.exact(self.expr(env), shape)
                lines.append(f"{indent}if {test}:")
                lines.append(f"{indent}    {name} = {then.code}")
                if self.draw(st.booleans()):
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}    {name} = {other.code}")
                else:
                    lines.insert(len(lines) - 2, f"{indent}{name} = {other.code}")
                env[name] = shape
            elif kind == "for":
                self.features.add("for")
                name = self.fresh()
                start = self.exact(self.expr(env, 1), self.choice(SHAPES))
                k = self.draw(st.integers(0, 4))
                inner = dict(env)
                inner["i"] = ()
                step = self.exact(self.expr(inner, 1), start.shape)
                decay = self.choice(["0.5", "0.8", "-0.6"])
                lines.append(f"{indent}{name} = {start.code}")
                lines.append(f"{indent}for i in range({k}):")
                lines.append(f"{indent}    {name} = np.tanh({name} * {decay} + {step.code})"
                             if self.draw(st.booleans()) else
                             f"{indent}    {name} = {name} * {decay} + {step.code} * 0.5")
                env[name] = start.shape
            elif kind == "while":
                self.features.add("while")
                name = self.fresh()
                counter = f"k{self.counter}"
                start = self.exact(self.expr(env, 1), self.choice(SHAPES))
                step = self.exact(self.expr(env, 1), start.shape)
                limit = self.draw(st.integers(0, 3))
                lines.append(f"{indent}{name} = {start.code}")
                lines.append(f"{indent}{counter} = 0")
                lines.append(f"{indent}while {counter} < {limit}:")
                lines.append(f"{indent}    {name} = {name} * 0.7 + np.sin({step.code})")
                lines.append(f"{indent}    {counter} = {counter} + 1")
                env[name] = start.shape
            else:  # helper call
                self.features.add("helper")
                helper = self.helper()
                hname, params = helper
                args = [self.exact(self.expr(env, 1), shape).code for _, shape in params]
                name = self.fresh()
                lines.append(f"{indent}{name} = {hname}({', '.join(args)})")
                env[name] = self.helper_shapes[hname]
        return lines

    def helper(self) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
        if self.helpers and self.draw(st.booleans()):
            return self.choice(self.helpers)
        hname = f"helper{len(self.helpers)}"
        params = [("a", self.choice(SHAPES)), ("b", self.choice(SHAPES))]
        self.helpers.append((hname, params))
        env = dict(params)
        saved = self.counter
        body = self.statements(env, self.draw(st.integers(0, 2)), allow_helpers=False)
        result = self.expr(env)
        self.counter = max(self.counter, saved)
        # depend on both parameters (a helper with a constant result was a bug, now the
        # regression test test_regression_helper_with_constant_result; the generator could
        # drop this term to cover the case too)
        code = f"{result.code} + 0.1 * np.sum(np.sin(a) * np.cos(b))"
        self.helper_sources.append(
            "\n".join([f"def {hname}(a, b):", *body, f"    return {code}"]))
        self.helper_shapes[hname] = result.shape
        return hname, params


@st.composite
def programs(draw: st.DrawFn, max_depth: int = 3, max_statements: int = 4) -> Program:
    """A random program (see the module docstring)."""
    gen = _Gen(draw, max_depth)
    gen.helper_sources = []
    gen.helper_shapes = {}
    shapes: dict[str, object] = {"x": draw(st.sampled_from(SHAPES)),
                                 "y": draw(st.sampled_from([*SHAPES, "float"]))}
    env: dict[str, tuple[int, ...]] = {"x": shapes["x"], "y": () if shapes["y"] == "float"
                                       else shapes["y"]}
    prologue: list[str] = []
    container = draw(st.sampled_from(["none", "none", "dict", "list"]))
    if container == "dict":
        shapes["p"] = {"w": (3,), "b": "float"}
        prologue = ["    w = p['w']", "    b = p['b']"]
        env.update(w=(3,), b=())
        gen.features.add("dict")
    elif container == "list":
        shapes["p"] = [(3,), (2, 3)]
        prologue = ["    u, A = p[0], p[1]"]
        env.update(u=(3,), A=(2, 3))
        gen.features.add("list")
    body = gen.statements(env, draw(st.integers(1, max_statements)))
    result = gen.exact(gen.expr(env), ())
    if container == "list":  # an unused list argument is a known bug (regression test)
        result = Expr(f"{result.code} + 0.01 * np.sum(A @ u)", ())
    params = list(shapes)
    wrt_options: list[tuple[str, ...]] = [("x",), ("y",), ("x", "y")]
    if container == "dict":  # list gradients: known bug, see test_random_programs.py
        wrt_options += [("p",), ("x", "p")]
    wrt = draw(st.sampled_from(wrt_options))
    source = "\n".join([
        '"""Generated by tests/random_programs.py."""',
        "import numpy as np",
        "",
        *(s + "\n" for s in gen.helper_sources),
        f"def f({', '.join(params)}):",
        *prologue,
        *body,
        f"    return {result.code}",
        "",
    ])
    seed = draw(st.integers(0, 2**32 - 1))
    return Program(source, shapes, wrt, seed, gen.features)
