"""Memory held by the cache: ``python -m benchmarks.cache_memory [--closures N]``.

Builds the gradient of N distinct closures of one function (each a different function
object, so each is its own cache entry) and reports the process's resident memory:

* at the start (after one warm-up compile, so the compiler's own modules are loaded),
* after the N gradients, with the cache at its default bound (LRU eviction keeps at
  most ``ad.cache_size()`` entries; evicted code and its ``linecache`` lines are freed),
* after ``ad.clear_cache()``.

Targets (issue 17): growth under 30 MB for 5,000 closures; within 5 MB of the start
after ``clear_cache()``. Run it in a fresh process (it is one): resident memory is a
whole-process number. Each gradient is checked against its closed form as it runs.
"""

from __future__ import annotations

import argparse
import gc
import linecache
import resource
import sys
import time

import numpy as np

import adcompiler as ad


def rss_mb() -> float:
    """The current resident set size in MB (``/proc``; peak RSS where there is none)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover - not Linux
        scale = 2**20 if sys.platform == "darwin" else 2**10
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def make(c: float):
    def loss(x):
        return np.sum(np.sin(x) * c + x * x)

    return loss


def generated_lines() -> int:
    return sum(1 for name in linecache.cache if name.startswith("<adcompiler"))


def run(closures: int) -> dict[str, float]:
    x = np.linspace(-1.0, 1.0, 8)
    ad.grad(make(-1.0))(x)  # warm-up: every module the compiler uses is loaded
    ad.clear_cache()
    gc.collect()
    start = rss_mb()
    began = time.perf_counter()
    for i in range(closures):
        c = float(i)
        gradient = ad.grad(make(c))(x)
        if not np.allclose(gradient, c * np.cos(x) + 2 * x):
            raise AssertionError(f"closure {i}: wrong gradient")
    elapsed = time.perf_counter() - began
    gc.collect()
    after = rss_mb()
    info = ad.cache_info()
    lines_after = generated_lines()
    ad.clear_cache()
    gc.collect()
    cleared = rss_mb()
    return {"closures": closures, "bound": info.maxsize, "entries": info.size,
            "misses": info.misses, "linecache_after": lines_after,
            "linecache_cleared": generated_lines(), "start_mb": start,
            "after_mb": after, "cleared_mb": cleared, "growth_mb": after - start,
            "left_mb": cleared - start, "ms_per_closure": 1e3 * elapsed / max(closures, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache_memory",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--closures", type=int, default=5000)
    ns = parser.parse_args(argv)
    r = run(ns.closures)
    print(f"{r['closures']} closures, cache bound {r['bound']}: {r['entries']} entries "
          f"kept, {r['misses']} built ({r['ms_per_closure']:.1f} ms each)")
    print(f"generated sources in linecache: {r['linecache_after']} after, "
          f"{r['linecache_cleared']} after clear_cache()")
    print(f"RSS: start {r['start_mb']:.1f} MB, after {r['after_mb']:.1f} MB "
          f"(+{r['growth_mb']:.1f} MB; target < 30), after clear_cache() "
          f"{r['cleared_mb']:.1f} MB ({r['left_mb']:+.1f} MB from the start; target "
          "within 5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
