"""Ingestion: read a Word .docx as Word shows it and cut it into a preface and videos.

`segment_docx(data, max_upload_bytes=…, max_uncompressed_bytes=…)` is the one call the store uses; it raises
`core.errors.IngestError` with category not_docx | corrupt | encrypted | empty | too_large | no_text.
"""

from core.ingest.docx_reader import Block, DocxContent, read_document, read_docx
from core.ingest.headers import HeaderMatch, match_header
from core.ingest.normalize import fold
from core.ingest.segment import Segmentation, VideoSegment, segment_blocks, segment_docx

__all__ = [
    "Block",
    "DocxContent",
    "HeaderMatch",
    "Segmentation",
    "VideoSegment",
    "fold",
    "match_header",
    "read_document",
    "read_docx",
    "segment_blocks",
    "segment_docx",
]
