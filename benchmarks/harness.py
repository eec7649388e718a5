"""Timing, memory and first-call measurement, and the report they produce.

* Steady state: every system of a workload (primal, hand-written gradient, adcompiler,
  peers) is calibrated to a block of calls lasting about ``block_seconds``; then ``rounds``
  rounds each run one block of every system, in rotating order, so that load from other
  users of the machine hits all systems alike. Per-call time = block time / calls; the
  report gives the median, min and max over the rounds.
* Peak memory: ``tracemalloc`` peak above the starting level during one call, after a
  warm-up call (NumPy reports its buffers to tracemalloc; JAX and torch do not, so theirs
  is reported as n/a).
* First call: a fresh ``python`` process imports NumPy, adcompiler and the workload,
  builds the arguments, then times ``ad.grad(f, wrt)(*args)``: parse, transform, compile
  and the first gradient.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import BLAS_ENV
from .workloads import WORKLOADS, Workload

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    """How long to measure. ``quick()`` is for smoke tests and CI."""

    block_seconds: float = 0.02
    rounds: int = 11
    first_call_repeats: int = 3
    max_calls_per_block: int = 1_000_000

    @classmethod
    def quick(cls) -> Settings:
        return cls(block_seconds=0.002, rounds=3, first_call_repeats=1)


@dataclass
class Timing:
    median: float
    min: float
    max: float
    calls_per_block: int


@dataclass
class Row:
    system: str
    timing: Timing | None = None
    peak_bytes: int | None = None
    first_call: float | None = None
    status: str = "ok"


@dataclass
class WorkloadReport:
    name: str
    size: str
    size_label: str
    description: str
    rows: list[Row] = field(default_factory=list)
    primal: Timing | None = None
    primal_peak_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    def row(self, system: str) -> Row | None:
        return next((r for r in self.rows if r.system == system), None)

    def ratio(self, system: str) -> float | None:
        """Median time of ``system`` ÷ median time of the hand-written gradient."""
        hand, row = self.row("hand-written"), self.row(system)
        if hand is None or row is None or hand.timing is None or row.timing is None:
            return None
        return row.timing.median / hand.timing.median

    def grad_over_primal(self, system: str) -> float | None:
        row = self.row(system)
        if row is None or row.timing is None or self.primal is None:
            return None
        return row.timing.median / self.primal.median

    def mem_ratio(self, system: str) -> float | None:
        hand, row = self.row("hand-written"), self.row(system)
        if hand is None or row is None or not hand.peak_bytes or row.peak_bytes is None:
            return None
        return row.peak_bytes / hand.peak_bytes


# ----------------------------------------------------------------------------- measurement


def _block(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def calibrate(fn: Callable[[], Any], settings: Settings) -> int:
    """Calls per block so that one block lasts about ``settings.block_seconds``."""
    calls = 1
    while calls < settings.max_calls_per_block:
        elapsed = _block(fn, calls)
        if elapsed >= settings.block_seconds:
            break
        scale = settings.block_seconds / max(elapsed, 1e-9)
        calls = min(settings.max_calls_per_block, max(calls * 2, int(calls * scale * 1.1)))
    return calls


def time_interleaved(fns: dict[str, Callable[[], Any]], settings: Settings
                     ) -> dict[str, Timing]:
    """Median/min/max seconds per call of every function, measured in interleaved blocks."""
    calls = {name: calibrate(fn, settings) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(settings.rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_block(fns[name], calls[name]) / calls[name])
    return {
        name: Timing(statistics.median(s), min(s), max(s), calls[name])
        for name, s in samples.items()
    }


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated above the starting level during one call of ``fn``."""
    fn()  # warm-up: caches, compiled code
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, peak - base)


_FIRST_CALL_CODE = """
import json, sys, time
sys.path.insert(0, {repo!r})
import numpy as np
import adcompiler as ad
from benchmarks.workloads import WORKLOADS
w = WORKLOADS[{name!r}]
args = w.args({size!r})
start = time.perf_counter()
g = ad.grad(w.primal, wrt=w.wrt)
g(*args)
first = time.perf_counter() - start
start = time.perf_counter()
g(*args)
second = time.perf_counter() - start
print(json.dumps({{"first": first, "second": second}}))
"""


def first_call(name: str, size: str, repeats: int = 1) -> float:
    """Median over ``repeats`` fresh processes of parse + transform + compile + first call."""
    env = dict(os.environ, **BLAS_ENV)
    code = _FIRST_CALL_CODE.format(repo=str(REPO), name=name, size=size)
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, cwd=str(REPO), timeout=300, check=False)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["first"])
    return statistics.median(times)


# ----------------------------------------------------------------------------- correctness


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, list | tuple):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def same_gradient(a: Any, b: Any, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    """Same structure (leaf count, dict keys) and values within tolerance."""
    if isinstance(a, dict) != isinstance(b, dict):
        return False
    if isinstance(a, dict) and sorted(a) != sorted(b):
        return False
    la, lb = _leaves(a), _leaves(b)
    if len(la) != len(lb):
        return False
    return all(np.shape(x) == np.shape(y) and np.allclose(x, y, rtol=rtol, atol=atol)
               for x, y in zip(la, lb, strict=True))


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}"


