"""Writing an export file so that it is whole or absent under its final name.

Every exporter writes to a temporary name beside the target and renames it when the file is complete: a kill, a
crash or a full disk mid-write leaves at most a `*.part*` file (never listed, never archived, and removed by a
later export of the same file once an hour old; so are a media bundle's staged folders), not a corrupt PDF or spreadsheet under the name a producer would send. The rename is atomic on one
filesystem, and the temporary file is in the target's own folder, so it always is.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PART = ".part"
STALE_S = 3600.0  # a half-file this old belongs to an export that was killed, not one still running


def is_partial(path: Path) -> bool:
    """True for a file still being written (or left by a killed export): not a deliverable."""
    return path.name.endswith(PART) or f"{PART}-" in path.name


@contextmanager
def writing(out: Path) -> Iterator[Path]:
    """Yield the temporary path to write `out` to; on success it becomes `out`, on any failure it is removed.

    The temporary name keeps the target's suffix (writers such as OpenTimelineIO choose the format by it) and has a
    random token, so two exports of the same file at once do not write into each other's half-file.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    _sweep(out)
    tmp = out.with_name(f"{out.stem}{PART}-{secrets.token_hex(4)}{out.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"the exporter wrote nothing to {tmp.name}")
        with open(tmp, "rb+") as fh:  # on disk before the rename, so a power cut cannot leave an empty file
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sweep(out: Path) -> None:
    cutoff = time.time() - STALE_S
    for old in out.parent.glob(f"{out.stem}{PART}-*{out.suffix}"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # another export removed it first


def sweep_staging(folder: Path) -> None:
    """Remove half-written copies of `folder` (`<name>.part-*`, staged by an export that was killed) once they are
    an hour old; a younger one may belong to an export still running."""
    cutoff = time.time() - STALE_S
    for old in folder.parent.glob(f"{folder.name}{PART}-*"):
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old)
        except OSError:
            continue  # another export removed it first


def write_bytes(out: Path, data: bytes) -> Path:
    with writing(out) as tmp:
        tmp.write_bytes(data)
    return out


def write_text(out: Path, text: str) -> Path:
    return write_bytes(out, text.encode("utf-8"))
