"""The README's install commands and what CI runs cannot disagree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / "scripts" / "readme_commands.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_has_the_demo_and_the_test_command() -> None:
    commands = _script().readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) == 2
    demo, tests = commands
    assert demo.startswith("pip install -e . && python examples/")
    assert (ROOT / demo.split("&& python ")[1].split()[0]).is_file()
    assert tests.startswith('pip install -e ".[test]" && pytest')


def test_ci_runs_the_readme_commands_it_reads() -> None:
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python scripts/readme_commands.py" in run
    assert 'bash -euo pipefail -c "$command"' in run
    assert "-m venv" in run  # a fresh environment, never the machine's own


def test_extraction_keeps_lines_verbatim() -> None:
    text = "# T\n\n```bash\npip install -e . && python a.py   # demo\n\nb && c\n```\n"
    assert _script().readme_commands(text) == ["pip install -e . && python a.py   # demo",
                                                "b && c"]
