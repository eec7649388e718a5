"""The command line: print (or export) the generated source of a function in a file.

    python -m adcompiler examples/rosenbrock.py:rosenbrock [--wrt 0,y] [--mode forward]
                                                          [--kind vjp] [--color never]
                                                          [--export PATH]
    adcompiler ...            (the same, as the console script pip installs)

The target file is imported, so its top-level code runs, as with ``python FILE.py``:
keep scripts' work (training loops, plots) under ``if __name__ == "__main__":``.

Whatever goes wrong (a bad path, a missing function, a function that cannot be
differentiated) is one line on stderr and exit status 2, never a traceback: the tool is
for reading code, and a traceback of the compiler tells the reader nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import keyword
import os
import sys
import tokenize
from pathlib import Path

from . import api
from .errors import ADError

USAGE_ERROR = 2

_KINDS_BY_MODE = {"reverse": "grad", "forward": "jvp"}
_ANSI = {"keyword": "\033[1;34m", "comment": "\033[2;32m", "string": "\033[33m",
         "number": "\033[36m", "def": "\033[1;35m", "reset": "\033[0m"}


class CommandError(Exception):
    """A one-line problem with the command line's arguments or target."""


def _load(spec: str) -> object:
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name:
        raise CommandError(f"expected FILE.py:FUNCTION, got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    module_name = f"_adcompiler_cli_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise CommandError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed to import: say why, in one line
        raise CommandError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    func = getattr(module, func_name, None)
    if func is None:
        raise CommandError(f"{path} has no function {func_name!r}")
    if not callable(func):
        raise CommandError(f"{path}:{func_name} is not a function")
    return func


def _wrt(text: str | None) -> object:
    if text is None:
        return None
    items: list[int | str] = [int(t) if t.strip().lstrip("-").isdigit() else t.strip()
                              for t in text.split(",") if t.strip()]
    if not items:
        raise CommandError("--wrt needs at least one argument index or name")
    return items[0] if len(items) == 1 else tuple(items)


def _one_line(exc: ADError) -> str:
    first = exc.message.splitlines()[0] if exc.message else type(exc).__name__
    where = f"{exc.filename}:{exc.lineno}: " if exc.location else ""
    return f"{where}{type(exc).__name__}: {first}"


def highlight(text: str) -> str:
    """ANSI colours for keywords, names being defined, strings, numbers and comments."""
    out: list[str] = []
    previous = ""
    lines = text.splitlines(keepends=True)
    position = (1, 0)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text

    def copy_until(end: tuple[int, int]) -> None:
        nonlocal position
        (row, col), (end_row, end_col) = position, end
        while (row, col) < (end_row, end_col):
            line = lines[row - 1] if row - 1 < len(lines) else ""
            stop = end_col if row == end_row else len(line)
            out.append(line[col:stop])
            if row == end_row:
                col = stop
                break
            row, col = row + 1, 0
        position = (row, col)

    for token in tokens:
        copy_until(token.start)
        colour = None
        if token.type == tokenize.NAME and keyword.iskeyword(token.string):
            colour = "keyword"
        elif token.type == tokenize.NAME and previous == "def":
            colour = "def"
        elif token.type == tokenize.STRING:
            colour = "string"
        elif token.type == tokenize.NUMBER:
            colour = "number"
        elif token.type == tokenize.COMMENT:
            colour = "comment"
        if colour is not None and token.start[0] == token.end[0]:
            out.append(_ANSI[colour] + token.string + _ANSI["reset"])
            position = token.end
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.COMMENT):
            previous = token.string
    copy_until((len(lines) + 1, 0))
    return "".join(out)


def _use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _prog() -> str:
    """How the user invoked the tool, for the usage line."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if name in ("", "__main__.py", "-c") or name.endswith(".py"):
        return "python -m adcompiler"
    return name.removesuffix(".exe")


IMPORT_NOTE = ("FILE.py is imported, so its top-level code runs (as with python FILE.py); "
               "keep a script's work under 'if __name__ == \"__main__\":'.")


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    prog = _prog()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print the derivative code adcompiler generates for FILE.py:FUNCTION, "
        "or write it as a module that needs only NumPy (--export). " + IMPORT_NOTE,
        epilog=f"examples: {prog} examples/rosenbrock.py:rosenbrock; "
        f"{prog} model.py:loss --wrt w,b --kind value_and_grad; "
        f"{prog} model.py:loss --export loss_grad.py")
    parser.add_argument("--version", action="version", version=f"adcompiler {__version__}")
    parser.add_argument("target", help="FILE.py:FUNCTION")
    parser.add_argument("--wrt", help="argument indices or names, comma-separated "
                        "(default: the decorator's wrt, else 0)")
    parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse",
                        help="reverse prints the gradient, forward the tangent (jvp) program")
    parser.add_argument("--kind", choices=["grad", "value_and_grad", "vjp", "jvp"],
                        help="which generated function to print (overrides --mode)")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="syntax colours (auto: only on a terminal, and not with NO_COLOR)")
    parser.add_argument("--export", metavar="PATH",
                        help="write the generated code, with every helper it calls, as a "
                        "module that needs only NumPy (not specialised on argument ranks: "
                        "use ad.export(f, path, args=...) for that)")
    args = parser.parse_args(argv)
    kind = args.kind or _KINDS_BY_MODE[args.mode]
    try:
        func = _load(args.target)
        if args.export:
            from .export import export

            path = export(func, args.export, wrt=_wrt(args.wrt), kind=kind)
            print(f"adcompiler: wrote the {kind} of {args.target} to {path}")
            return 0
        text = api.source(func, kind, _wrt(args.wrt))  # type: ignore[arg-type]
    except CommandError as exc:
        print(f"adcompiler: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except ADError as exc:
        print(f"adcompiler: {_one_line(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        print(f"adcompiler: cannot write {args.export}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE_ERROR
    sys.stdout.write(highlight(text) if _use_colour(args.color) else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
