"""Generate ``docs/rules.md``: every built-in derivative rule, grouped by family.

Run ``python -m adcompiler.rules.doc`` to rewrite the file and ``python -m
adcompiler.rules.doc --check`` to exit with status 1 when it is out of date (the test
suite does the same comparison). The table is built from the registry
(:func:`registry.all_rules`); a *family* is the rule module a template lives in, and its
summary comes from that module's docstring. Rules registered by users
(``ad.derivative``) are not listed.
"""

from __future__ import annotations

import ast
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _FAMILIES, registry

__all__ = ["DOC_PATH", "generate", "main"]

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

_OPERATORS = {
    ast.Add: "a + b", ast.Sub: "a - b", ast.Mult: "a * b", ast.Div: "a / b",
    ast.FloorDiv: "a // b", ast.Mod: "a % b", ast.Pow: "a ** b", ast.MatMult: "a @ b",
    ast.USub: "-a", ast.UAdd: "+a", ast.Not: "not a", ast.Invert: "~a",
}


@dataclass
class _Row:
    names: list[str]
    reverse: str
    forward: str
    notes: str


@dataclass
class _Family:
    module: ModuleType
    rows: list[_Row] = field(default_factory=list)


def _modules() -> list[ModuleType]:
    names = ("operators", *_FAMILIES)
    return [sys.modules[f"{__package__}.{n}"] for n in names
            if f"{__package__}.{n}" in sys.modules]


def _name(rule: registry.Rule) -> str:
    key = rule.key
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "method":
        return f"x.{key[1]}()"
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "attr":
        return f"x.{key[1]}"
    if isinstance(key, type) and key in _OPERATORS:
        return _OPERATORS[key]
    return rule.name


def _zero_keys(module: ModuleType) -> list[list[Any]]:
    """The key lists of the module's top-level ``zero_derivative(...)`` calls."""
    tree = ast.parse(inspect.getsource(module))
    groups: list[list[Any]] = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id == "zero_derivative" and call.args):
            continue
        expr = ast.Expression(call.args[0])
        keys = eval(compile(expr, module.__name__, "eval"), vars(module))
        groups.append(list(keys))
    return groups


def _summary(doc: str | None) -> tuple[str, str]:
    """The docstring's title line and its conventions in one line.

    The conventions are the paragraph that starts with "Conventions" and the bullet
    paragraphs after it; a docstring without one gives its second paragraph.
    """
    paragraphs = [p.strip() for p in inspect.cleandoc(doc or "").split("\n\n") if p.strip()]
    if not paragraphs:
        return "", ""
    title = " ".join(paragraphs[0].split())
    start = next((i for i, p in enumerate(paragraphs) if p.startswith("Conventions")), None)
    if start is None:
        start = 1
    chosen = paragraphs[start:start + 1]
    if chosen and chosen[0].endswith(":"):
        for p in paragraphs[start + 1:]:
            if not p.startswith("* "):
                break
            chosen.append(p)
    text = "\n".join(chosen)
    if text.startswith("Conventions"):
        text = text.split(":", 1)[1] if ":" in text.split("\n", 1)[0] else text
    items = [" ".join(item.split()) for item in text.split("\n* ")]
    items = [item.removeprefix("* ") for item in items if item]
    items = [item if item.endswith((".", ":", ";")) else item + ";" for item in items]
    return title, " ".join(items).removesuffix(";")


def _template_note(rule: registry.Rule) -> str:
    notes = [rule.notes] if rule.notes else []
    if str(getattr(rule.key, "__module__", "")).startswith(__package__ or "adcompiler"):
        notes.append("internal helper of generated code (for derivatives of derivatives)")
    if rule.broadcasting:
        notes.append("broadcasts (contributions are summed to each operand's shape)")
    return "; ".join(notes)


def _families() -> list[_Family]:
    modules = _modules()
    by_name = {m.__name__: _Family(m) for m in modules}
    groups: dict[tuple[int, int], _Row] = {}
    zero_family: dict[int, tuple[str, int]] = {}
    for module in modules:
        for index, keys in enumerate(_zero_keys(module)):
            for key in keys:
                rule = registry.rule_for(key)
                if rule is not None:
                    zero_family[id(rule)] = (module.__name__, index)
    zero_rows: dict[tuple[str, int], _Row] = {}
    for rule in registry.all_rules():
        templates = [t for t in (rule.reverse, rule.forward) if t is not None
                     and t.func.__module__ in by_name]
        if templates:
            family = by_name[templates[0].func.__module__]
            pair = (id(rule.reverse), id(rule.forward))
            row = groups.get(pair)
            if row is None:
                row = groups[pair] = _Row(
                    [], "template" if rule.reverse is not None else "—",
                    "template" if rule.forward is not None else "—", _template_note(rule))
                family.rows.append(row)
            row.names.append(_name(rule))
        elif rule.zero and id(rule) in zero_family:
            where = zero_family[id(rule)]
            row = zero_rows.get(where)
            if row is None:
                row = zero_rows[where] = _Row([], "zero", "zero", _template_note(rule))
                by_name[where[0]].rows.append(row)
            row.names.append(_name(rule))
    return [f for f in by_name.values() if f.rows]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def generate() -> str:
    """The text of ``docs/rules.md`` for the rules registered now."""
    families = _families()
    total = sum(len(r.names) for f in families for r in f.rows)
    lines = [
        "# Supported callables and their derivative rules",
        "",
        "<!-- generated by `python -m adcompiler.rules.doc`; do not edit by hand -->",
        "",
        f"{total} callables, operators, methods and attributes have built-in rules. "
        "*template*: a derivative template is inlined into the generated code; *zero*: the "
        "derivative is zero wherever it exists (piecewise constant, integer valued, or not "
        "depending on values); *—*: that mode is not available (use `ad.derivative` to "
        "register one). Names sharing a row share one rule. `x.name()` is an array method, "
        "`x.name` an attribute. Conventions at non-differentiable points follow "
        "`docs/api.md` (\"Derivative conventions\").",
        "",
    ]
    for family in families:
        title, conventions = _summary(family.module.__doc__)
        short = family.module.__name__.rsplit(".", 1)[-1]
        lines += [f"## {short}", "", title, ""]
        if conventions:
            lines += [f"Conventions: {conventions}", ""]
        lines += ["| callable | reverse | forward | notes |", "| --- | --- | --- | --- |"]
        for row in family.rows:
            names = ", ".join(f"`{_cell(n)}`" for n in row.names)
            lines.append(f"| {names} | {row.reverse} | {row.forward} | {_cell(row.notes)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/rules.md`` (or, with ``--check``, report whether it is up to date)."""
    argv = sys.argv[1:] if argv is None else argv
    text = generate()
    if "--check" in argv:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is out of date; run python -m adcompiler.rules.doc")
            return 1
        return 0
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
