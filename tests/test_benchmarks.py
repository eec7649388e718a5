"""The benchmark workloads: hand-written gradients are right, adcompiler agrees, harness runs.

No timing assertions: the machine is shared; only the structure of the report is checked.
"""

from __future__ import annotations

import numpy as np
import pytest

import adcompiler as ad
from benchmarks import harness, report
from benchmarks.workloads import (
    WORKLOADS,
    deep_mlp,
    deep_mlp_args,
    deep_mlp_checkpointed,
    deep_mlp_grad,
)


def _wrt(w):
    return w.wrt if isinstance(w.wrt, tuple) else (w.wrt,)


def _direction(value, rng):
    if isinstance(value, dict):
        return {k: _direction(v, rng) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_direction(v, rng) for v in value)
    if isinstance(value, float):
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(value))


def _axpy(a, x, y):
    """y + a * x over matching trees."""
    if isinstance(y, dict):
        return {k: _axpy(a, x[k], y[k]) for k in y}
    if isinstance(y, list | tuple):
        return type(y)(_axpy(a, xi, yi) for xi, yi in zip(x, y, strict=True))
    return y + a * x


def _dot(g, v):
    if isinstance(g, dict):
        return sum(_dot(g[k], v[k]) for k in g)
    if isinstance(g, list | tuple):
        return sum(_dot(gi, vi) for gi, vi in zip(g, v, strict=True))
    return float(np.sum(np.asarray(g) * np.asarray(v)))


def directional_check(f, grad, args, wrt, directions=3, eps=1e-6):
    """<grad, v> against the central finite difference of f along v, for random v."""
    rng = np.random.default_rng(1)
    g = grad(*args)
    gs = g if len(wrt) > 1 else (g,)
    for _ in range(directions):
        vs = [_direction(args[i], rng) for i in wrt]
        plus, minus = list(args), list(args)
        for i, v in zip(wrt, vs, strict=True):
            plus[i] = _axpy(eps, v, args[i])
            minus[i] = _axpy(-eps, v, args[i])
        fd = (f(*plus) - f(*minus)) / (2 * eps)
        an = sum(_dot(gi, v) for gi, v in zip(gs, vs, strict=True))
        assert an == pytest.approx(fd, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_hand_gradient_matches_finite_differences(name):
    w = WORKLOADS[name]
    directional_check(w.primal, w.hand_grad, w.args("small"), _wrt(w))


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_adcompiler_gradient_equals_hand_written(name):
    w = WORKLOADS[name]
    args = w.args("small")
    got = w.adcompiler_grad()(*args)
    assert harness.same_gradient(got, w.hand_grad(*args))


def test_checkpoint_workload_gradients():
    args = deep_mlp_args(layers=3, width=16, batch=4)
    directional_check(deep_mlp, deep_mlp_grad, args, (0, 1))
    expected = deep_mlp_grad(*args)
    for f in (deep_mlp, deep_mlp_checkpointed):
        assert harness.same_gradient(ad.grad(f, wrt=(0, 1))(*args), expected)


def test_harness_report_structure():
    settings = harness.Settings(block_seconds=0.0005, rounds=2, first_call_repeats=1)
    w = harness.run_workload(WORKLOADS["rosenbrock"], "small", settings, peers=[], first=True)
    assert [r.system for r in w.rows] == ["hand-written", "adcompiler"]
    assert w.primal is not None and w.primal.min <= w.primal.median <= w.primal.max
    for row in w.rows:
        assert row.status == "ok"
        assert row.timing.min <= row.timing.median <= row.timing.max
        assert row.timing.calls_per_block >= 1
        assert row.peak_bytes is not None and row.peak_bytes >= 0
    assert w.ratio("hand-written") == 1.0
    assert w.ratio("adcompiler") > 0 and w.grad_over_primal("adcompiler") > 0
    ad_row = w.row("adcompiler")
    assert ad_row.first_call is not None and ad_row.first_call > 0
    text = report.render({"machine": {"date": "today", "platform": "p", "processor": "c",
                                      "cpus": 2, "blas_threads": "1", "python": "3",
                                      "numpy": "2", "adcompiler": "0"},
                          "size": "small", "workloads": [w]})
    assert "| rosenbrock | 100 | adcompiler |" in text
    assert text.count("\n| rosenbrock |") == 2


def test_unsupported_workload_is_reported_not_faked():
    def bad(x):
        return np.sum(np.frompyfunc(lambda v: v, 1, 1)(x).astype(float))

    w = harness.Workload("bad", bad, np.ones_like, 0, lambda n: (np.ones(n),),
                         {"small": 3})
    settings = harness.Settings(block_seconds=0.0002, rounds=1, first_call_repeats=1)
    rep = harness.run_workload(w, "small", settings, peers=[], first=False)
    row = rep.row("adcompiler")
    assert row.timing is None
    assert row.status.startswith(("unsupported:", "WRONG"))
