"""The README's two commands, read from its first ```bash block, one per line.

``.ci/run`` runs what this prints, verbatim, in a fresh virtual environment, so the
commands a newcomer copies from the README are the commands CI proves on every
submission. ``tests/test_readme_commands.py`` checks that the block keeps its shape.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BASH_BLOCK = re.compile(r"^```bash\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_commands(text: str) -> list[str]:
    """The non-empty lines of the first ```bash block of ``text``."""
    match = BASH_BLOCK.search(text)
    if match is None:
        raise SystemExit("README.md has no ```bash block with the install commands")
    return [line.rstrip() for line in match.group("body").splitlines() if line.strip()]


def main() -> None:
    for command in readme_commands(README.read_text(encoding="utf-8")):
        print(command)


if __name__ == "__main__":
    sys.exit(main())
