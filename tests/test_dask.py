"""The generated gradient runs on chunked Dask arrays, on a dask.distributed cluster.

Generated code only calls NumPy functions that dispatch (ufuncs, ``np.sum``,
``np.zeros_like``, ``@``, methods), so with ``dask.array`` inputs it builds a lazy task
graph; computing it on a two-worker ``LocalCluster`` gives the NumPy gradient.
Skipped when the ``dask`` extra (``pip install -e ".[dask]"``) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import adcompiler as ad

da = pytest.importorskip("dask.array", reason="dask is not installed: pip install -e '.[dask]'")
distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed: pip install -e '.[dask]'")

# distributed's own start-up / shutdown noise, not ours (pyproject turns warnings into errors)
pytestmark = [
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROWS, FEATURES, CHUNK = 10_000, 20, 2_500


@pytest.fixture(scope="module")
def client():
    # threads, not processes: starts in about a second and needs no pickling of our modules
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


# -- the losses, written as for NumPy ---------------------------------------------------
def logistic_loss(w, b, x, y):
    z = x @ w + b
    per_row = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(per_row)


def mlp_loss(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out[:, 0] - y) ** 2)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((ROWS, FEATURES))
    y = (rng.random(ROWS) > 0.5).astype(np.float64)
    w = 0.1 * rng.standard_normal(FEATURES)
    b = np.array([0.3])
    params = {"W1": 0.3 * rng.standard_normal((FEATURES, 8)), "b1": np.zeros(8),
              "W2": 0.3 * rng.standard_normal((8, 1)), "b2": np.zeros(1)}
    return {"x": x, "y": y, "w": w, "b": b, "params": params,
            "dx": da.from_array(x, chunks=(CHUNK, FEATURES)),
            "dy": da.from_array(y, chunks=CHUNK)}


def test_logistic_gradient_is_lazy_and_matches_numpy(client, data):
    grad = ad.grad(logistic_loss, wrt=(0, 1))
    want_w, want_b = grad(data["w"], data["b"], data["x"], data["y"])
    # parameters as (single-chunk) dask arrays: the gradient stays a dask array
    w, b = da.from_array(data["w"]), da.from_array(data["b"])
    dw, db = grad(w, b, data["dx"], data["dy"])
    assert isinstance(dw, da.Array)
    assert isinstance(db, da.Array)
    assert dw.shape == want_w.shape
    got_w, got_b = client.compute([dw, db], sync=True)  # runs on the two workers
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-12, atol=1e-14)


def test_logistic_gradient_with_numpy_parameters_matches_numpy(client, data):
    # NumPy parameters, dask data: correct values (computed through the cluster)
    grad = ad.grad(logistic_loss, wrt=(0, 1))
    want_w, want_b = grad(data["w"], data["b"], data["x"], data["y"])
    dw, db = grad(data["w"], data["b"], data["dx"], data["dy"])
    np.testing.assert_allclose(np.asarray(dw), want_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(db), want_b, rtol=1e-12, atol=1e-14)


def test_logistic_gradient_with_numpy_parameters_is_lazy(client, data):
    dw, _ = ad.grad(logistic_loss, wrt=(0, 1))(data["w"], data["b"], data["dx"], data["dy"])
    assert isinstance(dw, da.Array)


def test_value_and_grad_on_dask(client, data):
    w, b = da.from_array(data["w"]), da.from_array(data["b"])
    value, (dw, _db) = ad.value_and_grad(logistic_loss, wrt=(0, 1))(w, b, data["dx"],
                                                                      data["dy"])
    assert isinstance(value, da.Array)
    assert isinstance(dw, da.Array)
    want = logistic_loss(data["w"], data["b"], data["x"], data["y"])
    got_value, got_w = client.compute([value, dw], sync=True)
    assert float(got_value) == pytest.approx(float(want), rel=1e-12)
    want_w, _ = ad.grad(logistic_loss, wrt=(0, 1))(data["w"], data["b"], data["x"], data["y"])
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12, atol=1e-14)


def test_mlp_gradient_matches_numpy(client, data):
    grad = ad.grad(mlp_loss)
    want = grad(data["params"], data["x"], data["y"])
    got = grad(data["params"], data["dx"], data["dy"])
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(np.asarray(got[name]), want[name], rtol=1e-11, atol=1e-13,
                                   err_msg=name)


def test_mlp_gradient_is_lazy_with_dask_parameters(client, data):
    grad = ad.grad(mlp_loss)
    want = grad(data["params"], data["x"], data["y"])
    params = {name: da.from_array(v) for name, v in data["params"].items()}
    got = grad(params, data["dx"], data["dy"])
    assert all(isinstance(v, da.Array) for v in got.values())
    computed = client.compute(got, sync=True)
    for name in want:
        np.testing.assert_allclose(computed[name], want[name], rtol=1e-11, atol=1e-13,
                                   err_msg=name)


def test_mlp_gradient_with_numpy_parameters_is_lazy(client, data):
    got = ad.grad(mlp_loss)(data["params"], data["dx"], data["dy"])
    assert all(isinstance(v, da.Array) for v in got.values())


def test_forward_mode_on_dask(client, data):
    w, b = da.from_array(data["w"]), da.from_array(data["b"])
    tw = np.ones(FEATURES) / FEATURES
    _value, tangent = ad.jvp(logistic_loss, (w, b, data["dx"], data["dy"]),
                            (da.from_array(tw), da.zeros(1), None, None))
    assert isinstance(tangent, da.Array)
    want_w, _ = ad.grad(logistic_loss, wrt=(0, 1))(data["w"], data["b"], data["x"], data["y"])
    got = client.compute(tangent, sync=True)
    assert float(got) == pytest.approx(float(want_w @ tw), rel=1e-10)


def fancy_rows(w, x):
    rows = np.array([0, 0, 2])
    return np.sum(x[rows] @ w)


def test_fancy_index_gradient_on_dask_names_the_array_type(client, data):
    # dask.array has no ufunc.at, which the adjoint of fancy indexing needs: a clear error
    with pytest.raises(ad.ADError, match=r"np\.add\.at, which dask\.array\.core\.Array"):
        ad.grad(fancy_rows, wrt=1)(da.from_array(data["w"]), data["dx"])


def slice_rows(w, x):
    z = x @ w
    return np.sum(z[:5])


def test_slice_gradient_on_dask(client, data):
    # basic slices become `dz = np.zeros_like(z); dz[:5] = dt`: dask supports that setitem
    grad = ad.grad(slice_rows, wrt=(0, 1))
    want_w, want_x = grad(data["w"], data["x"])
    dw, dx = grad(da.from_array(data["w"]), data["dx"])
    assert isinstance(dx, da.Array)
    got_w, got_x = client.compute([dw, dx], sync=True)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12)
    np.testing.assert_allclose(got_x, want_x, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # bokeh / tornado, dashboard start
def test_example_runs_and_the_loss_goes_down():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import dask_logistic_regression as example

    result = example.main(["--rows", "20000", "--steps", "3", "--workers", "2", "--threads"])
    losses = result["losses"]
    assert losses[0] == pytest.approx(np.log(2.0))  # w = 0, b = 0: every logit is 0
    assert losses[0] > losses[1] > losses[2]
