"""How much one script may be, and how many are read at once.

A real course script is about a megabyte of XML (the 300-page Arabic script of `bench/ingest.py`, and every real
document under tests, are 1 MB or less), a few hundred thousand characters and a few hundred frames. The caps
are far above that and far below what hurts the server: a 0.9 MB upload once inflated to 190 MB of XML and took
2.3 GB and over a minute to read (`bench/xml_bomb.py`).

- `DEFAULT_MAX_UNCOMPRESSED_MB` (the `MAX_UNCOMPRESSED_MB` setting): the XML the reader will inflate;
- `MAX_SCRIPT_CHARS`: the text read from the body (the reader stops as soon as it is passed);
- `MAX_STORYBOARD_FRAMES`: the frames one ingest may create (videos × shots × frames);
- `ingest_slot`: at most `INGEST_CONCURRENCY` (setting) documents are read at once per process; others wait
  their turn, and after `wait_s` are refused with a "busy, try again" error rather than piling up in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import IngestError

DEFAULT_MAX_UNCOMPRESSED_MB = 25.0  # the settings default (core/settings.py)
TYPICAL_SCRIPT_XML = "about 1 MB"
MAX_SCRIPT_CHARS = 3_000_000
MAX_STORYBOARD_FRAMES = 10_000
DEFAULT_INGEST_CONCURRENCY = 2
DEFAULT_WAIT_S = 120.0

_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@contextmanager
def ingest_slot(concurrency: int = DEFAULT_INGEST_CONCURRENCY, *, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold one of `concurrency` reading slots (shared by every caller in this process asking for that many)."""
    with _SLOTS_LOCK:
        slots = _SLOTS.setdefault(concurrency, threading.BoundedSemaphore(concurrency))
    if not slots.acquire(timeout=wait_s):
        raise IngestError(f"The studio is reading {concurrency} other script(s) right now; upload this one again "
                          "in a minute.", category="busy")
    try:
        yield
    finally:
        slots.release()


def too_much_text(limit: int = MAX_SCRIPT_CHARS) -> IngestError:
    return IngestError(f"The document holds more than {limit:,} characters of text; a course script has far "
                       "fewer. Split it into several scripts and upload them one by one.", category="too_large")


def check_storyboard_size(videos: int, frames: int, limit: int | None = None) -> None:
    """Refuse an ingest that would create more than `limit` (default `MAX_STORYBOARD_FRAMES`) frames."""
    limit = MAX_STORYBOARD_FRAMES if limit is None else limit
    if frames > limit:
        raise IngestError(f"This script would make {frames:,} frames in {videos:,} video(s); the studio takes at "
                          f"most {limit:,} per script. Use fewer shots or frames per shot, or split the script.",
                          category="too_large")
