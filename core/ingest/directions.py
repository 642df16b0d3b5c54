"""Tell what a course script says (narration) from what it shows (visual directions) and where its scenes start.

Pure and table-driven: every rule is a row in one of the tables below, so a new marker is one line.

- A **direction line** opens with a marker (`المشهد: …`, `لقطة قريبة: …`, `Visual: …`, `B-roll - …`): the marker,
  up to `_MARKER_WORDS` more words, then `:` (or a dash). A line that is one whole `[ … ]` note is a direction too,
  and a `[ … ]` note inside a narration line is lifted out of it.
- A **scene mark** is a short line `المشهد 3`, `المشهد الثالث`, `Scene 2: The lab` (a number or an ordinal word,
  optionally a short title), or a Word heading of level 3 or deeper inside a video.
- An **audio/visual table** is read by its header row when one of its cells names a column (النص | المشهد البصري,
  Narration | Visual, …); without a header row, a table of two or more columns is split when one column reads as
  sentences (longer cells, end marks) and the others as short descriptions. Cells come in the document's logical
  order, so right-to-left tables need no special case. One-column tables, and tables where no column stands out,
  stay narration as before.

The rules read plain text only: they do not depend on grey or italic formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.ingest.normalize import fold, fold_char

Role = Literal["narration", "direction", "scene"]

# Markers that open a direction line (compared folded: no diacritics, alef/yeh/teh marbuta unified, lower case).
DIRECTION_MARKERS: tuple[str, ...] = (
    # Arabic
    "المشهد الختامي", "المشهد الافتتاحي", "المشهد", "مشهد", "لقطة", "لقطه", "على الشاشة", "علي الشاشه",
    "نص على الشاشة", "ملاحظة للمخرج", "ملاحظة للمونتاج", "ملاحظة إخراجية", "ملاحظة", "مؤثر صوتي", "مؤثرات صوتية",
    "مؤثرات", "موسيقى", "موسيقي", "مونتاج", "انتقال", "جرافيك", "رسوم متحركة", "الصورة", "بصري",
    # English
    "scene", "shot", "visual", "visuals", "on screen", "on-screen", "onscreen", "b-roll", "b roll", "broll", "sfx",
    "music", "cut to", "close-up", "close up", "wide shot", "graphic", "graphics", "animation", "transition",
    "editor's note", "note to editor", "director's note", "note to director", "camera", "title card", "lower third",
)
_MARKER_WORDS = 2  # words allowed between the marker and its colon: "لقطة قريبة جدا:"

# Scene subheadings: a scene word, then a number or an ordinal word, then at most a short title.
SCENE_WORDS: tuple[str, ...] = ("المشهد", "مشهد", "scene")
ORDINAL_WORDS: tuple[str, ...] = (
    "الاول", "الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع", "العاشر",
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)
_SCENE_TITLE_WORDS = 8
SCENE_HEADING_LEVEL = 3  # a Word heading this deep inside a video is a scene subheading

# Header cells of audio/visual tables.
NARRATION_HEADERS: tuple[str, ...] = (
    "النص", "نص", "النص المنطوق", "التعليق الصوتي", "التعليق", "الصوت", "السرد", "الكلام", "الحوار", "الشرح",
    "narration", "voice-over", "voice over", "voiceover", "vo", "v.o.", "audio", "script", "text", "spoken",
    "dialogue", "speech",
)
VISUAL_HEADERS: tuple[str, ...] = (
    "المشهد البصري", "المشهد", "الصورة", "المرئي", "البصري", "الوصف البصري", "ما يظهر", "ما يظهر على الشاشة",
    "الفيديو", "اللقطة", "الوصف", "على الشاشة", "visual", "visuals", "video", "picture", "on screen", "on-screen",
    "scene", "image", "shot", "description", "b-roll",
)

_END_MARKS = ".!?؟…"
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _alternation(words: Sequence[str]) -> str:
    folded = sorted({fold(w) for w in words}, key=len, reverse=True)
    return "|".join(re.escape(w) for w in folded)


_DIRECTION_RE = re.compile(
    rf"^[\s\[(«\"“]*(?:{_alternation(DIRECTION_MARKERS)})(?:\s+[^\s:：]+){{0,{_MARKER_WORDS}}}\s*(?:[:：]|\s[-–—]\s)",
)
_SCENE_RE = re.compile(
    rf"^\s*(?:{_alternation(SCENE_WORDS)})\s+(?:\d+|{_alternation(ORDINAL_WORDS)})\b\s*(?:[:.\-–—]\s*(.*))?$"
)
_NOTE_RE = re.compile(r"\[[^\[\]]*\]")
_WHOLE_NOTE_RE = re.compile(r"^\s*\[[^\[\]]*\]\s*$")
_HEADER_NARRATION = {fold(w) for w in NARRATION_HEADERS}
_HEADER_VISUAL = {fold(w) for w in VISUAL_HEADERS}
_FIRST_LETTERS = frozenset(fold(w)[0] for w in (*DIRECTION_MARKERS, *SCENE_WORDS))


_PREFIX = 60  # markers and scene marks are short: only the start of a line is ever folded
# A direction line has its colon (or a spaced dash) within `_PREFIX` characters, in any of the forms `fold` maps
# to ":" and "-": a long line without one is narration, decided without folding it.
_MAY_OPEN_MARKER = re.compile("[:：﹕\\-–—‒−‐‑]")


def _folded(line: str) -> str:
    return fold(line[:_PREFIX].lstrip("[(«\"“"))  # `\\d` in the rules matches Arabic-Indic digits too


def classify_line(line: str, *, heading_level: int = 0) -> Role:
    """Role of one line of a video's body: "scene" (a scene subheading), "direction" or "narration"."""
    stripped = line.strip()
    if not stripped:
        return "narration"
    if heading_level >= SCENE_HEADING_LEVEL:
        return "scene"
    if stripped[0] == "[" and "]" in stripped:
        # "[Visual: …]" alone is a direction; "[Visual: …] Then we …" is narration whose note is lifted out.
        return "direction" if _WHOLE_NOTE_RE.match(stripped) else "narration"
    if len(stripped) > _PREFIX and not _MAY_OPEN_MARKER.search(stripped, 0, _PREFIX):
        return "narration"  # the fast path of prose: too long for a scene mark, no colon or dash up front
    first = stripped.lstrip("[(«\"“")[:1]
    if not first or fold_char(first).lower() not in _FIRST_LETTERS:
        return "narration"  # many narration lines start with a letter no marker starts with
    folded = _folded(stripped)
    scene = _SCENE_RE.match(folded) if len(stripped) <= _PREFIX else None
    if scene and len((scene.group(1) or "").split()) <= _SCENE_TITLE_WORDS:
        return "scene"
    if _DIRECTION_RE.match(folded):
        return "direction"
    return "narration"


