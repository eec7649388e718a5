"""Argument and output values the compiler refuses for now: complex and masked arrays.

Complex numbers are half supported by the rules (holomorphic functions follow one
convention, ``abs``/``var``/``std``/``norm`` another, and a complex output would silently
give the gradient of its real part); masked arrays compute with their masked entries in
the derivative. Until both are supported, they raise a clear ``ADError`` at the API
boundary: in any argument (a masked argument anywhere, a complex one anywhere: a complex
constant argument takes part in the derivative of the others) and in the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.ma import MaskedArray

from .errors import ADError
from .pytree import is_container, tree_leaves

__all__ = ["refuse_arguments", "refuse_output", "suspect"]


def _complex(value: Any) -> bool:
    if isinstance(value, complex | np.complexfloating):
        return True
    dtype = getattr(value, "dtype", None)
    try:
        return dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:
        return False


def _leaves(value: Any) -> list[Any]:
    return tree_leaves(value) if is_container(value) else [value]


def refuse_arguments(what: str, names: Iterable[str], values: Iterable[Any]) -> None:
    """Raise ``ADError`` for a complex or masked argument of ``what`` (a function name)."""
    for name, value in zip(names, values, strict=False):
        for leaf in _leaves(value):
            if isinstance(leaf, MaskedArray):
                raise ADError(
                    f"argument {name!r} of {what} is a masked array (np.ma.MaskedArray): "
                    "its derivative would use the masked entries; pass "
                    f"{name}.filled(value) or the unmasked data with the mask as a "
                    "separate argument")
            if _complex(leaf):
                raise ADError(
                    f"argument {name!r} of {what} is complex ({type(leaf).__name__}"
                    f"{' of dtype ' + str(leaf.dtype) if hasattr(leaf, 'dtype') else ''}): "
                    "complex numbers are not supported yet; split them into real and "
                    "imaginary parts (two float arguments)")


def suspect(value: Any) -> bool:
    """Whether a plain output (a number or an array, not a container) may be complex or
    masked: the cheap test a steady-state call makes before :func:`refuse_output`."""
    if type(value) is complex or isinstance(value, MaskedArray):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind == "c"


def refuse_output(func: Any, value: Any) -> None:
    """Raise ``ADError`` for a complex or masked output of the user's function ``func``,
    at the line of its ``return``."""
    from .wrappers import located

    try:
        _refuse_output(getattr(func, "__qualname__", repr(func)), value)
    except ADError as error:
        raise located(error, func, at_return=True) from None


def _refuse_output(what: str, value: Any) -> None:
    for leaf in _leaves(value):
        if isinstance(leaf, MaskedArray):
            raise ADError(f"{what} returned a masked array (np.ma.MaskedArray), which is "
                          "not supported: return leaf.filled(value) instead")
        if _complex(leaf):
            raise ADError(f"{what} returned a complex value ({type(leaf).__name__}): "
                          "complex outputs are not supported yet (their gradient would be "
                          "that of the real part); return the real and imaginary parts "
                          "(np.real, np.imag) as separate outputs")
