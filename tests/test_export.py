"""``ad.export``: a generated derivative as a module that runs without adcompiler.

Each exported file is imported in a fresh interpreter (``python -I``, with an import hook
that refuses ``adcompiler``) and its entry function's answer is compared with
``ad.grad`` / ``ad.vjp`` / ``ad.jvp`` in this process. The table covers every example in
examples/ (the dask one needs the ``dask`` extra), plus corpus functions with callees,
recursion, loops, containers, partial ``wrt`` and constants.
"""

import ast
import inspect
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.export import _walk
from adcompiler.pytree import tree_leaves

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
sys.path.insert(0, str(Path(__file__).parent))
import convnet
import corpus_containers
import corpus_control
import corpus_core
import corpus_numpy
import derivative_control
import digits
import gradient_descent
import logistic_bce
import modes
import nested_params_training
import newton
import powers
import relu
import rosenbrock
import training_loops

ROOT = Path(__file__).parents[1]
rng = np.random.default_rng(11)

RUNNER = textwrap.dedent("""
    import importlib.abc, pickle, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "adcompiler" or name.startswith("adcompiler."):
                raise ImportError("adcompiler is not importable in this test")

    sys.meta_path.insert(0, Refuse())
    folder, kind = sys.argv[1], sys.argv[2]
    sys.path.insert(0, folder)
    import exported

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):  # the user's classes: the exported copies
            try:
                return super().find_class(module, name)
            except ImportError:  # the class of a container argument: its own source
                import dataclasses, typing
                import numpy as np
                namespace = {"dataclass": dataclasses.dataclass, "np": np,
                             "NamedTuple": typing.NamedTuple}
                with open(folder + "/classes.pickle", "rb") as f:
                    exec(pickle.load(f)[name], namespace)
                return namespace[name]

    def plain(value):  # containers of the file's own classes as dicts and tuples
        import dataclasses
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(plain(v) for v in value) if type(value) in (list, tuple) \
                else tuple(plain(v) for v in value)
        return value

    with open(folder + "/args.pickle", "rb") as f:
        args, extra = Unpickler(f).load()
    entry = getattr(exported, exported.__all__[0])
    if kind == "vjp":
        value, pullback = entry(*args)
        out = (value, pullback(extra))
    elif kind == "jvp":
        out = entry(*args, *extra)
    else:
        out = entry(*args)
    assert "adcompiler" not in sys.modules
    with open(folder + "/out.pickle", "wb") as f:
        pickle.dump(plain(out), f)
""")


def run_exported(tmp_path, f, args, wrt=0, kind="grad", extra=None, **options):
    """Export, then run the file in an interpreter where adcompiler cannot be imported."""
    path = ad.export(f, tmp_path / "exported.py", wrt=wrt, args=args, kind=kind, **options)
    with open(tmp_path / "args.pickle", "wb") as handle:
        pickle.dump((args, extra), handle)
    classes = {type(leaf).__name__: textwrap.dedent(inspect.getsource(type(leaf)))
               for leaf in _walk(args) if type(leaf).__module__.startswith("corpus")}
    with open(tmp_path / "classes.pickle", "wb") as handle:
        pickle.dump(classes, handle)
    done = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(tmp_path), kind],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr + "\n" + path.read_text()[:3000]
    with open(tmp_path / "out.pickle", "rb") as handle:
        return pickle.load(handle), path.read_text()


def assert_close(got, want):
    got_leaves, want_leaves = tree_leaves(got), tree_leaves(want)
    assert len(got_leaves) == len(want_leaves), (got, want)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        if w is None:
            assert g is None or np.all(np.asarray(g) == 0)
        else:
            np.testing.assert_allclose(np.asarray(g, dtype=np.asarray(w).dtype), w,
                                       rtol=1e-12, atol=1e-14)


def _digits_batch():
    return rng.uniform(0, 1, (6, 1, 8, 8)), np.array([0, 3, 9, 1, 3, 7])


def _xor_params():
    return [ad.nn.dense_params(2, 4, rng=rng), ad.nn.dense_params(4, 1, rng=rng)]


