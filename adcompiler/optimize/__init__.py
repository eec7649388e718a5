"""Tiny passes over generated code, run to a fixed point."""

from __future__ import annotations

import ast

from .constprop import propagate_constants
from .copyprop import propagate_copies
from .dce import eliminate_dead_code

__all__ = ["optimize"]


def optimize(func: ast.FunctionDef, keep: set[str]) -> ast.FunctionDef:
    """Dead code and copies out, until nothing changes; ``keep`` names stay alive."""
    before = None
    while before != (text := ast.dump(func)):
        before = text
        func = eliminate_dead_code(func, keep)
        func = propagate_copies(func, keep)
        func = propagate_constants(func, keep)
    return func
