"""Shaping derivatives from inside a function: stop_gradient, hooks, checkpoints, rules.

Each of these is an ordinary Python function at run time (so the original function
still runs without the compiler), and the compiler recognises it and generates code
that shows what it is: no adjoint after ``stop_gradient``; a call to the hook in the
backward sweep; a recomputation for a checkpoint; a call to the user's rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ADError
from .rules.registry import register_user_rule

__all__ = ["CheckedPullback", "Checkpointed", "UserRule", "checkpoint", "derivative",
           "stop_gradient", "with_derivative"]


def stop_gradient(x: Any) -> Any:
    """``x`` itself, with derivative zero (Swift ``withoutDerivative(at:)``)."""
    return x


def with_derivative(x: Any, hook: Callable[[Any], Any]) -> Any:
    """``x`` itself; in the backward sweep ``hook(g)`` sees the cotangent reaching ``x``.

    If the hook returns something other than None, that replaces the cotangent.
    """
    return x


class Checkpointed:
    """``f`` whose intermediates are recomputed in the backward sweep, not stored."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.__ad_checkpoint__ = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__ad_checkpoint__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<checkpointed {getattr(self.__ad_checkpoint__, '__qualname__', '?')}>"


def checkpoint(func: Callable[..., Any]) -> Checkpointed:
    """Mark ``func`` for recomputation (a decorator, or ``ad.checkpoint(layer)(x, w)``)."""
    if isinstance(func, Checkpointed):
        return func
    return Checkpointed(func)


def derivative(of: Any, mode: str = "reverse") -> Callable[[Callable], Callable]:
    """Register the decorated function as the derivative rule of ``of``.

    Reverse (default): ``df(*args)`` returns ``(value, pullback)`` and ``pullback(ct)``
    one cotangent per argument (a bare value when ``of`` takes one argument). Forward:
    ``df(primals, tangents)`` returns ``(value, tangent_out)``.
    """
    if mode not in ("reverse", "forward"):
        raise ADError(f"mode={mode!r}: expected 'reverse' or 'forward'")

    def register(df: Callable[..., Any]) -> Callable[..., Any]:
        register_user_rule(of, df, mode)
        return df

    return register


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)


class UserRule:
    """How generated code calls a user's reverse rule: ``y, y_pullback = exp_rule(x)``."""

    def __init__(self, of: Any, rule: Callable[..., Any]) -> None:
        self.of = of
        self.rule = rule
        self.name = _name(rule)

    def __call__(self, *args: Any) -> tuple[Any, CheckedPullback]:
        result = self.rule(*args)
        if not (isinstance(result, tuple) and len(result) == 2 and callable(result[1])):
            raise ADError(f"the derivative rule {self.name} for {_name(self.of)} must return "
                          "(value, pullback) with a callable pullback")
        value, pullback = result
        return value, CheckedPullback(pullback, args, self.name)

    def __repr__(self) -> str:
        return f"<rule {self.name} for {_name(self.of)}>"


class CheckedPullback:
    """A user pullback whose answer is checked: one cotangent per argument, right shapes."""

    def __init__(self, pullback: Callable[[Any], Any], args: tuple, rule: str) -> None:
        self.pullback = pullback
        self.args = args
        self.rule = rule

    def __call__(self, cotangent: Any) -> tuple[Any, ...]:
        grads = self.pullback(cotangent)
        if len(self.args) == 1 and not (isinstance(grads, tuple) and len(grads) == 1):
            grads = (grads,)
        if not isinstance(grads, tuple | list) or len(grads) != len(self.args):
            count = len(grads) if isinstance(grads, tuple | list) else 1
            raise ADError(f"the pullback of the derivative rule {self.rule} returned {count} "
                          f"cotangent(s); it must return one per argument "
                          f"({len(self.args)})")
        for position, (grad, arg) in enumerate(zip(grads, self.args, strict=True)):
            if grad is None or (not hasattr(arg, "shape") and not isinstance(arg, float)):
                continue
            if np.shape(grad) != np.shape(arg):
                raise ADError(f"the pullback of the derivative rule {self.rule} returned a "
                              f"cotangent of shape {np.shape(grad)} for argument {position} "
                              f"of shape {np.shape(arg)}")
        return tuple(grads)
