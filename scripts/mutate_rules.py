"""Mutation testing of the rule table: perturb each rule template, run the tests that use
it, and report the share of mutants the tests kill (issue 18).

    python scripts/mutate_rules.py                      # every template, tests/rules + oracle
    python scripts/mutate_rules.py --rules sin,cos,sum  # templates of rules whose name matches
    python scripts/mutate_rules.py --limit 200 --json out.json

How it works (in one pytest session, no copy of the package):

1. The tests are collected once and run once unmutated while every template records which
   tests read its body (``Template.body`` is made a recording property). A test that fails
   unmutated is left out.
2. For each template (reverse and forward) the mutants are: each assignment of an output
   (``d<param>`` / ``dresult``) negated and scaled by 2; each ``+`` / ``-`` in the body with
   its right term dropped, its left term dropped, and its operator flipped.
3. Each mutant replaces the template's body in place (the rules version is bumped, so no
   compiled code built with the original survives), the tests that read that template run
   until one fails (killed) or all pass (survived), and the body is restored.

A surviving mutant is a term no test can tell from its perturbation: either a test is
missing (the rule is never checked where the term matters, e.g. a ``static`` branch no case
takes) or the mutant is equivalent (a term that is zero wherever the rule applies).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from _pytest.runner import runtestprotocol  # noqa: E402

from adcompiler.rules import registry  # noqa: E402

DEFAULT_TESTS = ["tests/rules", "tests/test_autograd_oracle.py"]
# meta tests that read every template (they would make every test cover every rule)
DESELECT = ["test_oracle_coverage", "test_oracle_catches_a_wrong_rule"]


# -- mutants ------------------------------------------------------------------------------------
def _is_output(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id.startswith("d")


class _Nth(ast.NodeTransformer):
    """Apply ``change`` to the ``n``-th node (in walk order) that ``select`` accepts."""

    def __init__(self, select: Any, change: Any, n: int) -> None:
        self.select, self.change, self.n, self.seen = select, change, n, -1

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if self.select(node):
            self.seen += 1
            if self.seen == self.n:
                return self.change(node)
        return super().generic_visit(node)


def _count(body: list[ast.stmt], select: Any) -> int:
    counter = _Nth(select, lambda node: node, -2)
    for stmt in copy.deepcopy(body):
        counter.visit(stmt)
    return counter.seen + 1


def _apply(body: list[ast.stmt], select: Any, change: Any, n: int) -> list[ast.stmt]:
    new = copy.deepcopy(body)
    transformer = _Nth(select, change, n)
    new = [transformer.visit(stmt) for stmt in new]
    return [ast.fix_missing_locations(stmt) for stmt in new]


def _output_assign(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) and len(node.targets) == 1 and _is_output(
        node.targets[0])


def _additive(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)


def _negate(node: ast.Assign) -> ast.Assign:
    node.value = ast.UnaryOp(op=ast.USub(), operand=node.value)
    return node


def _double(node: ast.Assign) -> ast.Assign:
    node.value = ast.BinOp(left=ast.Constant(2.0), op=ast.Mult(), right=node.value)
    return node


def _drop_right(node: ast.BinOp) -> ast.expr:
    return node.left


def _drop_left(node: ast.BinOp) -> ast.expr:
    if isinstance(node.op, ast.Sub):
        return ast.UnaryOp(op=ast.USub(), operand=node.right)
    return node.right


def _flip(node: ast.BinOp) -> ast.BinOp:
    node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
    return node


OPERATORS = [
    ("negate output", _output_assign, _negate),
    ("scale output by 2", _output_assign, _double),
    ("drop right term", _additive, _drop_right),
    ("drop left term", _additive, _drop_left),
    ("flip +/-", _additive, _flip),
]


def mutants(body: list[ast.stmt]) -> Iterator[tuple[str, list[ast.stmt]]]:
    """(description, mutated body) for every mutant of a template body."""
    for label, select, change in OPERATORS:
        for n in range(_count(body, select)):
            new = _apply(body, select, change, n)
            shown = "; ".join(ast.unparse(s) for s in new if ast.unparse(s) not in
                              {ast.unparse(o) for o in body})
            yield f"{label} #{n}: {shown}", new


# -- templates that record who reads them ------------------------------------------------------
class _Recorder:
    current: set[int] | None = None


def _recording_class(base: type) -> type:
    def get(self: Any) -> list[ast.stmt]:
        if _Recorder.current is not None:
            _Recorder.current.add(id(self))
        return self.__dict__["body"]

    def set_(self: Any, value: list[ast.stmt]) -> None:
        self.__dict__["body"] = value

    return type(f"Recording{base.__name__}", (base,), {"body": property(get, set_)})


def templates() -> list[tuple[str, str, registry.Template]]:
    """(rule name, mode, template) for every template, each once."""
    seen: dict[int, tuple[str, str, registry.Template]] = {}
    for rule in registry.all_rules():
        for mode in ("reverse", "forward"):
            template = getattr(rule, mode)
            if template is not None:
                seen.setdefault(id(template), (rule.name, mode, template))
    return list(seen.values())


# -- the pytest plugin --------------------------------------------------------------------------
class MutationPlugin:
    def __init__(self, rule_filter: list[str], limit: int | None, verbose: bool,
                 exact: bool = False) -> None:
        self.rule_filter = rule_filter
        self.exact = exact
        self.limit = limit
        self.verbose = verbose
        self.results: list[dict[str, Any]] = []
        self.baseline_failures: list[str] = []

    def _run(self, item: pytest.Item) -> bool:
        """Run one test quietly; True when it passed (or skipped)."""
        reports = runtestprotocol(item, nextitem=None, log=False)
        return not any(report.failed for report in reports)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        import adcompiler.rules  # noqa: F401  (every family registered)

        table = templates()
        recording = {}
        for _, _, template in table:
            cls = type(template)
            if cls not in recording:
                recording[cls] = _recording_class(cls)
            body = template.body
            template.__class__ = recording[cls]
            template.body = body
        readers: dict[int, list[pytest.Item]] = {id(t): [] for _, _, t in table}
        items = [item for item in session.items
                 if not any(name in item.nodeid for name in DESELECT)]
        for item in items:
            _Recorder.current = used = set()
            ok = self._run(item)
            _Recorder.current = None
            if not ok:
                self.baseline_failures.append(item.nodeid)
                continue
            for key in used:
                if key in readers:
                    readers[key].append(item)
        chosen = [(name, mode, t) for name, mode, t in table
                  if not self.rule_filter or any(f == name or (not self.exact and f in name)
                                                 for f in self.rule_filter)]
        count = 0
        for name, mode, template in chosen:
            original = template.body
            for description, body in mutants(original):
                if self.limit is not None and count >= self.limit:
                    break
                count += 1
                template.body = body
                registry.version_cell()[0] += 1
                killer = None
                for item in readers[id(template)]:
                    try:
                        passed = self._run(item)
                    except Exception:
                        passed = False
                    if not passed:
                        killer = item.nodeid
                        break
                template.body = original
                registry.version_cell()[0] += 1
                self.results.append({"rule": name, "mode": mode,
                                     "template": template.func.__name__,
                                     "mutant": description, "killed_by": killer,
                                     "tests": len(readers[id(template)])})
                if self.verbose:
                    state = "killed" if killer else "SURVIVED"
                    print(f"{state:8} {name} [{mode}] {description}", flush=True)
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default="", help="comma-separated substrings of rule names")
    parser.add_argument("--exact", action="store_true",
                        help="--rules names whole rule names, not substrings")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many mutants")
    parser.add_argument("--tests", nargs="*", default=DEFAULT_TESTS)
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    plugin = MutationPlugin([r for r in args.rules.split(",") if r], args.limit, args.verbose,
                            args.exact)
    start = time.perf_counter()
    code = pytest.main([*args.tests, "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                        "--no-header", "-W", "ignore"], plugins=[plugin])
    elapsed = time.perf_counter() - start
    results = plugin.results
    if not results:
        print(f"no mutants run (pytest exit code {code})")
        return 1
    killed = sum(1 for r in results if r["killed_by"])
    print(f"\n{killed} of {len(results)} mutants killed "
          f"({100.0 * killed / len(results):.1f}%) in {elapsed:.0f} s; "
          f"{len({(r['rule'], r['mode']) for r in results})} templates")
    if plugin.baseline_failures:
        print(f"tests failing before mutation (left out): {plugin.baseline_failures}")
    untested = sorted({f"{r['rule']} [{r['mode']}]" for r in results if r["tests"] == 0})
    if untested:
        print(f"\ntemplates no test reads ({len(untested)}): {', '.join(untested)}")
    survivors = [r for r in results if not r["killed_by"] and r["tests"]]
    if survivors:
        print(f"\nsurvivors in templates that tests do read ({len(survivors)}):")
        for r in survivors:
            print(f"  {r['rule']} [{r['mode']}] ({r['tests']} tests): {r['mutant']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
