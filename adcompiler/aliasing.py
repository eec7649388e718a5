"""Derivatives handed to the user never share memory with what the user passed in.

Linear rules may return an argument as it is: the gradient of ``np.dot(w, data)`` with
respect to ``w`` *is* ``data``, the adjoint of ``x.reshape(...)`` or ``x.T`` is a view of
the cotangent, and an identity function's pullback returns its cotangent. Handing such
an array back would let ``g *= 0.1`` change the caller's ``data``. Rather than copy in
every rule (most results are fresh arrays already), the API's finishing step checks each
returned array against the arrays the call received and copies only one that may share
memory with them, or with a derivative returned before it in the same result. A fresh
array is recognised by identity tests alone (see ``_fresh``); only views are compared by
address range (``np.may_share_memory``: no data is read).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .pytree import is_container, tree_leaves, tree_map

__all__ = ["aliases", "input_arrays", "unshared", "unshared_plain"]


def input_arrays(values: Iterable[Any]) -> list[np.ndarray]:
    """The NumPy arrays among ``values`` and inside their containers."""
    out: list[np.ndarray] = []
    for value in values:
        if type(value) is np.ndarray:
            out.append(value)
        elif is_container(value):
            out += [leaf for leaf in tree_leaves(value) if isinstance(leaf, np.ndarray)]
        elif isinstance(value, np.ndarray):  # a subclass: its buffer may still be shared
            out.append(value)
    return out


def _fresh(array: np.ndarray, seen: list[np.ndarray]) -> np.ndarray:
    """``array``, or a copy if it may share memory with an array in ``seen``.

    An array that owns its memory (``base is None``, what a computation returns) shares
    it only with itself and with views of it, whose ``base`` is then that array (NumPy
    points a view's ``base`` at the owner): two identity tests per array in ``seen``. Only
    a view (a reshape, a transpose) needs the address-range test.
    """
    base = array.base
    for other in seen:
        if other is array or other.base is array or (
                base is not None and np.may_share_memory(array, other)):
            array = array.copy()
            break
    seen.append(array)
    return array


def aliases(array: np.ndarray, args: tuple) -> bool:
    """Whether ``array`` may share memory with one of the plain arguments ``args`` (the
    steady-state call's test: ``_fresh``'s, without building lists)."""
    base = array.base
    for arg in args:
        if type(arg) is np.ndarray and (arg is array or arg.base is array or (
                base is not None and np.may_share_memory(array, arg))):
            return True
    return False


def unshared_plain(results: tuple, args: tuple) -> tuple:
    """A tuple of plain derivatives (floats and arrays), each checked against the plain
    arguments ``args`` and the derivatives before it (the steady-state call's test)."""
    out: list[Any] = []
    for result in results:
        if type(result) is np.ndarray and (aliases(result, args) or aliases(result, out)):
            result = result.copy()
        out.append(result)
    return tuple(out)


def unshared(result: Any, inputs: list[np.ndarray]) -> Any:
    """``result`` (an array, a container, or a tuple of derivatives) with every NumPy
    array leaf that may share memory with one of ``inputs``, or with an earlier leaf of
    ``result``, replaced by a copy."""
    seen = list(inputs)
    if type(result) is np.ndarray:
        return _fresh(result, seen)
    if type(result) is tuple:
        return tuple([_fresh(item, seen) if type(item) is np.ndarray
                      else item if type(item) is float else unshared_leaf(item, seen)
                      for item in result])
    return unshared_leaf(result, seen)


def unshared_leaf(value: Any, seen: list[np.ndarray]) -> Any:
    """One derivative (an array or a container of them), checked against ``seen``."""
    if isinstance(value, np.ndarray):
        return _fresh(value, seen)
    if is_container(value):
        return tree_map(lambda leaf: _fresh(leaf, seen) if isinstance(leaf, np.ndarray)
                        else leaf, value)
    return value
