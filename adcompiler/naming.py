"""Collision-free names for everything the compiler introduces.

All naming patterns live here so generated code reads the same everywhere:

* the adjoint (reverse mode) or tangent (forward mode) of ``x`` is ``dx``;
* SSA versions of a reassigned variable are ``x_1``, ``x_2``, ...;
* temporaries are named after what they hold when that is cheap (``x0`` for ``x[0]``,
  ``sin_x`` for ``np.sin(x)``) and ``t1``, ``t2``, ... otherwise;
* stacks of saved values are ``saved_x``.

A :class:`Namer` is seeded with every name the user's function mentions, so nothing we
introduce can shadow a user variable, a global or a builtin.

>>> namer = Namer({"x", "dx"})
>>> namer.fresh("x"), namer.adjoint("x"), namer.fresh("t")
('x_1', 'd_x', 't1')
"""

from __future__ import annotations

import keyword
import re

__all__ = ["Namer", "identifier"]

_IDENT = re.compile(r"[^0-9a-zA-Z_]")


def identifier(text: str, default: str = "f") -> str:
    """``text`` made a valid Python identifier, for names the compiler writes into
    source as text: a function's ``__name__`` is any string a user assigns (``<lambda>``,
    or one holding a newline), and must never be spliced into code raw.

    >>> identifier("<lambda>"), identifier("layer(x):\\n    evil()"), identifier("class")
    ('lambda_', 'layer_x_evil', 'class_')
    """
    name = _IDENT.sub("_", text)
    name = re.sub(r"_+", "_", name).strip("_") or default
    if name[0].isdigit():
        name = default + "_" + name
    if keyword.iskeyword(name) or not name.isidentifier():
        name = (name if name.isidentifier() else default) + "_"
    return name


class Namer:
    """Hands out names that collide neither with each other nor with reserved ones."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved) | set(keyword.kwlist)
        self._adjoints: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def is_taken(self, name: str) -> bool:
        return name in self._taken

    def _claim(self, name: str) -> str:
        self._taken.add(name)
        return name

    def fresh(self, hint: str = "t") -> str:
        """A new name derived from ``hint``: versions get ``_1``, ``_2``; ``t`` gets ``t1``."""
        base = _IDENT.sub("_", hint).strip("_") or "t"
        if base[0].isdigit():
            base = "t" + base
        if base == "t":
            return self._numbered("t", "")
        if base not in self._taken:
            return self._claim(base)
        root = re.sub(r"_\d+$", "", base)
        return self._numbered(root, "_")

    def _numbered(self, root: str, sep: str) -> str:
        count = self._counters.get(root, 0)
        while True:
            count += 1
            candidate = f"{root}{sep}{count}"
            if candidate not in self._taken:
                self._counters[root] = count
                return self._claim(candidate)

    def adjoint(self, name: str) -> str:
        """The derivative of ``name``: ``dx`` for ``x``, the same answer every time."""
        if name not in self._adjoints:
            candidate = "d" + name
            if candidate in self._taken:
                candidate = "d_" + name
            if candidate in self._taken:
                candidate = self._numbered("d_" + name, "_")
            self._adjoints[name] = self._claim(candidate)
        return self._adjoints[name]

    def known_adjoint(self, name: str) -> str | None:
        return self._adjoints.get(name)
