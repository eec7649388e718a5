"""Seeds S4, S12, S13, S14 and S16: shaping derivatives from inside a function.

S4  (MATLAB extractdata): x + atan(stop_gradient(x)) has derivative 1 everywhere.
S12 (Swift): a custom derivative for an opaque exp that prints; d/dx at 3 = e**3, and
    the user's rule was called.
S13 (Swift): sin(sin(sin(x))) + stop_gradient(cos(cos(cos(y)))) at (2, 3) gives
    (-0.180098775947434, 0.0).
S14 (Swift): a hook prints the cotangent reaching sin(x) (1.0); another rewrites the
    cotangent of x inside log(x) to 0.5; at x = 30 the gradient is
    cos(30) + 0.5 = 0.654251449887584.
S16 (Swift): square is checkpointed, so its body runs again in the backward sweep; the
    gradient of square(cos(x)) at 10 is -sin(20) = -0.912945250727628.
"""

import math

import numpy as np

import adcompiler as ad

CALLS = {"exp_rule": 0, "square_body": 0}
SEEN = []


# S4 ----------------------------------------------------------------------------------
def with_extracted_data(x):
    return x + np.arctan(ad.stop_gradient(x))


# S12 ---------------------------------------------------------------------------------
def opaque_exp(x):
    print(f"opaque_exp({x}) called")
    return math.exp(x)


@ad.derivative(of=opaque_exp)
def opaque_exp_rule(x):
    CALLS["exp_rule"] += 1
    value = math.exp(x)

    def pullback(g):
        return g * value

    return value, pullback


def uses_opaque(x):
    return opaque_exp(x)


# S13 ---------------------------------------------------------------------------------
def sin_and_frozen_cos(x, y):
    return np.sin(np.sin(np.sin(x))) + ad.stop_gradient(np.cos(np.cos(np.cos(y))))


# S14 ---------------------------------------------------------------------------------
def show_cotangent(g):
    SEEN.append(g)
    print("cotangent reaching sin(x):", g)


def half(g):
    return 0.5


def surgery(x):
    return ad.with_derivative(np.sin(x), show_cotangent) + np.log(ad.with_derivative(x, half))


# S16 ---------------------------------------------------------------------------------
@ad.checkpoint
def square(x):
    CALLS["square_body"] += 1
    return x * x


def square_of_cos(x):
    return square(np.cos(x))


def main() -> None:
    print("S4 :", [ad.grad(with_extracted_data)(x) for x in (-2.0, 0.0, 3.5)])
    print("S12:", ad.grad(uses_opaque)(3.0), "rule calls:", CALLS["exp_rule"])
    print("S13:", ad.grad(sin_and_frozen_cos, (0, 1))(2.0, 3.0))
    print("S14:", ad.grad(surgery)(30.0))
    CALLS["square_body"] = 0
    print("S16:", ad.grad(square_of_cos)(10.0), "square ran", CALLS["square_body"], "times")
    print()
    print(ad.grad(square_of_cos).source)


if __name__ == "__main__":
    main()
