"""Seeds S11 (PyTorch textbook), S18 and S19 (MindSpore): binary cross-entropy with logits.

S11: the gradients of w and b of CE(y, w*x + b) match finite differences.
S18: loss(x, y, w, b) = BCE_with_logits(x @ w + b, y) with x = ones(5), y = zeros(3),
w of shape (5, 3) and b of shape (3,); grad with wrt=(2, 3) gives two gradients of
shapes (5, 3) and (3,).
S19: the same loss returning ``(loss, z)`` with ``has_aux=True``: the gradient is
unchanged and ``z`` comes back as it is.
"""

import numpy as np

import adcompiler as ad


def bce_with_logits(logits, labels):
    # mean of max(z, 0) - z*y + log(1 + exp(-|z|)): stable for any logit
    per_item = np.maximum(logits, 0.0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))
    return np.mean(per_item)


def scalar_model_loss(w, b, x, y):
    return bce_with_logits(w * x + b, y)


def loss(x, y, w, b):
    z = x @ w + b
    per_item = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(per_item)


def s11():
    rng = np.random.default_rng(11)
    x = rng.standard_normal(20)
    y = (rng.random(20) > 0.5).astype(np.float64)
    w, b = 0.7, -0.2
    dw, db = ad.grad(scalar_model_loss_inline, (0, 1))(w, b, x, y)
    return w, b, x, y, dw, db


def scalar_model_loss_inline(w, b, x, y):
    z = w * x + b
    per_item = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(per_item)


def s18():
    rng = np.random.default_rng(18)
    x = np.ones(5)
    y = np.zeros(3)
    w = rng.standard_normal((5, 3))
    b = rng.standard_normal(3)
    dw, db = ad.grad(loss, wrt=(2, 3))(x, y, w, b)
    return x, y, w, b, dw, db


def loss_with_aux(x, y, w, b):
    z = x @ w + b
    per_item = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(per_item), z


def s19():
    x, y, w, b, dw, db = s18()
    (dw_aux, db_aux), z = ad.grad(loss_with_aux, wrt=(2, 3), has_aux=True)(x, y, w, b)
    return (dw, db), (dw_aux, db_aux), z, x @ w + b


def main() -> None:
    *_, dw, db = s11()
    print(f"S11: dL/dw = {dw:.6f}, dL/db = {db:.6f}")
    *_, dw, db = s18()
    print(f"S18: gradient shapes {dw.shape} and {db.shape}")
    print(dw)
    print(db)
    (dw, db), (dw_aux, db_aux), z, _ = s19()
    print(f"S19: with has_aux the gradient is unchanged: {np.array_equal(dw, dw_aux)}, "
          f"{np.array_equal(db, db_aux)}; aux z = {np.round(z, 4)}")
    print()
    print(ad.source(loss, wrt=(2, 3), args=(np.ones(5), np.zeros(3), np.ones((5, 3)),
                                             np.ones(3))))


if __name__ == "__main__":
    main()
