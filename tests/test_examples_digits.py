"""examples/digits.py: training on scikit-learn's digits (needs the ``examples`` extra)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad

pytest.importorskip("sklearn", reason="examples extra not installed: pip install -e '.[examples]'")
pytest.importorskip("tqdm", reason="examples extra not installed: pip install -e '.[examples]'")
pytest.importorskip("matplotlib",
                    reason="examples extra not installed: pip install -e '.[examples]'")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import digits  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_data_split_is_seeded_and_scaled():
    x_train, y_train, x_test, y_test = digits.load(seed=0)
    assert x_train.shape == (1437, 1, 8, 8) and x_test.shape == (360, 1, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    again = digits.load(seed=0)
    np.testing.assert_array_equal(again[3], y_test)


def test_mlp_reaches_95_percent(tmp_path):
    plot = tmp_path / "mlp.png"
    h = digits.run("mlp", epochs=8, seed=0, plot=str(plot))
    assert len(h["test_accuracy"]) == 8
    assert h["test_accuracy"][-1] >= 0.95
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0]
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_conv_net_reaches_95_percent():
    h = digits.run("conv", epochs=8, seed=0)
    assert h["test_accuracy"][-1] >= 0.95
    assert h["train_loss"][-1] < 0.2 * h["train_loss"][0]
    assert h["params"]["conv"]["w"].shape == (8, 1, 3, 3)


def test_conv_net_quick_mode_loss_falls():
    h = digits.run("conv", epochs=3, seed=0, quick=True)
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    assert h["test_accuracy"][-1] > 0.7


def test_conv_block_is_checkpointed():
    source = ad.grad(digits.conv_loss).source
    assert "conv_block_checkpoint_forward" in source
    assert "conv_block_checkpoint_pullback" in source


def test_gradients_match_finite_differences():
    x, y, _, _ = digits.load(seed=0)
    ad.check_grads(digits.mlp_loss, (digits.mlp_init(0), x[:6], y[:6]))
    params = digits.conv_init(0)
    # a nonzero conv bias keeps the relu off its kink: blank borders give conv outputs of 0
    params["conv"]["b"] = np.full(8, 0.01)
    ad.check_grads(digits.conv_loss, (params, x[:6], y[:6]))


def test_cli_quick_writes_png(tmp_path, capsys):
    plot = tmp_path / "curves.png"
    digits.main(["--quick", "--epochs", "1", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert "mlp: test accuracy" in out and "conv: test accuracy" in out
    assert plot.read_bytes()[:8] == PNG_MAGIC
