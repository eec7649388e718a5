"""The public API's input checks, a table over entry points by wrt forms by containers,
and the command line."""

import re
import subprocess
import sys
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.__main__ import highlight, main

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(21)

Params = namedtuple("Params", "w b")


@dataclass
class Layer:
    w: np.ndarray
    b: float


def loss(params, x, scale):
    w, b = params["w"], params["b"]
    return scale * np.sum(np.tanh(x @ w + b) ** 2)


def loss_tuple(params, x, scale):
    return scale * np.sum(np.tanh(x @ params[0] + params[1]) ** 2)


def loss_named(params, x, scale):
    return scale * np.sum(np.tanh(x @ params.w + params.b) ** 2)


def loss_dataclass(params, x, scale):
    return scale * np.sum(np.tanh(x @ params.w + params.b) ** 2)


def _containers():
    w, b, x = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    return [
        ("dict", loss, {"w": w, "b": b}, x),
        ("list", loss_tuple, [w, b], x),
        ("tuple", loss_tuple, (w, b), x),
        ("namedtuple", loss_named, Params(w, b), x),
        ("dataclass", loss_dataclass, Layer(w, 0.3), x),
    ]


WRTS = [("index", 0, (0,)), ("name", "params", (0,)), ("tuple", (0, "x"), (0, 1)),
        ("tuple-of-names", ("x", "params"), (1, 0))]


def _flat(tree):
    return np.concatenate([np.ravel(leaf) for leaf in ad.pytree.tree_leaves(tree)])


@pytest.mark.parametrize(("kind", "func", "params", "x"), _containers(),
                         ids=[c[0] for c in _containers()])
@pytest.mark.parametrize(("wrt_kind", "wrt", "positions"), WRTS, ids=[w[0] for w in WRTS])
def test_every_entry_point_agrees_and_matches_finite_differences(kind, func, params, x,
                                                                  wrt_kind, wrt, positions):
    args = (params, x, 0.7)
    grads = ad.grad(func, wrt)(*args)
    value, grads_again = ad.value_and_grad(func, wrt)(*args)
    assert value == pytest.approx(func(*args))
    if not isinstance(wrt, tuple):
        grads, grads_again = (grads,), (grads_again,)
    out, pullback = ad.vjp(func, *args)
    assert out == pytest.approx(value)
    cotangents = pullback(1.0)
    for position, g, g2 in zip(positions, grads, grads_again, strict=True):
        assert type(g) is type(args[position])
        np.testing.assert_allclose(_flat(g), _flat(g2))
        np.testing.assert_allclose(_flat(g), _flat(cotangents[position]))
    decorated = ad.differentiable(func, wrt=wrt)
    assert decorated(*args) == pytest.approx(func(*args))
    np.testing.assert_allclose(_flat(decorated.grad()(*args)), _flat(ad.grad(func, wrt)(*args)))
    ad.check_grads(func, args, wrt)
    transformed = ad.grad(func, wrt)
    transformed(*args)
    assert transformed.source == ad.source(func, "grad", wrt, args=args)


def test_source_of_every_kind_is_valid_python():
    args = ({"w": np.ones((3, 2)), "b": np.zeros(2)}, np.ones((4, 3)), 0.5)
    for kind in ("grad", "value_and_grad", "vjp", "jvp"):
        text = ad.source(loss, kind, 0, args=args)
        compile(text, f"<{kind}>", "exec")
        assert text.lstrip().startswith("def loss_")


# -- input checks -------------------------------------------------------------------------


def two(x, y):
    return x * y


def test_vjp_cotangent_of_the_wrong_shape_names_both_shapes():
    _, pullback = ad.vjp(two, np.ones(3), np.ones(3))
    with pytest.raises(ad.ADError, match=r"shape \(4,\), the output has shape \(3,\)"):
        pullback(np.ones(4))


def test_vjp_cotangent_of_the_wrong_structure_is_refused():
    _, pullback = ad.vjp(two, np.ones(3), np.ones(3))
    with pytest.raises(ad.ADError, match="structure"):
        pullback({"a": np.ones(3)})


