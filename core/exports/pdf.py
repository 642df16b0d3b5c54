"""The PDF storyboard a client signs off: a cover page, then per video one page per shot with its frames.

Each shot page shows its narration (what is said) and, under a "Directions" line, its directions (what is seen).

Arabic is shaped by HarfBuzz (fpdf2's `set_text_shaping`) and laid out right to left: a paragraph with Arabic
in it is set in Noto Sans Arabic (Latin falls back to Noto Sans) and aligned right, so letters join and words
read in the writer's order. Images are embedded as JPEG at screen resolution to keep the file mailable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import MethodReturnValue
from PIL import Image

from core.exports.files import writing
from core.exports.data import CommentRow, FrameRow, ScriptSnapshot, ShotRow, VideoRow
from core.review import APPROVED_STATUSES, STATUS_LABELS

FONTS = Path(__file__).resolve().parent.parent / "fonts"
LATIN, ARABIC = "NotoSans", "NotoArabic"
COLUMNS = 3
GAP = 6.0
MAX_PROMPT_CHARS = 320
MAX_COMMENTS = 3
STATUS_COLOURS = {"draft": (120, 120, 120), "in_review": (30, 100, 200), "needs_changes": (200, 90, 20),
                  "approved": (30, 140, 60), "locked": (90, 40, 150)}


def has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufefc"
               for ch in text)


class StoryboardPDF(FPDF):
    def __init__(self, course_title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.course_title = course_title
        self.add_font(LATIN, fname=str(FONTS / "NotoSans-Regular.ttf"))
        self.add_font(LATIN, style="B", fname=str(FONTS / "NotoSans-Bold.ttf"))
        self.add_font(ARABIC, fname=str(FONTS / "NotoSansArabic-Regular.ttf"))
        self.add_font(ARABIC, style="B", fname=str(FONTS / "NotoSansArabic-Bold.ttf"))
        self.set_text_shaping(True)
        self._shaping_on = True
        self.set_image_filter("DCTDecode")
        self.set_auto_page_break(False)
        self.set_margins(12, 12, 12)
        self.set_title(course_title)
        self.set_creator("Course Visual Studio")

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-10)
        self.font_for("x", size=8)
        self.set_text_color(130, 130, 130)
        self.cell(0, 5, f"Page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)

    def font_for(self, text: str, *, size: float, bold: bool = False) -> Literal["L", "R"]:
        """Pick the font for a paragraph and return its alignment: Arabic paragraphs are set right to left."""
        style = "B" if bold else ""
        if has_arabic(text):
            self._shaping(True)
            self.set_font(ARABIC, style=style, size=size)
            self.set_fallback_fonts([LATIN])
            return "R"
        # Latin text needs no shaping engine, and HarfBuzz dominates the time of long English prompts.
        self._shaping(False)
        self.set_font(LATIN, style=style, size=size)
        self.set_fallback_fonts([ARABIC])
        return "L"

    def _shaping(self, on: bool) -> None:
        if on != self._shaping_on:
            self.set_text_shaping(on)
            self._shaping_on = on

    def para(self, text: str, *, width: float, size: float, bold: bool = False, line: float | None = None,
             x: float | None = None, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        if not text.strip():
            return
        align = self.font_for(text, size=size, bold=bold)
        self.set_text_color(*colour)
        if x is not None:
            self.set_x(x)
        self.multi_cell(width, line or size * 0.5, text, align=align, new_x="LEFT", new_y="NEXT")
        self.set_text_color(0, 0, 0)

    def para_height(self, text: str, *, width: float, size: float, bold: bool = False,
                    line: float | None = None) -> float:
        if not text.strip():
            return 0.0
        align = self.font_for(text, size=size, bold=bold)
        h = self.multi_cell(width, line or size * 0.5, text, align=align, dry_run=True,
                            output=MethodReturnValue.HEIGHT)
        return float(h)  # type: ignore[arg-type]


def render_storyboard_pdf(snapshot: ScriptSnapshot, out: Path) -> Path:
    """Write the storyboard PDF of `snapshot` to `out` and return the path."""
    pdf = StoryboardPDF(snapshot.title)
    _cover(pdf, snapshot)
    for video in snapshot.videos:
        if not video.shots:
            pdf.add_page()
            _video_header(pdf, video, None)
            pdf.para("This video has no storyboard yet.", width=pdf.epw, size=11)
        for shot in video.shots:
            _shot_page(pdf, video, shot)
    with writing(out) as tmp:
        pdf.output(str(tmp))
    return out


def _cover(pdf: StoryboardPDF, snapshot: ScriptSnapshot) -> None:
    pdf.add_page()
    pdf.set_y(45)
    pdf.para(snapshot.title, width=pdf.epw, size=28, bold=True, line=14)
    pdf.ln(4)
    pdf.para("Storyboard for sign-off", width=pdf.epw, size=14, colour=(90, 90, 90))
    pdf.para(f"Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {len(snapshot.videos)} video(s)",
             width=pdf.epw, size=10, colour=(90, 90, 90))
    pdf.ln(8)
    for video in snapshot.videos:
        frames = [f for s in video.shots for f in s.frames]
        approved = sum(f.status in APPROVED_STATUSES for f in frames)
        pdf.para(f"{video.number}. {video.title}", width=pdf.epw, size=12, bold=True)
        pdf.para(f"{len(video.shots)} shots · {approved}/{len(frames)} frames approved", width=pdf.epw, size=9,
                 colour=(90, 90, 90))
        pdf.ln(1)
        if pdf.get_y() > pdf.h - 40:
            break
    pdf.set_y(pdf.h - 32)
    pdf.para("Approved by: ______________________     Date: ______________     Signature: ______________________",
             width=pdf.epw, size=10)


def _video_header(pdf: StoryboardPDF, video: VideoRow, shot: ShotRow | None, *, continued: bool = False) -> None:
    pdf.set_y(12)
    pdf.para(f"{video.number}. {video.title}", width=pdf.epw, size=15, bold=True, line=8)
    if shot is not None:
        label = f"Shot {shot.position} of {len(video.shots)} · {STATUS_LABELS.get(shot.status, shot.status)}"
        pdf.para(label + (" (continued)" if continued else ""), width=pdf.epw, size=10,
                 colour=STATUS_COLOURS.get(shot.status, (0, 0, 0)))
    pdf.ln(1)


def _shot_page(pdf: StoryboardPDF, video: VideoRow, shot: ShotRow) -> None:
    pdf.add_page()
    _video_header(pdf, video, shot)
    if shot.narration:
        pdf.para(shot.narration, width=pdf.epw, size=10, line=5.5)
    if shot.directions:  # what is seen, apart from what is said
        pdf.ln(1)
        pdf.para("Directions", width=pdf.epw, size=8.5, bold=True, colour=(90, 90, 90))
        for direction in shot.directions:
            pdf.para(direction, width=pdf.epw, size=9, line=4.8, colour=(90, 90, 90))
    pdf.ln(3)
    col_w = (pdf.epw - GAP * (COLUMNS - 1)) / COLUMNS
    frames = list(shot.frames)
    for start in range(0, len(frames), COLUMNS):
        row = frames[start:start + COLUMNS]
        height = max(_frame_height(pdf, f, col_w) for f in row)
        if pdf.get_y() + height > pdf.h - 22:
            pdf.add_page()
            _video_header(pdf, video, shot, continued=True)
        top = pdf.get_y()
        for i, frame in enumerate(row):
            _frame_block(pdf, frame, x=pdf.l_margin + i * (col_w + GAP), y=top, width=col_w)
        pdf.set_xy(pdf.l_margin, top + height + 4)
    if shot.comments:
        if pdf.get_y() > pdf.h - 35:
            pdf.add_page()
            _video_header(pdf, video, shot, continued=True)
        pdf.para("Shot comments", width=pdf.epw, size=9, bold=True)
        for c in shot.comments[-MAX_COMMENTS:]:
            pdf.para(_comment_line(c), width=pdf.epw, size=8.5)


def _frame_texts(frame: FrameRow) -> list[tuple[str, float, bool, tuple[int, int, int]]]:
    prompt = frame.prompt if len(frame.prompt) <= MAX_PROMPT_CHARS else frame.prompt[:MAX_PROMPT_CHARS] + "…"
    texts = [
        (f"Frame {frame.position} · {STATUS_LABELS.get(frame.status, frame.status)}", 9, True,
         STATUS_COLOURS.get(frame.status, (0, 0, 0))),
        (frame.scene_text, 10, False, (0, 0, 0)),
        (f"Prompt: {prompt}" if prompt else "Prompt: (none yet)", 7.5, False, (90, 90, 90)),
    ]
    texts += [(_comment_line(c), 7.5, False, (150, 70, 20)) for c in frame.comments[-MAX_COMMENTS:]]
    return texts


def _frame_height(pdf: StoryboardPDF, frame: FrameRow, width: float) -> float:
    image_h = width * 9 / 16
    return image_h + 2 + sum(pdf.para_height(t, width=width, size=s, bold=b) + 1 for t, s, b, _ in
                             _frame_texts(frame))


def _frame_block(pdf: StoryboardPDF, frame: FrameRow, *, x: float, y: float, width: float) -> None:
    image_h = width * 9 / 16
    if frame.image_path is not None:
        with Image.open(frame.image_path) as src:
            img = src.convert("RGB")
            img.thumbnail((960, 540))
            # Fit inside the 16:9 box, centred, whatever the image's own aspect.
            scale = min(width / img.width, image_h / img.height)
            w, h = img.width * scale, img.height * scale
            pdf.image(img, x=x + (width - w) / 2, y=y + (image_h - h) / 2, w=w, h=h)
    else:
        pdf.set_fill_color(235, 235, 235)
        pdf.rect(x, y, width, image_h, style="F")
        pdf.set_xy(x, y + image_h / 2 - 3)
        pdf.font_for("x", size=9)
        pdf.set_text_color(120, 120, 120)
        pdf.cell(width, 6, "No image yet", align="C")
        pdf.set_text_color(0, 0, 0)
    pdf.set_xy(x, y + image_h + 2)
    for text, size, bold, colour in _frame_texts(frame):
        pdf.para(text, width=width, size=size, bold=bold, x=x, colour=colour)
        pdf.set_x(x)
        pdf.ln(1)
        pdf.set_x(x)


def _comment_line(c: CommentRow) -> str:
    when = f" ({c.at:%Y-%m-%d})" if c.at else ""
    return f"{c.author}{when}: {c.body}"
