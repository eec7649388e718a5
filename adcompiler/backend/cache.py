"""What makes two requests the same, and the compiled code they share.

Every compiled entry answers one :class:`~adcompiler.request.Request`; :func:`key` (the
only place a key is made) turns the request into a dictionary key. Two requests share
an entry when, and only when, all of these are the same:

* the **kind** of code (gradient, vjp, jvp, batched jvp, the gradient of a generated
  derivative, a callee's pair) and its options (``has_aux``, a callee's name suffix);
* the **function object**, by identity. It is held by reference while its entry lives,
  so its address cannot be reused meanwhile. Never its text or code object: two modules
  defining the same text are two functions with two globals, and get two entries.
  Redefining a function (a new ``def``) makes a new object, hence a new entry;
* ``wrt`` (parameter names, in order);
* the **argument kinds** the code is specialised for: Python float or int, an array
  type and rank, the container structure with the kinds of its leaves. Argument values
  never enter a key;
* the **function-valued arguments** (``apply(x, fn)``), each by identity and held by
  reference while the entry lives -- never by ``id()``, whose number a freed closure
  hands on to the next one;
* the versions of the **rule registry** and the **pytree registry**: registering a rule
  or a container type makes every older key unreachable (they age out of the LRU).

What a request cannot say is *what the code was built against*. An entry therefore
carries **guards**, checked on every lookup and by every shortcut that keeps an entry
(``api.Transformed``): each is ``(namespace, name, object)`` and holds while
``namespace[name]`` (a module's globals or builtins), ``namespace.name`` (a module
attribute such as ``np.sum``), or ``cell.cell_contents`` (a closure cell) is still that
very object. The frontend records one for every free name whose binding chose code (a
rule, a callee, a module, an object whose method is called, a name that was unbound),
so:

* rebinding such a **module global** (``act = np.cos``) or monkeypatching such a module
  attribute rebuilds on the next call, even from an existing ``grad`` object;
* changing such a **closure cell** (``nonlocal act; act = np.cos``) does the same;
* data (numbers, arrays, strings) is never baked in: generated code reads globals and
  the function's own cells when it runs, so rebinding a constant is seen with no rebuild;
* ``f.__code__`` replaced in place (IPython's autoreload) fails the entry's code guard;
* the guards of every callee an entry calls (and of the function-valued arguments it
  was built for) are the entry's guards too.

**Bound.** The cache is an LRU holding at most :func:`cache_size` entries (default
:data:`DEFAULT_SIZE`, set with :func:`set_cache_size`). An evicted entry is forgotten;
its code and its ``linecache`` lines go when nothing else (a live ``grad`` object's
shortcut, a caller's code) still uses them (see ``backend/compile.py``).
:func:`clear_cache` forgets everything.

**Threads.** One key is built once: a second thread asking for it waits for the first
(builds of *other* keys run meanwhile). A build that raises is not cached: the next
request builds again and meets the same error. Recursion (a function calling itself,
directly or through callees) is the builder's business: :func:`building` hands it this
thread's unfinished build of a request, and any entry built on top of it is committed
only together with it (dropped if it fails). Two threads building each other's
callees in opposite orders would wait forever, so the second one builds its own copy
instead of waiting.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..request import Request

__all__ = ["DEFAULT_SIZE", "CacheInfo", "Entry", "Frame", "building", "cache_info",
           "cache_size", "clear_cache", "guards_hold", "key", "lookup", "record_hit",
           "set_cache_size"]

DEFAULT_SIZE = 256
"""Entries kept by default: a few hundred (function, argument kinds) pairs. An entry of a
small function is 10-40 kB (``python -m benchmarks.cache_memory``: 5,000 closures grow
the resident size by about 1 MB)."""


class _Missing:
    def __repr__(self) -> str:
        return "<unbound>"


MISSING = _Missing()  # a guard's object for a name that was not bound


@dataclass(frozen=True)
class CacheInfo:
    hits: int
    misses: int
    size: int
    maxsize: int = DEFAULT_SIZE


class _Same:
    """An object compared by identity and held while the key lives (never by address)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return type(other) is _Same and other.obj is self.obj

    def __hash__(self) -> int:
        return hash(id(self.obj))  # stable: ``obj`` is held, so its address is its own

    def __repr__(self) -> str:
        return f"<same {self.obj!r}>"


