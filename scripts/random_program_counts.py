"""How many of N random programs contain each construct (issue 18).

    python scripts/random_program_counts.py 1000
    ADCOMPILER_RANDOM_CONSTRUCTS=all python scripts/random_program_counts.py 1000 --seed 3

Draws the programs exactly as tests/test_random_programs.py's CI profile does (the same
strategy, the constructs of ``ADCOMPILER_RANDOM_CONSTRUCTS``), without running them: the
counts are of programs generated. The tests print the counts of the programs they checked
(``pytest -s``), which are fewer (inputs at a kink are discarded).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from random_programs import CONSTRUCTS, enabled_constructs, programs


def count(n: int, draw_seed: int | None, max_statements: int) -> Counter[str]:
    counts: Counter[str] = Counter()

    @given(programs(max_statements=max_statements))
    @settings(max_examples=n, deadline=None, database=None, derandomize=draw_seed is None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def draw(program):
        counts["programs"] += 1
        counts.update(program.features)

    if draw_seed is not None:
        draw = seed(draw_seed)(draw)
    draw()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=150)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-statements", type=int, default=4,
                        help="4 is the CI profile, 6 the slow one")
    args = parser.parse_args(argv)
    counts = count(args.n, args.seed, args.max_statements)
    on = enabled_constructs()
    print(f"{counts['programs']} programs; constructs enabled: {', '.join(sorted(on))}")
    print("issue-18 constructs:")
    for name in CONSTRUCTS:
        state = "" if name in on else "  (switched off)"
        print(f"  {name:20} {counts[name]:6}{state}")
    print("other features:")
    for name, value in sorted(counts.items()):
        if name not in CONSTRUCTS and name != "programs":
            print(f"  {name:20} {value:6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
