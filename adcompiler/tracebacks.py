"""Tracebacks that end in the user's code, not in the compiler's.

An error about the user's program (an :class:`~adcompiler.errors.ADError`), or one
raised while generated code runs (a shape mismatch, a ``ZeroDivisionError`` in the
user's own expression), would otherwise reach the user under 12-20 frames of compiler
internals (api, cache, pipeline, normalize, transform, ...). As JAX does, every public
entry point is an :func:`api_boundary`: it removes the frames of adcompiler's own
modules from such a traceback before the exception leaves. What remains is the user's
frames, the generated code's frames (their lines are lines of the generated source,
registered with ``linecache``) and the frames of libraries below them (NumPy), with a
note saying how many frames were removed.

``ADCOMPILER_TRACEBACK=full`` in the environment keeps every frame. Any other exception
raised in the compiler's own code is a compiler bug, and is never filtered: its frames
are the bug report.
"""

from __future__ import annotations

import functools
import linecache
import os
import types
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ADError

__all__ = ["ENV", "GENERATED_PREFIX", "api_boundary", "filter_traceback", "is_internal"]

ENV = "ADCOMPILER_TRACEBACK"
GENERATED_PREFIX = "<adcompiler "  # the file name of every compiled generated function
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep

F = TypeVar("F", bound=Callable[..., Any])


def is_internal(filename: str) -> bool:
    """Whether ``filename`` is one of adcompiler's own modules (not generated code)."""
    return filename.startswith(_PACKAGE)


def _frames(tb: types.TracebackType | None) -> list[types.TracebackType]:
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _filtered(exc: BaseException) -> bool:
    """An error about the user's program, or one raised while generated code ran."""
    if isinstance(exc, ADError):
        return True
    return any(tb.tb_frame.f_code.co_filename.startswith(GENERATED_PREFIX)
               for tb in _frames(exc.__traceback__))


def filter_traceback(tb: types.TracebackType | None
                     ) -> tuple[types.TracebackType | None, int]:
    """``tb`` without adcompiler's own frames, and how many were removed."""
    frames = _frames(tb)
    kept = [t for t in frames if not is_internal(t.tb_frame.f_code.co_filename)]
    new: types.TracebackType | None = None
    for t in reversed(kept):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new, len(frames) - len(kept)


def _clean(exc: BaseException) -> None:
    removed = 0
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the chain of causes too
        seen.add(id(current))
        current.__traceback__, count = filter_traceback(current.__traceback__)
        removed += count
        current = current.__cause__ or current.__context__
    if getattr(exc, "_adcompiler_note", False):
        return
    exc._adcompiler_note = True  # type: ignore[attr-defined]
    generated = [t for t in _frames(exc.__traceback__)
                 if t.tb_frame.f_code.co_filename.startswith(GENERATED_PREFIX)]
    if generated:  # Python's default hook does not read linecache: quote the line here
        where = generated[-1]
        code = where.tb_frame.f_code
        line = linecache.getline(code.co_filename, where.tb_lineno).strip()
        exc.add_note(f"raised in the generated code: {code.co_name}, line "
                     f"{where.tb_lineno}: {line}\n(print the transformed function's "
                     ".source to read all of it)")
    if removed:
        exc.add_note(f"(adcompiler removed its internal frames from this traceback; set "
                     f"{ENV}=full to see them)")


def api_boundary(func: F) -> F:
    """Decorate a public entry point: exceptions leave it with filtered tracebacks.

    Filtering only rewrites ``__traceback__`` and re-raises the same exception, so
    ``except`` clauses, ``pytest.raises`` and the exception's attributes see no
    difference. Nested boundaries (an entry point that calls another) filter again,
    which changes nothing.
    """

    @functools.wraps(func)
    def boundary(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if os.environ.get(ENV, "").lower() != "full" and _filtered(exc):
                _clean(exc)
            raise

    return boundary  # type: ignore[return-value]
