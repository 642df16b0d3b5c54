"""`python -m core …`: each module in this package that defines `register(subparsers)` adds its commands.

A command handler takes the parsed args and returns an exit code. A `StudioError` becomes one line
`error: <category>: <message>` on stderr and exit code 2; nothing else is printed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from core.errors import StudioError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Course Visual Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except StudioError as err:
        print(f"error: {err.category}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
