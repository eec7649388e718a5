"""Batched forward mode (one sweep for all seeds) against one sweep per seed.

``ad.jacobian(mode="forward")`` and ``ad.hessian`` run the tangent program once with
every seed stacked on a leading batch axis, where the transform can prove that safe
(``transform/batched.py``), and otherwise fall back to one sweep per seed. Here every
case of the NumPy corpus and of the forward-mode corpus is run both ways and must agree
to rounding; the per-seed results are themselves checked against finite differences by
those corpora. The dangerous case -- a tangent of lower rank meeting a primal whose
leading size equals the batch size -- has tests of its own.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler import api

sys.path.insert(0, str(Path(__file__).parent))
import test_forward_mode as forward_corpus
import test_numpy_corpus as numpy_corpus


def _array_wrt(args, wrt):
    indices = wrt if isinstance(wrt, tuple) else (wrt,)
    return [i for i in indices if isinstance(args[i], np.ndarray) and args[i].dtype.kind == "f"
            and 1 < args[i].size <= 40]


def _cases():
    out = []
    for func, args, wrt, suffix in numpy_corpus.CASES:
        for index in _array_wrt(args, wrt):
            out.append(pytest.param(func, args, index,
                                    id=f"{func.__name__}-{suffix}-{index}"))
    for name, func, args, wrt in forward_corpus.CASES:
        for index in _array_wrt(args, wrt):
            out.append(pytest.param(func, args, index, id=f"fwd-{name}-{index}"))
    return out


CASES = _cases()


def _per_seed(monkeypatch, call):
    with monkeypatch.context() as patch:
        patch.setattr(api, "_jvp_batched", lambda *a: None)
        return call()


@pytest.mark.parametrize("func, args, index", CASES)
def test_batched_jacobian_equals_one_sweep_per_seed(func, args, index, monkeypatch):
    jacobian = ad.jacobian(func, index, mode="forward")
    try:
        batched = jacobian(*args)
    except ad.ADError:
        with pytest.raises(ad.ADError):
            _per_seed(monkeypatch, lambda: ad.jacobian(func, index, mode="forward")(*args))
        return
    per_seed = _per_seed(monkeypatch, lambda: ad.jacobian(func, index, mode="forward")(*args))
    assert batched.shape == per_seed.shape and batched.dtype == per_seed.dtype
    np.testing.assert_allclose(batched, per_seed, rtol=1e-10, atol=1e-12)


def test_most_of_the_corpus_batches():
    # the comparison above is vacuous if nothing takes the batched path (27 of 117 cases
    # batch today: elementwise code, slices, sum/mean and matrix products; the rest use
    # einsum, solve, reshape, callees... and take one sweep per seed). Counted here, not
    # from the test above, so the count holds whichever process (pytest-xdist) ran those.
    batched = []
    for case in CASES:
        func, args, index = case.values
        jacobian = ad.jacobian(func, index, mode="forward")
        try:
            jacobian(*args)
        except ad.ADError:
            continue
        if jacobian.last_batched:
            batched.append(func.__name__)
    assert len(batched) >= 25, sorted(set(batched))


def widen(x, y):
    # x (3,) against y (3, 3): a batch of 3 seeds must not align with y's first axis
    return np.sin(x) * y + x


def widen_scalar(x, s):
    return x * s


def rows(x, m):
    return np.sum(x[None, :] * m, axis=1) + x[0] * m[:, 1]


@pytest.mark.parametrize("func, args", [
    (widen, (np.array([0.3, -0.2, 0.5]), np.arange(9.0).reshape(3, 3))),
    (widen_scalar, (np.array([0.3, -0.2, 0.5]), 2.5)),
    (rows, (np.array([0.3, -0.2, 0.5]), np.arange(9.0).reshape(3, 3) / 4)),
])
def test_lower_rank_tangents_are_widened_not_misaligned(func, args, monkeypatch):
    jacobian = ad.jacobian(func, 0, mode="forward")
    got = jacobian(*args)
    want = _per_seed(monkeypatch, lambda: ad.jacobian(func, 0, mode="forward")(*args))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    step = 1e-6
    x = args[0]
    columns = [(func(x + step * e, *args[1:]) - func(x - step * e, *args[1:])) / (2 * step)
               for e in np.eye(x.size)]
    np.testing.assert_allclose(got, np.stack(columns, axis=-1), rtol=1e-6, atol=1e-8)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hessian_takes_one_batched_sweep_and_shows_it():
    hessian = ad.hessian(rosenbrock)
    x = np.array([0.5, -0.3, 1.2, 0.8])
    h = hessian(x)
    assert hessian.blocks[0][0].last_batched
    assert "def rosenbrock_grad_jvp_batched(x, " in hessian.source
    assert "[:, 1:]" in hessian.source  # slices keep the batch axis in front
    want = _per_seed(__import__("pytest").MonkeyPatch(), lambda: ad.hessian(rosenbrock)(x))
    np.testing.assert_allclose(h, want, rtol=1e-13)


def with_helper(x):
    return np.sum(helper(x) * x)


def helper(x):
    return np.sin(x) ** 2


def test_a_call_to_a_user_function_falls_back_to_one_sweep_per_seed():
    jacobian = ad.jacobian(ad.grad(with_helper), mode="forward")
    x = np.array([0.1, 0.7, -0.4])
    h = jacobian(x)
    assert not jacobian.last_batched
    np.testing.assert_allclose(h, ad.hessian(with_helper)(x), rtol=1e-13)