@pytest.mark.parametrize(("args", "kwargs"), [((1.0,), {}), ((1.0, 2.0, 3.0), {}),
                                              ((1.0,), {"z": 2.0})])
def test_wrong_arguments_give_the_type_error_python_gives(args, kwargs):
    with pytest.raises(TypeError) as python:
        two(*args, **kwargs)
    with pytest.raises(TypeError) as ours:
        ad.grad(two)(*args, **kwargs)
    assert str(ours.value) == str(python.value)


def test_integer_leaves_of_a_container_get_none():
    grad = ad.grad(lambda_free_loss)({"a": 2.0, "n": 3})
    assert grad == {"a": 3.0, "n": None}


def lambda_free_loss(p):
    return p["a"] * p["n"]


# -- command line -------------------------------------------------------------------------


def _run(*argv):
    return subprocess.run([sys.executable, "-m", "adcompiler", *argv], capture_output=True,
                          text=True, cwd=ROOT, check=False)


@pytest.mark.parametrize(("target", "message"), [
    ("missing.py:f", "no such file"),
    ("examples/rosenbrock.py:nope", "has no function 'nope'"),
    ("examples/rosenbrock.py", "expected FILE.py:FUNCTION"),
])
def test_bad_targets_are_one_line_errors_with_status_2(target, message):
    done = _run(target)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_function_that_cannot_be_differentiated_is_one_line_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    y = x * 2\n    y.sort()\n    return y[0]\n")
    done = _run(f"{bad}:f")
    assert done.returncode == 2
    assert f"{bad}:3: UnsupportedSyntaxError" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_help_explains_the_options():
    done = _run("--help")
    assert done.returncode == 0
    for option in ("--wrt", "--mode", "--kind", "--color"):
        assert option in done.stdout


def test_kind_and_mode_choose_the_printed_function(capsys):
    assert main(["examples/rosenbrock.py:rosenbrock", "--kind", "vjp", "--color", "never"]) == 0
    assert "def rosenbrock_forward(x):" in capsys.readouterr().out
    assert main(["examples/rosenbrock.py:rosenbrock", "--mode", "forward"]) == 0
    assert "def rosenbrock_jvp(x, dx):" in capsys.readouterr().out


def test_colours_only_wrap_tokens():
    text = ad.grad(two).source
    coloured = highlight(text)
    assert "\033[" in coloured
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == text


def cube_sum(x):
    return np.sum(x ** 3)


def test_derivatives_of_generated_derivatives_differentiate_the_derivative():
    # they used to unwrap to cube_sum and return its first derivative: silently wrong
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(ad.jacobian(ad.grad(cube_sum))(x), np.diag(6 * x))
    _, tangent = ad.jvp(ad.grad(cube_sum), (x,), (np.ones(2),))
    np.testing.assert_allclose(tangent, 6 * x)
    with pytest.raises(ad.NonScalarOutputError, match="the gradient of cube_sum"):
        ad.grad(ad.grad(cube_sum))(x)
    with pytest.raises(ad.NonScalarOutputError, match="the gradient of cube_sum"):
        ad.grad(ad.differentiable(cube_sum).grad())(x)


@pytest.mark.parametrize("call", [
    lambda: ad.vjp(ad.value_and_grad(cube_sum), np.array([1.0, 2.0])),
    lambda: ad.vjp(ad.grad(cube_sum), np.array([1.0, 2.0])),
    lambda: ad.jacobian(ad.grad(cube_sum), mode="reverse"),
    lambda: ad.grad(ad.grad(cube_sum, has_aux=True)),
    lambda: ad.grad(ad.jacobian(cube_sum)),
], ids=["vjp-of-value-and-grad", "vjp-of-grad", "reverse-jacobian-of-grad", "has-aux",
        "grad-of-jacobian"])
def test_derivatives_of_derivatives_that_are_not_available_are_refused(call):
    with pytest.raises(ad.ADError, match=r"generated derivative|differentiated again"):
        call()
