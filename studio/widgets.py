"""Drawing helpers shared by the pages: Arabic-aware text, status chips, the word diff, error handling.

Safety rule: user and model text never reaches `unsafe_allow_html` unescaped. Text is shown either through
`st.markdown` after `escape_markdown`, or inside HTML built only from `html.escape`d tokens. The only raw HTML
is the static CSS below.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from typing import Any

import streamlit as st
from PIL import Image, ImageDraw

from core.errors import StudioError

log = logging.getLogger("studio")

ARABIC_FONTS = (
    '"Noto Naskh Arabic", "Noto Sans Arabic", "Geeza Pro", "Segoe UI", "Arabic Typesetting", Tahoma, sans-serif'
)

# Keyed containers get the CSS class `st-key-<key>`, so a container keyed "rtl-…" is laid out right-to-left.
# The fonts are looked up locally (the studio runs offline); every desktop OS ships one of them.
_CSS = f"""
<style>
[class*="st-key-rtl-"] {{ direction: rtl; text-align: right; }}
[class*="st-key-rtl-"] [data-testid="stMarkdownContainer"], [class*="st-key-rtl-"] p,
[class*="st-key-rtl-"] li, [class*="st-key-rtl-"] [data-testid="stCaptionContainer"], .rtl-text {{
  direction: rtl; text-align: right; unicode-bidi: isolate;
}}
[class*="st-key-rtl-"] p, [class*="st-key-rtl-"] li, .rtl-text {{
  font-family: {ARABIC_FONTS}; font-size: 1.05rem; line-height: 1.7;
}}
.word-diff {{ line-height: 1.9; white-space: pre-wrap; font-family: {ARABIC_FONTS}; }}
.word-diff ins {{ background: #c3f0c8; text-decoration: none; border-radius: 3px; padding: 0 2px; }}
.word-diff del {{ background: #ffc9c9; border-radius: 3px; padding: 0 2px; }}
[class*="st-key-frame-card-"] {{ min-height: 100%; }}
/* A card's or tile's words are one markdown element (studio/frame_card.py card_text, tile_text): each paragraph takes the direction of
   its first strong letter and aligns to its start, so an Arabic scene or beat reads right to left, aligned right,
   and an English prompt beside it left to right; Arabic letters in the Arabic fonts. */
[class*="st-key-frame-card-"] [data-testid="stMarkdownContainer"] p,
[class*="st-key-image-cell-"] [data-testid="stMarkdownContainer"] p {{
  unicode-bidi: plaintext; text-align: start;
  font-family: "Source Sans", "Source Sans Pro", {ARABIC_FONTS}; line-height: 1.7;
}}
/* An icon's ligature name ("videocam") is Latin text: isolated, it does not decide its paragraph's direction. */
[class*="st-key-frame-card-"] p span[role="img"], [class*="st-key-image-cell-"] p span[role="img"] {{
  unicode-bidi: isolate;
}}
/* The gallery, clip and board rows (and any container keyed "stack-…"): tiles keep a usable width and wrap;
   below 1000 px of window, one column. */
[class*="st-key-gallery-row-"] [data-testid="stHorizontalBlock"],
[class*="st-key-clip-row-"] [data-testid="stHorizontalBlock"], [class*="st-key-stack-"] [data-testid="stHorizontalBlock"],
[class*="st-key-shot-row-"] [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
[class*="st-key-gallery-row-"] [data-testid="stColumn"] {{ min-width: 220px; }}
@media (max-width: 1000px) {{
  [class*="st-key-gallery-row-"] [data-testid="stColumn"],
  [class*="st-key-clip-main-"] [data-testid="stColumn"], [class*="st-key-stack-"] [data-testid="stColumn"],
  [class*="st-key-shot-row-"] [data-testid="stColumn"] {{ min-width: 100%; }}
}}
/* A button's label is never cut to "Re-…": it wraps instead. */
[data-testid^="stBaseButton"] p {{ white-space: normal; overflow-wrap: normal; word-break: normal; }}
/* Text people type, and titles: each paragraph takes the direction of its first strong letter, so an Arabic
   comment or an Arabic video title reads right to left, aligned right, with its punctuation where it belongs. */
textarea, input[type="text"], [data-testid="stHeading"] h1, [data-testid="stHeading"] h2,
[data-testid="stHeading"] h3 {{ unicode-bidi: plaintext; text-align: start; }}
/* A compact page: less empty space above the title. */
[data-testid="stMainBlockContainer"] {{ padding-top: 2.5rem; }}
</style>
"""

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:$~=])")
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_-]")

# status -> (label, badge colour, icon)
_CHIPS: dict[str, tuple[str, str, str]] = {
    "pending": ("queued", "gray", ":material/schedule:"),
    "queued": ("queued", "gray", ":material/schedule:"),
    "submitted": ("rendering", "blue", ":material/autorenew:"),
    "running": ("rendering", "blue", ":material/autorenew:"),
    "succeeded": ("done", "green", ":material/check:"),
    "done": ("done", "green", ":material/check:"),
    "failed": ("failed", "red", ":material/error:"),
    "nsfw": ("blocked by moderation", "orange", ":material/block:"),
    "blocked": ("blocked by moderation", "orange", ":material/block:"),
    "canceled": ("canceled", "gray", ":material/cancel:"),
    "none": ("not rendered", "gray", ":material/image_not_supported:"),
}


@lru_cache(maxsize=1)
def tab_icon() -> Image.Image:
    """The browser tab's icon, drawn locally: a film frame (a rounded dark square with a play triangle)."""
    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((2, 8, 62, 56), radius=10, fill=(30, 64, 120, 255))
    draw.polygon([(25, 20), (25, 44), (45, 32)], fill=(255, 255, 255, 255))
    return icon


def install_css() -> None:
    """Static CSS only: right-to-left containers, the Arabic font stack, diff colours."""
    st.html(_CSS)


@lru_cache(maxsize=8192)  # pure, and every page run asks again about the same scene texts and narrations
def is_mostly_arabic(text: str) -> bool:
    """True when Arabic letters outnumber Latin ones (digits and punctuation do not count)."""
    arabic = len(_ARABIC.findall(text))
    return arabic > 0 and arabic >= len(_LATIN.findall(text))


def escape_markdown(text: str) -> str:
    """Text shown literally by `st.markdown`: markdown, directives and math are escaped; lines kept."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("\n", "  \n")


def container_key(*parts: object) -> str:
    return _KEY_SAFE.sub("_", "-".join(str(p) for p in parts))


def show_text(text: str, *, key: str, placeholder: str = "(empty)", icon: str | None = None,
              caption: bool = False) -> None:
    """Show user or script text, right-to-left in an Arabic font when it is mostly Arabic.

    `icon` (a `:material/…:` directive) says what the text is; `caption`: drawn small, as secondary text."""
    body = escape_markdown(text) if text.strip() else f"*{placeholder}*"
    if icon:
        body = f"{icon} {body}"
    draw = st.caption if caption else st.markdown
    if is_mostly_arabic(text):
        with st.container(key=container_key("rtl", key)):
            draw(body)
    else:
        draw(body)


def badge(label: str, color: str, icon: str | None = None) -> str:
    """A badge as markdown (`:color-badge[…]`), to share one `st.markdown` with the text beside it: every element
    is a message to the browser and a wake-up of the server's send loop, and a gallery draws dozens of them."""
    return f":{color}-badge[{icon + ' ' if icon else ''}{escape_markdown(label)}]"


def chip(status: str | None) -> str:
    """A render status (job status, or "none") as a badge in markdown."""
    label, color, icon = _CHIPS.get(status or "none", (status or "unknown", "gray", ":material/help:"))
    return badge(label, color, icon)


def chip_reason(status: str | None, reason: str | None) -> None:
    """Why a render failed or was blocked, under its chip."""
    if reason and status in ("failed", "nsfw", "blocked"):
        st.caption(escape_markdown(reason))  # a provider's or worker's text: outside text, shown as text


def status_chip(status: str | None, *, reason: str | None = None) -> None:
    st.markdown(chip(status))
    chip_reason(status, reason)


def chip_label(status: str | None) -> str:
    return _CHIPS.get(status or "none", (status or "unknown", "", ""))[0]


def diff_html(ops: Iterable[tuple[str, str]]) -> str:
    """A word diff as HTML built only from escaped tokens: insertions in <ins>, deletions in <del>."""
    ops = list(ops)
    # Tokens may or may not carry their whitespace; join with spaces only when none of them does.
    sep = "" if any(tok.isspace() or tok != tok.strip() for _, tok in ops) else " "
    parts: list[str] = []
    for op, token in ops:
        safe = html.escape(token)
        if op == "insert":
            parts.append(f"<ins>{safe}</ins>")
        elif op == "delete":
            parts.append(f"<del>{safe}</del>")
        else:
            parts.append(safe)
    text = "".join(tok for _, tok in ops)
    direction = "rtl" if is_mostly_arabic(text) else "ltr"
    return f'<div class="word-diff" dir="{direction}">{sep.join(parts)}</div>'


def show_error(err: BaseException) -> None:
    """A producer-readable error: a StudioError's own message, anything else a generic one (and logged)."""
    if isinstance(err, StudioError):  # messages quote outside text (part names, replies, titles): as text
        st.error(escape_markdown(str(err)), icon=":material/error:")
    else:
        log.exception("unexpected error in the studio", exc_info=err)
        st.error(
            "Something unexpected went wrong and nothing was changed by this step. Try again; if it keeps "
            "happening, restart the studio and check its log.",
            icon=":material/error:",
        )


@contextmanager
def guarded() -> Iterator[None]:
    """Turn errors into messages on the page; never a stack trace. st.rerun / st.stop pass through."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the page must survive anything
        show_error(err)


# Wide enough for the longest metric label ("Largest unpacked script") and value: four a row on a 1280 px window,
# two at 800 px (a fixed share of st.columns(4) cuts labels to "Largest…" there).
METRIC_WIDTH = 190


def metrics(items: Iterable[tuple[str, Any] | tuple[str, Any, str]]) -> None:
    """A row of metrics that wraps onto more rows instead of cutting their labels: (label, value[, help])."""
    with st.container(horizontal=True, gap="small"):
        for label, value, *help_text in items:
            st.metric(label, value, help=help_text[0] if help_text else None, width=METRIC_WIDTH)


def relative_time(value: object) -> str:
    """'3 min ago' style, from an aware datetime."""
    from datetime import datetime

    if not isinstance(value, datetime):
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return value.strftime("%Y-%m-%d")


def isolate(text: str) -> str:
    """Wrap user text in Unicode first-strong isolates (FSI … PDI) so Arabic inside an English label or caption
    keeps its own direction and does not reorder the numbers and words around it."""
    return f"\u2068{text}\u2069"


def isolate_file_name(name: str) -> str:
    """A file name in a left-to-right isolate (LRI … PDI): "دورة_التصميم.docx" keeps its extension at the end
    (first-strong isolation would read it right to left, as "docx.دورة_التصميم")."""
    return f"\u2066{name}\u2069"


def show_ingest_error(err: BaseException) -> None:
    """The rejection in words and the reassurance that nothing was stored. What to do next is said once, by the
    error itself (the CLI and the API show the same message), not repeated here."""
    show_error(err)
    st.caption("Nothing was stored.")
