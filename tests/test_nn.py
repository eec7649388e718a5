"""adcompiler.nn: every building block differentiated by the compiler (both modes)."""

import dataclasses
import itertools
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler import nn

RNG = np.random.default_rng(0)
X34 = RNG.standard_normal((3, 4))
T34 = RNG.standard_normal((3, 4))
Y34 = (RNG.random((3, 4)) > 0.5).astype(np.float64)
W34 = RNG.random((3, 4)) + 0.5
IMAGES = RNG.standard_normal((2, 3, 6, 6))
KERNEL = {"w": RNG.standard_normal((2, 3, 3, 3)), "b": RNG.standard_normal(2)}
DENSE = {"w": RNG.standard_normal((4, 3)), "b": RNG.standard_normal(3)}


# user-style functions over the building blocks ---------------------------------------
def f_relu(x):
    return nn.relu(x)


def f_sigmoid(x):
    return nn.sigmoid(x)


def f_softplus(x):
    return nn.softplus(x)


def f_tanh(x):
    return nn.tanh(x)


def f_softmax(x):
    return nn.softmax(x)


def f_softmax_axis0(x):
    return nn.softmax(x, axis=0)


def f_log_softmax(x):
    return nn.log_softmax(x)


def f_log_softmax_axis0(x):
    return nn.log_softmax(x, axis=0)


def f_logsumexp(x):
    return nn.logsumexp(x)


def f_logsumexp_axis0_keepdims(x):
    return nn.logsumexp(x, axis=0, keepdims=True)


def f_mse(p, t):
    return nn.mse(p, t)


def f_bce(z, y):
    return nn.binary_cross_entropy_with_logits(z, y)


def f_bce_weight(z, y, w):
    return nn.binary_cross_entropy_with_logits(z, y, w)


def f_bce_pos_weight(z, y, w):
    return nn.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=2.0)


def f_bce_sum(z, y):
    return nn.binary_cross_entropy_with_logits(z, y, reduction="sum")


def f_bce_none(z, y):
    return nn.binary_cross_entropy_with_logits(z, y, reduction="none")


def f_softmax_ce(z, labels):
    return nn.softmax_cross_entropy(z, labels)


def f_dense(params, x):
    return np.sin(nn.dense(params, x))


def f_dense_x(x, params):
    return np.sum(np.sin(nn.dense(params, x)))


def f_conv(params, x):
    return np.sum(np.sin(nn.conv2d(params, x)))


def f_conv_x(x, params):
    return np.sum(np.sin(nn.conv2d(params, x)))


def f_conv_stride2_pad1(params, x):
    return np.sum(np.sin(nn.conv2d(params, x, stride=2, padding=1)))


def f_conv_pad2_x(x, params):
    return np.cos(nn.conv2d(params, x, padding=2))


def f_conv_no_bias(w, x):
    return np.sum(np.sin(nn.conv2d({"w": w}, x, stride=3)))


def f_max_pool(x):
    return np.sin(nn.max_pool2d(x))


def f_max_pool3(x):
    return np.sin(nn.max_pool2d(x, size=3))


def f_avg_pool(x):
    return np.sin(nn.avg_pool2d(x))


def f_flatten(x):
    return np.sin(nn.flatten(x))


