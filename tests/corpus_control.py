"""Control flow and calls, written the way a numerical programmer writes them.

Kept in a real file because the compiler reads source. Every function returns a scalar;
tests/test_control_flow.py checks each gradient against central finite differences.
Evaluation points are chosen away from branch boundaries and kinks.
"""

import corpus_control_helpers as helpers
import numpy as np
from corpus_control_helpers import Cubic, Scaler, ShiftedCubic, cube_plus

THRESHOLD = 0.5


# -- branches ---------------------------------------------------------------------------


def if_else(x):
    if x > 0.0:
        y = x * x
    else:
        y = -3.0 * x
    return y + x


def if_elif_else(x):
    if x < -1.0:
        y = x * x * x
    elif x < 1.0:
        y = np.sin(x) * 2.0
    else:
        y = np.exp(x) - x
    return y * x


def if_without_else(x, y):
    z = x * y
    if z > 1.0:
        z = z * z
    return z + y


def nested_ifs(x, y):
    if x > 0.0:
        if y > 0.0:
            r = x * y
        else:
            r = x - y * y
    else:  # noqa: PLR5501  (nested ifs on purpose)
        if y > x:
            r = np.cos(x) * y
        else:
            r = x * x
    return r


def conditional_expression(x, y):
    s = x * y if x > y else x + y * y
    return s * s


def conditional_in_expression(x):
    return 2.0 * (x * x if x < 1.0 else np.log(x)) + x


def and_condition(x, y):
    if x > 0.0 and y > 0.0:
        out = np.sqrt(x * y)
    else:
        out = x + y
    return out


def or_condition(x, y):
    if x > 2.0 or y < 0.0:
        out = x * y
    else:
        out = x * x + y
    return out


def not_condition(x):
    if not x > 0.0:
        return -x * x
    return x * x * x


def array_condition(v):
    if v[0] > v[1]:
        w = v * v
    else:
        w = v * 3.0
    return w[0] + w[1] * w[2]


def piecewise_linear_quadratic(x):
    if x < -1.0:
        return -2.0 * x - 1.0
    elif x < 1.0:
        return x * x
    else:
        return 2.0 * x - 1.0


def softplus(x):
    if x > 20.0:
        return x
    elif x < -20.0:
        return np.exp(x)
    return np.log1p(np.exp(x))


def huber(r, delta):
    a = abs(r)
    if a <= delta:
        loss = 0.5 * r * r
    else:
        loss = delta * (a - 0.5 * delta)
    return loss


def defined_in_branch(x):
    if x > 0.0:
        t = np.exp(x)
        u = t * x
    else:
        t = x
        u = x * x
    return t + u


def threshold_from_global(x):
    if x > THRESHOLD:
        return x * THRESHOLD
    return x * x


# -- early returns ----------------------------------------------------------------------


def several_returns(x):
    if x < 0.0:
        return x * x
    y = x * 3.0
    if y > 6.0:
        return y - x
    z = np.sin(y)
    return z * x


def return_inside_loop(x):
    s = x
    for i in range(10):
        s = s * 1.5
        if s > 5.0:
            return s + i
    return s - 1.0


# -- for loops --------------------------------------------------------------------------


def range_runtime_bound(x, n):
    s = 0.0
    for i in range(n):
        s = s + x ** (i + 1) / (i + 1)
    return s