# (id, function, args, wrt, options)
EXAMPLES = [
    ("rosenbrock", rosenbrock.rosenbrock, (np.array([1.2, 0.8, -0.5, 2.0]),), 0, {}),
    ("powers-square", powers.square, (3.0,), 0, {}),
    ("powers-sixth", powers.sixth_power, (1.3,), 0, {}),
    ("relu", relu.relu, (np.array([-1.0, 0.0, 0.5, 2.0]),), 0, {"kind": "vjp"}),
    ("relu-flipped", relu.relu_flipped, (np.array([-1.0, 0.0, 0.5, 2.0]),), 0,
     {"kind": "vjp"}),
    ("modes-f", modes.f, (2.0, 0.5), (0, 1), {}),
    ("newton-rosenbrock", newton.rosenbrock, (np.array([-1.2, 1.0, 0.3]),), 0, {}),
    ("gradient_descent-f", gradient_descent.f, (2.0,), 0, {}),
    ("gradient_descent-mse", gradient_descent.mse,
     (0.3, -0.2, *gradient_descent.make_data(20)), (0, 1), {}),
    ("logistic-bce", logistic_bce.bce_with_logits, (rng.standard_normal(5),
                                                    np.array([1.0, 0, 1, 1, 0])), 0, {}),
    ("logistic-scalar_model", logistic_bce.scalar_model_loss,
     (0.4, -0.1, rng.standard_normal(5), np.array([1.0, 0, 1, 1, 0])), (0, 1), {}),
    ("logistic-loss", logistic_bce.loss, (rng.standard_normal((5, 3)),
                                          np.array([1.0, 0, 1, 1, 0]),
                                          rng.standard_normal(3), 0.2), (2, 3), {}),
    ("logistic-inline", logistic_bce.scalar_model_loss_inline,
     (0.4, -0.1, rng.standard_normal(5), np.array([1.0, 0, 1, 1, 0])), (0, 1), {}),
    ("logistic-aux", logistic_bce.loss_with_aux,
     (rng.standard_normal((5, 3)), np.array([1.0, 0, 1, 1, 0]), rng.standard_normal(3), 0.2),
     (2, 3), {"has_aux": True}),
    ("control-extracted", derivative_control.with_extracted_data, (0.7,), 0, {}),
    ("control-opaque", derivative_control.uses_opaque, (0.7,), 0, {}),
    ("control-frozen_cos", derivative_control.sin_and_frozen_cos, (0.7, 0.3), (0, 1), {}),
    ("control-surgery", derivative_control.surgery, (0.7,), 0, {}),
    ("control-checkpoint", derivative_control.square_of_cos, (0.7,), 0, {}),
    ("training-s6", training_loops.s6_loss,
     ({"w1": rng.standard_normal((1, 4)), "b1": np.zeros(4), "w2": rng.standard_normal((4, 1)),
       "b2": np.zeros(1)}, np.linspace(-1, 1, 8).reshape(-1, 1), np.ones((8, 1))), 0, {}),
    ("training-xor", training_loops.xor_loss,
     (_xor_params(), training_loops.XOR_X, training_loops.XOR_Y), 0, {}),
    ("training-s20", training_loops.s20_loss,
     ({"fc1": ad.nn.dense_params(3, 5, rng=rng), "fc2": ad.nn.dense_params(5, 2, rng=rng)},
      rng.standard_normal((6, 3)), np.array([0, 1, 1, 0, 1, 0])), 0, {}),
    ("nested_params", nested_params_training.loss,
     (nested_params_training.init(), *nested_params_training.data(16)), 0, {}),
    ("convnet", convnet.loss, (convnet.init_params(), *convnet.make_data(4)), 0, {}),
    ("digits-mlp", digits.mlp_loss, (digits.mlp_init(), *_digits_batch()), 0, {}),
    ("digits-conv", digits.conv_loss, (digits.conv_init(), *_digits_batch()), 0, {}),
]


@pytest.mark.parametrize(("f", "args", "wrt", "options"), [
    pytest.param(*case[1:], id=case[0]) for case in EXAMPLES])
def test_every_example_exports_and_runs_without_adcompiler(tmp_path, f, args, wrt, options):
    if options.get("kind") == "vjp":  # an elementwise function: pull back ones
        cotangent = np.ones_like(f(*args))
        got, text = run_exported(tmp_path, f, args, wrt, extra=cotangent, **options)
        value, pullback = ad.vjp(f, *args)
        assert_close(got, (value, pullback(cotangent)))
        return
    got, text = run_exported(tmp_path, f, args, wrt, **options)
    want = ad.grad(f, wrt, **options)(*args)
    if options.get("has_aux"):
        assert_close(got[0], want[0])
        assert_close(got[1], want[1])
    else:
        assert_close(got, want)
    assert "adcompiler" not in "".join(
        line for line in text.splitlines() if line.startswith(("import", "from")))


def test_dask_example_exports(tmp_path):
    pytest.importorskip("dask", reason="the dask example needs the dask extra")
    import dask_logistic_regression as dlr

    args = (rng.standard_normal(3), 0.1, rng.standard_normal((6, 3)),
            np.array([1.0, 0, 1, 1, 0, 0]))
    got, _ = run_exported(tmp_path, dlr.loss, args, (0, 1))
    assert_close(got, ad.grad(dlr.loss, (0, 1))(*args))