LABELS = np.array([1, 1, 3])
CASES = [
    ("relu", f_relu, [X34], 0),
    ("sigmoid", f_sigmoid, [X34], 0),
    ("softplus", f_softplus, [X34], 0),
    ("tanh", f_tanh, [X34], 0),
    ("softmax", f_softmax, [X34], 0),
    ("softmax-axis0", f_softmax_axis0, [X34], 0),
    ("log_softmax", f_log_softmax, [X34], 0),
    ("log_softmax-axis0", f_log_softmax_axis0, [X34], 0),
    ("logsumexp", f_logsumexp, [X34], 0),
    ("logsumexp-axis0-keepdims", f_logsumexp_axis0_keepdims, [X34], 0),
    ("mse-prediction", f_mse, [X34, T34], 0),
    ("mse-target", f_mse, [X34, T34], 1),
    ("bce", f_bce, [X34, Y34], 0),
    ("bce-labels", f_bce, [X34, Y34], 1),
    ("bce-weight", f_bce_weight, [X34, Y34, W34], (0, 2)),
    ("bce-pos-weight", f_bce_pos_weight, [X34, Y34, W34], 0),
    ("bce-sum", f_bce_sum, [X34, Y34], 0),
    ("bce-none", f_bce_none, [X34, Y34], 0),
    ("softmax-ce", f_softmax_ce, [X34, LABELS], 0),
    ("dense-params", f_dense, [DENSE, X34], 0),
    ("dense-x", f_dense_x, [X34, DENSE], 0),
    ("conv2d-params", f_conv, [KERNEL, IMAGES], 0),
    ("conv2d-x", f_conv_x, [IMAGES, KERNEL], 0),
    ("conv2d-stride2-pad1", f_conv_stride2_pad1, [KERNEL, IMAGES], 0),
    ("conv2d-pad2-x", f_conv_pad2_x, [IMAGES, KERNEL], 0),
    ("conv2d-no-bias-stride3", f_conv_no_bias, [KERNEL["w"], IMAGES], 0),
    ("max_pool2d", f_max_pool, [IMAGES], 0),
    ("max_pool2d-size3", f_max_pool3, [IMAGES], 0),
    ("avg_pool2d", f_avg_pool, [IMAGES], 0),
    ("flatten", f_flatten, [IMAGES], 0),
]


