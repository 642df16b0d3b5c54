"""`python -m core segment PATH`: print how a Word script splits into a preface and videos, as JSON.

Nothing is stored. Upload limits come from the settings (`MAX_UPLOAD_MB`, `MAX_UNCOMPRESSED_MB`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.errors import NotFoundError


def segment_command(args: argparse.Namespace) -> int:
    from core.ingest import segment_docx
    from core.settings import load_settings

    path = Path(args.path)
    if not path.is_file():
        raise NotFoundError(f"No such file: {path}")
    settings = load_settings()
    result = segment_docx(
        path.read_bytes(),
        max_upload_bytes=settings.max_upload_bytes,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
    )
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("segment", help="print a .docx script's preface and videos as JSON")
    parser.add_argument("path", help="path of the .docx file")
    parser.set_defaults(handler=segment_command)
