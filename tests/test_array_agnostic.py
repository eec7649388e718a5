"""The rules and runtime helpers never force a NumPy array into existence.

Generated code inlines rule templates and calls their helpers, so whatever they call runs
on the user's arrays. Dask, CuPy and other NumPy-compatible arrays dispatch through
``__array_function__`` / ``__array_ufunc__``; calls that build a NumPy array from scratch
(``np.asarray``, ``np.array``, ``np.zeros(shape)``, ``np.eye`` without ``like=``) or pull a
value out of an array (``float(x)``), and ``ufunc.at`` (Dask has none), break that. This
test scans the source (AST) of every rule module and of ``runtime.py`` for such calls.

A call that is justified (it only ever sees Python configuration values, index arrays
built from shapes, or is a known limitation) goes in ``ALLOWED`` with a comment saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "adcompiler"
SCANNED = [*sorted((PACKAGE / "rules").glob("*.py")), PACKAGE / "runtime.py"]

# calls np.<name>(...) that create a NumPy array whatever the argument's type
CONSTRUCTORS = {"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray",
                "zeros", "ones", "empty", "full", "copyto"}
NEED_LIKE = {"eye", "identity", "arange", "linspace", "tri"}  # fine with like=
SCALAR_CASTS = {"float", "complex"}  # float(x) computes a lazy array / copies off the GPU

# (file, enclosing function, offending call) -> why it is fine
ALLOWED: dict[tuple[str, str, str], str] = {
    # float(x) differentiated: the user's own float() call; its result is a Python float
    ("math_rules.py", "builtin_float_fwd", "float"): "the user wrote float(x)",
    # math.fmod takes Python floats only: its quotient trunc(x / y) made a float, so the
    # derivative stays a float when the seed 1.0 is folded into the rule
    ("math_rules.py", "fmod", "float"): "math.fmod's operands are Python floats",
    ("math_rules.py", "fmod_fwd", "float"): "math.fmod's operands are Python floats",
    # np.linspace / np.arange of a Python int `num`: sample weights, broadcast against g
    ("indexing.py", "linspace_weights", "np.linspace"): "constant weights from an int",
    ("indexing.py", "linspace_weights", "np.arange"): "constant weights from an int",
    # index arrays built from shapes (Python ints), used only as indices
    ("indexing.py", "take_along_axis_adjoint", "np.arange"): "index grid from a shape",
    ("numpy_shape.py", "unrepeat", "np.arange"): "index vector from a shape",
    ("numpy_linalg.py", "diagonal_vjp", "np.arange"): "index vector from a shape",
    ("runtime.py", "last_writes", "np.arange"): "write order from a shape",
    # pad_width is a Python int / pair / list of pairs (configuration, never data)
    ("numpy_shape.py", "pad_widths", "np.array"): "pad_width is configuration",
    # only reached when the tangent has no dtype: a Python scalar or list
    ("numpy_shape.py", "restack", "np.asarray"): "only for Python scalars and lists",
    # ufunc.at has no Dask implementation (NumPy and CuPy have one): every scatter-add with
    # possibly repeated indices goes through runtime.add_at, which turns Dask's refusal
    # into an ADError naming the array type (documented in docs/dask.md)
    ("runtime.py", "add_at", "np.add.at"): "the one scatter-add, with a clear error",
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def offending_calls(path: Path) -> list[tuple[str, str, int]]:
    """``(enclosing function, call, line)`` for every call that breaks dispatch."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            where = node.name
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            keywords = {k.arg for k in node.keywords}
            parts = name.split(".")
            bad = False
            if len(parts) == 2 and parts[0] == "np":
                bad = parts[1] in CONSTRUCTORS or (parts[1] in NEED_LIKE
                                                   and "like" not in keywords)
            elif len(parts) == 3 and parts[0] == "np" and parts[2] == "at":
                bad = True  # np.add.at, np.maximum.at ...
            elif name in SCALAR_CASTS:
                bad = True
            if bad:
                found.append((where, name, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text()), "<module>")
    return found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.name)
def test_no_calls_that_break_dispatch(path):
    bad = [f"{path.name}:{line} in {where}: {call}(...)"
           for where, call, line in offending_calls(path)
           if (path.name, where, call) not in ALLOWED]
    assert not bad, ("calls that force a NumPy array (use *_like, methods or dispatching "
                     "functions, or add a justified ALLOWED entry):\n" + "\n".join(bad))


def test_allowlist_has_no_stale_entries():
    present = {(p.name, where, call) for p in SCANNED for where, call, _ in offending_calls(p)}
    stale = sorted(set(ALLOWED) - present)
    assert not stale, f"ALLOWED entries that no longer match any call: {stale}"


def test_the_scanner_finds_what_it_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import numpy as np\n"
        "def rule(g, a):\n"
        "    da = np.zeros(np.shape(a)) + np.asarray(g) + np.eye(3) + float(g)\n"
        "    np.add.at(da, [0], g)\n"
        "    ok = np.zeros_like(a) + np.eye(3, like=a) + np.sum(a)\n")
    calls = [call for _, call, _ in offending_calls(sample)]
    assert calls == ["np.zeros", "np.asarray", "np.eye", "float", "np.add.at"]