def key(request: Request) -> tuple:
    """The dictionary key of ``request``: what makes two requests the same (see above)."""
    return (request.kind, _Same(request.func), request.wrt, request.has_aux,
            request.arguments, tuple((n, _Same(f)) for n, f in request.functions),
            request.options, request.rules, request.pytrees)


def guards_hold(guards: tuple) -> bool:
    """Whether every ``(namespace, name, object)`` guard still holds."""
    for namespace, name, obj in guards:
        if type(namespace) is dict:
            current = namespace.get(name, MISSING)
        else:
            try:
                current = getattr(namespace, name, MISSING)
            except ValueError:  # an empty closure cell
                current = MISSING
        if current is not obj:
            return False
    return True


def merge_guards(*groups: tuple) -> tuple:
    """The guards of ``groups`` with each ``(namespace, name)`` once."""
    seen: dict[tuple[int, str], tuple] = {}
    for group in groups:
        for guard in group:
            seen.setdefault((id(guard[0]), guard[1]), guard)
    return tuple(seen.values())


class Entry:
    """One compiled request: ``value`` (what the builder returned) and its guards.

    ``live`` turns False when the entry leaves the cache, so a caller's shortcut to it
    (``api.Transformed``) stops using it; ``rules`` / ``pytrees`` are the registry
    versions it was built under.
    """

    __slots__ = ("code", "func", "guards", "hits", "key", "live", "pytrees", "rules",
                 "stamp", "value")

    def __init__(self, key_: tuple, request: Request, value: Any, guards: tuple) -> None:
        self.key = key_
        self.value = value
        self.func = request.func
        self.code = getattr(request.func, "__code__", None)
        self.guards = guards
        self.rules = request.rules
        self.pytrees = request.pytrees
        self.live = True
        self.hits = 0
        self.stamp = next(_tick)

    def valid(self) -> bool:
        """Its function's code is unchanged and every guard holds."""
        return getattr(self.func, "__code__", None) is self.code and guards_hold(self.guards)

    def own_guards(self) -> tuple:
        """What a caller of this entry's code depends on: its guards and its code."""
        if self.code is None:
            return self.guards
        return (*self.guards, (self.func, "__code__", self.code))


@dataclass(eq=False)
class Frame:
    """One build in progress on this thread.

    ``data`` is the builder's own (stand-ins for a recursive call); ``guards`` collects
    the guards of every entry the build used; ``depends_on`` is the outermost build on
    this thread whose unfinished code this one called (it is committed with that one).
    """

    request: Request
    key: tuple
    private: bool
    depth: int
    data: Any = None
    guards: list[tuple] = field(default_factory=list)
    depends_on: Frame | None = None
    pending: list[Entry] = field(default_factory=list)


_entries: dict[tuple, Entry] = {}
_owners: dict[tuple, int] = {}  # key -> the thread building it (or holding it pending)
_waiting: dict[int, tuple] = {}  # thread -> the key it waits for
_pending: dict[tuple, Entry] = {}  # built on an unfinished build, not yet committed
_cond = threading.Condition(threading.Lock())
_local = threading.local()
_tick = itertools.count()
_stats = {"hits": 0, "misses": 0}
_size = [DEFAULT_SIZE]


def _stack() -> list[Frame]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _would_deadlock(owner: int, me: int) -> bool:
    """Whether ``owner`` waits, directly or through other threads, for a key ``me`` owns."""
    seen: set[int] = set()
    thread: int | None = owner
    while thread is not None and thread not in seen:
        if thread == me:
            return True
        seen.add(thread)
        wanted = _waiting.get(thread)
        thread = _owners.get(wanted) if wanted is not None else None  # type: ignore[arg-type]
    return False


def _used(entry: Entry) -> None:
    """``entry`` was handed to the build on top of this thread's stack (if any)."""
    stack = _stack()
    if stack:
        stack[-1].guards.append(entry.own_guards())


