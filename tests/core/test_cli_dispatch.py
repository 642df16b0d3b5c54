"""The command table that keeps `python -m core <command>` from importing every command module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.cli import COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_table_matches_what_the_modules_register() -> None:
    parser = build_parser()  # no argv: every module registers
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == set(COMMAND_MODULES)  # type: ignore[attr-defined]


def test_a_command_imports_only_its_own_module() -> None:
    code = ("import sys; from core.cli import build_parser; build_parser(['jobs']); "
            "print(sorted(m for m in sys.modules if m.startswith('core.cli.') or m in ('fpdf', 'fastapi')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "['core.cli.render_cmds']"