def linear_accumulate(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def range_start_stop_step(x, n):
    p = x
    for k in range(1, n, 2):
        p = p * x + k
    return p


def loop_over_rows(m):
    total = 0.0
    for row in m:
        total = total + row[0] * row[1] - row[2]
    return total


def loop_enumerate(v):
    acc = 0.0
    for i, vi in enumerate(v):
        acc = acc + (i + 1.0) * vi * vi
    return acc


def loop_zip(u, v):
    acc = 1.0
    for a, b in zip(u, v, strict=True):
        acc = acc * (1.0 + a * b)
    return acc


def loop_carried_array(v, n):
    h = v
    for _ in range(n):
        h = np.tanh(h * 1.3 + 0.1)
    return h[0] - h[1] + h[2]


def loop_two_carried(x, y):
    a = x
    b = y
    for _ in range(4):
        a, b = a * 0.5 + b * 0.25, a * b * 0.5
    return a + b


def nested_loops(m):
    s = 0.0
    rows, cols = m.shape
    for i in range(rows):
        for j in range(cols):
            s = s + m[i, j] * m[i, j] * (i + j + 1)
    return s


def nested_loops_triangular(v):
    s = 0.0
    for i in range(3):
        for j in range(i):
            s = s + v[i] * v[j]
    return s


def loop_with_branch(v):
    s = 0.0
    for x in v:
        if x > 0.0:
            s = s + x * x
        else:
            s = s - x
    return s


def loop_break(x):
    s = x
    for _ in range(20):
        s = s * 1.2 + 0.1
        if s > 3.0:
            break
    return s * s


def loop_continue(v):
    s = 0.0
    for i in range(4):
        if v[i] < 0.0:
            continue
        s = s + v[i] * v[i]
    return s


def loop_else(x):
    s = x
    for _ in range(3):
        s = s * x
        if s > 100.0:
            break
    else:
        s = s + 10.0 * x
    return s


def defined_in_loop(x):
    for i in range(3):
        last = x * (i + 1.0)
    return last * last


def loop_zero_iterations(x, n):
    s = x * 2.0
    for _ in range(n):
        s = s * s
    return s


def loop_updates_index(v):
    w = v * 1.0
    for i in range(1, 3):
        w[i] = w[i] + w[i - 1] * 0.5
    return w[2] * w[0]


def loop_subscript_aug(v):
    w = v * 1.0
    for i in range(3):
        w[i] *= v[(i + 1) % 3]
    return w[0] + w[1] * w[2]


def loop_updates_index_copy(v):
    w = v.copy()
    for i in range(1, 3):
        w[i] = w[i] + w[i - 1] * 0.5
    return w[2] * w[0]


def loop_subscript_aug_copy(v):
    w = v.copy()
    for i in range(3):
        w[i] *= v[(i + 1) % 3]
    return w[0] + w[1] * w[2]


def horner(coeffs, x):
    acc = 0.0
    for c in coeffs:
        acc = acc * x + c
    return acc


def rnn(W, U, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return h @ h


def newton_sqrt(a):
    x = a
    for _ in range(8):
        x = 0.5 * (x + a / x)
    return x


def euler_ode(k, y0):
    y = y0
    dt = 0.1
    for _ in range(10):
        y = y + dt * (-k * y + np.sin(y))
    return y


# -- while loops ------------------------------------------------------------------------


def loop_branch_carried(x, n):
    s = x
    for _ in range(n):
        if s > 1.0:
            s = s * 0.5
        else:
            s = s * s + x
    return s


def loop_swap_product(x, y):
    prev = x
    cur = y
    for _ in range(4):
        prev, cur = cur, cur * prev
    return cur + prev


def nested_loop_carried_array(h, W):
    for i in range(2):
        for j in range(3):
            h = np.sin(h) * W[i, j] + h
    return h @ h


def while_array_state(v, x):
    h = v
    while h @ h < 10.0:
        h = h * 1.5 + x
    return h[0] * h[1]


def rnn_collect_states(W, xs):
    h = xs[0] * 0.0
    states = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        states.append(h)
    return sum(s @ s for s in states)


def loop_np_sum(v, n):
    total = 0.0
    for k in range(n):
        total = total + np.sum(np.sin(v * (k + 1.0)))
    return total


def branch_value_used_in_loop(x, v):
    if x > 0.0:
        scale = x * x
    else:
        scale = -x
    acc = 0.0
    for a in v:
        acc = acc + scale * a * a
    return acc


def while_data_dependent(x):
    s = x
    while s < 10.0:
        s = s * 1.7
    return s


def while_counter_and_value(x):
    y = x
    k = 0
    while k < 5 and y < 50.0:
        y = y * y + 0.5
        k = k + 1
    return y


def newton_sqrt_while(a):
    x = a
    err = 1.0
    while err > 1e-12:
        nxt = 0.5 * (x + a / x)
        err = abs(nxt - x)
        x = nxt
    return x


def while_break(x):
    s = x
    n = 0
    while True:
        s = np.sin(s) + x
        n = n + 1
        if n >= 4:
            break
    return s


# -- lists ------------------------------------------------------------------------------


def list_append_sum(x):
    parts = []
    for i in range(4):
        parts.append(x ** i * 0.5)
    return sum(parts)


def list_comprehension_sum(v):
    squares = [v[i] * v[i] for i in range(3)]
    return sum(squares)


def list_comprehension_filter(v):
    terms = [a * a for a in v if a > 0.0]
    return sum(terms) + v[0]


def generator_sum(v):
    return sum(np.exp(a) for a in v)


def list_indexing(x, y):
    items = [x, y, x * y]
    items.append(items[2] * x)
    return items[-1] + items[1] * items[0]


def list_append_read_last(x, y):
    items = [x, y]
    items.append(items[1] * x)
    return items[-1]


def list_append_read_first(x, y):
    items = [x, y]
    items.append(x * 3.0)
    return items[-1] + items[0]


def list_append_read_new_by_position(x, y):
    items = [x, y]
    items.append(items[1] * x)
    return items[2]


def list_concatenate_operator(x, y):
    items = [x, y] + [x * 3.0]  # noqa: RUF005
    return items[-1] + items[0]


def list_stack(v):
    rows = []
    for i in range(3):
        rows.append(v * (i + 1.0))
    m = np.stack(rows)
    return m[2, 0] * m[1, 1]


def list_array(x, y):
    v = np.array([x, y, x * y])
    return v @ v


def list_concatenate(u, v):
    w = np.concatenate([u, v * 2.0])
    return w[0] * w[-1] + w[1]


# -- calls ------------------------------------------------------------------------------


def square(z):
    return z * z


def affine(z, a=2.0, b=0.5):
    return a * z + b


def call_module_helper(x):
    return square(x) + square(x * 2.0)


def call_other_module(x):
    return helpers.cube_plus(x) + cube_plus(x, c=3.0)


def call_other_module_branches(x, y):
    return helpers.smooth_step(x) * helpers.smooth_step(y)


def call_other_module_loop(v, w):
    return helpers.weighted(v, w)


def call_keyword_and_default(x, y):
    return affine(x) + affine(y, b=x) + affine(z=x, a=y)


def sum_all(*terms):
    total = 0.0
    for t in terms:
        total = total + t
    return total


def call_star_args(x, y):
    return sum_all(x, y * y, x * y)


def call_in_branch(x):
    if x > 1.0:
        y = square(x)
    else:
        y = affine(x, 3.0)
    return y


def apply_twice(fn, z):
    return fn(fn(z))


def call_function_argument(x):
    return apply_twice(square, x) + apply_twice(np.sin, x)


def method_of_object(x):
    s = Scaler(1.5)
    return s.apply(x) + s.twice(x)


SCALER = Scaler(0.75)


def method_of_global_object(x):
    return SCALER.apply(x) * x


def method_calling_self_method(x):
    return SCALER.twice(x)


def power_recursive(x, n):
    if n == 0:
        return 1.0
    if n % 2 == 0:
        half = power_recursive(x, n // 2)
        return half * half
    return x * power_recursive(x, n - 1)


def call_recursive(x):
    return power_recursive(x, 5) + power_recursive(x * 0.5, 2)


def make_scaled_square(scale, offset):
    def scaled_square(x):
        return scale * x * x + offset * x

    return scaled_square


closure_square = make_scaled_square(1.5, -0.5)


def call_closure(x):
    return closure_square(x) * 2.0


# -- nested defs and lambdas (inlined at their calls) ---------------------------------


def newton_cube_root(a):
    def residual(x):
        return x * x * x - a

    def slope(x):
        return 3.0 * x * x

    x = a
    for _ in range(12):
        x = x - residual(x) / slope(x)
    return x


def closure_sees_reassignment(x, y):
    scale = x

    def scaled(t):
        return scale * t

    first = scaled(y)
    scale = scale * y + 1.0  # the second call sees the new value, as in Python
    second = scaled(y)
    return first + second * x


def nested_calls_nested(x):
    def square(t):
        return t * t

    def poly(t):
        return square(t) + 3.0 * t

    return poly(x) * poly(2.0 * x)


def nested_early_return(x, n):
    def grow_until(v, limit):
        for i in range(n):
            v = v * 1.5
            if v > limit:
                return v + i
        return v - 1.0

    return grow_until(x, 2.0) + grow_until(x * 0.5, 4.0)


def nested_piecewise_default(x, knee):
    def soft_relu(t, width=knee * 0.5):
        if t < -width:
            return 0.0
        if t > width:
            return t
        return (t + width) ** 2 / (4.0 * width)

    return soft_relu(x) + soft_relu(x - 1.0, width=0.25)


def rnn_nested_cell(W, U, h0, xs):
    def cell(h, x):
        return np.tanh(W @ h + U @ x)

    h = h0
    for t in range(xs.shape[0]):
        h = cell(h, xs[t])
    return np.sum(h * h)


def nested_def_in_loop(x, n):
    total = 0.0
    for k in range(n):
        def term(t):
            return t ** (k + 1) / (k + 1.0)  # noqa: B023  (called in the same iteration)

        total = total + term(x)
    return total


def nested_keyword_only(v, s):
    def penalty(u, *, weight=1.0, eps=1e-6):
        return weight * np.sqrt(np.sum(u * u) + eps)

    return penalty(v, weight=s) + penalty(2.0 * v)


def nested_star_args(x, y):
    def mean_of(*values):
        acc = 0.0
        for value in values:
            acc = acc + value
        return acc / len(values)

    pair = (x * y, y)
    return mean_of(x, y * y, np.sin(x)) * mean_of(*pair)


def nested_no_return_value_used(x):
    def log_step(t):
        if t > 100.0:
            return None
        return t * 2.0

    out = log_step(x)
    return out * x


def lambda_helpers(x, y):
    sq = lambda t: t * t  # noqa: E731
    mix = lambda a, b=0.5: a * b + sq(a)  # noqa: E731
    return mix(x) + mix(y, b=x) + sq(x * y)


def lambda_rebound_in_loop(x):
    total = 0.0
    for k in range(3):
        power = lambda t: t ** (k + 1)  # noqa: E731, B023
        total = total + power(x)
    return total


def lambda_over_array(v, w):
    score = lambda u: np.sum(np.tanh(u) * w)  # noqa: E731
    return score(v) + score(v * v)


smooth_abs = lambda t: np.sqrt(t * t + 1e-3)  # noqa: E731

ACTIVATIONS = {
    "softsign": lambda t: t / (1.0 + np.sqrt(t * t)),
    "cubic": lambda t: t * t * t - t,
}


def call_module_lambda(x):
    return smooth_abs(x) * x


# -- *args, keyword-only parameters, methods -------------------------------------------


def weighted_total(scale, *terms, shift=0.0):
    acc = 0.0
    for t in terms:
        acc = acc + t
    return scale * acc + shift


def scaled_norm(v, *, scale=1.0, eps=1e-6):
    return scale * np.sqrt(np.sum(v * v) + eps)


def call_star_parts(x, y):
    parts = (x, y * y, x * y)
    return sum_all(*parts) + weighted_total(2.0, x, y, shift=x)


def call_star_list(x, y):
    parts = [x * x, y]
    return weighted_total(x, *parts) + sum_all()


def call_keyword_only(v, s):
    return scaled_norm(v, scale=s) + scaled_norm(2.0 * v)


CUBIC = Cubic(2.0)
SHIFTED = ShiftedCubic(2.0)


def method_newton_local(a):
    cubic = Cubic(1.5, start=0.5)
    return cubic.root(a) * a


def method_newton_global(a):
    return CUBIC.root(a) + CUBIC.value(a, 1.0)


def method_subclass_override(a):
    return SHIFTED.root(a)


def method_in_loop(xs):
    scaler = Scaler(0.5)
    total = 0.0
    for x in xs:
        total = total + scaler.twice(x)
    return total


def dict_argument_loop(params, x):
    total = 0.0
    for name in params:
        total = total + params[name] * x
    return total * total


# -- refused constructs (error-path tests) ---------------------------------------------


def uses_nested_def(x):
    def inner(z):
        return z * x

    return inner(x)


def uses_lambda(x):
    f = lambda z: z * z  # noqa: E731
    return f(x)


def uses_nonlocal(x):
    total = 0.0

    def add(z):
        nonlocal total
        total = total + z

    add(x)
    return total


def nested_recursive(x):
    def fact(t, n):
        if n == 0:
            return 1.0
        return t * fact(t, n - 1)

    return fact(x, 3)


def nested_as_value(x):
    def double(t):
        return 2.0 * t

    return apply_twice(double, x)


def lambda_as_argument(x):
    return apply_twice(lambda t: t * 3.0, x)


def nested_defined_in_branch(x):
    if x > 0.0:
        def pick(t):
            return t
    else:
        def pick(t):
            return -t
    return pick(x)


def lambdas_in_dict_literal(x):
    ops = {
        "square": lambda t: t * t,
        "same": lambda t: t,
    }
    return ops["square"](x)


def star_of_argument(v):
    return sum_all(*v)


def star_args_foreign_global(x):
    return helpers.offset_total(x, x * x)


async def uses_async(x):
    return x


def uses_del(x):
    y = x * 2.0
    del y
    return x


def uses_match(x):
    match 1:
        case 1:
            y = x
        case _:
            y = 2.0 * x
    return y


def make_counting_loss():
    calls = 0

    def counting_loss(x):
        nonlocal calls
        calls = calls + 1
        return x * x

    return counting_loss


counting_loss = make_counting_loss()


async def fetch(x):
    return x


async def uses_await(x):
    y = await fetch(x)
    return y * 2.0


def uses_yield_from(x):
    yield from [x]
