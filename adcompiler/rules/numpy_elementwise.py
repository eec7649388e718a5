"""Rules for NumPy's elementwise functions (ufuncs and a few friends).

Binary rules are registered with ``broadcasting=True``: each template writes the
full-shape contribution (``da = g * b``) and the driver reduces it to the operand's shape
only where the shapes may differ, so no rule here unbroadcasts.

Rules keep the input's dtype: constants are Python scalars (``math.log(2.0)``, ``np.pi``)
rather than NumPy float64 scalars, which would promote float32 arrays to float64, and
masks enter as booleans (``g * (a > b)``), which take g's dtype.

Conventions where the derivative does not exist (see the API's "Derivative conventions"):
``maximum`` / ``minimum`` / ``fmax`` / ``fmin`` at a tie give the whole cotangent to a
constant operand and share it equally between differentiated ones, so relu written
``np.maximum(x, 0)`` or ``np.maximum(0, x)`` has derivative 0 at 0 and ``np.maximum(x,
x)`` has derivative 1; ``clip`` at
and beyond its bounds gives 0 to ``a``; ``abs`` at 0 gives 0; ``where`` routes the whole
cotangent to the branch taken; ``hypot(0, 0)`` gives 0; ``power(a, b)`` has derivative 0
in ``b`` where ``a <= 0`` (so a base of 0 never yields NaN or a warning there), and its
derivative in ``a`` is exact at ``a = 0`` wherever it exists (``b`` = 0, 1, 2, > 1).

See ``registry`` for the template contract.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import active, forward, reverse, static, zero_derivative

# ------------------------------------------------------------------ exponential, logarithm


@reverse(np.exp)
def exp(result, g, x):
    dx = g * result


@forward(np.exp)
def exp_fwd(result, x, *, dx):
    dresult = dx * result


@reverse(np.expm1)
def expm1(result, g, x):
    dx = g * (result + 1)


@forward(np.expm1)
def expm1_fwd(result, x, *, dx):
    dresult = dx * (result + 1)


@reverse(np.exp2)
def exp2(result, g, x):
    dx = g * result * math.log(2.0)


@forward(np.exp2)
def exp2_fwd(result, x, *, dx):
    dresult = dx * result * math.log(2.0)


@reverse(np.log)
def log(result, g, x):
    dx = g / x


@forward(np.log)
def log_fwd(result, x, *, dx):
    dresult = dx / x


@reverse(np.log1p)
def log1p(result, g, x):
    dx = g / (1 + x)


@forward(np.log1p)
def log1p_fwd(result, x, *, dx):
    dresult = dx / (1 + x)


@reverse(np.log2)
def log2(result, g, x):
    dx = g / (x * math.log(2.0))


@forward(np.log2)
def log2_fwd(result, x, *, dx):
    dresult = dx / (x * math.log(2.0))


@reverse(np.log10)
def log10(result, g, x):
    dx = g / (x * math.log(10.0))


@forward(np.log10)
def log10_fwd(result, x, *, dx):
    dresult = dx / (x * math.log(10.0))


# logaddexp(a, b) = log(e^a + e^b): each operand's share is its softmax weight.
@reverse(np.logaddexp, broadcasting=True)
def logaddexp(result, g, a, b):
    da = g * np.exp(a - result)
    db = g * np.exp(b - result)


@forward(np.logaddexp, broadcasting=True)
def logaddexp_fwd(result, a, b, *, da, db):
    dresult = da * np.exp(a - result) + db * np.exp(b - result)


@reverse(np.logaddexp2, broadcasting=True)
def logaddexp2(result, g, a, b):
    da = g * np.exp2(a - result)
    db = g * np.exp2(b - result)


@forward(np.logaddexp2, broadcasting=True)
def logaddexp2_fwd(result, a, b, *, da, db):
    dresult = da * np.exp2(a - result) + db * np.exp2(b - result)


# --------------------------------------------------------------------------- powers, roots


@reverse(np.sqrt)
def sqrt(result, g, x):
    dx = g / (2 * result)


@forward(np.sqrt)
def sqrt_fwd(result, x, *, dx):
    dresult = dx / (2 * result)


@reverse(np.cbrt)
def cbrt(result, g, x):
    dx = g / (3 * result * result)


@forward(np.cbrt)
def cbrt_fwd(result, x, *, dx):
    dresult = dx / (3 * result * result)


@reverse(np.square)
def square(result, g, x):
    dx = g * 2 * x


@forward(np.square)
def square_fwd(result, x, *, dx):
    dresult = dx * 2 * x


@reverse(np.reciprocal)
def reciprocal(result, g, x):
    dx = -g * result * result


@forward(np.reciprocal)
def reciprocal_fwd(result, x, *, dx):
    dresult = -dx * result * result


# Exact at base 0 wherever the derivative exists (see ``operators.power``): a constant
# exponent 0, 1 or 2 fills as 0, g or 2 * base; an exponent known only at run time is
# lowered to ``exponent - (exponent != 0)``, so the entries with exponent 0 give 0
# rather than 0 * 0**-1 = NaN. Where the derivative is infinite at base 0 (0 < exponent
# < 1) a zero (co)tangent still gives an exact 0: the base is read as 1 there. The
# exponent's line never feeds the base's, so when only
# the base is differentiated it is dropped; it is guarded so 0 ** b stays finite.
@reverse(np.power, broadcasting=True)
def power(result, g, base, exponent):
    if static(exponent == 0):
        dbase = 0 * result
    elif static(exponent == 1):
        dbase = g
    elif static(exponent == 2):
        dbase = g * 2 * base
    elif static(0 < exponent < 1):  # infinite at base 0: a zero cotangent still gives 0
        dbase = g * exponent * np.power(base + ((g == 0) & (base == 0)), exponent - 1)
    elif static(exponent != 0):  # any other constant
        dbase = g * exponent * np.power(base, exponent - 1)
    else:
        dbase = g * exponent * np.power(base + ((g == 0) & (base == 0)),
                                     exponent - (exponent != 0))
    dexponent = g * result * np.log(np.where(base > 0, base, 1))


@forward(np.power, broadcasting=True)
def power_fwd(result, base, exponent, *, dbase, dexponent):
    if static(exponent == 0):
        dresult = 0 * dbase
    elif static(exponent == 1):
        dresult = dbase
    elif static(exponent == 2):
        dresult = dbase * 2 * base
    elif static(0 < exponent < 1):  # infinite at base 0: a zero tangent still gives 0
        dresult = dbase * exponent * np.power(base + ((dbase == 0) & (base == 0)), exponent - 1)
    elif static(exponent != 0):  # any other constant
        dresult = dbase * exponent * np.power(base, exponent - 1)
    else:
        dresult = dbase * exponent * np.power(base + ((dbase == 0) & (base == 0)),
                                          exponent - (exponent != 0))
    dresult = dresult + dexponent * result * np.log(np.where(base > 0, base, 1))


@reverse(np.float_power, broadcasting=True)
def float_power(result, g, base, exponent):
    if static(exponent == 0):
        dbase = 0 * result
    elif static(exponent == 1):
        dbase = g
    elif static(exponent == 2):
        dbase = g * 2 * base
    elif static(0 < exponent < 1):  # infinite at base 0: a zero cotangent still gives 0
        dbase = g * exponent * np.float_power(base + ((g == 0) & (base == 0)), exponent - 1)
    elif static(exponent != 0):  # any other constant
        dbase = g * exponent * np.float_power(base, exponent - 1)
    else:
        dbase = g * exponent * np.float_power(base + ((g == 0) & (base == 0)),
                                     exponent - (exponent != 0))
    dexponent = g * result * np.log(np.where(base > 0, base, 1))


@forward(np.float_power, broadcasting=True)
def float_power_fwd(result, base, exponent, *, dbase, dexponent):
    if static(exponent == 0):
        dresult = 0 * dbase
    elif static(exponent == 1):
        dresult = dbase
    elif static(exponent == 2):
        dresult = dbase * 2 * base
    elif static(0 < exponent < 1):  # infinite at base 0: a zero tangent still gives 0
        dresult = dbase * exponent * np.float_power(base + ((dbase == 0) & (base == 0)),
                                                    exponent - 1)
    elif static(exponent != 0):  # any other constant
        dresult = dbase * exponent * np.float_power(base, exponent - 1)
    else:
        dresult = dbase * exponent * np.float_power(base + ((dbase == 0) & (base == 0)),
                                          exponent - (exponent != 0))
    dresult = dresult + dexponent * result * np.log(np.where(base > 0, base, 1))


# hypot(0, 0) gives 0 to both: adding ``result == 0`` to the denominator turns 0 / 0
# into 0 / 1 without a branch or a warning.
@reverse(np.hypot, broadcasting=True)
def hypot(result, g, a, b):
    denominator = result + (result == 0)
    da = g * a / denominator
    db = g * b / denominator


@forward(np.hypot, broadcasting=True)
def hypot_fwd(result, a, b, *, da, db):
    denominator = result + (result == 0)
    dresult = da * a / denominator + db * b / denominator


# ----------------------------------------------------------------------------- trigonometry


@reverse(np.sin)
def sin(result, g, x):
    dx = g * np.cos(x)


@forward(np.sin)
def sin_fwd(result, x, *, dx):
    dresult = dx * np.cos(x)


@reverse(np.cos)
def cos(result, g, x):
    dx = -g * np.sin(x)


@forward(np.cos)
def cos_fwd(result, x, *, dx):
    dresult = -dx * np.sin(x)


@reverse(np.tan)
def tan(result, g, x):
    dx = g * (1 + result * result)


@forward(np.tan)
def tan_fwd(result, x, *, dx):
    dresult = dx * (1 + result * result)


@reverse(np.arcsin)
def arcsin(result, g, x):
    dx = g / np.sqrt(1 - x * x)


@forward(np.arcsin)
def arcsin_fwd(result, x, *, dx):
    dresult = dx / np.sqrt(1 - x * x)


@reverse(np.arccos)
def arccos(result, g, x):
    dx = -g / np.sqrt(1 - x * x)


@forward(np.arccos)
def arccos_fwd(result, x, *, dx):
    dresult = -dx / np.sqrt(1 - x * x)


@reverse(np.arctan)
def arctan(result, g, x):
    dx = g / (1 + x * x)


@forward(np.arctan)
def arctan_fwd(result, x, *, dx):
    dresult = dx / (1 + x * x)


@reverse(np.arctan2, broadcasting=True)
def arctan2(result, g, y, x):
    radius2 = x * x + y * y
    dy = g * x / radius2
    dx = -g * y / radius2


@forward(np.arctan2, broadcasting=True)
def arctan2_fwd(result, y, x, *, dy, dx):
    radius2 = x * x + y * y
    dresult = dy * x / radius2 - dx * y / radius2


@reverse(np.deg2rad, np.radians)
def deg2rad(result, g, x):
    dx = g * (np.pi / 180)


@forward(np.deg2rad, np.radians)
def deg2rad_fwd(result, x, *, dx):
    dresult = dx * (np.pi / 180)


@reverse(np.rad2deg, np.degrees)
def rad2deg(result, g, x):
    dx = g * (180 / np.pi)


@forward(np.rad2deg, np.degrees)
def rad2deg_fwd(result, x, *, dx):
    dresult = dx * (180 / np.pi)


# sinc(x) = sin(pi x) / (pi x); its derivative (cos(pi x) - sinc(x)) / x is 0 at x = 0,
# where ``x_safe`` keeps the division free of warnings.
@reverse(np.sinc)
def sinc(result, g, x):
    x_safe = np.where(x == 0, 1, x)
    dx = g * np.where(x == 0, 0, (np.cos(np.pi * x) - result) / x_safe)


@forward(np.sinc)
def sinc_fwd(result, x, *, dx):
    x_safe = np.where(x == 0, 1, x)
    dresult = dx * np.where(x == 0, 0, (np.cos(np.pi * x) - result) / x_safe)


# -------------------------------------------------------------------------------- hyperbolic


@reverse(np.sinh)
def sinh(result, g, x):
    dx = g * np.cosh(x)


@forward(np.sinh)
def sinh_fwd(result, x, *, dx):
    dresult = dx * np.cosh(x)


@reverse(np.cosh)
def cosh(result, g, x):
    dx = g * np.sinh(x)


@forward(np.cosh)
def cosh_fwd(result, x, *, dx):
    dresult = dx * np.sinh(x)


@reverse(np.tanh)
def tanh(result, g, x):
    dx = g * (1 - result * result)


@forward(np.tanh)
def tanh_fwd(result, x, *, dx):
    dresult = dx * (1 - result * result)


@reverse(np.arcsinh)
def arcsinh(result, g, x):
    dx = g / np.sqrt(x * x + 1)


@forward(np.arcsinh)
def arcsinh_fwd(result, x, *, dx):
    dresult = dx / np.sqrt(x * x + 1)


@reverse(np.arccosh)
def arccosh(result, g, x):
    dx = g / np.sqrt(x * x - 1)


@forward(np.arccosh)
def arccosh_fwd(result, x, *, dx):
    dresult = dx / np.sqrt(x * x - 1)


@reverse(np.arctanh)
def arctanh(result, g, x):
    dx = g / (1 - x * x)


@forward(np.arctanh)
def arctanh_fwd(result, x, *, dx):
    dresult = dx / (1 - x * x)


# ------------------------------------------------------------------- arithmetic as functions


@reverse(np.add, broadcasting=True)
def add(result, g, a, b):
    da = g
    db = g


@forward(np.add, broadcasting=True)
def add_fwd(result, a, b, *, da, db):
    dresult = da + db


@reverse(np.subtract, broadcasting=True)
def subtract(result, g, a, b):
    da = g
    db = -g


@forward(np.subtract, broadcasting=True)
def subtract_fwd(result, a, b, *, da, db):
    dresult = da - db


@reverse(np.multiply, broadcasting=True)
def multiply(result, g, a, b):
    da = g * b
    db = g * a


@forward(np.multiply, broadcasting=True)
def multiply_fwd(result, a, b, *, da, db):
    dresult = da * b + a * db


@reverse(np.divide, np.true_divide, broadcasting=True)
def divide(result, g, a, b):
    da = g / b
    db = -g * result / b


@forward(np.divide, np.true_divide, broadcasting=True)
def divide_fwd(result, a, b, *, da, db):
    dresult = da / b - db * result / b


@reverse(np.negative)
def negative(result, g, x):
    dx = -g


@forward(np.negative)
def negative_fwd(result, x, *, dx):
    dresult = -dx


@reverse(np.positive)
def positive(result, g, x):
    dx = g


@forward(np.positive)
def positive_fwd(result, x, *, dx):
    dresult = dx


# mod(a, b) = a - floor(a / b) * b, with NumPy's own quotient so the two agree.
@reverse(np.mod, np.remainder, broadcasting=True)
def mod(result, g, a, b):
    da = g
    db = -g * np.floor_divide(a, b)


@forward(np.mod, np.remainder, broadcasting=True)
def mod_fwd(result, a, b, *, da, db):
    dresult = da - db * np.floor_divide(a, b)


# fmod(a, b) = a - trunc(a / b) * b (the sign follows a).
@reverse(np.fmod, broadcasting=True)
def fmod(result, g, a, b):
    da = g
    db = -g * np.trunc(a / b)


@forward(np.fmod, broadcasting=True)
def fmod_fwd(result, a, b, *, da, db):
    dresult = da - db * np.trunc(a / b)


# ------------------------------------------------------------------------ identity-like


@reverse(np.copy)
def copy(result, g, a, order="K", subok=False):
    da = g


@forward(np.copy)
def copy_fwd(result, a, order="K", subok=False, *, da):
    dresult = np.copy(da)


# real inputs only (the package differentiates real functions): real(x) is x
@reverse(np.real)
def real(result, g, val):
    dval = g


@forward(np.real)
def real_fwd(result, val, *, dval):
    dresult = np.real(dval)


# replaced entries (NaN, +-inf) are constants; finite entries pass through
@reverse(np.nan_to_num)
def nan_to_num(result, g, x, copy=True, nan=0.0, posinf=None, neginf=None):
    dx = g * np.isfinite(x)


@forward(np.nan_to_num)
def nan_to_num_fwd(result, x, copy=True, nan=0.0, posinf=None, neginf=None, *, dx):
    dresult = dx * np.isfinite(x)


# ------------------------------------------------------------------------------------ signs


@reverse(np.absolute, np.fabs)
def absolute(result, g, x):
    dx = g * np.sign(x)


@forward(np.absolute, np.fabs)
def absolute_fwd(result, x, *, dx):
    dresult = dx * np.sign(x)


# copysign(a, b) = |a| sign(b): piecewise constant in b.
@reverse(np.copysign, broadcasting=True)
def copysign(result, g, a, b):
    da = g * np.sign(a) * np.copysign(1, b)
    db = np.zeros_like(g)


@forward(np.copysign, broadcasting=True)
def copysign_fwd(result, a, b, *, da, db):
    dresult = da * np.sign(a) * np.copysign(1, b)


# ------------------------------------------------------------------ selection, clipping
# A tie (a == b) is decided by which operands are differentiated at the call site
# (``active``, known when the rule is filled): a constant operand takes the whole
# cotangent, so a differentiated operand tied with a constant gets 0 (relu'(0) = 0 for
# ``maximum(x, 0)`` and ``maximum(0, x)``), and two differentiated operands share it
# equally (``maximum(x, x)`` has derivative 1, as JAX and PyTorch give). fmax/fmin skip
# NaN: the non-NaN operand is the result and receives the whole cotangent.


@reverse(np.maximum, broadcasting=True)
def maximum(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * (a > b) + tie
        db = g * (b > a) + tie
    else:
        da = g * (a > b)
        db = g * (b > a)


@forward(np.maximum, broadcasting=True)
def maximum_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = da * (a > b) + db * (b > a) + (da + db) * (a == b) / 2
    else:
        dresult = da * (a > b) + db * (b > a)


@reverse(np.minimum, broadcasting=True)
def minimum(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * (a < b) + tie
        db = g * (b < a) + tie
    else:
        da = g * (a < b)
        db = g * (b < a)


@forward(np.minimum, broadcasting=True)
def minimum_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = da * (a < b) + db * (b < a) + (da + db) * (a == b) / 2
    else:
        dresult = da * (a < b) + db * (b < a)


@reverse(np.fmax, broadcasting=True)
def fmax(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * ((a > b) | np.isnan(b)) + tie
        db = g * ((b > a) | np.isnan(a)) + tie
    else:
        da = g * ((a > b) | np.isnan(b))
        db = g * ((b > a) | np.isnan(a))


@forward(np.fmax, broadcasting=True)
def fmax_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = (da * ((a > b) | np.isnan(b)) + db * ((b > a) | np.isnan(a))
                   + (da + db) * (a == b) / 2)
    else:
        dresult = da * ((a > b) | np.isnan(b)) + db * ((b > a) | np.isnan(a))


@reverse(np.fmin, broadcasting=True)
def fmin(result, g, a, b):
    if static(active(a) and active(b)):
        tie = g * (a == b) / 2
        da = g * ((a < b) | np.isnan(b)) + tie
        db = g * ((b < a) | np.isnan(a)) + tie
    else:
        da = g * ((a < b) | np.isnan(b))
        db = g * ((b < a) | np.isnan(a))


@forward(np.fmin, broadcasting=True)
def fmin_fwd(result, a, b, *, da, db):
    if static(active(a) and active(b)):
        dresult = (da * ((a < b) | np.isnan(b)) + db * ((b < a) | np.isnan(a))
                   + (da + db) * (a == b) / 2)
    else:
        dresult = da * ((a < b) | np.isnan(b)) + db * ((b < a) | np.isnan(a))


# clip(a, lo, hi) = minimum(maximum(a, lo), hi), NumPy's order (hi wins if lo > hi);
# a ``None`` bound is decided when the rule is filled. Only the positional bounds are
# supported (the ``min=``/``max=`` keywords do not bind, so the compiler raises).
@reverse(np.clip, broadcasting=True)
def clip(result, g, a, a_min=None, a_max=None):
    if static(a_min is None):
        if static(a_max is None):
            da = g
        else:
            da = g * (a < a_max)
            da_max = g * (a_max < a)
    elif static(a_max is None):
        da = g * (a > a_min)
        da_min = g * (a_min > a)
    else:
        da = g * ((a > a_min) & (a < a_max))
        da_min = g * ((a_min > a) & (a_min < a_max))
        da_max = g * ((a_max < a) | (a_max < a_min))


@forward(np.clip, broadcasting=True)
def clip_fwd(result, a, a_min=None, a_max=None, *, da, da_min, da_max):
    if static(a_min is None):
        if static(a_max is None):
            dresult = da
        else:
            dresult = da * (a < a_max) + da_max * (a_max < a)
    elif static(a_max is None):
        dresult = da * (a > a_min) + da_min * (a_min > a)
    else:
        dresult = (da * ((a > a_min) & (a < a_max)) + da_min * ((a_min > a) & (a_min < a_max))
                   + da_max * ((a_max < a) | (a_max < a_min)))


# where(c, x, y) routes the whole cotangent to the branch taken; ``np.where(c, g, 0)``
# keeps g's dtype (the Python 0 does not promote).
@reverse(np.where, broadcasting=True)
def where(result, g, condition, x, y):
    dx = np.where(condition, g, 0)
    dy = np.where(condition, 0, g)


@forward(np.where, broadcasting=True)
def where_fwd(result, condition, x, y, *, dx, dy):
    dresult = np.where(condition, dx, 0) + np.where(condition, 0, dy)


# ---------------------------------------------------------------------- zero derivative

zero_derivative(
    [getattr(np, name) for name in (
        "sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix", "floor_divide",
        "heaviside", "signbit", "isfinite", "isnan", "isinf", "isposinf", "isneginf",
        "isclose", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
        "logical_and", "logical_or", "logical_not", "logical_xor",
    ) if hasattr(np, name)],
    notes="piecewise constant or boolean valued",
)
