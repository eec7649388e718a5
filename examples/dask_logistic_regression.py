"""Logistic regression on 10 million rows with Dask: gradient descent with the generated gradient.

The loss is ordinary NumPy code. adcompiler turns it into a gradient that is ordinary NumPy
code too, and every call in it dispatches to the argument's array type, so with
``dask.array`` inputs each step builds a lazy task graph that the workers of a
``dask.distributed`` cluster run chunk by chunk.

    python examples/dask_logistic_regression.py                      # 100 000 rows, 2 workers
    python examples/dask_logistic_regression.py --rows 10_000_000 --workers 1
    python examples/dask_logistic_regression.py --scheduler tcp://host:8786   # a real cluster

See docs/dask.md.
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import adcompiler as ad


def loss(w, b, x, y):
    """Mean binary cross-entropy of the logits ``x @ w + b`` against labels ``y``."""
    z = x @ w + b
    per_row = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(per_row)


def make_data(rows: int, features: int, chunk: int, dtype: str, seed: int = 0):
    """Random features and labels from a known linear model, generated on the workers."""
    rng = da.random.RandomState(seed)
    x = rng.standard_normal((rows, features), chunks=(chunk, features)).astype(dtype)
    w_true = np.linspace(-1.0, 1.0, features).astype(dtype)
    noise = rng.standard_normal(rows, chunks=chunk).astype(dtype)
    y = (x @ w_true + 0.5 + noise > 0).astype(dtype)
    return x, y, w_true


def fit(x, y, steps: int, lr: float, verbose: bool = True) -> dict:
    """Gradient descent; returns the final parameters, losses and seconds per step."""
    value_and_grad = ad.value_and_grad(loss, wrt=(0, 1))
    features = x.shape[1]
    w = np.zeros(features, dtype=x.dtype)
    b = np.zeros(1, dtype=x.dtype)
    losses, times = [], []
    for step in range(steps):
        start = time.perf_counter()
        # tiny single-chunk dask arrays: the value and both gradients stay lazy, so one
        # dask.compute runs the forward and backward sweeps in a single pass over the data
        value, (dw, db) = value_and_grad(da.from_array(w), da.from_array(b), x, y)
        value, dw, db = dask.compute(value, dw, db)
        times.append(time.perf_counter() - start)
        w = w - lr * dw
        b = b - lr * db
        losses.append(float(value))
        if verbose:
            print(f"step {step:3d}  loss {losses[-1]:.6f}  {times[-1]:.3f} s")
    return {"w": w, "b": b, "losses": losses, "seconds_per_step": times}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=None,
                        help="rows per chunk (default: rows / 20, at least 1000)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", action="store_true",
                        help="workers as threads of this process instead of processes")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running scheduler (tcp://host:8786); "
                        "default: start a LocalCluster")
    args = parser.parse_args(argv)
    chunk = args.chunk or max(1000, args.rows // 20)

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=not args.threads, protocol="tcp",
                               host="127.0.0.1", dashboard_address=":0")
        client = Client(cluster)
    try:
        print(f"dashboard: {client.dashboard_link}")
        print(f"workers: {len(client.scheduler_info()['workers'])}, rows: {args.rows:,}, "
              f"features: {args.features}, chunk: {chunk:,} rows, dtype: {args.dtype}")
        x, y, w_true = make_data(args.rows, args.features, chunk, args.dtype)
        x, y = client.persist([x, y])  # generate once, keep in the workers' memory
        start = time.perf_counter()
        dask.compute(x.sum(), y.sum())  # wait for the data, outside the timed steps
        print(f"data ready in {time.perf_counter() - start:.2f} s "
              f"({x.nbytes / 1e6:,.0f} MB of features)")
        result = fit(x, y, args.steps, args.lr)
        steady = result["seconds_per_step"][1:] or result["seconds_per_step"]
        print(f"mean time per gradient step (after the first): {np.mean(steady):.3f} s")
        print(f"w = {np.round(result['w'], 3)}, b = {np.round(result['b'], 3)}")
        print(f"(the labels came from w = {np.round(w_true, 3)}, b = 0.5, plus noise)")
        return result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
