"""One request for generated code: what to build, for which function and arguments.

A :class:`Request` is made once per call (by ``api`` for the user's call, by
``pipeline`` for each callee) and handed to ``backend/cache.py``, which alone turns it
into a key and whose docstring says when two requests are the same. The request holds
the function object and the function-valued arguments themselves, never their
addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .pytree import registry_version
from .rules.registry import rules_version

__all__ = ["Request", "freeze"]


@dataclass(frozen=True)
class Request:
    """What a compiled entry is built for (see ``backend/cache.py`` for the identity).

    ``kind``: the code to build (``"value_and_grad"``, ``"vjp"``, ``"jvp"``,
    ``"jvp_batched"``, ``"nested"`` for the gradient of a generated derivative,
    ``"callee vjp"`` / ``"callee jvp"`` for a function called from one being built).
    ``arguments``: a hashable description of the argument kinds the code is specialised
    for. ``functions``: ``(parameter, function)`` for each function-valued argument.
    ``options``: anything else that changes the code (a callee's name suffix, the
    backend). ``rules`` / ``pytrees``: the registry versions in force.
    """

    kind: str
    func: Any
    wrt: tuple[str, ...] = ()
    arguments: Any = ()
    functions: tuple[tuple[str, Any], ...] = ()
    has_aux: bool = False
    options: tuple = ("numpy",)
    rules: int = field(default_factory=rules_version)
    pytrees: int = field(default_factory=registry_version)


def freeze(value: Any) -> Any:
    """A hashable copy of nested dicts and lists (argument structures)."""
    if isinstance(value, dict):
        return tuple((repr(k), freeze(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value
