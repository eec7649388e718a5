"""Optional peers run in the same harness: autograd, jax (eager and jit), torch, tangent.

None is a dependency (``pip install -e ".[bench]"`` installs autograd and jax). A peer that
is not importable is skipped with a note. The peers run the workload's own primal with the
global name ``np`` rebound to their NumPy namespace (``autograd.numpy``, ``jax.numpy``), so
every system differentiates the same code.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import platform
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .workloads import Workload


def _with_numpy(f: Callable[..., Any], namespace: Any) -> Callable[..., Any]:
    """``f`` with its global ``np`` replaced by ``namespace``."""
    globals_ = dict(f.__globals__, np=namespace)
    return types.FunctionType(f.__code__, globals_, f.__name__, f.__defaults__, f.__closure__)


def _wrt(workload: Workload) -> tuple[int, ...]:
    return workload.wrt if isinstance(workload.wrt, tuple) else (workload.wrt,)


class Peer:
    name = "peer"
    module = ""
    tracemalloc = True  # are its buffers visible to tracemalloc?

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.module) is not None

    def prepare(self, workload: Workload, args: tuple) -> Callable[[], Any]:
        raise NotImplementedError

    def to_numpy(self, grad: Any) -> Any:
        if isinstance(grad, dict):
            return {k: self.to_numpy(v) for k, v in grad.items()}
        if isinstance(grad, list | tuple):
            return type(grad)(self.to_numpy(v) for v in grad)
        return np.asarray(grad) if hasattr(grad, "shape") else grad


class Autograd(Peer):
    name = "autograd"
    module = "autograd"

    def prepare(self, workload: Workload, args: tuple) -> Callable[[], Any]:
        import autograd
        import autograd.numpy as anp

        f = _with_numpy(workload.primal, anp)
        wrt = _wrt(workload)

        def packed(diff: tuple, *rest: Any) -> Any:
            full, it = list(rest), iter(diff)
            for i in sorted(wrt):
                full.insert(i, None)
            for i in wrt:
                full[i] = next(it)
            return f(*full)

        g = autograd.grad(packed, 0)
        diff = tuple(args[i] for i in wrt)
        rest = tuple(a for i, a in enumerate(args) if i not in wrt)
        if isinstance(workload.wrt, tuple):
            return lambda: g(diff, *rest)
        return lambda: g(diff, *rest)[0]


class Jax(Peer):
    name = "jax"
    module = "jax"
    tracemalloc = False
    jit = False

    def prepare(self, workload: Workload, args: tuple) -> Callable[[], Any]:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        f = _with_numpy(workload.primal, jnp)
        static = tuple(i for i, a in enumerate(args) if isinstance(a, int | str))
        g = jax.grad(f, argnums=workload.wrt)
        if self.jit:
            g = jax.jit(g, static_argnums=static)
        jargs = jax.tree_util.tree_map(
            lambda a: jnp.asarray(a) if isinstance(a, np.ndarray) else a, args)

        def call() -> Any:
            return jax.block_until_ready(g(*jargs))

        return call


class JaxJit(Jax):
    name = "jax.jit"
    jit = True


class Torch(Peer):
    name = "torch"
    module = "torch"
    tracemalloc = False

    def prepare(self, workload: Workload, args: tuple) -> Callable[[], Any]:
        raise NotImplementedError("the primals are written against the NumPy API; "
                                  "a torch translation is not wired yet")


class Tangent(Peer):
    name = "tangent"
    module = "tangent"

    def prepare(self, workload: Workload, args: tuple) -> Callable[[], Any]:
        raise NotImplementedError("tangent-ad targets Python 3.6-era ASTs; not wired")


ALL_PEERS: list[type[Peer]] = [Autograd, Jax, JaxJit, Torch, Tangent]


def available_peers() -> tuple[list[Peer], list[str]]:
    """Instances of the importable peers, and a note for every skipped one."""
    peers, notes = [], []
    for cls in ALL_PEERS:
        if cls.available():
            peers.append(cls())
        else:
            notes.append(f"{cls.name}: not installed, skipped")
    return peers, notes


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "?"


def machine_info() -> dict[str, Any]:
    """Machine, versions and date for the report header."""
    import adcompiler

    info: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "adcompiler": getattr(adcompiler, "__version__", None) or _version("adcompiler"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    for cls in ALL_PEERS:
        v = _version(cls.module)
        if v:
            info[cls.module] = v
    return info
