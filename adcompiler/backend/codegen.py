"""Printing generated ASTs as source: the only module that imports astor.

Comments do not exist in an AST, so the transformer marks the first statement of each
adjoint block with the user's line number; the printer emits a ``# line N: <code>``
comment above it (once per run of blocks from the same line).

User text must never become code. The quoted line is the user's text, and a comment
ends at any character Python or ``str.splitlines`` treats as a line break (``\\r``,
form feed, ``\\x0b``, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029 as well as
``\\n``), so :func:`comment_text` escapes every character that is not printable before
the text reaches the printer (which also keeps terminal control sequences and bidi
overrides out of the shown source). A comment travels through the stages as a
string statement with a marker prefix; the printer finds those with the tokenizer (a
string that is a whole statement), never by matching text, so a user's string value
that happens to start with the marker stays a string (a user's bare string *statement*
would become a comment, which changes nothing either). String literals are printed by
``repr`` (one line, non-printable characters escaped), so no user character reaches
the source raw. Last, :func:`to_source` re-parses what it prints and checks that it is
the tree it was given, statement for statement and name for name.

>>> print(comment_text("y = x  # a\\u2028b\\x0c"), end="")
y = x  # a\\u2028b\\x0c
"""

from __future__ import annotations

import ast
import linecache

import astor

from ..errors import ADError

__all__ = ["COMMENT_PREFIX", "comment", "comment_text", "to_source"]

COMMENT_PREFIX = "#ADCOMMENT#"


def comment_text(text: str) -> str:
    """``text`` with every non-printable character escaped, so it fits on one line.

    ``str.isprintable`` is false for every line-breaking character (they are control,
    line-separator or paragraph-separator characters), for tabs and for format
    characters such as bidi overrides; each becomes its ``\\x``/``\\u`` escape.
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def comment(text: str) -> ast.Expr:
    """A statement that prints as ``# text`` (with ``text`` made safe by ``comment_text``)."""
    return ast.Expr(value=ast.Constant(COMMENT_PREFIX + comment_text(text)))


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


def _one_line_string(s: str | bytes, *args: object, **kwargs: object) -> str:
    """Every string literal as ``repr`` prints it: on one line, every non-printable
    character escaped. (astor's default prints some strings triple-quoted with their
    line breaks raw, and decides which by ``eval``-ing the user's text.)"""
    return repr(s)


def _statements(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        out.append(stmt)
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if inner:
                out += _statements(inner)
    return out


def _comment_lines(tree: ast.Module, lines: list[str]) -> dict[int, str]:
    """Line number -> comment text of each comment marker statement of the printed text.

    A marker is an expression statement that is a string starting with the prefix and
    fills its line alone (the parse, not a text match, says so), so a string value that
    happens to look like one is left alone.
    """
    found: dict[int, str] = {}
    for node in _statements(tree.body):
        if _is_comment(node) and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            if node.col_offset == len(line) - len(line.lstrip()) and (
                    node.end_col_offset == len(line.rstrip())):
                found[node.lineno] = node.value.value[len(COMMENT_PREFIX):]  # type: ignore
    return found


_NUMBER = (int, float, complex)


def _shape(nodes: list[ast.stmt]) -> list[object]:
    """What the printed source must keep: every statement, name and string, in order.

    Expression node types are left out (astor prints ``del a, b`` as ``del (a, b)``,
    and spells ``inf``, ``nan`` and negative zero as expressions), and so are numbers:
    neither is text a user could smuggle code through. An injected statement, name or
    string changes the sequence.
    """
    items: list[object] = []
    stack: list[ast.AST] = list(reversed(nodes))
    stmt, skip, arith = ast.stmt, ast.expr_context, (ast.Constant, ast.UnaryOp, ast.BinOp)
    while stack:
        node = stack.pop()
        if isinstance(node, skip) or (isinstance(node, arith) and _numeric(node)):
            continue
        if isinstance(node, stmt):
            if _is_comment(node):
                continue
            items.append(type(node).__name__)
        children: list[ast.AST] = []
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                children.extend(value)
            elif isinstance(value, ast.AST):
                children.append(value)
            elif isinstance(value, str | bytes) and name != "kind":
                items.append(value)
        stack.extend(reversed(children))
    return items


def _numeric(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) in _NUMBER
    if isinstance(node, ast.UnaryOp):
        return _numeric(node.operand)
    if isinstance(node, ast.BinOp):
        return _numeric(node.left) and _numeric(node.right)
    return False


def to_source(node: ast.AST) -> str:
    """Readable source for ``node``, with comment markers turned into comments.

    Raises ``ADError`` if the text would not parse back to ``node`` (a printer bug must
    stop the build, never change what runs).
    """
    _fill_empty_blocks(node)
    node = _NegativeLiterals().visit(node)
    text = astor.to_source(ast.fix_missing_locations(node), pretty_string=_one_line_string)
    body_of = node.body if isinstance(node, ast.Module) else [node]
    lines = text.split("\n")  # every string literal is one line (_one_line_string)
    try:
        printed = ast.parse(text)
    except SyntaxError:
        read_back = None
    else:
        # the text parses to ``printed``; replacing a line that holds one marker statement
        # alone by a comment removes just that statement, which ``_shape`` skips anyway
        for number, body in _comment_lines(printed, lines).items():
            line = lines[number - 1]
            lines[number - 1] = f"{line[: len(line) - len(line.lstrip())]}# {comment_text(body)}"
        read_back = _shape(printed.body)
    out = "\n".join(lines)
    if not out.endswith("\n"):
        out += "\n"
    expected = _shape(body_of)
    if read_back != expected:
        raise ADError("internal error: the generated source does not read back as the "
                      "generated code; please report this with the function you "
                      "differentiated")
    return out