CORPUS = [
    ("attention-tuple-wrt", corpus_numpy.attention,
     (rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))),
     (0, 1, 2)),
    ("partial-wrt-callee", corpus_core.calls_helper, (0.7, 1.3), 1),
    ("recursion", corpus_core.power, (1.3, 4), 0),
    ("global-constant", corpus_core.global_scale, (0.6,), 0),
    ("loop", corpus_core.float_loop, (0.7, 4), 0),
    ("method-of-global-object", corpus_control.method_of_global_object, (0.7,), 0),
    ("dataclass-argument", corpus_containers.dataclass_attrs,
     (corpus_containers.Linear(rng.standard_normal(3), rng.standard_normal(3)),
      rng.standard_normal(3)), 0),
    ("mlp-list", corpus_numpy.mlp, ([rng.standard_normal((3, 4)), rng.standard_normal(4),
                                     rng.standard_normal((4, 2)), rng.standard_normal(2)],
                                    rng.standard_normal((5, 3))), (0, 1)),
]


@pytest.mark.parametrize(("f", "args", "wrt"), [pytest.param(*c[1:], id=c[0]) for c in CORPUS])
def test_corpus_functions_export(tmp_path, f, args, wrt):
    got, _ = run_exported(tmp_path, f, args, wrt)
    assert_close(got, ad.grad(f, wrt)(*args))


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "vjp", "jvp"])
def test_every_kind_exports(tmp_path, kind):
    f = corpus_numpy.layer_norm
    args = (rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5))
    wrt = (0, 1, 2)
    if kind == "vjp":
        got, text = run_exported(tmp_path, f, args, wrt, kind, extra=1.0)
        value, pullback = ad.vjp(f, *args)
        assert_close(got[0], value)
        assert_close(got[1], pullback(1.0))
    elif kind == "jvp":
        tangents = [rng.standard_normal(np.shape(a)) for a in args]
        got, text = run_exported(tmp_path, f, args, wrt, kind, extra=tangents)
        assert_close(got, ad.jvp(f, args, tangents))
    else:
        got, text = run_exported(tmp_path, f, args, wrt, kind)
        assert_close(got, (ad.grad if kind == "grad" else ad.value_and_grad)(f, wrt)(*args))
    exported = ast.literal_eval(text.split("__all__ = ", 1)[1].splitlines()[0])
    assert exported[0] == f"layer_norm_{kind}"


def test_header_says_what_for_which_shapes_and_that_only_numpy_is_needed(tmp_path):
    args = (rng.standard_normal((3, 4)).astype(np.float32), 2.0)
    path = ad.export(corpus_core.broadcast_vector_scalar, tmp_path / "g.py", wrt=(0, 1),
                     args=(rng.standard_normal(3).astype(np.float32), 2.0))
    text = path.read_text()
    doc = ast.get_docstring(ast.parse(text))
    assert doc.startswith("The gradient of broadcast_vector_scalar (corpus_core.py, line ")
    assert "wrt=(0, 1)" in doc and "v: float32 array of shape (3,)" in doc and "s: float" in doc
    assert "needs only NumPy" in doc and "Entry point: broadcast_vector_scalar_grad." in doc
    assert args  # the example arguments are described, not stored


def test_export_without_example_arguments_is_generic(tmp_path):
    path = ad.export(corpus_core.poly, tmp_path / "poly.py")
    assert "Generated without example arguments" in path.read_text()
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert namespace["poly_grad"](1.3) == pytest.approx(ad.grad(corpus_core.poly)(1.3))


def test_a_value_with_no_source_form_is_refused_by_name(tmp_path):
    import threading

    lock = threading.Lock()

    def uses_lock(x):
        return x * 2.0 if lock else x

    with pytest.raises(ad.ADError, match="lock"):
        ad.export(uses_lock, tmp_path / "bad.py", args=(1.0,))


def test_command_line_export(tmp_path):
    target = tmp_path / "rosen.py"
    done = subprocess.run([sys.executable, "-m", "adcompiler",
                           f"{ROOT / 'examples' / 'rosenbrock.py'}:rosenbrock",
                           "--export", str(target)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout
    namespace = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    x = np.array([1.2, 0.8, -0.5])
    np.testing.assert_allclose(namespace["rosenbrock_grad"](x), ad.grad(rosenbrock.rosenbrock)(x))


def test_argnums_is_accepted_as_for_every_entry_point(tmp_path):
    args = (0.5, 1.5)
    by_argnums = ad.export(corpus_core.ratio, tmp_path / "a.py", argnums=(0, 1), args=args)
    by_wrt = ad.export(corpus_core.ratio, tmp_path / "b.py", wrt=(0, 1), args=args)
    assert by_argnums.read_text() == by_wrt.read_text()
    with pytest.raises(ad.ADError, match="argnums"):
        ad.export(corpus_core.ratio, tmp_path / "c.py", wrt=0, argnums=1, args=args)
