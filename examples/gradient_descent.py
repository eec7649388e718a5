"""Seeds S9 and S10 (the PyTorch textbook): plain gradient descent with ``ad.grad``.

S9 minimises ``f(x) = 2x^4 - 3x^2 + 2x - 20`` with learning rate 0.001 for 15000 steps.
Its derivative ``8x^3 - 6x + 2 = 2(x + 1)(2x - 1)^2`` has the roots -1 (the minimum)
and 1/2 (a double root: a flat inflection point). Started at -2 the iteration reaches
-1 to machine precision; started at 2 it creeps towards 1/2 from above, slowly, because
the slope vanishes quadratically there (after n steps the gap is about 1/(12 lr n)).
Either way it ends at the root of the derivative nearest to where it started, which we
compare with ``np.roots``.

S10 fits ``y = w x + b`` to 100 seeded random points by gradient descent on the mean
squared error and compares with the least-squares solution of ``np.linalg.lstsq``.

Nothing accumulates between calls: ``ad.grad(loss)`` is a pure function, so unlike
PyTorch's ``.grad`` there is nothing to zero between steps.
"""

import numpy as np

import adcompiler as ad

# -- S9 ---------------------------------------------------------------------------------

COEFFS = [2.0, 0.0, -3.0, 2.0, -20.0]  # 2x^4 - 3x^2 + 2x - 20, highest power first


def f(x):
    return 2 * x**4 - 3 * x**2 + 2 * x - 20


def minimise(x0=2.0, lr=0.001, steps=15000):
    """Gradient descent on ``f`` from ``x0``; returns the last iterate."""
    df = ad.grad(f)
    x = x0
    for _ in range(steps):
        x = x - lr * df(x)
    return x


def derivative_roots():
    """Real roots of f' from ``np.roots`` (f' = 8x^3 - 6x + 2)."""
    roots = np.roots(np.polyder(COEFFS))
    return np.sort(roots[np.abs(roots.imag) < 1e-6].real)


def nearest_root(x0):
    roots = derivative_roots()
    return float(roots[np.argmin(np.abs(roots - x0))])


# -- S10 --------------------------------------------------------------------------------


def make_data(n=100, seed=0, w_true=2.5, b_true=-1.0, noise=0.3):
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-2.0, 2.0, n)
    ys = w_true * xs + b_true + noise * rng.standard_normal(n)
    return xs, ys


def mse(w, b, xs, ys):
    residual = w * xs + b - ys
    return (residual @ residual) / xs.shape[0]


def fit(xs, ys, lr=0.05, steps=2000):
    """Gradient descent on the MSE from w = b = 0; returns (w, b, first loss, last loss)."""
    step = ad.value_and_grad(mse, (0, 1))
    w, b = 0.0, 0.0
    first = None
    loss = None
    for _ in range(steps):
        loss, (dw, db) = step(w, b, xs, ys)
        if first is None:
            first = loss
        w = w - lr * dw
        b = b - lr * db
    return w, b, first, loss


def least_squares(xs, ys):
    design = np.stack([xs, np.ones_like(xs)], axis=1)
    (w, b), *_ = np.linalg.lstsq(design, ys, rcond=None)
    return float(w), float(b)


# -- both -------------------------------------------------------------------------------


def run(steps=15000, fit_steps=2000):
    """The numbers both scenarios print, as a dict (tests call this with fewer steps)."""
    xs, ys = make_data()
    w, b, first_loss, last_loss = fit(xs, ys, steps=fit_steps)
    w_ls, b_ls = least_squares(xs, ys)
    return {
        "roots": derivative_roots(),
        "from_minus_2": minimise(-2.0, steps=steps),
        "from_2": minimise(2.0, steps=steps),
        "nearest_minus_2": nearest_root(-2.0),
        "nearest_2": nearest_root(2.0),
        "w": w, "b": b, "w_lstsq": w_ls, "b_lstsq": b_ls,
        "first_loss": first_loss, "last_loss": last_loss,
        "lstsq_loss": mse(w_ls, b_ls, xs, ys),
    }


def main() -> None:
    r = run()
    print("S9: roots of f'(x) = 8x^3 - 6x + 2 (np.roots):", r["roots"])
    print(f"  from x0 = -2: x = {r['from_minus_2']:.12f}  (nearest root {r['nearest_minus_2']})")
    print(f"  from x0 =  2: x = {r['from_2']:.12f}  (nearest root {r['nearest_2']:.8f}; "
          "a double root, approached slowly)")
    print("S10: linear regression, gradient descent vs np.linalg.lstsq")
    print(f"  gradient descent: w = {r['w']:.10f}, b = {r['b']:.10f}")
    print(f"  lstsq:            w = {r['w_lstsq']:.10f}, b = {r['b_lstsq']:.10f}")
    print(f"  MSE: {r['first_loss']:.6f} -> {r['last_loss']:.10f} "
          f"(lstsq {r['lstsq_loss']:.10f})")
    print()
    print(ad.grad(mse, (0, 1)).source)


if __name__ == "__main__":
    main()
