"""Printing generated ASTs as source: the only module that imports astor.

Comments do not exist in an AST, so the transformer marks the first statement of each
adjoint block with the user's line number; the printer emits a ``# line N: <code>``
comment above it (once per run of blocks from the same line).
"""

from __future__ import annotations

import ast
import linecache

import astor

__all__ = ["COMMENT_PREFIX", "comment", "to_source"]

COMMENT_PREFIX = "#ADCOMMENT#"


def comment(text: str) -> ast.Expr:
    """A statement that prints as ``# text``."""
    return ast.Expr(value=ast.Constant(COMMENT_PREFIX + text))


def with_line_comments(stmts: list[ast.stmt], filename: str) -> list[ast.stmt]:
    """Insert comment statements before blocks marked with ``ad_source_line``."""
    out: list[ast.stmt] = []
    last: int | None = None
    for stmt in stmts:
        line = getattr(stmt, "ad_source_line", None)
        if line is not None and line != last:
            code = linecache.getline(filename, line).strip()
            out.append(comment(f"line {line}: {code}" if code else f"line {line}"))
            last = line
        for attr in ("body", "orelse"):
            inner = getattr(stmt, attr, None)
            if inner:
                setattr(stmt, attr, with_line_comments(inner, filename))
        out.append(stmt)
    return out


def _is_comment(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith(COMMENT_PREFIX))


def _fill_empty_blocks(node: ast.AST) -> None:
    """A block that optimisation emptied (or left with comments only) gets ``pass``."""
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if isinstance(body, list) and all(_is_comment(s) for s in body):
            body.append(ast.Pass())
        orelse = getattr(sub, "orelse", None)
        if isinstance(orelse, list) and orelse and all(_is_comment(s) for s in orelse):
            orelse.append(ast.Pass())


class _NegativeLiterals(ast.NodeTransformer):
    """``Constant(-0.75)`` becomes ``-(0.75)``: astor prints a negative constant bare, so
    ``(-0.75) ** 2`` would come out as ``-0.75 ** 2``, which Python reads as
    ``-(0.75 ** 2)``. As a unary minus, the printer parenthesises it where needed."""

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        value = node.value
        if type(value) in (int, float) and (value < 0 or (
                value == 0 and str(value).startswith("-"))):
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return node


def to_source(node: ast.AST) -> str:
    """Readable source for ``node``, with comment markers turned into comments."""
    _fill_empty_blocks(node)
    node = _NegativeLiterals().visit(node)
    text = astor.to_source(ast.fix_missing_locations(node))
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        quote = next((q for q in ('"""', "'", '"') if stripped.startswith(q + COMMENT_PREFIX)),
                     None)
        if quote is not None:
            indent = line[: len(line) - len(line.lstrip())]
            body = stripped[len(quote) + len(COMMENT_PREFIX) : -len(quote)]
            body = body.encode("utf-8").decode("unicode_escape") if "\\" in body else body
            lines.append(f"{indent}# {body}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"
