"""Seeds S6 (MATLAB), S15 (Swift) and S20 (MindSpore): training loops written by hand.

S6  a custom training loop: the loss of a network, its gradient with respect to all the
    learnable weights (a dict of arrays, so the gradient is a dict with the same keys),
    an update, repeat: the loss falls.
S15 a 2-10-1 MLP with relu trained on XOR by SGD with learning rate 0.02, printing the
    loss and the cotangent reaching the output y_hat, caught by an ``ad.with_derivative``
    hook; for the MSE loss that cotangent is dL/dy_hat = 2 (y_hat - y) / 4.
S20 a network's gradient with respect to its weights, then a parameter update (SGD with
    momentum, as MindSpore's ``nn.Momentum``): the loss falls.

Run ``python examples/training_loops.py``; ``run(quick=True)`` is the fast mode the
tests use.
"""

import numpy as np

import adcompiler as ad
from adcompiler import nn

# S6 ----------------------------------------------------------------------------------
# A two-layer network fitting y = sin(3 x) on [-1, 1]; all weights in one dict.


def s6_network(params, x):
    h = nn.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def s6_loss(params, x, y):
    return nn.mse(s6_network(params, x), y)


def s6(steps=300, lr=0.05):
    rng = np.random.default_rng(6)
    x = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    y = np.sin(3.0 * x)
    params = {"w1": nn.glorot_uniform((1, 16), rng), "b1": np.zeros(16),
              "w2": nn.glorot_uniform((16, 1), rng), "b2": np.zeros(1)}
    opt = nn.adam(lr=lr)
    state = opt.init(params)
    loss_and_grad = ad.value_and_grad(s6_loss)
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_grad(params, x, y)
        params, state = opt.update(params, grads, state)
        losses.append(float(loss))
    return {"losses": losses, "grad_keys": sorted(grads),
            "final_loss": float(s6_loss(params, x, y))}


# S15 ---------------------------------------------------------------------------------
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])
SEEN_COTANGENTS = []


def record_cotangent(g):
    SEEN_COTANGENTS.append(np.array(g))


def xor_loss(params, x, y):
    h = nn.relu(nn.dense(params[0], x))
    y_hat = ad.with_derivative(nn.dense(params[1], h), record_cotangent)
    return nn.mse(y_hat, y)


def xor_predict(params, x):
    return nn.dense(params[1], nn.relu(nn.dense(params[0], x)))


def s15(steps=2000, lr=0.02, print_every=None):
    params = nn.mlp_params([2, 10, 1], seed=15)
    opt = nn.sgd(lr=lr)
    state = opt.init(params)
    grad = ad.grad(xor_loss)
    losses, cotangents, predictions = [], [], []
    for step in range(steps):
        predictions.append(xor_predict(params, XOR_X))
        SEEN_COTANGENTS.clear()
        grads = grad(params, XOR_X, XOR_Y)
        (cotangent,) = SEEN_COTANGENTS
        cotangents.append(cotangent)
        losses.append(float(xor_loss(params, XOR_X, XOR_Y)))
        if print_every and step % print_every == 0:
            print(f"  step {step:5d}  loss {losses[-1]:.6f}  "
                  f"cotangent at y_hat {np.round(cotangent.ravel(), 5)}")
        params, state = opt.update(params, grads, state)
    return {"losses": losses, "cotangents": cotangents, "predictions": predictions,
            "final_prediction": xor_predict(params, XOR_X)}


# S20 ---------------------------------------------------------------------------------
# MindSpore's pattern: net -> loss -> grad wrt the weights -> optimizer(grads).


def s20_net(params, x):
    h = nn.relu(nn.dense(params["fc1"], x))
    return nn.dense(params["fc2"], h)


def s20_loss(params, x, labels):
    return nn.softmax_cross_entropy(s20_net(params, x), labels)


def s20(steps=100, lr=0.1, momentum=0.9):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((96, 4))
    labels = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1.0)
    params = {"fc1": nn.dense_params(4, 32, rng=rng, scheme="he"),
              "fc2": nn.dense_params(32, 3, rng=rng)}
    opt = nn.sgd(lr=lr, momentum=momentum)
    state = opt.init(params)
    grad = ad.grad(s20_loss)
    losses = []
    for _ in range(steps):
        losses.append(float(s20_loss(params, x, labels)))
        grads = grad(params, x, labels)
        params, state = opt.update(params, grads, state)
    accuracy = float(np.mean(np.argmax(s20_net(params, x), axis=1) == labels))
    return {"losses": losses, "final_loss": float(s20_loss(params, x, labels)),
            "accuracy": accuracy}


def run(quick=False):
    """All three seeds; ``quick`` uses few steps (for the tests)."""
    return {"s6": s6(steps=60 if quick else 1000),
            "s15": s15(steps=200 if quick else 4000),
            "s20": s20(steps=30 if quick else 300)}


def main():
    print("S6: custom training loop (tanh MLP fitting sin(3x), Adam)")
    r = s6(steps=1000)
    print(f"  loss {r['losses'][0]:.5f} -> {r['final_loss']:.5f}; gradient keys {r['grad_keys']}")
    print("S15: 2-10-1 relu MLP on XOR, SGD lr 0.02, MSE loss")
    r = s15(steps=4000, print_every=500)
    print(f"  loss {r['losses'][0]:.6f} -> {r['losses'][-1]:.6f}; "
          f"predictions {np.round(r['final_prediction'].ravel(), 3)}")
    print("  (the cotangent reaching y_hat is dL/dy_hat = 2 * (y_hat - y) / 4)")
    print("S20: network gradient wrt its weights, then SGD with momentum")
    r = s20(steps=300)
    print(f"  loss {r['losses'][0]:.5f} -> {r['final_loss']:.5f}; "
          f"train accuracy {r['accuracy']:.3f}")
    print()
    print("The generated gradient of xor_loss:")
    print(ad.grad(xor_loss).source)


if __name__ == "__main__":
    main()
