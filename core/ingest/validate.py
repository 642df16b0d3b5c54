"""Byte-level checks that turn an unusable upload into an `IngestError` before any XML is parsed.

Order matters: a legacy .doc can contain an embedded zip (a theme), so the OLE signature is checked before
anyone tries `zipfile` on the bytes.
"""

from __future__ import annotations

from core.errors import IngestError

OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# An encrypted .docx is an OLE container holding these streams; directory entry names are UTF-16LE.
_ENCRYPTION_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))

_RESAVE = "Open it in Word and use File › Save As › Word Document (.docx), then upload the new file."


# One unit everywhere a producer reads an upload limit (studio, API, CLI): the decimal megabyte, as the browser's
# file picker counts it. `MAX_UPLOAD_MB=50` means 50,000,000 bytes.
BYTES_PER_MB = 1_000_000


def _mb(n: int) -> str:
    return f"{n / BYTES_PER_MB:.1f} MB"


def upload_limit_text(limit_bytes: int) -> str:
    """The limit as a producer reads it: "50 MB (50,000,000 bytes)"."""
    return f"{limit_bytes / BYTES_PER_MB:g} MB ({limit_bytes:,} bytes)"


def browser_upload_mb(limit_bytes: int) -> int:
    """The whole megabytes to give the studio's file picker: never below the limit, so a file the limit allows is
    never refused by the browser first (the check here then says the limit in bytes)."""
    return max(1, -(-limit_bytes // BYTES_PER_MB))


def check_upload(data: bytes, *, max_upload_bytes: int) -> None:
    """Reject empty, oversized, legacy, encrypted and non-zip uploads with a message a producer can act on."""
    if len(data) == 0:
        raise IngestError("The file is empty (0 bytes). Upload the saved .docx file again.", category="empty")
    if len(data) > max_upload_bytes:
        raise IngestError(
            f"The file is {_mb(len(data))} ({len(data):,} bytes); the upload limit is "
            f"{upload_limit_text(max_upload_bytes)}. "
            "Remove large images from the script or split it, then upload again.",
            category="too_large",
        )
    check_container(data)


def check_container(data: bytes) -> None:
    """Reject bytes that are not a zip container (OLE, PDF, RTF, plain text, …)."""
    if data.startswith(OLE_SIGNATURE):
        if any(name in data for name in _ENCRYPTION_STREAMS):
            raise IngestError(
                "The document is password-protected, so its text cannot be read. Open it in Word, remove the "
                "password (File › Info › Protect Document › Encrypt with Password, clear the box), save, and "
                "upload it again.",
                category="encrypted",
            )
        raise IngestError(f"This is an old Word 97-2003 document (.doc), not a .docx. {_RESAVE}", category="not_docx")
    if data.startswith(ZIP_SIGNATURES):
        return
    head = data[:16].lstrip()
    if head.startswith(b"{\\rtf"):
        kind = "an RTF document"
    elif head.startswith(b"%PDF"):
        kind = "a PDF"
    elif head.startswith((b"<?xml", b"<html", b"<!DOCTYPE", b"<HTML")):
        kind = "an XML or HTML file"
    else:
        raise IngestError(
            f"This file is not a Word .docx (a .docx is a zip package; this is not one). {_RESAVE}",
            category="not_docx",
        )
    raise IngestError(f"This file is {kind}, not a Word .docx. {_RESAVE}", category="not_docx")
