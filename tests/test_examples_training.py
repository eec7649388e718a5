"""Seeds S6, S15, S20 (examples/training_loops.py) and S17 (examples/convnet.py)."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import convnet  # noqa: E402
import training_loops as tl  # noqa: E402


@pytest.fixture(scope="module")
def loops():
    return tl.run(quick=True)


def test_s6_custom_training_loop_loss_falls(loops):
    r = loops["s6"]
    assert r["grad_keys"] == ["b1", "b2", "w1", "w2"]
    assert r["final_loss"] < 0.5 * r["losses"][0]


def test_s15_xor_loss_falls(loops):
    losses = loops["s15"]["losses"]
    assert losses[-1] < 0.1 * losses[0]


def test_s15_printed_cotangent_is_dl_dyhat_for_mse(loops):
    r = loops["s15"]
    assert len(r["cotangents"]) == len(r["losses"])
    for y_hat, cotangent in zip(r["predictions"], r["cotangents"], strict=True):
        assert cotangent.shape == (4, 1)
        np.testing.assert_allclose(cotangent, 2.0 * (y_hat - tl.XOR_Y) / 4, rtol=1e-12,
                                   atol=1e-15)
    assert np.abs(r["cotangents"][0]).max() > 0.1  # not trivially zero


def test_s15_gradient_matches_finite_differences():
    params = tl.nn.mlp_params([2, 10, 1], seed=15)
    for layer in params:
        layer["b"] = layer["b"] + 0.05  # away from relu's kink at the (0, 0) input
    ad.check_grads(tl.xor_loss, [params, tl.XOR_X, tl.XOR_Y])


def test_s20_loss_falls(loops):
    r = loops["s20"]
    assert r["final_loss"] < 0.7 * r["losses"][0]


@pytest.fixture(scope="module")
def conv():
    return convnet.run(steps=12, quick=True)


def test_s17_conv_net_loss_falls_and_shapes(conv):
    assert conv["final_loss"] < 0.7 * conv["losses"][0]
    assert conv["logits_shape"] == (2, 4)
    assert conv["grad_shapes"] == {"conv": {"w": (4, 1, 5, 5), "b": (4,)},
                                   "fc": {"w": (64, 4), "b": (4,)}}


def test_s17_conv_body_runs_twice_per_gradient_step(conv):
    assert conv["runs_per_step"] == [2] * 12  # forward sweep + recomputation
    source = ad.grad(convnet.loss).source
    pullback = source[source.index("def conv_block_checkpoint_pullback"):]
    # the recomputation calls conv_block's generated forward (for params only; numbered
    # when this process compiled another specialisation of it first)
    assert re.search(r"= conv_block_wrt_params(_\d+)?_forward\(", pullback.split("\ndef ")[0])


def test_s17_conv_net_gradient_matches_finite_differences():
    images, labels = convnet.make_data(2)
    params = convnet.init_params()
    params["conv"]["b"] = params["conv"]["b"] + 0.01
    ad.check_grads(convnet.loss, [params, images, labels])