@pytest.mark.parametrize(("f", "args", "wrt"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_check_grads_both_modes(f, args, wrt):
    ad.check_grads(f, args, wrt=wrt)


# conventions --------------------------------------------------------------------------
def f_relu_sum(x):
    return np.sum(nn.relu(x))


def f_pool_sum(x):
    return np.sum(nn.max_pool2d(x))


def test_relu_derivative_is_zero_at_zero():
    np.testing.assert_array_equal(ad.grad(f_relu_sum)(np.array([-1.0, 0.0, 2.0])),
                                  [0.0, 0.0, 1.0])


def test_max_pool_ties_split_equally():
    x = np.ones((1, 1, 2, 4))
    x[0, 0, 0, 2] = 5.0
    g = ad.grad(f_pool_sum)(x)
    np.testing.assert_array_equal(g[0, 0], [[0.25, 0.25, 1.0, 0.0], [0.25, 0.25, 0.0, 0.0]])


def f_pick_repeated(x):
    logp = nn.log_softmax(x)
    return np.sum(logp[np.array([0, 0, 2]), np.array([1, 1, 3])])


def test_fancy_indexing_with_repeated_labels_accumulates():
    ad.check_grads(f_pick_repeated, [X34])
    g = ad.grad(f_pick_repeated)(X34)
    p = nn.softmax(X34)
    expected = -2.0 * p[0]
    expected[1] += 2.0
    np.testing.assert_allclose(g[0], expected, rtol=1e-12)


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot():
    g = ad.grad(f_softmax_ce)(X34, LABELS)
    onehot = np.eye(4)[LABELS]
    np.testing.assert_allclose(g, (nn.softmax(X34) - onehot) / 3, rtol=1e-12)


def test_bce_matches_the_direct_formula_and_weights():
    s = 1.0 / (1.0 + np.exp(-X34))
    direct = -(Y34 * np.log(s) + (1 - Y34) * np.log(1 - s))
    assert nn.binary_cross_entropy_with_logits(X34, Y34) == pytest.approx(np.mean(direct))
    assert nn.binary_cross_entropy_with_logits(X34, Y34, W34) == pytest.approx(
        np.mean(W34 * direct))
    pos = -(3.0 * Y34 * np.log(s) + (1 - Y34) * np.log(1 - s))
    np.testing.assert_allclose(
        nn.binary_cross_entropy_with_logits(X34, Y34, pos_weight=3.0, reduction="none"), pos)


def test_conv2d_matches_a_direct_loop():
    x = np.pad(IMAGES, ((0, 0), (0, 0), (1, 1), (1, 1)))
    w, b = KERNEL["w"], KERNEL["b"]
    out = np.zeros((2, 2, 3, 3))
    for a in range(3):
        for c in range(3):
            window = x[:, :, 2 * a:2 * a + 3, 2 * c:2 * c + 3]
            out[:, :, a, c] = np.einsum("nchw,ochw->no", window, w) + b
    np.testing.assert_allclose(nn.conv2d(KERNEL, IMAGES, stride=2, padding=1), out,
                               rtol=1e-12)


def test_pool_and_flatten_shapes():
    assert nn.max_pool2d(IMAGES).shape == (2, 3, 3, 3)
    assert nn.avg_pool2d(IMAGES, size=3).shape == (2, 3, 2, 2)
    assert nn.flatten(IMAGES).shape == (2, 108)
    np.testing.assert_allclose(nn.avg_pool2d(IMAGES)[0, 0, 0, 0],
                               IMAGES[0, 0, :2, :2].mean())


# stability ------------------------------------------------------------------------------
def test_logsumexp_does_not_overflow_at_1e3():
    x = np.array([1e3, 1e3, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = nn.logsumexp(x)
        g = ad.grad(f_logsumexp)(x)
    assert value == pytest.approx(1e3 + np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0], atol=1e-300)


def f_softmax_weighted(x):
    return np.sum(nn.softmax(x) * np.array([1.0, 2.0, 3.0]))


def test_softmax_and_log_softmax_of_large_logits():
    x = np.array([1000.0, 0.0, -1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(nn.softmax(x), [1.0, 0.0, 0.0])
        np.testing.assert_allclose(nn.log_softmax(x), [0.0, -1000.0, -2000.0])
        g = ad.grad(f_softmax_weighted)(x)
    assert np.all(np.isfinite(g))


def f_sigmoid_sum(x):
    return np.sum(nn.sigmoid(x))


def f_softplus_sum(x):
    return np.sum(nn.softplus(x))


def test_sigmoid_and_softplus_are_stable():
    x = np.array([-800.0, 0.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(nn.sigmoid(x), [0.0, 0.5, 1.0])
        np.testing.assert_allclose(nn.softplus(x), [0.0, np.log(2.0), 800.0])
        np.testing.assert_allclose(ad.grad(f_sigmoid_sum)(x), [0.0, 0.25, 0.0])
        np.testing.assert_allclose(ad.grad(f_softplus_sum)(x), [0.0, 0.5, 1.0])
        assert nn.binary_cross_entropy_with_logits(np.array([800.0]), np.array([0.0])) == 800.0


# initialisers ---------------------------------------------------------------------------
def test_initialisers_are_seeded_and_bounded():
    a = nn.dense_params(30, 20, seed=3)
    b = nn.dense_params(30, 20, seed=3)
    np.testing.assert_array_equal(a["w"], b["w"])
    assert not np.array_equal(a["w"], nn.dense_params(30, 20, seed=4)["w"])
    assert np.all(np.abs(a["w"]) <= np.sqrt(6 / 50)) and np.all(a["b"] == 0)
    he = nn.he_uniform((30, 20), np.random.default_rng(0))
    assert np.all(np.abs(he) <= np.sqrt(6 / 30)) and np.abs(he).max() > np.sqrt(6 / 50)
    conv = nn.conv_params(3, 8, 5, seed=0)
    assert conv["w"].shape == (8, 3, 5, 5) and conv["b"].shape == (8,)
    assert np.all(np.abs(conv["w"]) <= np.sqrt(6 / 75))
    mlp = nn.mlp_params([2, 10, 1])
    assert [p["w"].shape for p in mlp] == [(2, 10), (10, 1)]


# optimisers -----------------------------------------------------------------------------
def test_sgd_step():
    opt = nn.sgd(lr=0.1)
    params = {"w": np.array([1.0, 2.0]), "b": 3.0}
    new, _ = opt.update(params, {"w": np.array([1.0, -2.0]), "b": 0.5}, opt.init(params))
    np.testing.assert_allclose(new["w"], [0.9, 2.2])
    assert new["b"] == pytest.approx(2.95)
    np.testing.assert_array_equal(params["w"], [1.0, 2.0])  # not mutated


def test_sgd_momentum_two_steps():
    opt = nn.sgd(lr=0.1, momentum=0.9)
    p = [np.array([1.0])]
    state = opt.init(p)
    p, state = opt.update(p, [np.array([1.0])], state)   # v = 1,        p = 0.9
    p, state = opt.update(p, [np.array([2.0])], state)   # v = 0.9 + 2,  p = 0.9 - 0.29
    np.testing.assert_allclose(state.velocity[0], [2.9])
    np.testing.assert_allclose(p[0], [0.61])
    opt = nn.sgd(lr=0.1, momentum=0.9, nesterov=True)
    q, _ = opt.update([np.array([1.0])], [np.array([1.0])], opt.init([np.array([1.0])]))
    np.testing.assert_allclose(q[0], [1.0 - 0.1 * (1.0 + 0.9)])


@dataclasses.dataclass
class Weights:
    w: np.ndarray
    b: np.ndarray


def test_adam_two_steps_by_hand_on_a_dataclass():
    opt = nn.adam(lr=0.01, b1=0.9, b2=0.999, eps=1e-8)
    p = Weights(np.array([1.0, -1.0]), np.array([0.5]))
    state = opt.init(p)
    g1 = Weights(np.array([0.5, -2.0]), np.array([1.0]))
    g2 = Weights(np.array([1.0, 1.0]), np.array([-1.0]))
    p1, state = opt.update(p, g1, state)
    p2, state = opt.update(p1, g2, state)
    assert isinstance(p2, Weights) and state.step == 2
    # by hand, for the first coordinate of w
    m1, v1 = 0.1 * 0.5, 0.001 * 0.25
    x1 = 1.0 - 0.01 * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-8)
    m2, v2 = 0.9 * m1 + 0.1 * 1.0, 0.999 * v1 + 0.001 * 1.0
    x2 = x1 - 0.01 * (m2 / (1 - 0.9 ** 2)) / (np.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8)
    assert p1.w[0] == pytest.approx(0.99, rel=1e-9)  # the first Adam step is lr * sign(g)
    assert p2.w[0] == pytest.approx(x2, rel=1e-12)
    np.testing.assert_allclose(p1.w, [0.99, -0.99])
    np.testing.assert_allclose(p1.b, [0.49])


# end to end -----------------------------------------------------------------------------
def mlp_loss(params, x, labels):
    h = nn.relu(nn.dense(params[0], x))
    h = nn.tanh(nn.dense(params[1], h))
    return nn.softmax_cross_entropy(nn.dense(params[2], h), labels)


def test_tiny_mlp_trained_with_adam_loss_falls():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 3))
    labels = (x[:, 0] + x[:, 1] ** 2 > 0.5).astype(np.int64)
    params = nn.mlp_params([3, 8, 8, 2], seed=1)
    ad.check_grads(mlp_loss, [params, x[:5], labels[:5]])
    opt = nn.adam(lr=0.05)
    state = opt.init(params)
    value_and_grad = ad.value_and_grad(mlp_loss)
    losses = []
    for _ in range(40):
        loss, grads = value_and_grad(params, x, labels)
        losses.append(loss)
        params, state = opt.update(params, grads, state)
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a + 1e-3 for a, b in itertools.pairwise(losses))


def test_nn_functions_are_transformed_not_ruled():
    from adcompiler.rules.registry import rule_for
    for name in nn.__all__:
        assert rule_for(getattr(nn, name)) is None, name
    assert "np.maximum" in ad.source(f_relu_sum) or "relu" in ad.source(f_relu_sum)


def test_docs_nn_code_blocks_run(tmp_path):
    text = (Path(__file__).resolve().parents[1] / "docs" / "nn.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    script = tmp_path / "nn_doc.py"
    script.write_text("\n\n".join(blocks))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "loss" in done.stdout


def f32_net(params, x):
    h = nn.max_pool2d(nn.conv2d(params, x, padding=1))
    return nn.softmax_cross_entropy(nn.flatten(h), np.array([0, 1]))


def test_float32_stays_float32():
    x = RNG.standard_normal((2, 1, 4, 4)).astype(np.float32)
    params = {"w": RNG.standard_normal((2, 1, 3, 3)).astype(np.float32),
              "b": np.zeros(2, np.float32)}
    g = ad.grad(f32_net)(params, x)
    assert g["w"].dtype == np.float32 and g["b"].dtype == np.float32
