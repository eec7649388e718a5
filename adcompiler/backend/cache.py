"""What makes two requests the same, and the compiled code they share.

A key covers everything that changes the generated code: the function's code object
(redefining a function gives a new one), its closure cells' identity, the request (kind,
``wrt``, ``has_aux``), the argument *kinds* the code was specialised for (Python float,
or an array of a given rank), and the version of the rule registry (registering a rule
bumps it). Values of arguments are never part of a key. Global names whose binding chose
a rule are *guards*: checked by identity on every call, recompiling if one was rebound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CacheInfo", "cache_info", "clear_cache", "lookup_or_build"]


@dataclass(frozen=True)
class CacheInfo:
    hits: int
    misses: int
    size: int


_entries: dict[Any, Any] = {}
_locks: dict[Any, threading.Lock] = {}
_global_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}
_generation = [0]


def _valid(entry: Any, globals_: dict[str, Any]) -> bool:
    return all(globals_.get(name) is obj for name, obj in entry.guards.items())


def lookup_or_build(key: Any, globals_: dict[str, Any], build: Callable[[], Any]) -> Any:
    """The cached entry for ``key`` (built once even when many threads ask at once)."""
    entry = _entries.get(key)
    if entry is not None and _valid(entry, globals_):
        _stats["hits"] += 1
        return entry
    with _global_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        entry = _entries.get(key)
        if entry is not None and _valid(entry, globals_):
            _stats["hits"] += 1
            return entry
        entry = build()
        _entries[key] = entry
        _stats["misses"] += 1
        return entry


def generation() -> int:
    """Bumped by ``clear_cache``: a caller's own shortcut to an entry is then stale."""
    return _generation[0]


def record_hit() -> None:
    """Count a hit served by a caller's shortcut (``api.Transformed``'s fast path)."""
    _stats["hits"] += 1


def cache_info() -> CacheInfo:
    """Hits, misses and the number of compiled entries."""
    return CacheInfo(_stats["hits"], _stats["misses"], len(_entries))


def clear_cache() -> None:
    """Forget every compiled function (the next call recompiles)."""
    with _global_lock:
        _entries.clear()
        _locks.clear()
        _stats["hits"] = _stats["misses"] = 0
        _generation[0] += 1
