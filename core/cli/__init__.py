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


# Which module registers which command, so `python -m core worker` imports only what the worker needs (the export
# module alone pulls in fpdf, numpy and PyAV: seconds of start-up). Help, or a command not listed, imports them all;
# a test checks this table against what the modules really register.
COMMAND_MODULES = {
    "segment": "segment",
    "ingest": "library_cmds", "show": "library_cmds", "rebuild": "library_cmds",
    "prompts": "prompt_cmds",
    "plan": "plan_cmds",
    "render": "render_cmds", "jobs": "render_cmds", "worker": "render_cmds",
    "review": "review_cmds", "budget": "review_cmds", "rates": "review_cmds",
    "export": "export_cmds", "import-archive": "export_cmds",
    "serve": "serve_cmd",
    "migrate": "migrate_cmd",
    "cast": "cast_cmds",
    "voice": "voice_cmds",
}


def _modules_for(argv: Sequence[str] | None) -> list[str]:
    command = next((a for a in (argv or []) if not a.startswith("-")), None)
    if command in COMMAND_MODULES:
        return [COMMAND_MODULES[command]]
    return sorted(info.name for info in pkgutil.iter_modules(__path__))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the module that registers its command is imported."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Course Visual Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _modules_for(argv):
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except StudioError as err:
        print(f"error: {err.category}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
