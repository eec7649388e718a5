"""A real training run on real data: scikit-learn's handwritten digits (issue 11).

The 1,797 8x8 grey-level digit images that scikit-learn ships inside its package (no
download), scaled to [0, 1] and split 80/20 into train and test sets with a seeded
permutation. Two models, trained with ``adcompiler.nn``'s Adam on minibatches, with a
tqdm progress bar per epoch and the test accuracy printed after each epoch:

* ``mlp``: 64 -> 64 (tanh) -> 10, softmax cross-entropy;
* ``conv``: 1x8x8 -> conv 3x3 (8 channels, padding 1) -> relu -> max-pool 2x2 ->
  flatten -> dense 10 (the small conv net of seed S17), the conv block wrapped in
  ``ad.checkpoint`` so its intermediates are recomputed in the backward sweep.

Both reach at least 95 % test accuracy. The loss and accuracy curves are saved as a PNG
(matplotlib, Agg backend).

    python examples/digits.py                       # both models, digits.png
    python examples/digits.py --model conv --epochs 8 --plot conv.png
    python examples/digits.py --quick               # a few epochs on a subset

Needs the ``examples`` extra: ``pip install -e ".[examples]"`` (scikit-learn, tqdm,
matplotlib). ``run(model=..., epochs=..., seed=0, plot=None)`` returns the history.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import adcompiler as ad
from adcompiler import nn

EPOCHS = {"mlp": 20, "conv": 15}
LEARNING_RATE = {"mlp": 0.01, "conv": 0.01}
BATCH_SIZE = 32


def load(seed: int = 0, quick: bool = False) -> tuple[np.ndarray, ...]:
    """Digits scaled to [0, 1] as ``(n, 1, 8, 8)`` images; a seeded 80/20 split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0)[:, None, :, :]  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    if quick:
        order = order[:600]
    n_train = int(0.8 * len(order))
    train, test = order[:n_train], order[n_train:]
    return images[train], labels[train], images[test], labels[test]


# --- the MLP ---------------------------------------------------------------------

def mlp_logits(params, images):
    # a dict of layers, not nn.mlp_params' list: see the note in docs/examples.md
    h = nn.tanh(nn.dense(params["hidden"], nn.flatten(images)))
    return nn.dense(params["out"], h)


def mlp_loss(params, images, labels):
    return nn.softmax_cross_entropy(mlp_logits(params, images), labels)


