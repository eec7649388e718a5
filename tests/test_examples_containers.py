"""The nested-dict training loop example: structure-preserving gradients, loss falls."""

import sys
from pathlib import Path

import numpy as np

import adcompiler as ad

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import nested_params_training as example


def test_gradient_has_the_nested_structure_and_matches_finite_differences():
    params = example.init()
    x, y = example.data(n=8)
    grads = ad.grad(example.loss)(params, x, y)
    assert set(grads) == {"encoder", "head"}
    for layer in ("encoder", "head"):
        assert set(grads[layer]) == {"W", "b"}
        for key in ("W", "b"):
            assert grads[layer][key].shape == params[layer][key].shape
    ad.check_grads(example.loss, (params, x, y))


def test_training_loop_reduces_the_loss():
    losses = example.run(steps=100)
    assert losses[-1] < 0.5 * losses[0]
    assert all(np.isfinite(losses))
