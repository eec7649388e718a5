"""Seeds S3 and S5 (MATLAB): forward and reverse mode agree; grad needs a scalar output.

S3: f(x) = x1 * exp(-(x1**2 + x2**2) / 2) at (2, 1/2), its derivative by forward mode
(one jvp per input direction) and by reverse mode (one backward sweep), both generated
by source transformation: (-0.358298904800159, -0.119432968266720).
S5: grad of a vector function is refused with a clear error; jacobian gives the matrix.

    python examples/modes.py
"""

from __future__ import annotations

import numpy as np

import adcompiler as ad


def f(x1, x2):
    return x1 * np.exp(-(x1 ** 2 + x2 ** 2) / 2)


def vector_f(x):
    return np.array([x[0] * x[1], np.sin(x[0]), x[1] ** 2])


def s3() -> tuple[tuple[float, float], tuple[float, float]]:
    """The gradient at (2, 1/2) by forward mode and by reverse mode."""
    forward = tuple(float(ad.jvp(f, (2.0, 0.5), tangent)[1])
                    for tangent in ((1.0, 0.0), (0.0, 1.0)))
    reverse = ad.grad(f, (0, 1))(2.0, 0.5)
    return forward, reverse  # type: ignore[return-value]


def s5() -> tuple[str, np.ndarray]:
    """The error grad gives for a vector function, and its Jacobian instead."""
    x = np.array([1.0, 2.0])
    try:
        ad.grad(vector_f)(x)
    except ad.NonScalarOutputError as exc:
        message = str(exc).splitlines()[0]
    else:  # pragma: no cover - grad must refuse
        raise AssertionError("grad accepted a vector output")
    return message, ad.jacobian(vector_f)(x)


def main() -> None:
    forward, reverse = s3()
    print(f"S3 forward mode: ({forward[0]:.15f}, {forward[1]:.15f})")
    print(f"S3 reverse mode: ({reverse[0]:.15f}, {reverse[1]:.15f})")
    print()
    print(ad.source(f, "jvp", (0, 1), args=(2.0, 0.5)))
    message, jacobian = s5()
    print(f"S5 grad of a vector function: {message}")
    print("S5 jacobian instead:")
    print(jacobian)


if __name__ == "__main__":
    main()
