"""Benchmark: ingest a ~300-page Arabic script (30 videos) against a bare python-docx pass over the same file.

    PYTHONPATH=. .venv/bin/python bench/ingest.py [--runs 5] [--words 105000] [--videos 30] [--keep PATH]

`ingest` is the library call the studio and the CLI make — parse + segment + storyboard (4 × 3) + store, on a
fresh migrated SQLite database each run (the migration itself is set-up, not timed) and committed. The bare pass
opens the same bytes with python-docx and walks `doc.element.body`, reading every paragraph's text and every table
cell's text. Each is run once untimed (imports, caches), then `--runs` rounds time each step once, interleaved;
the medians and their ratio are printed (wall clock, and CPU time of the process, which a busy machine disturbs
less), with a breakdown of where the ingest time goes. Target: ratio ≤ 1.14 (aim ≤ 1.0). Exit status 1 when the wall-clock ratio misses it.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from core.db import session_scope
from core.ingest import segment_docx
from core.library import ingest_file
from core.runtime import open_runtime
from core.settings import load_settings
from core.board_layout import Density
from core.storyboard_store import offline_board

WORDS_PER_PAGE = 350  # a dense A4 page of Arabic prose at 12 pt
ORDINALS = (
    "الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع", "العاشر",
    "الحادي عشر", "الثاني عشر", "الثالث عشر", "الرابع عشر", "الخامس عشر", "السادس عشر", "السابع عشر",
    "الثامن عشر", "التاسع عشر", "العشرون", "الحادي والعشرون", "الثاني والعشرون", "الثالث والعشرون",
    "الرابع والعشرون", "الخامس والعشرون", "السادس والعشرون", "السابع والعشرون", "الثامن والعشرون",
    "التاسع والعشرون", "الثلاثون",
)
VOCABULARY = (
    "الذكاء الاصطناعي البيانات التعلم الآلي النموذج التدريب الاختبار الدقة الخوارزمية الشبكة العصبية الطبقة "
    "المدخلات المخرجات الخطأ التحسين المعلم الطالب الدرس المثال الصورة النص الصوت الفيديو السؤال الجواب "
    "نلاحظ أن هذا المفهوم يساعدنا على فهم كيف تعمل الأنظمة الحديثة في حياتنا اليومية ثم ننتقل إلى خطوة "
    "جديدة حيث نجرب الفكرة على مجموعة صغيرة من الأمثلة ونقارن النتائج ونسجل ما تعلمناه في دفتر الملاحظات"
).split()
MARKS = (".", ".", ".", "؟", "!", "؛", ".")


def make_script(*, words: int, videos: int, seed: int = 7) -> tuple[bytes, dict[str, int]]:
    """A deterministic Arabic course script: a preface, `videos` headed videos of prose, a table in every third."""
    rng = random.Random(seed)
    doc = Document()
    doc.core_properties.title = "دورة الذكاء الاصطناعي للمبتدئين"
    stats = {"words": 0, "paragraphs": 0, "tables": 0, "videos": videos}

    def sentence() -> str:
        return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 18))) + rng.choice(MARKS)

    def paragraph(target: int) -> str:
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < target:
            parts.append(sentence())
        return " ".join(parts)

    doc.add_paragraph(paragraph(120))
    per_video = words // videos
    for v in range(videos):
        doc.add_heading(f"الفيديو {ORDINALS[v]}: {' '.join(rng.choice(VOCABULARY) for _ in range(3))}", level=1)
        written = 0
        while written < per_video:
            text = paragraph(rng.randint(40, 90))
            doc.add_paragraph(text)
            written += len(text.split())
            stats["paragraphs"] += 1
        if v % 3 == 0:
            table = doc.add_table(rows=5, cols=3)
            for row in table.rows:
                for cell in row.cells:
                    cell.text = " ".join(rng.choice(VOCABULARY) for _ in range(4))
            stats["tables"] += 1
        stats["words"] += written
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue(), stats


def bare_python_docx(data: bytes) -> int:
    """What any reader must do at least: open the document and read every paragraph's and cell's text."""
    doc = Document(io.BytesIO(data))
    chars = 0
    for child in doc.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            chars += len(Paragraph(child, doc).text)
        elif tag == "tbl":
            for row in Table(child, doc).rows:
                for cell in row.cells:
                    chars += len(cell.text)
    return chars


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def timed_once(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(times: list[Timing]) -> Timing:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--words", type=int, default=105_000)
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="also write the generated script here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data, stats = make_script(words=args.words, videos=args.videos)
    if args.keep:
        args.keep.write_bytes(data)
    print(f"script: {stats['words']:,} words (~{stats['words'] // WORDS_PER_PAGE} pages), {stats['videos']} videos, "
          f"{stats['paragraphs']:,} paragraphs, {stats['tables']} tables, {len(data) / 1e6:.2f} MB "
          f"(generated in {time.perf_counter() - started:.1f} s)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    counter = iter(range(10_000))
    limits = {"max_upload_bytes": 50 * 1024 * 1024, "max_uncompressed_bytes": 200 * 1024 * 1024}

    def fresh_runtime() -> object:
        n = next(counter)
        settings = load_settings({}, secrets_file=workdir / "none.toml", studio_data_dir=workdir / f"data{n}",
                                 database_url=f"sqlite:///{workdir / f'run{n}.db'}")
        return open_runtime(settings)

    store_videos = 0

    def ingest_once() -> None:
        nonlocal store_videos
        runtime = fresh_runtime()  # migrated before the clock starts
        try:
            with session_scope(runtime.sessions) as session:  # type: ignore[attr-defined]
                result = ingest_file(session, data, "script.docx",
                                     settings=runtime.settings)  # type: ignore[attr-defined]
            store_videos = len(result.video_ids)
        finally:
            runtime.engine.dispose()  # type: ignore[attr-defined]

    def timed_ingest() -> Timing:
        runtime = fresh_runtime()  # migrated before the clock starts
        wall, cpu = time.perf_counter(), time.process_time()
        with session_scope(runtime.sessions) as session:  # type: ignore[attr-defined]
            ingest_file(session, data, "script.docx", settings=runtime.settings)  # type: ignore[attr-defined]
        took = (time.perf_counter() - wall, time.process_time() - cpu)
        runtime.engine.dispose()  # type: ignore[attr-defined]
        return took

    segmentation = segment_docx(data, **limits)
    steps: dict[str, Callable[[], object]] = {
        "bare": lambda: bare_python_docx(data),
        "segment": lambda: segment_docx(data, **limits),
        "plans": lambda: [offline_board(v.body, Density(), directions=[d.to_json() for d in v.directions],
                                        scenes=[{"at": m.at, "title": m.title} for m in v.scenes])
                          for v in segmentation.videos],
    }
    ingest_once()  # warm-up: imports, lxml and SQLAlchemy caches
    for step in steps.values():
        step()
    # Rounds, each timing every step once: a burst of load from elsewhere on the machine then slows both sides
    # of the ratio alike instead of only whichever happened to be running.
    times: dict[str, list[Timing]] = {"ingest": [], **{name: [] for name in steps}}
    for _ in range(args.runs):
        times["ingest"].append(timed_ingest())
        for name, step in steps.items():
            times[name].append(timed_once(step))
    ingest_times, bare_times, segment_times, plan_times = (
        times["ingest"], times["bare"], times["segment"], times["plans"])

    ingest = medians(ingest_times)
    bare = medians(bare_times)
    segment = medians(segment_times)
    plans = medians(plan_times)
    store = (max(0.0, ingest[0] - segment[0] - plans[0]), max(0.0, ingest[1] - segment[1] - plans[1]))
    rows = [
        ("bare python-docx pass (paragraphs + table cells)", bare),
        ("ingest: parse + segment + storyboard + store", ingest),
        ("  of which segment_docx (read + segment)", segment),
        ("  of which offline_board x videos", plans),
        ("  of which store (rows, file, commit)", store),
    ]
    print(f"\nmedian of {args.runs} runs, {store_videos} videos stored per ingest (SQLite, fresh db each run)")
    print(f"{'step':<52}{'wall':>10}{'cpu':>10}")
    print("-" * 72)
    for label, (wall, cpu) in rows:
        print(f"{label:<52}{wall * 1000:>7.0f} ms{cpu * 1000:>7.0f} ms")
    print("-" * 72)
    ratio, cpu_ratio = ingest[0] / bare[0], ingest[1] / bare[1]
    print(f"{'ratio ingest / bare python-docx (target <= 1.14)':<52}{ratio:>10.2f}{cpu_ratio:>10.2f}")
    return 0 if ratio <= 1.14 else 1


if __name__ == "__main__":
    sys.exit(main())
