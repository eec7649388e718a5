"""Seed S2 (MATLAB): relu(x) = max(x, 0) differentiated at 0 and at machine epsilon.

At the kink the derivative takes the documented conventional value 0 (np.maximum gives
0 to both operands at a tie), so relu written either way has derivative 0 at 0.
"""

import numpy as np

import adcompiler as ad


def relu(x):
    return np.maximum(x, 0.0)


def relu_flipped(x):
    return np.maximum(0.0, x)


def main() -> None:
    eps = float(np.finfo(np.float64).eps)
    for f in (relu, relu_flipped):
        print(f"{f.__name__}: d/dx at 0 = {ad.grad(f)(0.0)}, at eps = {ad.grad(f)(eps)}")


if __name__ == "__main__":
    main()
