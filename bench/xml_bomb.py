"""Peak memory and time of ingesting a small .docx that inflates to a lot of XML (issue 13, item 8).

`python bench/xml_bomb.py [--xml-mb 190] [--cap-mb N] [--parallel 1]` builds a ~0.9 MB .docx whose
word/document.xml is `--xml-mb` MB (a real course script has about 1 MB of XML), then runs `segment_docx` on it in
a fresh subprocess per run and prints the outcome, the wall time and the process's peak RSS. `--cap-mb` sets the
uncompressed cap (default: the studio's default); `--parallel` runs that many ingests at once in one process; `--markup-only` makes paragraphs without text.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_PARA = ('<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:b w:val="0"/></w:rPr>'
         '<w:t xml:space="preserve">يشرح المعلم الفكرة أمام الطلاب في القاعة. </w:t></w:r></w:p>')


# Body children the reader never reads (bookmarks): the streaming parser does not report them, so they must be
# dropped all the same for memory to stay flat.
_UNREAD = '<w:bookmarkStart w:id="1" w:name="mark"/><w:bookmarkEnd w:id="1"/>'
_EMPTY = '<w:p><w:pPr><w:pStyle w:val="Normal"/><w:jc w:val="right"/></w:pPr><w:r><w:rPr><w:b/></w:rPr></w:r></w:p>'


def build(xml_mb: float, *, markup_only: bool = False, unread_only: bool = False) -> bytes:
    """A valid .docx (made by python-docx) whose body is replaced by `xml_mb` MB of repeated paragraphs
    (`markup_only`: paragraphs without text; `unread_only`: bookmarks, no paragraph at all)."""
    from tests.core.docx_factory import make_docx

    base = make_docx([("heading", "الفيديو الأول"), ("para", "نص")])
    with zipfile.ZipFile(io.BytesIO(base)) as zin:
        members = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    doc = members["word/document.xml"].decode()
    head, tail = doc.split("<w:body>", 1)
    tail = tail.split("</w:body>", 1)[1]
    header = '<w:p><w:r><w:t>الفيديو الأول: مقدمة</w:t></w:r></w:p>'
    body_bytes = int(xml_mb * 1024 * 1024)
    para = _UNREAD if unread_only else _EMPTY if markup_only else _PARA
    count = body_bytes // len(para.encode())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for name, data in members.items():
            if name != "word/document.xml":
                zout.writestr(name, data)
        with zout.open("word/document.xml", "w") as part:
            part.write((head + "<w:body>" + header).encode())
            chunk = (para * 1000).encode()
            for _ in range(count // 1000):
                part.write(chunk)
            part.write(("</w:body>" + tail).encode())
    return out.getvalue()


_CHILD = r"""
import json, resource, sys, threading, time
sys.path.insert(0, sys.argv[1])
from core.errors import IngestError
from core.ingest import segment_docx
from core.settings import load_settings
data = open(sys.argv[2], "rb").read()
cap_mb = float(sys.argv[3]) if sys.argv[3] != "default" else None
parallel = int(sys.argv[4])
from pathlib import Path
settings = load_settings({}, secrets_file=Path("/nonexistent"))
cap = int(cap_mb * 1024 * 1024) if cap_mb else settings.max_uncompressed_bytes
outcomes = []
def one():
    try:
        seg = segment_docx(data, max_upload_bytes=settings.max_upload_bytes, max_uncompressed_bytes=cap)
        outcomes.append(f"ok: {len(seg.videos)} video(s)")
    except IngestError as err:
        outcomes.append(f"refused ({err.category}): {str(err)[:160]}")
start = time.perf_counter()
threads = [threading.Thread(target=one) for _ in range(parallel)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"seconds": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "outcomes": outcomes}, ensure_ascii=False))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--xml-mb", type=float, default=190)
    p.add_argument("--cap-mb", default="default")
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--markup-only", action="store_true", help="paragraphs without text (passes the text cap)")
    args = p.parse_args()
    data = build(args.xml_mb, markup_only=args.markup_only)
    with tempfile.NamedTemporaryFile(suffix=".docx") as f:
        f.write(data)
        f.flush()
        run = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), f.name, str(args.cap_mb),
                              str(args.parallel)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.exit(run.stderr[-3000:])
    result = json.loads(run.stdout)
    print(json.dumps({"docx_mb": round(len(data) / 1024 / 1024, 2), "xml_mb": args.xml_mb,
                      "markup_only": args.markup_only,
                      "cap_mb": args.cap_mb, "parallel": args.parallel, **result}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