def lookup(request: Request, build: Callable[[Frame], Any]) -> Entry:
    """The entry for ``request``, built by ``build(frame)`` once if it is missing or stale.

    Raises whatever ``build`` raises (and caches nothing then).
    """
    k = key(request)
    me = threading.get_ident()
    private = False
    with _cond:
        while True:
            entry = _entries.get(k)
            if entry is not None and entry.valid():
                entry.hits += 1
                entry.stamp = next(_tick)
                _stats["hits"] += 1
                break
            owner = _owners.get(k)
            if owner is None:
                _owners[k] = me
                entry = None
                break
            if owner == me:
                entry = _pending.get(k)
                if entry is not None:  # built earlier in this unfinished build
                    _depend(_pending_target(entry))
                    break
                private = True  # pragma: no cover - the builder catches recursion first
                entry = None
                break
            if _would_deadlock(owner, me):
                private = True
                entry = None
                break
            _waiting[me] = k
            try:
                _cond.wait()
            finally:
                del _waiting[me]
        if entry is None:
            _stats["misses"] += 1
    if entry is not None:
        _used(entry)
        return entry
    return _build(request, k, build, private)


def _pending_target(entry: Entry) -> Frame | None:
    for frame in _stack():
        if any(e is entry for e in frame.pending):
            return frame
    return None  # pragma: no cover - a pending entry always belongs to a frame


def _build(request: Request, k: tuple, build: Callable[[Frame], Any], private: bool
           ) -> Entry:
    stack = _stack()
    frame = Frame(request, k, private, len(stack))
    stack.append(frame)
    try:
        value = build(frame)
    except BaseException:
        stack.pop()
        with _cond:
            _release(frame)
        raise
    stack.pop()
    own = tuple(getattr(value, "guards", ()) or ())
    entry = Entry(k, request, value, merge_guards(own, *frame.guards))
    finished = [*frame.pending, *(() if private else (entry,))]  # a private copy: not kept
    target = frame.depends_on
    with _cond:
        if target is not None:
            # it calls the unfinished code of an outer build: committed with that one
            target.pending.extend(finished)
            _pending.update((e.key, e) for e in finished)
        else:
            for pending in frame.pending:
                pending.guards = merge_guards(pending.guards, entry.own_guards())
            _commit(finished)
            _cond.notify_all()
    if stack:
        stack[-1].guards.append(entry.own_guards())
    return entry


def _commit(entries: list[Entry]) -> None:
    for entry in entries:
        old = _entries.pop(entry.key, None)
        if old is not None:
            old.live = False
        _entries[entry.key] = entry
        _pending.pop(entry.key, None)
        _owners.pop(entry.key, None)
    _evict()


def _evict() -> None:
    excess = len(_entries) - _size[0]
    if excess <= 0:
        return
    for entry in sorted(_entries.values(), key=lambda e: e.stamp)[:excess]:
        entry.live = False
        del _entries[entry.key]


def _release(frame: Frame) -> None:
    """A failed build: forget it and everything built on top of it."""
    for pending in frame.pending:
        _pending.pop(pending.key, None)
        _owners.pop(pending.key, None)
    if not frame.private:
        _owners.pop(frame.key, None)
    _cond.notify_all()


def _depend(frame: Frame | None) -> None:
    """Every build above ``frame`` on this thread calls its unfinished code."""
    if frame is None:
        return
    for other in _stack()[frame.depth + 1:]:
        if other.depends_on is None or other.depends_on.depth > frame.depth:
            other.depends_on = frame


def building(request: Request) -> Frame | None:
    """This thread's unfinished build of ``request`` (a recursive request), or None.

    Every build above it on this thread is marked as calling its unfinished code.
    """
    k = key(request)
    for frame in _stack():
        if frame.key == k:
            _depend(frame)
            return frame
    return None


def record_hit(entry: Entry) -> None:
    """Count a hit served by a caller's own shortcut to ``entry``, and keep it recent."""
    entry.hits += 1
    entry.stamp = next(_tick)
    _stats["hits"] += 1


def cache_info() -> CacheInfo:
    """Hits, misses, the number of compiled entries and the bound."""
    return CacheInfo(_stats["hits"], _stats["misses"], len(_entries), _size[0])


def cache_size() -> int:
    """The most entries the cache keeps."""
    return _size[0]


def set_cache_size(size: int) -> None:
    """Keep at most ``size`` compiled entries (least recently used go first)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"the cache size must be a positive int, not {size!r}")
    with _cond:
        _size[0] = size
        _evict()


def clear_cache() -> None:
    """Forget every compiled function and reset the counts (the next call recompiles)."""
    with _cond:
        for entry in _entries.values():
            entry.live = False
        _entries.clear()
        _stats["hits"] = _stats["misses"] = 0
