"""Rules for Python's arithmetic operators, keyed by their ``ast`` operator class.

Operators broadcast, so every binary rule here is ``broadcasting=True``: the template
writes the full-shape contribution and the driver reduces it to each operand's shape
only where the shapes may differ. See ``registry`` for the template contract.
"""

from __future__ import annotations

import ast

import numpy as np

from ..runtime import unbroadcast
from .registry import forward, reverse, static

# ---------------------------------------------------------------- addition, subtraction


@reverse(ast.Add, broadcasting=True)
def add(result, g, a, b):
    da = g
    db = g


@forward(ast.Add, broadcasting=True)
def add_fwd(result, a, b, *, da, db):
    dresult = da + db


@reverse(ast.Sub, broadcasting=True)
def sub(result, g, a, b):
    da = g
    db = -g


@forward(ast.Sub, broadcasting=True)
def sub_fwd(result, a, b, *, da, db):
    dresult = da - db


@reverse(ast.USub)
def neg(result, g, a):
    da = -g


@forward(ast.USub)
def neg_fwd(result, a, *, da):
    dresult = -da


# ------------------------------------------------------------- multiplication, division


@reverse(ast.Mult, broadcasting=True)
def mul(result, g, a, b):
    da = g * b
    db = g * a


@forward(ast.Mult, broadcasting=True)
def mul_fwd(result, a, b, *, da, db):
    dresult = da * b + a * db


@reverse(ast.Div, broadcasting=True)
def div(result, g, a, b):
    da = g / b
    db = -g * result / b


@forward(ast.Div, broadcasting=True)
def div_fwd(result, a, b, *, da, db):
    dresult = da / b - db * result / b


# ---------------------------------------------------------------------------- power
# d/da a**b = b a**(b-1) is exact at a = 0 wherever it exists. A constant exponent is
# decided when the rule is filled: b = 0 gives 0 (not 0 * 0**-1 = NaN), b = 1 gives g,
# b = 2 gives 2a. An exponent known only at run time (a parameter ``p``, a loop index
# ``k``, ``x[:, None] ** np.arange(3)``) raises a to ``b - (b != 0)``: where b = 0 that
# is a**0 = 1 and the derivative b * 1 = 0; elsewhere it is b - 1. It works for scalars
# and arrays alike. Where the derivative is infinite (0 < b < 1 at a = 0) arrays give
# inf, as NumPy does, and a Python float raises ZeroDivisionError, as ``math.sqrt``'s
# rule does (and a negative Python float base gives a complex number, as the primal) --
# unless the (co)tangent there is 0: then the base is read as 1 (``a + ((da == 0) & (a
# == 0))``) and the product is an exact 0, not 0 * inf. That is what makes the second
# derivative of ``(x * x) ** 1.5`` (|x|**3) exact at 0: its gradient holds ``t ** 0.5``,
# whose tangent 2 x dx is 0 there.
# d/db a**b = a**b log(a) is taken as 0 where a <= 0 (the real power is not
# differentiable in b there), so a constant-free 0 ** b never yields NaN.


@reverse(ast.Pow, broadcasting=True)
def power(result, g, a, b):
    if static(b == 0):
        da = 0 * result
    elif static(b == 1):
        da = g
    elif static(b == 2):
        da = g * 2 * a
    elif static(0 < b < 1):  # infinite at a = 0: a zero cotangent still gives 0
        da = g * b * (a + ((g == 0) & (a == 0))) ** (b - 1)
    elif static(b != 0):  # any other constant
        da = g * b * a ** (b - 1)
    else:
        da = g * b * (a + ((g == 0) & (a == 0))) ** (b - (b != 0))
    db = g * result * np.log(np.where(a > 0, a, 1))


@forward(ast.Pow, broadcasting=True)
def power_fwd(result, a, b, *, da, db):
    if static(b == 0):
        dresult = 0 * da
    elif static(b == 1):
        dresult = da
    elif static(b == 2):
        dresult = da * 2 * a
    elif static(0 < b < 1):  # infinite at a = 0: a zero tangent still gives 0
        dresult = da * b * (a + ((da == 0) & (a == 0))) ** (b - 1)
    elif static(b != 0):  # any other constant
        dresult = da * b * a ** (b - 1)
    else:
        dresult = da * b * (a + ((da == 0) & (a == 0))) ** (b - (b != 0))
    dresult = dresult + db * result * np.log(np.where(a > 0, a, 1))


# ---------------------------------------------------------------------- matrix product
# The common ranks are decided when the rule is filled (the compiler knows the ranks of
# the arguments), so a 2-d product reads ``da = g @ b.T``; batched products go through
# two helpers that also undo broadcasting of the batch dimensions.


def matmul_da(g, a, b):
    """Cotangent of ``a`` in ``a @ b`` for any ranks NumPy's matmul accepts."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        da = g * b
    elif np.ndim(b) == 1:
        da = np.expand_dims(g, -1) * b
    else:
        gm = np.expand_dims(g, -2) if np.ndim(a) == 1 else g
        da = np.matmul(gm, np.swapaxes(b, -1, -2))
        if np.ndim(a) == 1:
            da = da[..., 0, :]
    return unbroadcast(da, a)


def matmul_db(g, a, b):
    """Cotangent of ``b`` in ``a @ b`` for any ranks NumPy's matmul accepts."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        db = g * a
    elif np.ndim(a) == 1:
        db = np.expand_dims(a, -1) * np.expand_dims(g, -2)
    else:
        gm = np.expand_dims(g, -1) if np.ndim(b) == 1 else g
        db = np.matmul(np.swapaxes(a, -1, -2), gm)
        if np.ndim(b) == 1:
            db = db[..., 0]
    return unbroadcast(db, b)


@reverse(ast.MatMult, np.matmul)
def matmul(result, g, a, b):
    if static(np.ndim(a) == 2 and np.ndim(b) == 2):
        da = g @ b.T
        db = a.T @ g
    elif static(np.ndim(a) == 2 and np.ndim(b) == 1):
        da = np.outer(g, b)
        db = g @ a
    elif static(np.ndim(a) == 1 and np.ndim(b) == 2):
        da = b @ g
        db = np.outer(a, g)
    elif static(np.ndim(a) == 1 and np.ndim(b) == 1):
        da = g * b
        db = g * a
    else:
        da = matmul_da(g, a, b)
        db = matmul_db(g, a, b)


@forward(ast.MatMult, np.matmul)
def matmul_fwd(result, a, b, *, da, db):
    dresult = da @ b + a @ db