# ----------------------------------------------------------------------------- one workload


def run_workload(workload: Workload, size: str, settings: Settings,
                 peers: list[Any] | None = None, first: bool = True) -> WorkloadReport:
    """Measure the primal, the hand-written gradient, adcompiler and the available peers."""
    report = WorkloadReport(workload.name, size, workload.size_label(size),
                            workload.description)
    args = workload.args(size)
    hand = workload.hand_grad
    expected = hand(*args)

    fns: dict[str, Callable[[], Any]] = {
        "primal": lambda: workload.primal(*args),
        "hand-written": lambda: hand(*args),
    }
    rows = {"hand-written": Row("hand-written")}

    ad_row = Row("adcompiler")
    try:
        g = workload.adcompiler_grad()
        got = g(*args)
        if same_gradient(got, expected):
            fns["adcompiler"] = lambda: g(*args)
        else:
            ad_row.status = "WRONG gradient (differs from hand-written)"
    except Exception as exc:
        ad_row.status = f"unsupported: {_short(exc)}"
    rows["adcompiler"] = ad_row

    for peer in peers or []:
        row = Row(peer.name)
        rows[peer.name] = row
        try:
            fn = peer.prepare(workload, args)
            if not same_gradient(peer.to_numpy(fn()), expected, rtol=1e-5, atol=1e-7):
                row.status = "WRONG gradient (differs from hand-written)"
                continue
            fns[peer.name] = fn
        except Exception as exc:
            row.status = f"failed: {_short(exc)}"

    timings = time_interleaved(fns, settings)
    report.primal = timings.pop("primal")
    report.primal_peak_bytes = peak_memory(fns["primal"])
    for name, timing in timings.items():
        rows[name].timing = timing
        tracked = not any(p.name == name and not p.tracemalloc for p in peers or [])
        rows[name].peak_bytes = peak_memory(fns[name]) if tracked else None
    if first and ad_row.status == "ok":
        try:
            ad_row.first_call = first_call(workload.name, size, settings.first_call_repeats)
        except Exception as exc:
            report.notes.append(f"first call failed: {_short(exc)}")
    report.rows = list(rows.values())
    return report


def run_checkpoint(settings: Settings) -> dict[str, Any]:
    """Issue 7: peak memory of one gradient of an 8-layer MLP, checkpointed layers vs not."""
    import adcompiler as ad

    from .workloads import (
        CHECKPOINT_BATCH,
        CHECKPOINT_LAYERS,
        CHECKPOINT_WIDTH,
        deep_mlp,
        deep_mlp_args,
        deep_mlp_checkpointed,
        deep_mlp_grad,
    )

    args = deep_mlp_args()
    expected = deep_mlp_grad(*args)
    result: dict[str, Any] = {
        "config": f"{CHECKPOINT_LAYERS} layers, width {CHECKPOINT_WIDTH}, "
                  f"batch {CHECKPOINT_BATCH}, float64",
    }
    fns: dict[str, Callable[[], Any]] = {"hand-written": lambda: deep_mlp_grad(*args)}
    for label, f in (("plain", deep_mlp), ("checkpointed", deep_mlp_checkpointed)):
        try:
            g = ad.grad(f, wrt=(0, 1))
            if not same_gradient(g(*args), expected):
                result[label] = "WRONG gradient (differs from hand-written)"
                continue
            fns[label] = lambda g=g: g(*args)
        except Exception as exc:
            result[label] = f"unsupported: {_short(exc)}"
    timings = time_interleaved(fns, Settings(settings.block_seconds, max(3, settings.rounds // 2),
                                             1))
    for label, fn in fns.items():
        result[label] = {"peak_bytes": peak_memory(fn), "median": timings[label].median}
    if isinstance(result.get("plain"), dict) and isinstance(result.get("checkpointed"), dict):
        result["memory_ratio"] = (result["checkpointed"]["peak_bytes"]
                                  / result["plain"]["peak_bytes"])
        result["time_ratio"] = result["checkpointed"]["median"] / result["plain"]["median"]
    return result


def run(names: list[str] | None, size: str, settings: Settings, peers: list[Any] | None = None,
        first: bool = True, checkpoint: bool = True) -> dict[str, Any]:
    """The whole report: machine, versions, one ``WorkloadReport`` per workload."""
    from .peers import machine_info

    selected = names or list(WORKLOADS)
    unknown = [n for n in selected if n not in WORKLOADS and n != "checkpoint"]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    reports = [run_workload(WORKLOADS[n], size, settings, peers, first)
               for n in selected if n in WORKLOADS]
    out: dict[str, Any] = {"machine": machine_info(), "size": size, "workloads": reports,
                           "peers": [p.name for p in peers or []]}
    if checkpoint and (names is None or "checkpoint" in names):
        out["checkpoint"] = run_checkpoint(settings)
    return out
