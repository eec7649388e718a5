"""Write the generated-source samples of README.md and docs/index.md from the compiler.

    python scripts/readme_sample.py           # rewrite both samples
    python scripts/readme_sample.py --check   # exit 1 if either is out of date

* README.md: the ```python block after "prints the gradient adcompiler generated" is
  ``ad.grad(rosenbrock).source`` for examples/rosenbrock.py.
* docs/index.md: the ```text block after the block that prints ``g.source`` is what that
  print shows when the page's blocks run in order, exactly as tests/test_docs.py runs
  them (same file names and line numbers, so the ``# line N`` comments match the page).

Only those two blocks change; the rest of each file (README's first ```bash block with the
two commands CI runs, above all) is left as it is. ``tests/test_readme_sample.py`` fails
when a sample is stale.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
INDEX = ROOT / "docs" / "index.md"
README_MARKER = "prints the gradient adcompiler generated"
INDEX_MARKER = "print(g.source)"
FENCE = re.compile(r"^```(?P<lang>\w*)")


def _block_after(lines: list[str], start: int, lang: str) -> tuple[int, int]:
    """``(first, last)`` line indices of the first ```lang block at or after ``start``,
    fences excluded."""
    i = start
    while not lines[i].startswith("```" + lang):
        i += 1
    j = i + 1
    while lines[j].strip() != "```":
        j += 1
    return i + 1, j


def _replace(text: str, marker: str, lang: str, body: str) -> str:
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if marker in line)
    if lines[at].startswith("```"):
        at += 1
    first, last = _block_after(lines, at, lang)
    return "\n".join([*lines[:first], *body.rstrip("\n").split("\n"), *lines[last:]])


def readme_sample() -> str:
    sys.path.insert(0, str(ROOT / "examples"))
    import rosenbrock

    import adcompiler as ad

    return ad.grad(rosenbrock.rosenbrock).source


def index_sample(text: str) -> str:
    """What ``print(g.source)`` prints when the page's python blocks run in order."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_docs import python_blocks

    namespace: dict = {"__name__": "docs_index"}
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        for line, code, skipped in python_blocks(text):
            if skipped:
                continue
            filename = f"docs/{INDEX.name}:{line}"
            padded = "\n" * (line - 1) + code
            linecache.cache[filename] = (len(padded), None, padded.splitlines(True), filename)
            with contextlib.redirect_stdout(io.StringIO()):  # the page's prints
                exec(compile(padded, filename, "exec"), namespace)
            if INDEX_MARKER in code:
                return namespace["g"].source
    raise SystemExit(f"docs/index.md has no block with {INDEX_MARKER!r}")


def render_readme(text: str) -> str:
    return _replace(text, README_MARKER, "python", readme_sample())


def render_index(text: str) -> str:
    return _replace(text, INDEX_MARKER, "text", index_sample(text))


def main(argv: list[str]) -> int:
    stale = []
    for path, render in ((README, render_readme), (INDEX, render_index)):
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new, encoding="utf-8")
    if stale and "--check" in argv:
        print(f"out of date: {', '.join(map(str, stale))} (python scripts/readme_sample.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
