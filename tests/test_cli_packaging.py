"""The command line as users meet it (``--version``, the usage line of either spelling, the
console script) and the packaging metadata a package index shows."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import adcompiler as ad

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT, check=False, **kwargs)


def console_script(tmp_path):
    """The script pip writes for ``[project.scripts] adcompiler = "module:function"``."""
    module, _, function = PYPROJECT["project"]["scripts"]["adcompiler"].partition(":")
    script = tmp_path / "adcompiler"
    script.write_text(f"import sys\nfrom {module} import {function}\n"
                      f"sys.exit({function}())\n")
    return [sys.executable, str(script)]


def test_version():
    done = run([sys.executable, "-m", "adcompiler", "--version"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"adcompiler {ad.__version__}"
    assert PYPROJECT["project"]["version"] == ad.__version__


def test_usage_line_says_how_it_was_invoked(tmp_path):
    as_module = run([sys.executable, "-m", "adcompiler", "--help"])
    assert as_module.stdout.startswith("usage: python -m adcompiler ")
    as_script = run([*console_script(tmp_path), "--help"])
    assert as_script.returncode == 0, as_script.stderr
    assert as_script.stdout.startswith("usage: adcompiler ")
    assert "python -m adcompiler" not in as_script.stdout


def test_console_script_prints_the_gradient(tmp_path):
    done = run([*console_script(tmp_path), "examples/rosenbrock.py:rosenbrock", "--color",
                "never"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("def rosenbrock_grad(x):")


def test_help_says_the_file_is_imported_and_how_to_guard_it():
    done = run([sys.executable, "-m", "adcompiler", "--help"])
    text = " ".join(done.stdout.split())
    assert "imported, so its top-level code runs" in text
    assert "if __name__ == \"__main__\":" in text


def test_top_level_code_of_the_target_runs_and_a_guard_keeps_it_out(tmp_path):
    target = tmp_path / "model.py"
    target.write_text(
        "import numpy as np\n\n"
        "def loss(x):\n    return np.sum(x ** 2)\n\n"
        "print('top level ran')\n\n"
        "if __name__ == '__main__':\n    print('training ran')\n")
    done = run([sys.executable, "-m", "adcompiler", f"{target}:loss", "--color", "never"])
    assert done.returncode == 0, done.stderr
    assert "top level ran" in done.stdout and "training ran" not in done.stdout


def test_license_and_metadata():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 adcompiler authors" in license_text
    project = PYPROJECT["project"]
    assert project["authors"] == [{"name": "adcompiler authors"}]
    # an SPDX expression (PEP 639), not the deprecated license classifier
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])
    assert {"Homepage", "Documentation"} <= set(project["urls"])
    assert any(dep.lower().startswith("ipython") for dep in
               project["optional-dependencies"]["test"])


@pytest.mark.parametrize("name", ad.__all__)
def test_every_public_name_is_in_the_reference(name):
    reference = (ROOT / "docs" / "reference.md").read_text().splitlines()
    assert f"::: adcompiler.{name}" in reference, (
        f"docs/reference.md does not document ad.{name}")
