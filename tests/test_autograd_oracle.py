"""Every rule-table case against HIPS autograd at 1e-10 (issue 18: an independent oracle).

The rule tables of tests/rules/* (the cases those files check against finite differences)
are reused here: each rule's reverse template is evaluated on the case's values
(``registry.evaluate``, as the rule tests do) and its cotangent for every differentiated
argument compared with autograd's vector-Jacobian product for the same output cotangent;
its forward template's tangent is compared with autograd's Jacobian-vector product. Two AD
systems agree to rounding, so a wrong term that finite differences would blur (a missing
1e-7, a wrong convention far from the sample) fails here.

A case autograd cannot differentiate (no autograd function of that name, no derivative
for it in autograd, a helper autograd cannot trace) is checked against central finite
differences only, at the rule tests' tolerance; :func:`test_oracle_coverage` records how
many were compared each way and fails if autograd covers fewer than it does today.

The random programs are compared with autograd in tests/test_random_programs.py (the
comparison itself is tests/autograd_oracle.py).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler.rules import registry

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "rules"))
import autograd_oracle as oracle
import test_math_rules as math_table
import test_numpy_elementwise_rules as elementwise_table
import test_numpy_linalg_rules as linalg_table
import test_numpy_reduce_rules as reduce_table
import test_numpy_shape_rules as shape_table
from autograd_oracle import compare_rule

pytestmark = pytest.mark.skipif(not oracle.available(), reason="autograd is not installed")



def _cases() -> list[tuple[str, Any, Any, tuple, tuple[int, ...], dict]]:
    """(id, registry key, callable, args, differentiated positions, kwargs) of every table."""
    out = []
    for name, func, args, argnums in math_table.CASES:
        out.append((f"math-{name}", func, func, args, argnums, {}))
    for name, func, args, argnums, kwargs in elementwise_table.CASES:
        out.append((f"elementwise-{name}", func, func, args, argnums, kwargs))
    for name, key, func, args, argnums, kwargs in linalg_table.CASES:
        out.append((f"linalg-{name}", key, func, args, argnums, kwargs))
    for name, key, func, a, args, kwargs in reduce_table.CASES:
        out.append((f"reduce-{name}", key, func, (a, *args), (0,), kwargs))
    for name, key, func, args, kwargs in shape_table.CASES:
        out.append((f"shape-{name}", key, func, args, (0,), kwargs))
    return out


CASES = _cases()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_against_autograd(mode, key, func, args, argnums, kwargs):
    compare_rule(mode, key, func, args, argnums, kwargs)


# about 80 % of the cases go through autograd (2026-12-02), 70 % leaves room for new cases
# autograd lacks; below that, the oracle has quietly stopped comparing (an autograd
# upgrade, a table edit that breaks the twins) and this fails
MIN_AUTOGRAD_SHARE = 0.7


def test_oracle_coverage():
    """How many cases were compared each way (printed with -s); most go through autograd."""
    counts: Counter[str] = Counter()
    fd_only = []
    for c in CASES:
        for mode in ("reverse", "forward"):
            how = compare_rule(mode, *c[1:])
            counts[f"{mode}: {how}"] += 1
            if how != "autograd":
                fd_only.append(f"{c[0]} ({mode}): {how[len('fd-only: '):]}")
    print(f"\nrule-table cases: {len(CASES)} (each in both modes)")
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count}")
    print("compared with finite differences only:\n  " + "\n  ".join(fd_only))
    for mode in ("reverse", "forward"):
        assert counts[f"{mode}: autograd"] >= MIN_AUTOGRAD_SHARE * len(CASES), dict(counts)


def test_oracle_catches_a_wrong_rule(monkeypatch):
    """The comparison can fail: a rule off by 1e-7 (invisible to finite differences at the
    rule tests' tolerance) is caught."""
    rule = registry.rule_for(np.sin)
    original = rule.reverse

    def sin(result, g, x):
        dx = g * np.cos(x) * (1.0 + 1e-7)  # noqa: F841 (a template assigns dx)

    monkeypatch.setattr(rule, "reverse", registry.Template.from_function(sin, "reverse"))
    x = np.linspace(-1.0, 1.0, 5)
    with pytest.raises(AssertionError, match="against autograd"):
        compare_rule("reverse", np.sin, np.sin, (x,), (0,), {})
    monkeypatch.setattr(rule, "reverse", original)
    assert compare_rule("reverse", np.sin, np.sin, (x,), (0,), {}) == "autograd"
