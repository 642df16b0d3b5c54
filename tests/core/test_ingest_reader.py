"""The .docx reader: text as Word shows it, in document order, from python-docx-built and real-world files."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest

from core.errors import IngestError
from core.ingest import Block, read_document, read_docx, segment_docx
from tests.core.docx_factory import docx_with_body_xml, make_docx, w_paragraph, w_run

CAP = 200 * 1024 * 1024


def texts(data: bytes) -> list[str]:
    return [b.text for b in read_docx(data, max_uncompressed_bytes=CAP)]


def test_paragraphs_and_table_rows_in_document_order() -> None:
    data = make_docx(
        [
            ("para", "قبل الجدول"),
            ("table", [["المشهد", "النص"], ["1", "طالب يفتح الحاسوب"]]),
            ("para", ""),
            ("para", "بعد الجدول"),
        ]
    )
    blocks = read_docx(data, max_uncompressed_bytes=CAP)
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "قبل الجدول"),
        ("table", "المشهد | النص"),
        ("table", "1 | طالب يفتح الحاسوب"),
        ("paragraph", "بعد الجدول"),
    ]


def test_merged_cells_are_not_repeated() -> None:
    doc = docx.Document()
    table = doc.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "عنوان ممتد"
    table.cell(1, 0).merge(table.cell(2, 0)).text = "عمودي"
    table.cell(1, 1).text = "b1"
    table.cell(2, 2).text = "c2"
    out = io.BytesIO()
    doc.save(out)
    assert texts(out.getvalue()) == ["عنوان ممتد", "عمودي | b1", "c2"]


def test_headings_and_bold_paragraphs_are_flagged() -> None:
    data = make_docx([("heading", "الفيديو الأول"), ("heading", "قسم", 2), ("bold", "Video 2"), ("para", "نص")])
    blocks = read_docx(data, max_uncompressed_bytes=CAP)
    assert [(b.style, b.heading_level, b.bold) for b in blocks] == [
        ("Heading 1", 1, True),
        ("Heading 2", 2, True),
        ("Normal", 0, True),
        ("Normal", 0, False),
    ]


def test_tracked_changes_show_inserted_text_and_hide_deleted_text() -> None:
    body = (
        "<w:p>"
        + w_run("keep ")
        + '<w:ins w:id="1" w:author="a">'
        + w_run("inserted ")
        + "</w:ins>"
        + '<w:del w:id="2" w:author="a"><w:r><w:delText>deleted </w:delText></w:r></w:del>'
        + '<w:moveFrom w:id="3" w:author="a">'
        + w_run("moved-away ")
        + "</w:moveFrom>"
        + '<w:moveTo w:id="4" w:author="a">'
        + w_run("moved-here")
        + "</w:moveTo>"
        + "</w:p>"
        + "<w:tbl><w:tr><w:tc>"
        + w_paragraph(w_run("row kept"))
        + "</w:tc></w:tr>"
        + '<w:tr><w:trPr><w:del w:id="5" w:author="a"/></w:trPr><w:tc>'
        + w_paragraph(w_run("row gone"))
        + "</w:tc></w:tr></w:tbl>"
    )
    assert texts(docx_with_body_xml(body)) == ["keep inserted moved-here", "row kept"]


def test_content_controls_hyperlinks_and_field_results_are_read_in_place() -> None:
    body = (
        "<w:sdt><w:sdtPr/><w:sdtContent>"
        + w_paragraph(w_run("block control"))
        + "</w:sdtContent></w:sdt>"
        + "<w:p>"
        + w_run("a ")
        + "<w:sdt><w:sdtContent>"
        + w_run("inline control")
        + "</w:sdtContent></w:sdt>"
        + '<w:hyperlink r:id="x">'
        + w_run(" link")
        + "</w:hyperlink>"
        + '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + w_run(" 7")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        + "</w:p>"
    )
    assert texts(docx_with_body_xml(body)) == ["block control", "a inline control link 7"]


def test_hidden_text_is_not_shown_and_soft_breaks_split_lines() -> None:
    body = w_paragraph(
        w_run("الفيديو الأول"),
        "<w:r><w:br/></w:r>",
        "<w:r><w:rPr><w:vanish/></w:rPr><w:t>ملاحظة مخفية</w:t></w:r>",
        w_run("نص ظاهر"),
    )
    assert texts(docx_with_body_xml(body)) == ["الفيديو الأول\nنص ظاهر"]


def test_text_box_is_read_once_from_alternate_content() -> None:
    box = "<w:txbxContent>" + w_paragraph(w_run("نص داخل المربع")) + "</w:txbxContent>"
    body = w_paragraph(
        w_run("قبل "),
        "<w:r><mc:AlternateContent>"
        f'<mc:Choice Requires="wps"><w:drawing><wps:txbx>{box}</wps:txbx></w:drawing></mc:Choice>'
        f"<mc:Fallback><w:pict><v:textbox>{box}</v:textbox></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>",
        w_run("بعد"),
    )
    assert texts(docx_with_body_xml(body)) == ["قبل بعد", "نص داخل المربع"]


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    data = docx_with_body_xml('<w:p><w:r><w:t xml:space="preserve">before &xxe; after</w:t></w:r></w:p>')
    # Declare the entity in a DOCTYPE in front of the root element, pointing at a local file.
    from tests.core.docx_factory import docx_parts, make_zip

    parts = docx_parts(data)
    xml = parts["word/document.xml"].decode("utf-8")
    head, _, rest = xml.partition("<w:document")
    parts["word/document.xml"] = (
        f'{head}<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]><w:document{rest}'
    ).encode()
    assert texts(make_zip(parts)) == ["before  after"]


def test_core_properties_title_is_read() -> None:
    content = read_document(make_docx([("para", "نص")], title="دورة البرمجة"), max_uncompressed_bytes=CAP)
    assert content.title == "دورة البرمجة"


# ---- real-world files -------------------------------------------------------------------------------

EXPECTED_ERRORS = {
    "real_poi_encrypted_password_is_pass.docx": "encrypted",
    "real_poi_legacy_doc_HeaderFooterUnicode_renamed.docx": "not_docx",
    "real_poi_truncated62886.docx": "corrupt",
}


def _real_files() -> list[str]:
    from tests.conftest import REAL_DOCX

    return sorted(p.name for p in REAL_DOCX.glob("*.docx"))


@pytest.mark.parametrize("name", _real_files())
def test_every_real_file_gives_text_or_the_right_typed_error(real_docx: Path, name: str) -> None:
    data = (real_docx / name).read_bytes()
    expected = EXPECTED_ERRORS.get(name)
    if expected is not None:
        with pytest.raises(IngestError) as info:
            segment_docx(data, max_upload_bytes=50 * 1024 * 1024, max_uncompressed_bytes=CAP)
        assert info.value.category == expected
        return
    blocks = read_docx(data, max_uncompressed_bytes=CAP)
    assert blocks and all(isinstance(b, Block) and b.text.strip() for b in blocks)
    seg = segment_docx(data, max_upload_bytes=50 * 1024 * 1024, max_uncompressed_bytes=CAP)
    assert seg.videos


def _all_text(real_docx: Path, name: str) -> str:
    return "\n".join(texts((real_docx / name).read_bytes()))


def test_real_track_changes_file_reads_as_word_shows_it(real_docx: Path) -> None:
    text = _all_text(real_docx, "real_mammoth_track_changes.docx")
    assert "This is the content." in text
    assert "And here is much more content." in text
    assert "This is new content, that I suggest." in text
    assert "Link 2: www.hlx.live" in text
    for gone in ("default", "Item 1", "Point two", "C1", "Link 2: www.adobe.com"):
        assert gone not in text


def test_real_delins_file_keeps_insertions_and_drops_deletions(real_docx: Path) -> None:
    text = _all_text(real_docx, "real_poi_delins_tracked_changes.docx")
    assert "Apache Tika 0.3 has been released." in text
    assert "Lucene Boot Camp - A two day training session, March 23 & 24th" in text
    assert "Tika Waylan" not in text
    assert "A pendant worn" not in text


def test_real_text_box_is_read_once(real_docx: Path) -> None:
    assert texts((real_docx / "real_mammoth_text_box.docx").read_bytes()) == ["Datum plane"]


def test_real_strict_ooxml_file_is_read(real_docx: Path) -> None:
    with pytest.raises(KeyError):
        docx.Document(str(real_docx / "real_d2p_strict_ooxml.docx"))  # python-docx cannot open it
    assert texts((real_docx / "real_d2p_strict_ooxml.docx").read_bytes()) == [
        "Bullet1",
        "Bullet2",
        "Number1",
        "Number2",
        "Cellaa | Cellab",
        "Cellba | Cellbb",
    ]


def test_real_renamed_document_part_is_found(real_docx: Path) -> None:
    assert texts((real_docx / "real_d2p_renamed_document_xml.docx").read_bytes()) == ["This is a link to my website."]


def test_real_external_entity_file_is_not_fetched(real_docx: Path) -> None:
    text = _all_text(real_docx, "real_poi_external_entity_xxe.docx")
    assert text == 'Here should not be the POI web site: ""'


def test_real_rtl_table_keeps_arabic_rows(real_docx: Path) -> None:
    text = _all_text(real_docx, "real_hyperspot_table_multilingual_rtl.docx")
    assert "العربية | الثعلب البني السريع يقفز فوق الكلب الكسول. | RTL" in text


def test_headers_and_footers_are_not_body_text(real_docx: Path) -> None:
    assert texts((real_docx / "real_pd_hdr_header_footer.docx").read_bytes()) == [
        "section with header",
        "section without header of its own.",
    ]


def test_concurrent_reads_give_the_same_blocks() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = make_docx([("heading", f"الفيديو {i}") if i % 5 == 0 else ("para", f"سطر {i}") for i in range(200)])
    expected = read_docx(data, max_uncompressed_bytes=CAP)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: read_docx(data, max_uncompressed_bytes=CAP), range(16)))
    assert all(r == expected for r in results)


def test_embedded_alt_chunk_is_reported_not_silently_lost() -> None:
    data = docx_with_body_xml(
        w_paragraph(w_run("الفيديو الأول")) + '<w:altChunk r:id="rId99"/>' + w_paragraph(w_run("نص"))
    )
    content = read_document(data, max_uncompressed_bytes=CAP)
    assert [b.text for b in content.blocks] == ["الفيديو الأول", "نص"]
    assert len(content.warnings) == 1 and "altChunk" in content.warnings[0]
    seg = segment_docx(data, max_upload_bytes=50 * 1024 * 1024, max_uncompressed_bytes=CAP)
    assert seg.warnings[0] == content.warnings[0]


def test_plain_documents_read_the_same_as_python_docx() -> None:
    """Where python-docx sees everything (no tracked changes, controls or text boxes), the texts agree."""
    blocks: list[tuple[object, ...]] = [("para", "مقدمة")]
    for i in range(1, 8):
        blocks += [("heading", f"الفيديو {i}"), ("bold", f"عنوان {i}"), ("para", f"نص {i}\tمع جدولة")]
        blocks.append(("table", [[f"r{i}", "x"], ["y", f"z{i}"]]))
    data = make_docx(blocks)
    doc = docx.Document(io.BytesIO(data))
    expected: list[str] = []
    for item in doc.iter_inner_content():
        if isinstance(item, docx.text.paragraph.Paragraph):
            expected.append(item.text)
        else:
            expected.extend(" | ".join(c.text for c in row.cells) for row in item.rows)
    assert texts(data) == [t for t in expected if t.strip()]
