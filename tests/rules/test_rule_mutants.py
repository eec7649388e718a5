"""Rules whose mutants survived scripts/mutate_rules.py, now checked on values (issue 18).

The mutation run negated, doubled and dropped terms of every rule template and ran the
rule tests that read it. The mutants listed here survived because no test evaluated the
template on values: the operators' own templates (``@``, ``**`` with an active exponent,
unary ``-``), builtin ``sum``, ``np.tril`` / ``np.triu``, ``np.clip`` with one array bound
differentiated, ``np.take`` / ``np.take_along_axis`` / ``np.full`` / ``np.linspace``, and
the rules of the compiler's own adjoint helpers (``dot_da``, ``untile``, ``unbroadcast``,
...), which second derivatives differentiate. Each case runs the reverse template
(cotangent of every listed argument) and the forward template (tangent of each) against
autograd at 1e-10, or central differences where autograd has no such function
(tests/autograd_oracle.py, ``compare_rule``).
"""

from __future__ import annotations

import ast
import operator
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adcompiler.rules  # noqa: F401  (registers every rule family)
from adcompiler import runtime
from adcompiler.rules import indexing, numpy_linalg, numpy_shape, operators, registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from autograd_oracle import compare_rule

_rng = np.random.default_rng(41)


def _n(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


M23, M34, M33, M43 = _n(2, 3), _n(3, 4), _n(3, 3), _n(4, 3)
V3, W3, V4 = _n(3), _n(3), _n(4)
T234, T342 = _n(2, 3, 4), _n(3, 4, 2)
POS = _rng.uniform(0.5, 2.0, (3, 4))
ANY = _rng.uniform(-2.0, 2.0, (3, 4))
# clip: values at least 0.1 away from the bounds -0.5 / 0.7
CLIP_A = np.array([[-1.2, -0.3, 0.2, 1.1], [0.9, -0.8, 0.4, -0.1], [0.0, 1.4, -0.65, 0.55]])
LOW = np.full(4, -0.5) + np.array([0.0, 0.01, -0.02, 0.03])
HIGH = np.array(0.7)
G = _n(2, 4)

# (id, key, callable, args, differentiated positions, kwargs)
CASES: list[tuple[str, Any, Any, tuple, tuple[int, ...], dict]] = [
    ("matmul-2d-1d", ast.MatMult, operator.matmul, (M23, V3), (0, 1), {}),
    ("matmul-1d-2d", ast.MatMult, operator.matmul, (V3, M34), (0, 1), {}),
    ("matmul-2d-2d", ast.MatMult, operator.matmul, (M23, M34), (0, 1), {}),
    ("matmul-1d-1d", ast.MatMult, operator.matmul, (V3, W3), (0, 1), {}),
    ("matmul-batched", ast.MatMult, operator.matmul, (T234, _n(4, 2)), (0, 1), {}),
    ("pow-active-exponent", ast.Pow, operator.pow, (POS, ANY), (0, 1), {}),
    ("pow-scalar-exponent", ast.Pow, operator.pow, (POS, np.array(1.7)), (0, 1), {}),
    ("neg", ast.USub, operator.neg, (ANY,), (0,), {}),
    ("builtin-sum-list", sum, sum, ([V3, W3, _n(3)],), (0,), {}),
    ("builtin-sum-start", sum, sum, ([V3, W3], _n(3)), (0, 1), {}),
    ("tril", np.tril, np.tril, (M34,), (0,), {}),
    ("tril-k", np.tril, np.tril, (M34, 1), (0,), {}),
    ("triu", np.triu, np.triu, (M43,), (0,), {}),
    ("triu-k", np.triu, np.triu, (M43, -1), (0,), {}),
    ("clip-array-high-only", np.clip, np.clip, (CLIP_A, None, HIGH + 0 * V4), (0, 2), {}),
    ("clip-array-low-only", np.clip, np.clip, (CLIP_A, LOW, None), (0, 1), {}),
    ("take", np.take, np.take, (M34, [0, 2, 2]), (0,), {"axis": 1}),
    ("take-flat", np.take, np.take, (M34, [5, 1, 5]), (0,), {}),
    ("take_along_axis", np.take_along_axis, np.take_along_axis,
     (M34, np.array([[0, 3], [1, 1], [2, 0]])), (0,), {"axis": 1}),
    ("full", np.full, np.full, ((2, 3), np.array(1.3)), (1,), {}),
    ("full_like", np.full_like, np.full_like, (M23, np.array(-0.4)), (1,), {}),
    ("linspace", np.linspace, np.linspace, (np.array(0.5), np.array(2.5), 5), (0, 1), {}),
    # the compiler's adjoint helpers (differentiated again by second derivatives)
    ("dot_da", numpy_linalg.dot_da, numpy_linalg.dot_da, (G, M23, M34), (0, 2), {}),
    ("dot_db", numpy_linalg.dot_db, numpy_linalg.dot_db, (G, M23, M34), (0, 1), {}),
    ("inner_da", numpy_linalg.inner_da, numpy_linalg.inner_da, (_n(3, 2), M34, _n(2, 4)),
     (0, 2), {}),
    ("inner_db", numpy_linalg.inner_db, numpy_linalg.inner_db, (_n(3, 2), M34, _n(2, 4)),
     (0, 1), {}),
    ("tensordot_da", numpy_linalg.tensordot_da, numpy_linalg.tensordot_da,
     (_n(2, 2), T234, T342, 2), (0, 2), {}),
    ("tensordot_db", numpy_linalg.tensordot_db, numpy_linalg.tensordot_db,
     (_n(2, 2), T234, T342, 2), (0, 1), {}),
    ("matmul_da", operators.matmul_da, operators.matmul_da, (G, M23, M34), (0, 2), {}),
    ("matmul_db", operators.matmul_db, operators.matmul_db, (G, M23, M34), (0, 1), {}),
    ("diag_vjp", numpy_linalg.diag_vjp, numpy_linalg.diag_vjp, (_n(4, 4), V3, 1), (0,), {}),
    ("trace_vjp", numpy_linalg.trace_vjp, numpy_linalg.trace_vjp, (np.array(0.8), M33),
     (0,), {}),
    ("trace_vjp-3d", numpy_linalg.trace_vjp, numpy_linalg.trace_vjp,
     (_n(2), _n(2, 3, 3), 0, 1, 2), (0,), {}),
    ("untile", numpy_shape.untile, numpy_shape.untile, (_n(4, 3), M23, (2, 1)), (0,), {}),
    ("unrepeat", numpy_shape.unrepeat, numpy_shape.unrepeat, (_n(2, 6), M23, 2, 1), (0,),
     {}),
    ("unpad", numpy_shape.unpad, numpy_shape.unpad, (_n(4, 5), M23, 1, "constant"), (0,),
     {}),
    ("undiff", numpy_shape.undiff, numpy_shape.undiff, (_n(2, 2), 1, 1), (0,), {}),
    ("unconcatenate", numpy_shape.unconcatenate, numpy_shape.unconcatenate,
     (_n(2, 5), [M23, _n(2, 2)], 1), (0,), {}),
    ("unstack", numpy_shape.unstack, numpy_shape.unstack, (M23, [V3, W3], 0), (0,), {}),
    ("unhstack", numpy_shape.unhstack, numpy_shape.unhstack, (_n(2, 4), [M23, _n(2, 1)]),
     (0,), {}),
    ("unvstack", numpy_shape.unvstack, numpy_shape.unvstack, (M33, [M23, _n(1, 3)]), (0,),
     {}),
    ("undstack", numpy_shape.undstack, numpy_shape.undstack, (_n(2, 3, 2), [M23, _n(2, 3)]),
     (0,), {}),
    ("unarray", numpy_shape.unarray, numpy_shape.unarray, (M23, [V3, W3], np.array([V3, W3])),
     (0,), {}),
    ("restack", numpy_shape.restack, numpy_shape.restack,
     ([V3, W3], [V3, W3], np.array([V3, W3])), (0,), {}),
    ("take_adjoint", indexing.take_adjoint, indexing.take_adjoint,
     (_n(3, 3), M34, [0, 2, 2], 1), (0,), {}),
    ("take_along_axis_adjoint", indexing.take_along_axis_adjoint,
     indexing.take_along_axis_adjoint, (_n(3, 2), M34, np.array([[0, 3], [1, 1], [2, 0]]), 1),
     (0,), {}),
    ("unbroadcast", runtime.unbroadcast, runtime.unbroadcast, (_n(2, 3), V3), (0,), {}),
    ("unbroadcast-keepdims", runtime.unbroadcast, runtime.unbroadcast, (_n(2, 3), _n(2, 1)),
     (0,), {}),
    ("unbroadcast_to", runtime.unbroadcast_to, runtime.unbroadcast_to, (_n(2, 3), (1, 3)),
     (0,), {}),
]


def _has_templates(key: Any) -> bool:
    rule = registry.rule_for(key)
    return rule is not None and rule.reverse is not None and rule.forward is not None


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("key", "func", "args", "argnums", "kwargs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_on_values(mode, key, func, args, argnums, kwargs):
    assert _has_templates(key), f"{key!r} has no reverse and forward template"
    compare_rule(mode, key, func, args, argnums, kwargs)


def test_the_table_reaches_every_surviving_rule():
    """The rules the mutation run found unchecked on values all have a case here."""
    keys = {id(c[1]) for c in CASES}
    for key in (ast.MatMult, ast.Pow, ast.USub, sum, np.tril, np.triu, np.clip, np.take,
                np.take_along_axis, np.full, np.full_like, np.linspace,
                numpy_linalg.dot_da, numpy_shape.restack, runtime.unbroadcast):
        assert id(key) in keys, key
