"""One hierarchy of errors, all under :class:`ADError`.

Every error the compiler raises about user code carries the user's file, line and the
offending source text, because "unsupported syntax" without a location is useless in a
thousand-line model. The location is rendered into the message so it survives any
logging or re-raising, and is also kept as attributes for tests and tools.
"""

from __future__ import annotations

__all__ = [
    "ADError",
    "NonDifferentiableError",
    "NonScalarOutputError",
    "SourceLocation",
    "UnsupportedSyntaxError",
]

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's source a problem sits."""

    filename: str
    lineno: int
    code: str = ""

    def __str__(self) -> str:
        text = f'File "{self.filename}", line {self.lineno}'
        if self.code:
            text += f"\n    {self.code.strip()}"
        return text


class ADError(Exception):
    """Base class of every error adcompiler raises about the user's program or call."""

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(self._render())

    @property
    def filename(self) -> str | None:
        return self.location.filename if self.location else None

    @property
    def lineno(self) -> int | None:
        return self.location.lineno if self.location else None

    def _render(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.message}\n  {self.location}"

    def with_location(self, location: SourceLocation) -> ADError:
        """Attach a location if none is known yet (errors raised deep in a rule)."""
        if self.location is None:
            self.location = location
            self.args = (self._render(),)
        return self


class UnsupportedSyntaxError(ADError):
    """A construct the compiler does not differentiate; the message names it."""


class NonDifferentiableError(ADError):
    """A call with no derivative rule and no Python source to transform."""


class NonScalarOutputError(ADError):
    """``grad`` of a function whose output is not a scalar."""
