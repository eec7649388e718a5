"""Seeds S7 and S8 (the PyTorch textbook): derivatives of x**2 at 4 and of x**6 at 5."""

import adcompiler as ad


def square(x):
    return x**2


def sixth_power(x):
    return x**6


def main() -> None:
    print("d/dx x**2 at 4 =", ad.grad(square)(4.0))  # 8.0
    print("d/dx x**6 at 5 =", ad.grad(sixth_power)(5.0))  # 18750.0  (6 * 5**5)
    print()
    print(ad.grad(sixth_power).source)


if __name__ == "__main__":
    main()
