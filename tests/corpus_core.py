"""Plain user-style functions for the end-to-end tests (kept in a real file: the compiler
reads source)."""


SCALE = 3.0


def poly(x):
    return 3.0 * x ** 3 - 2.0 * x ** 2 + x - 5.0


def ratio(x, y):
    return (x + 1.0) / (y * y + 1.0)


def negate_and_power(x, y):
    return -(x ** y) + (+x)


def reassigned(x):
    y = x * 2.0
    y = y * y
    y = y - x
    return y


def augmented(x):
    y = x * 1.0
    y += x
    y *= x
    y -= 3.0
    y /= 2.0
    return y


def tuple_unpacking(x, y):
    a, b = x * y, x - y
    a, b = b, a
    return a * b ** 2


def uses_value_twice(x):
    y = x * x
    return y * y + y


def broadcast_vector_scalar(v, s):
    w = v * s + s
    return (w * w)[0] + w[1] - w[2] / s


def broadcast_matrix_row(m, r):
    t = m * r - r
    return t[0, 0] + t[1, 2] * t[1, 1] + t[-1, -1]


def matmul_2d(a, b):
    c = a @ b
    return c[0, 0] * c[1, 1] - c[0, 1]


def matvec(a, v):
    w = a @ v
    return w[0] * w[1]


def vecvec(u, v):
    return (u @ v) ** 2


def basic_indexing(x):
    return x[0] * x[-1] + x[1:3][0] * x[1:3][1]


def matrix_indexing(x):
    col = x[:, 1]
    row = x[0]
    corner = x[..., 0]
    lifted = x[None, :]
    return col[0] * row[2] + corner[1] + lifted[0, 1, 1]


def constant_conditional(x):
    y = x * 2.0 if SCALE > 1 else x
    return y * y


def global_scale(x):
    return x * SCALE


def branch(x, y):
    if x > 0:
        z = x * y
    else:
        z = y * y - x
    return z * x


def float_loop(x, n):
    s = x
    for _ in range(n):
        s = s * x + 1.0
    return s


def while_loop(x):
    i = 0
    while i < 4:
        x = x * 0.9 + x * x * 0.1
        i = i + 1
    return x


def aux_pair(x):
    y = x * x
    return y * 3.0, y


def helper(a, b, scale=2.0):
    return a * b * scale


def calls_helper(x, y):
    z = helper(x, y)
    w = helper(z, x, scale=0.5)
    return w * z


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def calls_in_loop(x):
    s = x
    for _ in range(3):
        s = helper(s, x)
    return s


def calls_with_passive_argument(x, y):
    return helper(x, y) + helper(y, x)
