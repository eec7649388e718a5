"""Every ```python block in docs/*.md runs, so the documentation cannot rot.

The blocks of one page run in order in one namespace (a later block may use what an
earlier one defined), with a fresh temporary directory as the working directory. A block
is skipped when its fence reads ```python title="no-run" or when the line before the
fence is the HTML comment <!-- no-run -->. Blocks in other languages (```text, ```bash)
are never run. Each block is compiled under the name ``docs/PAGE.md:LINE`` so a failure
points at the page and line, and ``inspect.getsource`` (which the compiler needs) finds
the functions a block defines. A page that needs an optional extra says so with a line
``<!-- requires: dask, distributed -->``; without those modules its test skips, naming the
extra to install.
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```python(?P<info>[^\n]*)$")
NO_RUN = "<!-- no-run -->"
REQUIRES = re.compile(r"^<!-- requires: (?P<modules>[\w., ]+) -->$", re.MULTILINE)


def missing_modules(text: str) -> list[str]:
    """The modules a page declares it needs that are not importable here."""
    needed = [name.strip() for match in REQUIRES.finditer(text)
              for name in match.group("modules").split(",") if name.strip()]
    return [name for name in needed if importlib.util.find_spec(name.split(".")[0]) is None]


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line, code, skipped)`` for each ```python block of a Markdown page."""
    lines = text.splitlines()
    blocks: list[tuple[int, str, bool]] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i].strip())
        if match is None:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        previous = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        skipped = "no-run" in match.group("info") or previous == NO_RUN
        blocks.append((start + 1, "\n".join(lines[start:j]) + "\n", skipped))
        i = j + 1
    return blocks


def pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if any(
        not skipped for _, _, skipped in python_blocks(p.read_text())))


def test_requires_line_names_missing_modules() -> None:
    page = "# Title\n<!-- requires: numpy, surely_not_installed_module -->\n"
    assert missing_modules(page) == ["surely_not_installed_module"]
    assert missing_modules("# no requirements\n") == []


def test_collector_finds_and_skips_blocks() -> None:
    page = "\n".join(["text", "```python", "a = 1", "```", "<!-- no-run -->", "",
                      "```python", "raise SystemExit", "```", '```python title="no-run"',
                      "raise SystemExit", "```", "```text", "not python", "```"])
    blocks = python_blocks(page)
    assert [(line, skipped) for line, _, skipped in blocks] == [
        (3, False), (8, True), (11, True)]
    assert blocks[0][1] == "a = 1\n"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = missing_modules(page.read_text())
    if missing:
        pytest.skip(f"{page.name} needs {', '.join(missing)}: install the extra it names")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADCOMPILER_DEBUG", raising=False)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for line, code, skipped in python_blocks(page.read_text()):
        if skipped:
            continue
        # pad so the block's line numbers are the page's, and register the whole page
        # text under the block's file name: the compiler reads function source from it
        filename = f"docs/{page.name}:{line}"
        padded = "\n" * (line - 1) + code
        linecache.cache[filename] = (len(padded), None, padded.splitlines(True), filename)
        try:
            exec(compile(padded, filename, "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{filename}: the block failed with "
                                 f"{type(exc).__name__}: {exc}") from exc
    assert os.getcwd() == str(tmp_path)


def test_stages_page_is_current() -> None:
    """docs/stages.md is what scripts/stages_doc.py generates today."""
    import importlib.util

    script = DOCS.parent / "scripts" / "stages_doc.py"
    spec = importlib.util.spec_from_file_location("stages_doc", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "stages.md").read_text() == module.render(), (
        "docs/stages.md is out of date: run python scripts/stages_doc.py")
