"""Seed S1: the Rosenbrock function, its value and gradient from one call."""

import numpy as np

import adcompiler as ad


@ad.differentiable
def rosenbrock(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


def main() -> None:
    value, gradient = ad.value_and_grad(rosenbrock)(np.array([-1.0, 2.0]))
    print("value:", value)  # 104.0
    print("gradient:", gradient)  # [396. 200.]
    print()
    print(ad.grad(rosenbrock).source)


if __name__ == "__main__":
    main()
