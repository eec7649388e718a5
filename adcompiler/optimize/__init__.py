"""Tiny passes over generated code, run to a fixed point."""

from __future__ import annotations

import ast
import copy

from .constprop import propagate_constants
from .copyprop import propagate_copies
from .dce import eliminate_dead_code
from .free import free_dead_names, protect_aliases

__all__ = ["optimize"]


def optimize(func: ast.FunctionDef, keep: set[str]) -> ast.FunctionDef:
    """Dead code and copies out, until nothing changes; ``keep`` names stay alive.

    Then, once: in-place updates that folding made unsafe are undone, and temporaries
    are deleted after their last use (so peak memory follows the hand-written shape).
    Works on a copy: renaming must not reach nodes the caller shares with another
    function (the two functions of ``grad`` share their return atoms).
    """
    func = copy.deepcopy(func)
    before = None
    while before != (text := ast.dump(func)):
        before = text
        func = eliminate_dead_code(func, keep)
        func = propagate_copies(func, keep)
        func = propagate_constants(func, keep)
    return free_dead_names(protect_aliases(func))
