"""Seed S17 (Swift): a small convolutional network whose conv layer is checkpointed.

conv 5x5 (1 -> 4 channels) -> relu -> max-pool 2x2 -> flatten -> dense -> softmax
cross-entropy, on random 1x12x12 images whose class is the quadrant holding a bright
blob. The conv block is wrapped in ``ad.checkpoint``: its intermediates are not stored
in the forward sweep but recomputed in the backward sweep, so its body runs twice per
gradient step. A plain Python counter in the body counts the runs (the counter is not a
differentiated value, so the compiler keeps the statement as it is, in both sweeps).

Run ``python examples/convnet.py``; ``run(steps=..., quick=True)`` is the fast mode the
tests use.
"""

import numpy as np

import adcompiler as ad
from adcompiler import nn

CONV_RUNS = {"body": 0}


@ad.checkpoint
def conv_block(params, images):
    CONV_RUNS["body"] += 1
    return nn.relu(nn.conv2d(params, images))


def logits_of(params, images):
    h = conv_block(params["conv"], images)      # (n, 4, 8, 8)
    h = nn.max_pool2d(h)                        # (n, 4, 4, 4)
    return nn.dense(params["fc"], nn.flatten(h))  # (n, 4)


def loss(params, images, labels):
    return nn.softmax_cross_entropy(logits_of(params, images), labels)


def make_data(n, seed=17):
    """Images 1x12x12 of noise plus a bright 3x3 blob in one quadrant (the label)."""
    rng = np.random.default_rng(seed)
    images = 0.3 * rng.standard_normal((n, 1, 12, 12))
    labels = rng.integers(0, 4, size=n)
    for k, label in enumerate(labels):
        top = 6 * (label // 2) + rng.integers(0, 4)
        left = 6 * (label % 2) + rng.integers(0, 4)
        images[k, 0, top:top + 3, left:left + 3] += 1.0
    return images, labels


def init_params(seed=17):
    rng = np.random.default_rng(seed)
    return {"conv": nn.conv_params(1, 4, 5, rng=rng),
            "fc": nn.dense_params(64, 4, rng=rng)}


def run(steps=30, quick=False, lr=0.1, print_every=None):
    """Train with SGD; returns losses, accuracy, shapes and conv-body runs per step."""
    images, labels = make_data(32 if quick else 256)
    params = init_params()
    opt = nn.sgd(lr=lr, momentum=0.9)
    state = opt.init(params)
    value_and_grad = ad.value_and_grad(loss)
    losses, runs_per_step = [], []
    for step in range(steps):
        before = CONV_RUNS["body"]
        value, grads = value_and_grad(params, images, labels)
        runs_per_step.append(CONV_RUNS["body"] - before)
        losses.append(float(value))
        if print_every and step % print_every == 0:
            print(f"  step {step:3d}  loss {losses[-1]:.4f}  "
                  f"conv body ran {runs_per_step[-1]} times")
        params, state = opt.update(params, grads, state)
    accuracy = float(np.mean(np.argmax(logits_of(params, images), axis=1) == labels))
    return {"losses": losses, "final_loss": float(loss(params, images, labels)),
            "accuracy": accuracy, "runs_per_step": runs_per_step,
            "logits_shape": logits_of(params, images[:2]).shape,
            "grad_shapes": {k: {kk: v.shape for kk, v in g.items()} for k, g in grads.items()}}


def main():
    print("S17: conv 5x5 -> relu -> max-pool 2x2 -> flatten -> dense -> softmax CE")
    print("     (conv block checkpointed), SGD with momentum on 256 random 1x12x12 images")
    r = run(steps=60, print_every=10)
    print(f"  loss {r['losses'][0]:.4f} -> {r['final_loss']:.4f}; "
          f"train accuracy {r['accuracy']:.3f}")
    print(f"  gradient shapes {r['grad_shapes']}")
    print()
    print("The generated gradient (see the conv block called again in the backward sweep):")
    print(ad.grad(loss).source)


if __name__ == "__main__":
    main()
