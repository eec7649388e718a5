"""The few helpers generated code calls.

Kept tiny and array-agnostic: every helper uses only NumPy functions that dispatch to
the argument's own array type (Dask, CuPy), and each has derivative rules of its own so
generated code can itself be differentiated again.
"""

from __future__ import annotations

import linecache
from typing import Any

import numpy as np

from .errors import ADError, NonDifferentiableError, SourceLocation
from .pytree import get_child, is_container, set_child, tree_map

__all__ = ["add_at", "add_item", "add_items", "assemble", "basis", "last_writes",
           "no_derivative", "placed_part", "restored_child", "tree_add", "unbroadcast",
           "unbroadcast_to", "without_child", "written_part", "zeros_like_tree"]


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum the cotangent ``g`` down to the shape of ``x`` (undo NumPy broadcasting).

    The common case, equal shapes, returns ``g`` untouched; the compiler only emits this
    call where its shape analysis could not prove the shapes equal.
    """
    return unbroadcast_to(g, np.shape(x))


def unbroadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """``unbroadcast(g, x)`` given only ``np.shape(x)``.

    Generated code records the shape of a primal value that the adjoint needs for nothing
    else, so the value itself need not be kept (or saved on a stack in a loop).
    """
    gshape = np.shape(g)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1
    )
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def add_at(dx: Any, index: Any, g: Any) -> Any:
    """``dx[index] += g`` that accumulates repeated indices (fancy indexing).

    Arrays without ``ufunc.at`` (Dask) get an ``ADError`` naming their type, not a bare
    ``TypeError`` from inside NumPy's dispatch.
    """
    try:
        np.add.at(dx, index, g)
    except TypeError as exc:
        if isinstance(dx, np.ndarray):
            raise
        kind = f"{type(dx).__module__}.{type(dx).__qualname__}"
        raise ADError(f"the derivative of indexing with an index array or mask scatters the "
                      f"cotangent with np.add.at, which {kind} does not implement; index "
                      "with slices, or compute this part on NumPy arrays") from exc
    return dx


def _zero_leaf(x: Any) -> Any:
    if isinstance(x, bool) or x is None or isinstance(x, int | str | bytes):
        return None  # no derivative: ints, strings, flags, None
    if isinstance(x, float):
        return 0.0
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        return None
    return np.zeros_like(x)


def zeros_like_tree(x: Any) -> Any:
    """A zero cotangent shaped like ``x``: 0.0, ``zeros_like``, or a container of them.

    Leaves with no derivative (ints, strings, None) get None.
    """
    return tree_map(_zero_leaf, x) if is_container(x) else _zero_leaf(x)


def tree_add(a: Any, b: Any) -> Any:
    """``a + b`` leaf by leaf for containers (None is zero); plain ``+`` otherwise."""
    if a is None:
        return b
    if b is None:
        return a
    if is_container(a):
        return tree_map(tree_add, a, b)
    return a + b


def add_item(da: Any, a: Any, key: Any, g: Any) -> Any:
    """The cotangent ``da`` of container ``a`` with ``g`` added at ``a[key]`` (or ``a.key``).

    ``da`` None means zero so far. Containers are rebuilt, never mutated, so a cotangent
    shared by two names is safe. An array ``a`` gets an array cotangent (repeated integer
    indices accumulate).
    """
    if not is_container(a):
        if isinstance(key, str):
            # ``a.key`` on an array or number: an attribute with no derivative rule
            raise ADError(f"no derivative rule for the attribute .{key} of a value of "
                          f"type {type(a).__name__}: call the NumPy function instead (np.{key}"
                          f"(x) for x.{key}) if there is one, or wrap the value in "
                          "ad.stop_gradient() if it should not be differentiated")
        out = np.zeros_like(a) if da is None else da.copy()
        return add_at(out, key, g)
    if da is None:
        da = zeros_like_tree(a)
    return set_child(da, key, tree_add(get_child(da, key), g))


def add_items(da: Any, a: Any, items: dict[Any, Any]) -> Any:
    """``add_item`` for several children at once: ``items[key]`` added at ``a[key]``.

    Children no key names get zeros; the named ones start from their cotangent, not from
    zeros plus the cotangent (so a dict of parameters costs no zeroing of its big
    arrays). ``da`` None means zero so far.
    """
    if not is_container(a):
        for key, g in items.items():
            da = add_item(da, a, key, g)
        return da
    if da is None and isinstance(a, dict | list | tuple):
        da = a
        for key in items:
            da = set_child(da, key, None)  # no zeros where a cotangent arrives
        da = zeros_like_tree(da)
    elif da is None:  # a dataclass or registered class may refuse None as a field
        da = zeros_like_tree(a)
    for key, g in items.items():
        da = set_child(da, key, tree_add(get_child(da, key), g))
    return da


def written_part(g: Any, a: Any, key: Any, v: Any) -> Any:
    """The cotangent of ``v`` in ``a[key] = v``, from the cotangent ``g`` of ``a`` after
    the write: the child at ``key`` of a container (a dict, list, ...); of an array, the
    positions whose write NumPy kept, summed to ``v``'s shape (``v`` may broadcast).

    Generated code calls this where the compiler cannot tell a container from an array.
    """
    if is_container(a):
        part = get_child(g, key)
        return zeros_like_tree(v) if part is None else part
    return unbroadcast(g[key] * last_writes(g, key), v)


def without_child(g: Any, a: Any, key: Any) -> Any:
    """The cotangent of ``a`` before ``a[key] = v``: ``g`` with the overwritten part
    zeroed, a new copy (a key the dict ``a`` did not have yet is dropped)."""
    if is_container(a):
        if isinstance(a, dict) and key not in a:
            rest = dict(g)
            rest.pop(key, None)
            return rest if type(g) is dict else type(g)(rest)
        return set_child(g, key, zeros_like_tree(get_child(g, key)))
    rest = g.copy()
    rest[key] = 0
    return rest


def placed_part(u: Any, ct: Any, a: Any, key: Any) -> Any:
    """The transpose of :func:`written_part`: ``u`` put at ``key`` among zeros shaped like
    ``ct`` (for an array, broadcast over the slot, at the positions whose write NumPy
    kept)."""
    if is_container(a):
        return add_item(None, ct, key, u)
    out = np.zeros_like(ct)
    out[key] = np.broadcast_to(u, np.shape(out[key])) * last_writes(ct, key)
    return out


def restored_child(u: Any, ct: Any, a: Any, key: Any) -> Any:
    """The transpose of :func:`without_child`: ``u`` (shaped like ``a``) with the child at
    ``key`` zero, shaped like ``ct`` (a dropped key comes back as zeros)."""
    if is_container(a):
        if isinstance(a, dict) and key not in a:
            out = dict(u)
            out[key] = zeros_like_tree(get_child(ct, key))
            return out if type(u) is dict else type(u)(out)
        return set_child(u, key, zeros_like_tree(get_child(u, key)))
    out = u.copy()
    out[key] = 0
    return out


def no_derivative(message: str, filename: str, lineno: int) -> None:
    """Raise ``NonDifferentiableError`` at the user's ``filename:lineno``.

    Generated code calls this where a differentiated value reaches an operation without
    a derivative on a path (a branch) the compiler could not rule out when it built the
    code: the refusal comes when the path is taken, never a silently wrong value.
    """
    code = linecache.getline(filename, lineno).strip()
    raise NonDifferentiableError(message, SourceLocation(filename, lineno, code))


def last_writes(target: Any, index: Any) -> Any:
    """Mask over ``target[index]``: True where that position is the one NumPy keeps.

    ``y[[0, 1, 1]] = v`` writes twice into ``y[1]`` and the last write wins, so only
    the last occurrence of a repeated index passes the cotangent back to ``v``.
    """
    owner = np.zeros_like(target, dtype=np.intp)
    selected = np.shape(owner[index])
    order = np.reshape(np.arange(int(np.prod(selected))), selected)
    owner[index] = order
    return owner[index] == order


def basis(x: Any) -> list[Any]:
    """The unit tangents of ``x``, one per coordinate: ``[1.0]`` for a number, else the
    rows of the identity shaped like ``x`` (the seeds of forward-mode gradient sweeps)."""
    if isinstance(x, float | int) and not isinstance(x, bool):
        return [1.0]
    size = int(np.size(x))
    dtype = x.dtype if np.dtype(x.dtype).kind in "fc" else np.float64
    return list(np.reshape(np.eye(size, dtype=dtype, like=x), (size, *np.shape(x))))


def assemble(parts: list[Any], x: Any) -> Any:
    """Directional derivatives along ``basis(x)`` put back into the shape of ``x``."""
    if isinstance(x, float | int) and not isinstance(x, bool):
        return parts[0]
    return np.reshape(np.stack(parts), np.shape(x))
