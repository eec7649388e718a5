"""Containers of arrays ("pytrees"): dicts, lists, tuples, namedtuples, dataclasses.

Gradients of a container argument have the container's own structure and types, so
these helpers take a container apart into leaves and put one of the same type back
together. Other types join with :func:`register_pytree`, as in JAX.

>>> from collections import namedtuple
>>> Pair = namedtuple("Pair", "w b")
>>> leaves, treedef = tree_flatten({"a": Pair(1.0, [2.0, 3.0])})
>>> leaves
[1.0, 2.0, 3.0]
>>> tree_unflatten(treedef, [10.0, 20.0, 30.0])
{'a': Pair(w=10.0, b=[20.0, 30.0])}
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TreeDef", "is_container", "register_pytree", "tree_flatten", "tree_leaves",
           "tree_map", "tree_unflatten"]

Flatten = Callable[[Any], tuple[Iterable[Any], Hashable]]
Unflatten = Callable[[Hashable, Iterable[Any]], Any]

_REGISTRY: dict[type, tuple[Flatten, Unflatten]] = {}
_VERSION = [0]


def register_pytree(cls: type, flatten: Flatten, unflatten: Unflatten) -> None:
    """Make ``cls`` a container: ``flatten(x) -> (children, aux)``, ``unflatten(aux, ch)``."""
    _REGISTRY[cls] = (flatten, unflatten)
    _VERSION[0] += 1


def registry_version() -> int:
    """Bumped by every registration (cached code keyed on container kinds is rebuilt)."""
    return _VERSION[0]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


_LEAF_TYPES = frozenset({np.ndarray, float, int, bool, complex, np.float64, np.float32,
                         type(None), str})


def is_container(x: Any) -> bool:
    """Whether ``x`` is a container adcompiler looks into."""
    if type(x) in _LEAF_TYPES:
        return False  # the common case, asked on every call of a transformed function
    return (
        type(x) in _REGISTRY
        or isinstance(x, dict | list | tuple)
        or (dataclasses.is_dataclass(x) and not isinstance(x, type))
    )


def _children(x: Any) -> tuple[list[Any], Hashable, Callable[[Hashable, list[Any]], Any]]:
    cls = type(x)
    if cls in _REGISTRY:
        flatten, unflatten = _REGISTRY[cls]
        children, aux = flatten(x)
        return list(children), aux, unflatten
    if isinstance(x, dict):
        keys = tuple(x)
        return [x[k] for k in keys], keys, lambda keys, ch: type(x)(zip(keys, ch, strict=True))
    if _is_namedtuple(x):
        return list(x), None, lambda _, ch: cls(*ch)
    if isinstance(x, list | tuple):
        return list(x), None, lambda _, ch: cls(ch)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        names = tuple(f.name for f in dataclasses.fields(x) if f.init)
        return ([getattr(x, n) for n in names], names,
                lambda names, ch: cls(**dict(zip(names, ch, strict=True))))
    raise TypeError(f"{cls.__name__} is not a container")


@dataclass(frozen=True)
class TreeDef:
    """The structure of a container, without its leaves."""

    node: Any  # None for a leaf, else (rebuild, aux, children treedefs)

    @property
    def is_leaf(self) -> bool:
        return self.node is None


def tree_flatten(x: Any) -> tuple[list[Any], TreeDef]:
    """Leaves in a fixed order, and the structure to rebuild ``x`` from them."""
    if not is_container(x):
        return [x], TreeDef(None)
    children, aux, rebuild = _children(x)
    leaves: list[Any] = []
    defs = []
    for child in children:
        child_leaves, child_def = tree_flatten(child)
        leaves += child_leaves
        defs.append((child_def, len(child_leaves)))
    return leaves, TreeDef((rebuild, aux, tuple(defs)))


def tree_unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> Any:
    """The inverse of :func:`tree_flatten`."""
    leaves = list(leaves)
    if treedef.is_leaf:
        return leaves[0]
    rebuild, aux, defs = treedef.node
    children = []
    start = 0
    for child_def, count in defs:
        children.append(tree_unflatten(child_def, leaves[start:start + count]))
        start += count
    return rebuild(aux, children)


def tree_structure(x: Any) -> Any:
    """A comparable picture of ``x``'s nesting: types and keys, with ``*`` for leaves."""
    if not is_container(x):
        return "*"
    children, aux, _ = _children(x)
    return (type(x).__name__, aux, tuple(tree_structure(c) for c in children))


def tree_leaves(x: Any) -> list[Any]:
    return tree_flatten(x)[0]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """``f`` applied leaf by leaf to containers of the same structure."""
    leaves, treedef = tree_flatten(tree)
    others = [tree_flatten(r)[0] for r in rest]
    return tree_unflatten(treedef, [f(leaf, *(o[i] for o in others))
                                    for i, leaf in enumerate(leaves)])


def get_child(x: Any, key: Any) -> Any:
    """``x[key]`` or, for dataclasses and namedtuples addressed by name, ``x.key``."""
    if isinstance(key, str) and not isinstance(x, dict):
        return getattr(x, key)
    return x[key]


def set_child(x: Any, key: Any, value: Any) -> Any:
    """A copy of ``x`` with one child replaced (containers are never mutated)."""
    if isinstance(x, dict):
        out = dict(x)
        out[key] = value
        return type(x)(out) if type(x) is not dict else out
    if _is_namedtuple(x):
        if isinstance(key, str):
            return x._replace(**{key: value})
        items = list(x)
        items[key] = value
        return type(x)(*items)
    if isinstance(x, list | tuple):
        items = list(x)
        items[key] = value
        return type(x)(items)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.replace(x, **{key: value})
    if type(x) in _REGISTRY and isinstance(key, str) and hasattr(x, key):
        # a registered class read as ``p.x`` inside the function: its cotangent is a
        # copy with that attribute replaced, so its flatten sees the new child
        out = copy.copy(x)
        setattr(out, key, value)
        return out
    if type(x) in _REGISTRY:
        raise TypeError(f"cannot address a child of registered container {type(x).__name__}"
                        f" by {key!r}; read its children as attributes or flatten it in the "
                        "function instead")
    raise TypeError(f"{type(x).__name__} is not a container")


def version_cell() -> list[int]:
    """The one-element list holding the version (a hot path reads it without a call)."""
    return _VERSION
