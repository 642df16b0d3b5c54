"""The shot list as CSV and XLSX: one row per frame, the columns a production team tracks.

Narration (what is said) and directions (what is seen or done in the edit, one per line) are the shot's, each in
its own column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from core.exports.data import ScriptSnapshot
from core.exports.files import writing
from core.timing import DEFAULT_WPM, shot_length

COLUMNS = ("video", "video title", "shot", "frame", "scene text", "selected prompt", "frame status", "shot status",
           "narration", "directions", "image file", "clip file", "frame id", "prompt state", "image state",
           "clip state", "duration s", "timed by", "voice state")
_ARABIC = range(0x0600, 0x0700)


def shot_list_rows(snapshot: ScriptSnapshot, *, wpm: float = DEFAULT_WPM) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for video in snapshot.videos:
        for shot in video.shots:
            length = shot_length(shot.narration, voice_s=shot.voice_duration_s, wpm=wpm)
            for frame in shot.frames:
                rows.append({
                    "video": video.number, "video title": video.title, "shot": shot.position,
                    "frame": frame.position, "scene text": frame.scene_text, "selected prompt": frame.prompt,
                    "frame status": frame.status, "shot status": shot.status, "narration": shot.narration,
                    "directions": "\n".join(shot.directions),
                    "prompt state": frame.prompt_freshness.describe(),
                    "image state": frame.image_freshness.describe(), "clip state": shot.clip_freshness.describe(),
                    "image file": str(frame.image_path) if frame.image_path else "",
                    "clip file": str(shot.clip_path) if shot.clip_path else "", "frame id": frame.frame_id,
                    "duration s": round(length.seconds, 2), "timed by": length.source,
                    "voice state": shot.voice_freshness.describe(),
                })
    return rows


def shot_list_csv(snapshot: ScriptSnapshot, *, wpm: float = DEFAULT_WPM) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Arabic text correctly on a double click."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(shot_list_rows(snapshot, wpm=wpm))
    return buf.getvalue().encode("utf-8-sig")


def write_shot_list_xlsx(snapshot: ScriptSnapshot, out: Path, *, wpm: float = DEFAULT_WPM) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Shot list"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = {"scene text": 50, "selected prompt": 60, "narration": 50, "directions": 40, "video title": 30,
              "prompt state": 24, "image state": 24, "clip state": 24, "image file": 40, "clip file": 40}
    for i, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = widths.get(name, 12)
    for row in shot_list_rows(snapshot, wpm=wpm):
        ws.append([row[c] for c in COLUMNS])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and any(ord(ch) in _ARABIC for ch in cell.value):
                # readingOrder=2 is right-to-left: Arabic cells read and align as the writer expects.
                cell.alignment = Alignment(wrap_text=True, horizontal="right", vertical="top", readingOrder=2)
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    with writing(out) as tmp:
        wb.save(tmp)
    return out
