"""Every example runs as a user runs it (``python examples/NAME.py``) and prints its numbers.

The examples' own tests check the numbers in detail through their ``run`` functions; this
file checks the scripts themselves, with the seeds' figures where a script prints them.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# (script, arguments, text the output must contain, extras the script needs)
RUNS = [
    ("rosenbrock.py", [], "def rosenbrock_grad(x):", []),
    ("relu.py", [], "relu: d/dx at 0 = 0.0, at eps = 1.0", []),
    ("modes.py", [], "S3 reverse mode: (-0.358298904800159, -0.119432968266720)", []),
    ("powers.py", [], "d/dx x**6 at 5 = 18750.0", []),
    ("newton.py", [], "converged in 7 steps", []),
    ("derivative_control.py", [], "S14: 0.654251449887584", []),
    ("logistic_bce.py", [], "S18: gradient shapes (5, 3) and (3,)", []),
    ("gradient_descent.py", [], "S9", []),
    ("nested_params_training.py", [], "def loss_grad(params, x, y):", []),
    ("training_loops.py", [], "S15", []),
    ("convnet.py", [], "conv body ran 2 times", []),
    ("digits.py", ["--quick", "--plot", "{tmp}/digits.png"], "test accuracy",
     ["sklearn", "tqdm", "matplotlib"]),
    ("dask_logistic_regression.py", ["--rows", "20000", "--steps", "2", "--workers", "1"],
     "loss", ["dask", "distributed"]),
]


def _missing(modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]


def test_every_example_is_run_here():
    assert {name for name, *_ in RUNS} == {p.name for p in EXAMPLES.glob("*.py")}


@pytest.mark.parametrize(("script", "args", "expected", "needs"), RUNS,
                         ids=[r[0] for r in RUNS])
def test_example_runs(script, args, expected, needs, tmp_path):
    missing = _missing(needs)
    if missing:
        pytest.skip(f"needs the extra providing {', '.join(missing)}")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
