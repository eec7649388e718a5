"""Loops with break, continue, else and return: user-style numerics."""

import numpy as np


def skip_odd_terms(x):
    total = 0.0
    for k in range(6):
        if k % 2 == 1:
            continue
        total = total + np.sin(x * k)
    return total


def nested_break_inner_only(x):
    total = 0.0
    for i in range(3):
        for j in range(5):
            if j > i:
                break
            total = total + x ** (i + j)
    return total


def newton_with_tolerance(a):
    x = a
    for _ in range(50):
        step = (x * x - a) / (2.0 * x)
        x = x - step
        if abs(step) < 1e-12:
            break
    return x


def search_with_else(x):
    y = x
    for k in range(4):
        if y > 100.0:
            y = y - 1.0
            break
        y = y * (k + 1.5)
    else:
        y = y + 10.0
    return y


def while_continue(x):
    i = 0
    s = 0.0
    while i < 6:
        i = i + 1
        if i == 3:
            continue
        s = s + x * i
    return s


def return_from_nested_loops(x):
    for i in range(4):
        for j in range(4):
            if x * (i + j) > 2.5:
                return x * i - j
    return -x


def return_in_while(x):
    while True:
        x = x * 1.5
        if x > 4.0:
            return np.log(x)


def break_then_use_array(v):
    acc = v * 0.0
    for i in range(5):
        acc = acc + np.tanh(v * i)
        if np.sum(acc) > 2.0:
            break
    return np.sum(acc * acc)


def reused_target_after_empty_loop(y):
    t4 = 0.5
    for i in range(0):  # noqa: B007  (the name i is reused below: the point of the case)
        t4 = t4 * 0.5 + y
    t6 = 0.25
    for i in range(1):
        t6 = t6 * 0.5 + (0.5 + np.sin(i)) * 0.5
    return t4 * y + t6 * y


def return_from_a_loop_in_a_loop_else(x):
    for _ in range(3):
        for _ in range(2):
            x = x * 1.1
        else:  # noqa: PLW0120  (the else is the point of the case)
            for _ in range(3):
                if x > 2.0:
                    return x * 10.0
    return x
