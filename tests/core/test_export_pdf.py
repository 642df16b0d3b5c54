"""The storyboard PDF read back: mixed English and Arabic lines at one size that never overlap and never leave
their frame card or the page, and Arabic that copies out with the right letters."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from core.exports import pdf as pdf_module
from core.exports.data import CommentRow, FrameRow, ScriptSnapshot, ShotRow, VideoRow
from core.exports.pdf import render_storyboard_pdf
from tests.core.pdf_layout import Box, page_layout, pdftotext_lines

FIRST_AID = "الإسعافات الأولية"
PROMPTS = [
    f"A paramedic kneels beside a patient, the poster reads «{FIRST_AID}» (first aid), warm light, 35mm, the "
    "caption says مرحبا بكم في الدورة and the logo 3D 2024 stays in frame; cinematic, shallow depth of field",
    "مشهد: مسعف يركع بجانب مريض، the poster reads First Aid Kit 2024 بخط عريض، إضاءة دافئة cinematic 35mm، "
    f"{FIRST_AID} للجميع — keep the logo visible, no text overlays، لقطة متوسطة، shallow depth of field، الخلفية: "
    "غرفة صف مدرسية مع سبورة خضراء ونافذة كبيرة، style: flat vector illustration " * 2,
    "See https://example.org/a/very/long/path/that/no/card/can/hold/on/one/line/first-aid-guide.html then "
    "الإسعافاتالأوليةالإسعافاتالأوليةالإسعافاتالأوليةالإسعافاتالأولية in one word",
    "",
]
SCENES = ["معلم يشرح الدرس أمام السبورة about first aid الإسعافات الأولية", "Teacher explains الإسعافات then معلم",
          "مشهد طويل " * 40, "A short scene."]


def _snapshot(tmp_path: Path, frames: int = 8) -> ScriptSnapshot:
    image = tmp_path / "still.png"
    Image.new("RGB", (640, 360), (60, 120, 200)).save(image)
    rows = tuple(
        FrameRow(i, i, SCENES[i % len(SCENES)], PROMPTS[i % len(PROMPTS)], "needs_changes" if i == 2 else "draft",
                 image if i % 3 else None,
                 comments=(CommentRow("client", "الإضاءة جميلة but make it brighter", datetime(2026, 1, 2)),
                           CommentRow("Dana", "Fix the 3D logo — " + "very " * 30 + "soon", None)) if i < 4 else ())
        for i in range(1, frames + 1))
    shot = ShotRow(1, 1, "", "مرحبا بكم في هذه الدورة. Welcome to the first-aid course. سنتعلم اليوم "
                   f"{FIRST_AID}. " * 12, "in_review", rows, None, None,
                   comments=(CommentRow("client", "Looks good, شكرا", None),),
                   directions=(f"Cut to the poster «{FIRST_AID}» on the wall", "لقطة قريبة للحقيبة"))
    video = VideoRow(1, 1, 1, f"الفيديو 1: Intro to {FIRST_AID}", "", "", (shot,))
    return ScriptSnapshot(1, f"دورة {FIRST_AID} — First aid", "c.docx", "", (video,))


@pytest.fixture(scope="module")
def storyboard(tmp_path_factory: pytest.TempPathFactory) -> tuple[PdfReader, Path]:
    tmp = tmp_path_factory.mktemp("pdf")
    path = render_storyboard_pdf(_snapshot(tmp), tmp / "storyboard.pdf")
    return PdfReader(path), path


def _collide(a: Box, b: Box) -> bool:
    """Ink of two runs covering each other. On one baseline, joined Arabic letters and kerned pairs drawn as
    separate runs touch by design: a sliver (a tenth of the size) is allowed there, covering a letter is not."""
    if abs(a.baseline - b.baseline) < 0.5 and a.size == b.size:
        return a.overlaps(b, tolerance=0.12 * a.size)
    return a.overlaps(b, tolerance=0.2)


def _cards(rects: list[Box]) -> list[Box]:
    return [r for r in rects if r.x1 - r.x0 > 150]  # the frame cards (a third of the page each)


def test_no_two_lines_overlap_and_none_leaves_its_card_or_the_page(storyboard: tuple[PdfReader, Path]) -> None:
    reader, _ = storyboard
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert len(reader.pages) >= 4  # cover, the shot, and its continuations
    seen_cards = 0
    for number, page in enumerate(reader.pages):
        runs, rects = page_layout(page, reader)
        assert runs, f"page {number + 1} has no text"
        for run in runs:  # on the page, inside the 12 mm margins
            assert run.x0 >= 12 * 72 / 25.4 - 1 and run.x1 <= width - 12 * 72 / 25.4 + 1, (number, run)
            assert run.y0 >= 0 and run.y1 <= height - 20, (number, run)
        for a, b in itertools.combinations(runs, 2):
            assert not _collide(a, b), (number + 1, a, b)
        cards = _cards(rects)
        seen_cards += len(cards)
        for a, b in itertools.combinations(cards, 2):
            assert not a.overlaps(b), (number + 1, a, b)
        for run in runs:  # text level with a row of cards is some card's text, wholly inside that card
            if any(c.y0 < (run.y0 + run.y1) / 2 < c.y1 for c in cards):
                assert len([c for c in cards if run.inside(c)]) == 1, (number + 1, run)
    assert seen_cards == 8


def test_english_and_arabic_on_a_line_are_set_at_one_size(storyboard: tuple[PdfReader, Path]) -> None:
    reader, _ = storyboard
    mixed = 0
    for page in reader.pages:
        runs, _ = page_layout(page, reader)
        by_line: dict[float, list[Box]] = {}
        for run in runs:
            by_line.setdefault(round(run.baseline, 1), []).append(run)
        for line in by_line.values():
            fonts = {r.font for r in line}
            if len(fonts) > 1 and any(pdf_module.has_arabic(r.text) for r in line):
                mixed += 1
                assert len({r.size for r in line}) == 1, line
    assert mixed >= 10


def test_a_card_too_tall_for_a_page_is_shortened_not_printed_off_it(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, frames=3)
    shot = snapshot.videos[0].shots[0]
    huge = FrameRow(9, 9, "مشهد طويل جدا " * 400, "prompt " * 200, "draft", None)
    video = VideoRow(1, 1, 1, "v", "", "", (ShotRow(1, 1, "", "", "draft", (huge,), None, None),))
    path = render_storyboard_pdf(ScriptSnapshot(1, "t", "c", "", (video, snapshot.videos[0])), tmp_path / "a.pdf")
    reader = PdfReader(path)
    runs, rects = page_layout(reader.pages[1], reader)
    [card] = _cards(rects)
    assert card.y0 > 30  # the card ends above the footer, on the page
    assert all(r.inside(card) for r in runs if card.y0 < r.baseline < card.y1)
    assert any(r.text.strip().endswith("…") for r in runs)
    assert shot.frames  # the other video still renders after it


def test_arabic_copies_out_with_the_right_letters(storyboard: tuple[PdfReader, Path]) -> None:
    reader, path = storyboard
    shot_page = reader.pages[1]
    assert FIRST_AID in shot_page.extract_text()  # pypdf reads the glyphs' own mapping
    lines = pdftotext_lines(shot_page, reader)  # what pdftotext does with the same glyphs
    assert any(FIRST_AID.split()[0] in line for line in lines), lines
    assert not any("اإلسعافات" in line or "األولية" in line for line in lines), lines
    if shutil.which("pdftotext"):  # the real tool, where poppler-utils is installed
        text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "الإسعافات" in text and "اإلسعافات" not in text


def test_without_the_ligature_spans_pdftotext_swaps_lam_and_alef(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The model of pdftotext above reproduces what was reported before the fix: «اإلسعافات األولية».
    monkeypatch.setattr(pdf_module, "_tag_ligatures", lambda content, ligatures: content)
    path = render_storyboard_pdf(_snapshot(tmp_path, frames=1), tmp_path / "old.pdf")
    reader = PdfReader(path)
    assert any("اإلسعافات" in line for line in pdftotext_lines(reader.pages[1], reader))
