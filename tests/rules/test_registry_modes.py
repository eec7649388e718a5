"""The registry as a whole: every built-in rule exists in both modes, next to its twin."""

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler.rules import registry


def _built_in():
    return [rule for rule in registry.all_rules()
            if rule.user_reverse is None and rule.user_forward is None]


def test_every_rule_has_both_modes():
    one_sided = [rule.name for rule in _built_in() if not rule.zero
                 and (rule.reverse is None) != (rule.forward is None)]
    assert one_sided == []


def test_forward_twin_lives_in_the_same_file_as_the_reverse_template():
    apart = [rule.name for rule in _built_in() if rule.reverse and rule.forward
             and rule.reverse.func.__module__ != rule.forward.func.__module__]
    assert apart == []


def test_the_registry_covers_the_families():
    modules = {rule.reverse.func.__module__.rsplit(".", 1)[-1] for rule in _built_in()
               if rule.reverse is not None}
    assert {"operators", "math_rules", "numpy_elementwise", "numpy_reduce", "numpy_linalg",
            "numpy_shape", "indexing"} <= modules
    assert len(_built_in()) >= 240
