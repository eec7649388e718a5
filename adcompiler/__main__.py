"""The command line: print the generated source of a function in a file.

    python -m adcompiler examples/rosenbrock.py:rosenbrock [--wrt 0,y] [--kind grad]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from . import api
from .errors import ADError


def _load(spec: str) -> object:
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name:
        raise SystemExit(f"expected FILE.py:FUNCTION, got {spec!r}")
    path = Path(path_text)
    if not path.exists():
        raise SystemExit(f"no such file: {path}")
    module_name = f"_adcompiler_cli_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    module_spec.loader.exec_module(module)
    func = getattr(module, func_name, None)
    if func is None:
        raise SystemExit(f"{path} has no function {func_name!r}")
    return func


def _wrt(text: str | None) -> object:
    if text is None:
        return None
    items: list[int | str] = [int(t) if t.strip().lstrip("-").isdigit() else t.strip()
                              for t in text.split(",") if t.strip()]
    return items[0] if len(items) == 1 else tuple(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adcompiler",
                                     description="Print the derivative code adcompiler "
                                     "generates for FILE.py:FUNCTION.")
    parser.add_argument("target", help="FILE.py:FUNCTION")
    parser.add_argument("--wrt", help="argument indices or names, comma-separated")
    parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse")
    parser.add_argument("--kind", choices=["grad", "value_and_grad", "vjp", "jvp"])
    args = parser.parse_args(argv)
    func = _load(args.target)
    kind = args.kind or ("jvp" if args.mode == "forward" else "grad")
    try:
        text = api.source(func, kind, _wrt(args.wrt))  # type: ignore[arg-type]
    except ADError as exc:
        print(f"adcompiler: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