def lift_notes(line: str, *, keep: Callable[[str], bool] | None = None) -> tuple[str, list[str]]:
    """A narration line without its `[ … ]` notes, and the notes (brackets kept off). `keep(note)`: true for a
    note that stays in the line (one the producer marked as narration)."""
    if "[" not in line:
        return line, []
    notes = [m.group(0)[1:-1].strip() for m in _NOTE_RE.finditer(line)]
    if not notes:
        return line, []
    if keep is not None and any(keep(n) for n in notes if n):
        lifted: list[str] = []

        def lift(match: re.Match[str]) -> str:
            note = match.group(0)[1:-1].strip()
            if note and keep(note):
                return match.group(0)
            if note:
                lifted.append(note)
            return " "

        return re.sub(r"\s{2,}", " ", _NOTE_RE.sub(lift, line)).strip(), lifted
    rest = re.sub(r"\s{2,}", " ", _NOTE_RE.sub(" ", line)).strip()
    return rest, [n for n in notes if n]


# ---- audio/visual tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableLayout:
    """How to read a table: which cell positions are narration, whether row 0 is a header row to drop.

    `narration` empty means "the whole row is narration" (not an AV table)."""

    narration: tuple[int, ...] = ()
    header_row: bool = False
    reason: str = ""

    @property
    def is_av(self) -> bool:
        return bool(self.narration)

    def flipped(self, width: int) -> TableLayout:
        """The other columns as narration (the producer's correction of a misread two-column table)."""
        others = tuple(i for i in range(width) if i not in self.narration)
        if not others:
            return self
        return TableLayout(narration=others, header_row=self.header_row, reason="flipped by the producer")


def _header_role(cell: str) -> str:
    key = fold(cell.strip().strip(":：").strip())
    if key in _HEADER_NARRATION:
        return "narration"
    if key in _HEADER_VISUAL:
        return "visual"
    return ""


def _sentence_score(cells: Sequence[str]) -> float:
    """How much a column reads as spoken sentences: words per cell, plus a bonus per cell ending in an end mark,
    minus a penalty per cell opened by a direction marker."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return 0.0
    words = sum(len(c.split()) for c in filled) / len(filled)
    ends = sum(1 for c in filled if c[-1] in _END_MARKS) / len(filled)
    marked = sum(1 for c in filled if classify_line(c) == "direction") / len(filled)
    return words * (1.0 + ends) * (1.0 - 0.8 * marked)


def table_layout(rows: Sequence[Sequence[str]]) -> TableLayout:
    """Read a whole table (its rows of cells) as an audio/visual table or not."""
    width = max((len(r) for r in rows), default=0)
    if width < 2:
        return TableLayout()
    roles = [_header_role(c) for c in rows[0]]
    if "narration" in roles or "visual" in roles:
        narration = tuple(i for i, r in enumerate(roles) if r == "narration")
        if not narration:  # only the picture column is named: the widest unnamed column is what is said
            unnamed = [i for i, r in enumerate(roles) if not r]
            if not unnamed:
                return TableLayout()
            narration = (max(unnamed, key=lambda i: _sentence_score([r[i] for r in rows[1:] if i < len(r)])),)
        return TableLayout(narration=narration, header_row=True, reason="header row")
    body = [r for r in rows if len(r) >= 2]
    if len(body) < max(1, len(rows) // 2):
        return TableLayout()
    scores = [_sentence_score([r[i] for r in body if i < len(r)]) for i in range(width)]
    ranked = sorted(range(width), key=lambda i: scores[i], reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    if best >= 4.0 and best >= 1.6 * second:
        return TableLayout(narration=(ranked[0],), reason="the column that reads as sentences")
    return TableLayout()


def split_row(cells: Sequence[str], layout: TableLayout) -> tuple[str, list[str]]:
    """A table row's narration (its narration cells joined) and its directions (the other non-empty cells)."""
    if not layout.is_av:
        return " | ".join(c for c in cells), []
    said = " ".join(cells[i].strip() for i in layout.narration if i < len(cells) and cells[i].strip())
    shown = [c.strip() for i, c in enumerate(cells) if i not in layout.narration and c.strip()
             and not c.strip().translate(_ARABIC_DIGITS).replace(".", "").isdigit()]
    return said, shown
