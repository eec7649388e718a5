"""A corpus of user-style NumPy functions differentiated end to end.

Every case runs ``ad.check_grads`` in both modes (reverse and forward, plus the dot-product
test between them) against central finite differences in float64. Evaluation points are
drawn from a fixed seed and kept away from kinks and ties (``|x|`` at 0, ``max`` ties,
hinge and clip boundaries). A few cases run in float32 and check that the gradient stays
float32.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).parent))
import corpus_numpy as c

rng = np.random.default_rng(20240531)


def normal(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape, gap=0.3):
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + gap, x - gap)


def spd(n):
    a = normal(n, n)
    return a @ a.T + n * np.eye(n)


def well_conditioned(n):
    return normal(n, n) + 3.0 * np.eye(n)


LABELS = np.array([2, 0, 1, 2])
ONEHOT = np.eye(3)[LABELS]
HINGE_X = normal(6, 3)
HINGE_Y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
_w = normal(3)
# margins 1 - y (x @ w) kept at least 0.2 away from 0 (the hinge's kink)
_m = 1.0 - HINGE_Y * (HINGE_X @ _w)
HINGE_W = _w if np.min(np.abs(_m)) > 0.2 else _w * 1.37
LOGREG_Y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
MLP = [normal(3, 4), normal(4), normal(4, 2), normal(2)]

# (function, args, wrt, id suffix)
CASES = [
    (c.mse, (normal(5), normal(5)), (0, 1), "vec"),
    (c.mse, (normal(2, 3), normal(2, 3)), (0, 1), "mat"),
    (c.mse, (np.array(0.7), np.array(-0.2)), (0, 1), "0d"),
    (c.mae, (away_from_zero(6), np.zeros(6)), 0, ""),
    (c.huber, (np.array([0.2, -0.5, 2.0, -3.0, 0.9]), np.zeros(5)), 0, ""),
    (c.hinge, (HINGE_W, HINGE_X, HINGE_Y), 0, ""),
    (c.cross_entropy, (normal(4, 3), LABELS), 0, ""),
    (c.softmax_cross_entropy_onehot, (normal(4, 3), ONEHOT), 0, ""),
    (c.kl_divergence, (normal(3, 4), normal(3, 4)), (0, 1), ""),
    (c.bce_with_logits, (away_from_zero(6), rng.uniform(size=6)), 0, ""),
    (c.ridge_regression, (normal(3), normal(5, 3), normal(5)), (0, 1, 2), ""),
    (c.logistic_regression, (normal(3), 0.3, normal(5, 3), LOGREG_Y), (0, 1), ""),
    (c.layer_norm, (normal(4), normal(4), normal(4)), (0, 1, 2), "vec"),
    (c.layer_norm, (normal(3, 5), normal(5), normal(5)), (0, 1, 2), "mat"),
    (c.layer_norm, (normal(2, 3, 4), normal(4), normal(4)), (0, 1, 2), "3d"),
    (c.batch_norm, (normal(6, 3), normal(3), normal(3)), (0, 1, 2), ""),
    (c.zscore, (normal(7),), 0, "vec"),
    (c.zscore, (normal(3, 4),), 0, "mat"),
    (c.zscore, (normal(2, 2, 3),), 0, "3d"),
    (c.l2_normalise, (normal(5),), 0, "vec"),
    (c.l2_normalise, (normal(3, 4),), 0, "mat"),
    (c.l2_normalise, (normal(2, 3, 2),), 0, "3d"),
    (c.softmax_entropy, (normal(6),), 0, ""),
    (c.attention, (normal(3, 4), normal(5, 4), normal(5, 2)), (0, 1, 2), ""),
    (c.multi_head_attention, (normal(3, 4), normal(4, 4), normal(4, 4), normal(4, 4)),
     (0, 1, 2, 3), ""),
    (c.einsum_attention, (normal(3, 2), normal(3, 2)), (0, 1), ""),
    (c.pairwise_sq_distances, (normal(3, 2), normal(4, 2)), (0, 1), ""),
    (c.pairwise_sq_distances_expanded, (normal(3, 2), normal(4, 2)), (0, 1), ""),
    (c.cosine_similarity, (normal(4), normal(4)), (0, 1), ""),
    (c.mahalanobis_solve, (normal(3), normal(3), spd(3)), (0, 1, 2), ""),
    (c.mahalanobis_inv, (normal(3), normal(3), spd(3)), (0, 1, 2), ""),
    (c.least_squares_fit, (np.linspace(-1.0, 1.0, 6), normal(6)), (0, 1), ""),
    (c.poly_fit_residual, (np.linspace(-1.0, 1.0, 5), normal(5)), (0, 1), ""),
    (c.polyval_horner, (normal(4), normal(3)), (0, 1), ""),
    (c.gaussian_loglik_slogdet, (normal(3), normal(3, 3)), (0, 1), ""),
    (c.gaussian_loglik_cholesky, (normal(3), normal(3, 3)), (0, 1), ""),
    (c.trace_of_inverse, (well_conditioned(3),), 0, ""),
    (c.det_of_product, (normal(3, 3), normal(3, 3)), (0, 1), ""),
    (c.einsum_bilinear, (normal(3), normal(3, 4), normal(4)), (0, 1, 2), ""),
    (c.batched_bilinear, (normal(4, 3), normal(3, 3)), (0, 1), ""),
    (c.frobenius_outer, (normal(3), normal(2)), (0, 1), ""),
    (c.tensordot_contract, (normal(2, 3, 4), normal(3, 4, 2)), (0, 1), ""),
    (c.cumulative_returns, (rng.uniform(-0.1, 0.1, 6),), 0, ""),
    (c.cumprod_growth, (rng.uniform(-0.5, 0.5, 5),), 0, ""),
    (c.gather_repeated, (normal(3),), 0, ""),
    (c.embedding_lookup, (normal(4, 3), np.array([[0, 3, 3], [1, 0, 3]])), 0, ""),
    (c.boolean_mask, (np.array([0.5, -1.0, 0.3, 2.0, -0.2, 0.05]),), 0, ""),
    (c.take_along, (normal(3, 4),), 0, ""),
    (c.index_assign, (normal(4),), 0, ""),
    (c.mask_assign, (np.array([0.5, -1.0, 0.3, 2.0, -0.2]),), 0, ""),
    (c.scatter_add, (normal(5),), 0, ""),
    (c.where_clip, (np.array([0.5, -0.6, 1.1, -0.2, 2.0, 0.05]),), 0, ""),
    (c.pad_concat_stack, (normal(4),), 0, ""),
    (c.array_of_scalars, (normal(3),), 0, ""),
    (c.conv1d_valid, (normal(6), normal(3)), (0, 1), ""),
    (c.mlp, (MLP, normal(5, 3)), (0, 1), ""),
    (c.astype_mixed, (normal(2, 3),), 0, ""),
    (c.logsumexp_axes, (normal(2, 3, 4),), 0, ""),
    (c.gram_logdet, (normal(5, 3),), 0, ""),
    (c.least_squares_inline, (np.linspace(-1.0, 1.0, 6), normal(6)), (0, 1), ""),
    (c.copyto_owned, (normal(3),), 0, ""),
    (c.ufunc_out, (normal(3),), 0, ""),
    (c.assign_repeated_indices, (normal(3),), 0, ""),
]

# In-place updates the adjoint cannot see are refused with the construct and line (they
# were silently wrong derivatives once: 0, or half, of the right one).
REFUSED = {"scatter_add": "np.add.at", "copyto_owned": "np.copyto", "ufunc_out": "out="}


def _id(func, suffix):
    return func.__name__ + (f"-{suffix}" if suffix else "")


def _params():
    for func, args, wrt, suffix in CASES:
        name = _id(func, suffix)
        if name not in REFUSED:
            yield pytest.param(func, args, wrt, id=name)


@pytest.mark.parametrize(("func", "args", "wrt"), list(_params()))
def test_corpus_gradients(func, args, wrt):
    ad.check_grads(func, args, wrt, modes=("reverse", "forward"))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_invisible_in_place_updates_are_refused(name):
    func, args, wrt, _ = next(case for case in CASES if case[0].__name__ == name)
    for mode in ("reverse", "forward"):
        with pytest.raises(ad.UnsupportedSyntaxError, match=re.escape(REFUSED[name])) as err:
            ad.check_grads(func, args, wrt, modes=(mode,))
        assert err.value.filename.endswith("corpus_numpy.py")


def test_corpus_size():
    assert len({f.__name__ for f, _, _, _ in CASES}) >= 40


def _f32(x):
    return x.astype(np.float32) if isinstance(x, np.ndarray) and x.dtype == np.float64 else x


FLOAT32 = ["mse-mat", "layer_norm-mat", "attention", "pairwise_sq_distances", "cumulative_returns",
           "gather_repeated", "index_assign", "l2_normalise-vec", "mahalanobis_solve",
           "array_of_scalars"]
_BY_ID = {_id(f, s): (f, a, w) for f, a, w, s in CASES}


@pytest.mark.parametrize("name", FLOAT32)
def test_corpus_float32_gradients_stay_float32(name):
    func, args, wrt = _BY_ID[name]
    args32 = tuple(_f32(a) for a in args)
    grads = ad.grad(func, wrt)(*args32)
    grads64 = ad.grad(func, wrt)(*args)
    if not isinstance(wrt, tuple):
        grads, grads64 = (grads,), (grads64,)
    for g, g64 in zip(grads, grads64, strict=True):
        assert g.dtype == np.float32, name
        np.testing.assert_allclose(g, g64, rtol=2e-3, atol=2e-3)
