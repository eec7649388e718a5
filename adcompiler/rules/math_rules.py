"""Rules for Python's :mod:`math` module and the numeric builtins.

``math`` functions take and return Python floats, so their derivatives are written with
``math`` too: a gradient of scalar code stays a plain ``float`` (no NumPy scalars leak
into user code that checks ``type(x) is float``, and scalar ``math`` calls are several
times faster than NumPy's on scalars). Builtins (``abs``, ``max``, ``pow``) also accept
arrays, so their rules use only operators that work for both.

Conventions where the derivative does not exist (see the API's "Derivative conventions"):
``abs`` / ``fabs`` at 0 give 0; two-argument ``max`` / ``min`` at a tie give the whole
cotangent to a constant operand and share it between differentiated ones; ``hypot(0, 0)``
gives 0 to both; ``pow(x, y)`` with ``x <= 0`` has derivative 0 in ``y`` (the real power
is not differentiable in the exponent there), and its derivative in ``x`` is exact at
``x = 0`` wherever it exists (``y`` = 0, 1, 2, > 1). Where the derivative is infinite
(``sqrt`` at 0, ``math.pow(x, 0.5)`` at 0) Python's float arithmetic raises
(``ZeroDivisionError``, ``ValueError``) rather than returning ``inf``.

See ``registry`` for the template contract.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..runtime import unbroadcast
from .registry import active, forward, reverse, static, zero_derivative

# ------------------------------------------------------------------ exponential, logarithm


@reverse(math.exp)
def exp(result, g, x):
    dx = g * result


@forward(math.exp)
def exp_fwd(result, x, *, dx):
    dresult = dx * result


@reverse(math.expm1)
def expm1(result, g, x):
    dx = g * (result + 1.0)


@forward(math.expm1)
def expm1_fwd(result, x, *, dx):
    dresult = dx * (result + 1.0)


@reverse(math.exp2)
def exp2(result, g, x):
    dx = g * result * math.log(2.0)


@forward(math.exp2)
def exp2_fwd(result, x, *, dx):
    dresult = dx * result * math.log(2.0)


# ``math.log(x, base)``: the template's ``base=None`` stands for the natural logarithm
# (the one-argument call); ``static`` picks the branch when the rule is filled.
@reverse(math.log)
def log(result, g, x, base=None):
    if static(base is None):
        dx = g / x
    else:
        log_base = math.log(base)
        dx = g / (x * log_base)
        dbase = -g * result / (base * log_base)


@forward(math.log)
def log_fwd(result, x, base=None, *, dx, dbase):
    if static(base is None):
        dresult = dx / x
    else:
        log_base = math.log(base)
        dresult = dx / (x * log_base) - dbase * result / (base * log_base)


@reverse(math.log1p)
def log1p(result, g, x):
    dx = g / (1.0 + x)


@forward(math.log1p)
def log1p_fwd(result, x, *, dx):
    dresult = dx / (1.0 + x)


@reverse(math.log2)
def log2(result, g, x):
    dx = g / (x * math.log(2.0))


@forward(math.log2)
def log2_fwd(result, x, *, dx):
    dresult = dx / (x * math.log(2.0))


@reverse(math.log10)
def log10(result, g, x):
    dx = g / (x * math.log(10.0))


@forward(math.log10)
def log10_fwd(result, x, *, dx):
    dresult = dx / (x * math.log(10.0))


# --------------------------------------------------------------------------- powers, roots


@reverse(math.sqrt)
def sqrt(result, g, x):
    dx = g / (2.0 * result)


@forward(math.sqrt)
def sqrt_fwd(result, x, *, dx):
    dresult = dx / (2.0 * result)


@reverse(math.cbrt)
def cbrt(result, g, x):
    dx = g / (3.0 * result * result)


@forward(math.cbrt)
def cbrt_fwd(result, x, *, dx):
    dresult = dx / (3.0 * result * result)


# ``math.log`` raises for x <= 0, so the exponent's derivative is guarded by a
# conditional expression. The base's is exact at x = 0 wherever it exists: a constant
# exponent 0, 1 or 2 fills as 0.0, g or ``g * 2.0 * x``; an exponent known only at run
# time gives 0 where it is 0 (math.pow(0.0, -1.0) would raise). Where the derivative is
# infinite (0 < y < 1 at x = 0) math.pow raises ValueError, as math.sqrt's rule raises
# ZeroDivisionError at 0, unless the (co)tangent there is 0: then the product is 0.
@reverse(math.pow)
def pow_(result, g, x, y):
    if static(y == 0):
        dx = 0.0 * g
    elif static(y == 1):
        dx = g
    elif static(y == 2):
        dx = g * 2.0 * x
    elif static(0 < y < 1):  # infinite at x = 0: a zero cotangent still gives 0
        dx = g * y * math.pow(x, y - 1) if g != 0 else 0.0
    elif static(y != 0):  # any other constant
        dx = g * y * math.pow(x, y - 1)
    else:
        dx = g * y * math.pow(x, y - 1) if y != 0 and g != 0 else 0.0
    dy = g * result * (math.log(x) if x > 0 else 0.0)


@forward(math.pow)
def pow_fwd(result, x, y, *, dx, dy):
    if static(y == 0):
        dresult = 0.0 * dx
    elif static(y == 1):
        dresult = dx
    elif static(y == 2):
        dresult = dx * 2.0 * x
    elif static(0 < y < 1):  # infinite at x = 0: a zero tangent still gives 0
        dresult = dx * y * math.pow(x, y - 1) if dx != 0 else 0.0
    elif static(y != 0):  # any other constant
        dresult = dx * y * math.pow(x, y - 1)
    else:
        dresult = dx * y * math.pow(x, y - 1) if y != 0 and dx != 0 else 0.0
    dresult = dresult + dy * result * (math.log(x) if x > 0 else 0.0)


# ``hypot(0, 0)`` gives 0 to both (the zero subgradient of a norm): adding ``result == 0``
# to the denominator turns 0 / 0 into 0 / 1 without a branch.
@reverse(math.hypot)
def hypot(result, g, x, y):
    denominator = result + (result == 0)
    dx = g * x / denominator
    dy = g * y / denominator


@forward(math.hypot)
def hypot_fwd(result, x, y, *, dx, dy):
    denominator = result + (result == 0)
    dresult = dx * x / denominator + dy * y / denominator


# ----------------------------------------------------------------------------- trigonometry


@reverse(math.sin)
def sin(result, g, x):
    dx = g * math.cos(x)


@forward(math.sin)
def sin_fwd(result, x, *, dx):
    dresult = dx * math.cos(x)


@reverse(math.cos)
def cos(result, g, x):
    dx = -g * math.sin(x)


@forward(math.cos)
def cos_fwd(result, x, *, dx):
    dresult = -dx * math.sin(x)


@reverse(math.tan)
def tan(result, g, x):
    dx = g * (1.0 + result * result)


@forward(math.tan)
def tan_fwd(result, x, *, dx):
    dresult = dx * (1.0 + result * result)


@reverse(math.asin)
def asin(result, g, x):
    dx = g / math.sqrt(1.0 - x * x)


@forward(math.asin)
def asin_fwd(result, x, *, dx):
    dresult = dx / math.sqrt(1.0 - x * x)


@reverse(math.acos)
def acos(result, g, x):
    dx = -g / math.sqrt(1.0 - x * x)


@forward(math.acos)
def acos_fwd(result, x, *, dx):
    dresult = -dx / math.sqrt(1.0 - x * x)


@reverse(math.atan)
def atan(result, g, x):
    dx = g / (1.0 + x * x)


@forward(math.atan)
def atan_fwd(result, x, *, dx):
    dresult = dx / (1.0 + x * x)


@reverse(math.atan2)
def atan2(result, g, y, x):
    radius2 = x * x + y * y
    dy = g * x / radius2
    dx = -g * y / radius2


@forward(math.atan2)
def atan2_fwd(result, y, x, *, dy, dx):
    radius2 = x * x + y * y
    dresult = dy * x / radius2 - dx * y / radius2


@reverse(math.degrees)
def degrees(result, g, x):
    dx = g * (180.0 / math.pi)


@forward(math.degrees)
def degrees_fwd(result, x, *, dx):
    dresult = dx * (180.0 / math.pi)


@reverse(math.radians)
def radians(result, g, x):
    dx = g * (math.pi / 180.0)


@forward(math.radians)
def radians_fwd(result, x, *, dx):
    dresult = dx * (math.pi / 180.0)


# -------------------------------------------------------------------------------- hyperbolic


@reverse(math.sinh)
def sinh(result, g, x):
    dx = g * math.cosh(x)


@forward(math.sinh)
def sinh_fwd(result, x, *, dx):
    dresult = dx * math.cosh(x)


@reverse(math.cosh)
def cosh(result, g, x):
    dx = g * math.sinh(x)


@forward(math.cosh)
def cosh_fwd(result, x, *, dx):
    dresult = dx * math.sinh(x)


@reverse(math.tanh)
def tanh(result, g, x):
    dx = g * (1.0 - result * result)


@forward(math.tanh)
def tanh_fwd(result, x, *, dx):
    dresult = dx * (1.0 - result * result)


@reverse(math.asinh)
def asinh(result, g, x):
    dx = g / math.sqrt(x * x + 1.0)


@forward(math.asinh)
def asinh_fwd(result, x, *, dx):
    dresult = dx / math.sqrt(x * x + 1.0)


@reverse(math.acosh)
def acosh(result, g, x):
    dx = g / math.sqrt(x * x - 1.0)


@forward(math.acosh)
def acosh_fwd(result, x, *, dx):
    dresult = dx / math.sqrt(x * x - 1.0)


@reverse(math.atanh)
def atanh(result, g, x):
    dx = g / (1.0 - x * x)


@forward(math.atanh)
def atanh_fwd(result, x, *, dx):
    dresult = dx / (1.0 - x * x)


# ---------------------------------------------------------------------------- error function


@reverse(math.erf)
def erf(result, g, x):
    dx = g * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@forward(math.erf)
def erf_fwd(result, x, *, dx):
    dresult = dx * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@reverse(math.erfc)
def erfc(result, g, x):
    dx = -g * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@forward(math.erfc)
def erfc_fwd(result, x, *, dx):
    dresult = -dx * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


# ------------------------------------------------------------------------ signs, remainders
# ``1.0 * (x > 0) - 1.0 * (x < 0)`` is sign(x) as a float (0 at 0): the ``1.0 *`` turns
# booleans into floats before the subtraction, and keeps the derivative a float where the
# seed ``g`` is the literal 1.0 the compiler folds away (an int sign would leak out).


@reverse(math.fabs)
def fabs(result, g, x):
    dx = g * (1.0 * (x > 0) - 1.0 * (x < 0))


@forward(math.fabs)
def fabs_fwd(result, x, *, dx):
    dresult = dx * (1.0 * (x > 0) - 1.0 * (x < 0))


# copysign(x, y) = |x| sign(y): piecewise constant in y, so y's derivative is 0.
@reverse(math.copysign)
def copysign(result, g, x, y):
    dx = g * (1.0 * (x > 0) - 1.0 * (x < 0)) * math.copysign(1.0, y)
    dy = 0.0


@forward(math.copysign)
def copysign_fwd(result, x, y, *, dx, dy):
    dresult = dx * (1.0 * (x > 0) - 1.0 * (x < 0)) * math.copysign(1.0, y)


# fmod(x, y) = x - trunc(x / y) * y (the quotient as a float, as the derivative is).
@reverse(math.fmod)
def fmod(result, g, x, y):
    dx = g
    dy = -g * float(math.trunc(x / y))


@forward(math.fmod)
def fmod_fwd(result, x, y, *, dx, dy):
    dresult = dx - dy * float(math.trunc(x / y))


# ---------------------------------------------------------------------------------- builtins
# These accept arrays as well as floats, so they use comparisons and operators only:
# ``g * (x > 0)`` keeps g's dtype for arrays and gives a float for floats.


@reverse(builtins.abs)
def builtin_abs(result, g, x):
    dx = g * (x > 0) - g * (x < 0)


@forward(builtins.abs)
def builtin_abs_fwd(result, x, *, dx):
    dresult = dx * (x > 0) - dx * (x < 0)


@reverse(builtins.float)
def builtin_float(result, g, x):
    dx = g


@forward(builtins.float)
def builtin_float_fwd(result, x, *, dx):
    dresult = float(dx)


# Only the two-argument form (``max(iterable)`` does not bind, so the compiler raises
# instead of guessing). Ties as ``np.maximum``: a constant operand takes the whole
# cotangent, two differentiated operands share it.
@reverse(builtins.max)
def builtin_max(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * (a > b) + tie
        db = g * (b > a) + tie
    else:
        da = g * (a > b)
        db = g * (b > a)


@forward(builtins.max)
def builtin_max_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = da * (a > b) + db * (b > a) + (da + db) * (a == b) / 2
    else:
        dresult = da * (a > b) + db * (b > a)


@reverse(builtins.min)
def builtin_min(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * (a < b) + tie
        db = g * (b < a) + tie
    else:
        da = g * (a < b)
        db = g * (b < a)


@forward(builtins.min)
def builtin_min_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = da * (a < b) + db * (b < a) + (da + db) * (a == b) / 2
    else:
        dresult = da * (a < b) + db * (b < a)


# ``pow(base, exp)`` is ``base ** exp`` (see ``operators.power`` for the cases at base
# 0); the three-argument (modular) form is integer-only.
@reverse(builtins.pow)
def builtin_pow(result, g, base, exp, mod=None):
    if static(mod is None):
        if static(exp == 0):
            dbase = 0 * result
        elif static(exp == 1):
            dbase = g
        elif static(exp == 2):
            dbase = g * 2 * base
        elif static(exp != 0):  # any other constant
            dbase = g * exp * base ** (exp - 1)
        else:
            dbase = g * exp * base ** (exp - (exp != 0))
        dexp = g * result * np.log(np.where(base > 0, base, 1))


@forward(builtins.pow)
def builtin_pow_fwd(result, base, exp, mod=None, *, dbase, dexp):
    if static(mod is None):
        if static(exp == 0):
            dresult = 0 * dbase
        elif static(exp == 1):
            dresult = dbase
        elif static(exp == 2):
            dresult = dbase * 2 * base
        elif static(exp != 0):  # any other constant
            dresult = dbase * exp * base ** (exp - 1)
        else:
            dresult = dbase * exp * base ** (exp - (exp != 0))
        dresult = dresult + dexp * result * np.log(np.where(base > 0, base, 1))


# ``sum(items, start)`` over a list of numbers or arrays: every item receives the whole
# cotangent, reduced to its own shape (an item may have been broadcast against the others).
@reverse(builtins.sum)
def builtin_sum(result, g, iterable, start=0):
    diterable = [unbroadcast(g, item) for item in iterable]
    dstart = unbroadcast(g, start)


@forward(builtins.sum)
def builtin_sum_fwd(result, iterable, start=0, *, diterable, dstart):
    dresult = sum(diterable) + dstart


# ---------------------------------------------------------------------- zero derivative

zero_derivative(
    [math.floor, math.ceil, math.trunc, math.isfinite, math.isnan, math.isinf, math.isclose,
     builtins.round, builtins.int, builtins.bool, builtins.len, builtins.range],
    notes="piecewise constant or integer/boolean valued",
)