def mlp_init(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {"hidden": nn.dense_params(64, 64, rng=rng),
            "out": nn.dense_params(64, 10, rng=rng)}


# --- the conv net (S17) ----------------------------------------------------------

@ad.checkpoint
def conv_block(params, images):
    return nn.relu(nn.conv2d(params, images, padding=1))


def conv_logits(params, images):
    h = conv_block(params["conv"], images)          # (n, 8, 8, 8)
    h = nn.max_pool2d(h)                            # (n, 8, 4, 4)
    return nn.dense(params["fc"], nn.flatten(h))    # (n, 10)


def conv_loss(params, images, labels):
    return nn.softmax_cross_entropy(conv_logits(params, images), labels)


def conv_init(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {"conv": nn.conv_params(1, 8, 3, rng=rng),
            "fc": nn.dense_params(8 * 4 * 4, 10, rng=rng)}


MODELS = {"mlp": (mlp_init, mlp_loss, mlp_logits),
          "conv": (conv_init, conv_loss, conv_logits)}


def accuracy(logits_of, params, images, labels) -> float:
    return float(np.mean(np.argmax(logits_of(params, images), axis=1) == labels))


def run(model: str = "mlp", epochs: int | None = None, seed: int = 0,
        plot: str | None = None, quick: bool = False, progress: bool | None = None,
        verbose: bool = False) -> dict:
    """Train ``model`` ("mlp" or "conv"); returns the per-epoch history.

    ``progress=None`` shows the tqdm bar only on a terminal; ``plot`` is a PNG path.
    """
    from tqdm import tqdm

    epochs = EPOCHS[model] if epochs is None else epochs
    x_train, y_train, x_test, y_test = load(seed, quick=quick)
    init, loss, logits_of = MODELS[model]
    params = init(seed)
    opt = nn.adam(lr=LEARNING_RATE[model])
    state = opt.init(params)
    value_and_grad = ad.value_and_grad(loss)
    rng = np.random.default_rng(seed + 1)
    history = {"model": model, "epochs": epochs, "train_loss": [], "test_loss": [],
               "train_accuracy": [], "test_accuracy": [], "epoch_seconds": []}
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(y_train))
        batches = range(0, len(order), BATCH_SIZE)
        total = 0.0
        bar = tqdm(batches, desc=f"{model} epoch {epoch}/{epochs}", leave=False,
                   disable=None if progress is None else not progress)
        for first in bar:
            batch = order[first:first + BATCH_SIZE]
            value, grads = value_and_grad(params, x_train[batch], y_train[batch])
            params, state = opt.update(params, grads, state)
            total += float(value) * len(batch)
            bar.set_postfix(loss=f"{float(value):.3f}")
        bar.close()
        history["epoch_seconds"].append(time.perf_counter() - start)
        history["train_loss"].append(total / len(y_train))
        history["test_loss"].append(float(loss(params, x_test, y_test)))
        history["train_accuracy"].append(accuracy(logits_of, params, x_train, y_train))
        history["test_accuracy"].append(accuracy(logits_of, params, x_test, y_test))
        if verbose:
            print(f"{model:4s} epoch {epoch:2d}/{epochs}  "
                  f"train loss {history['train_loss'][-1]:.4f}  "
                  f"test loss {history['test_loss'][-1]:.4f}  "
                  f"test accuracy {history['test_accuracy'][-1]:.4f}  "
                  f"({history['epoch_seconds'][-1]:.2f} s)", flush=True)
    history["params"] = params
    if plot is not None:
        save_plot([history], plot)
    return history


def save_plot(histories: list[dict], path: str) -> None:
    """Loss (train and test) and test accuracy against the epoch, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for k, h in enumerate(histories):
        epochs = range(1, len(h["train_loss"]) + 1)
        color = f"C{k}"
        ax_loss.plot(epochs, h["train_loss"], color=color, label=f"{h['model']} train")
        ax_loss.plot(epochs, h["test_loss"], "--", color=color, label=f"{h['model']} test")
        ax_acc.plot(epochs, h["test_accuracy"], marker="o", color=color,
                    label=f"{h['model']} test")
    ax_loss.set(xlabel="epoch", ylabel="softmax cross-entropy", yscale="log",
                title="loss")
    ax_acc.axhline(0.95, color="grey", linewidth=0.8, linestyle=":")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("scikit-learn digits, trained with adcompiler + nn.adam")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "conv", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per model (default {EPOCHS})")
    parser.add_argument("--quick", action="store_true",
                        help="600 images and 3 epochs (a smoke run)")
    parser.add_argument("--plot", default="digits.png", help="PNG file for the curves")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    models = ["mlp", "conv"] if args.model == "both" else [args.model]
    epochs = 3 if args.quick and args.epochs is None else args.epochs
    histories = []
    for model in models:
        start = time.perf_counter()
        h = run(model, epochs=epochs, seed=args.seed, quick=args.quick, verbose=True)
        seconds = time.perf_counter() - start
        print(f"{model}: test accuracy {h['test_accuracy'][-1]:.4f} after {h['epochs']} "
              f"epochs, {seconds:.1f} s ({np.mean(h['epoch_seconds']):.2f} s per epoch)\n")
        histories.append(h)
    save_plot(histories, args.plot)
    print(f"loss and accuracy curves saved to {args.plot}")


if __name__ == "__main__":
    main()
