"""docs/rules.md is generated from the registry; it must match what the generator writes."""

import numpy as np

import adcompiler  # noqa: F401  (registers every rule family)
from adcompiler.rules import doc, registry


def test_rules_doc_is_up_to_date():
    expected = doc.generate()
    current = doc.DOC_PATH.read_text() if doc.DOC_PATH.exists() else ""
    assert current == expected, (
        "docs/rules.md is out of date: run `python -m adcompiler.rules.doc` and commit it")


def test_every_builtin_rule_is_listed():
    text = doc.generate()
    for rule in registry.all_rules():
        templates = [t for t in (rule.reverse, rule.forward) if t is not None]
        builtin = any(t.func.__module__.startswith("adcompiler.rules.") for t in templates)
        if builtin or rule.zero:
            assert f"`{doc._name(rule)}`" in text, rule.name


def test_families_and_conventions_are_summarised():
    text = doc.generate()
    for family in ("operators", "numpy_elementwise", "numpy_reduce", "numpy_linalg",
                   "numpy_shape", "indexing"):
        assert f"## {family}\n" in text
    assert text.count("Conventions: ") >= 6
    assert "| `np.array` | template | template |" in text
    assert "| `x.T` | template | template |" in text
    assert "| `a @ b`, `np.matmul` |" in text


def test_user_rules_are_not_listed():
    def my_function(x):  # a callable with no source rule of ours
        return np.sin(x)

    registry.register_user_rule(my_function, lambda x: (my_function(x), lambda g: g),
                                "reverse")
    try:
        assert "my_function" not in doc.generate()
    finally:
        registry._RULES.pop(registry._key(my_function), None)


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "rules.md"
    stale.write_text("stale\n")
    monkeypatch.setattr(doc, "DOC_PATH", stale)
    assert doc.main(["--check"]) == 1
    assert doc.main([]) == 0
    assert doc.main(["--check"]) == 0
