"""Notebooks: functions defined in one cell are differentiated in another (IPython keeps
each cell's source), and ``g.source`` as a cell's value shows as highlighted Python.

The cells run through ``IPython.core.interactiveshell.InteractiveShell``, the engine behind
Jupyter's IPython kernel, so the source lookup is the one a notebook uses.
"""

import numpy as np
import pytest

pytest.importorskip("IPython", reason="the notebook test needs IPython (the test extra)")
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture
def shell():
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def run(shell, cell):
    result = shell.run_cell(cell, store_history=True)
    result.raise_error()
    return result.result


def test_grad_of_a_function_defined_in_an_earlier_cell(shell):
    run(shell, "import numpy as np\nimport adcompiler as ad")
    run(shell, "def f(x):\n    y = np.sin(x) * x\n    return np.sum(y)\n")
    x = np.array([0.5, 1.0, -2.0])
    shell.user_ns["x"] = x
    got = run(shell, "g = ad.grad(f)\ng(x)")
    np.testing.assert_allclose(got, np.cos(x) * x + np.sin(x), rtol=1e-14)
    text = run(shell, "g.source")
    assert text.startswith("def f_grad(x):")
    assert "# line 2: y = np.sin(x) * x" in text  # the cell's own line, quoted


def test_redefining_in_a_later_cell_is_picked_up(shell):
    run(shell, "import adcompiler as ad")
    run(shell, "def h(x):\n    return x ** 2\n")
    assert run(shell, "ad.grad(h)(3.0)") == 6.0
    run(shell, "def h(x):\n    return x ** 3\n")
    assert run(shell, "ad.grad(h)(3.0)") == 27.0


def test_source_displays_as_highlighted_python(shell):
    run(shell, "import numpy as np\nimport adcompiler as ad")
    run(shell, "def loss(w):\n    return np.sum(np.tanh(w) ** 2)\n")
    value = run(shell, "ad.grad(loss).source")
    formats, _ = shell.display_formatter.format(value)
    markdown = formats["text/markdown"]
    assert markdown.startswith("```python\ndef loss_grad(w):\n")
    assert markdown.endswith("\n```")
    assert str(value) in markdown + "\n"  # the whole text, unchanged


def test_pasting_the_source_into_a_cell_runs(shell):
    run(shell, "import numpy as np\nimport adcompiler as ad")
    run(shell, "def loss(w):\n    return np.sum(np.tanh(w) ** 2)\n")
    text = run(shell, "ad.source(loss, args=(np.ones(3),))")
    run(shell, str(text))  # defines loss_grad, imports what it uses
    w = np.array([0.3, -0.1, 2.0])
    shell.user_ns["w"] = w
    np.testing.assert_allclose(run(shell, "loss_grad(w)"),
                               2 * np.tanh(w) * (1 - np.tanh(w) ** 2), rtol=1e-14)
