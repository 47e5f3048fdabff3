"""Scan file formats by their bytes: what the inbox accepts (PDF, JPEG, PNG, TIFF) is recognised
from a file's first and last bytes, whatever its name says (a .jfif or .jpe is a JPEG; a PDF
without its header is still a PDF when its objects and trailer are there). Pure functions of
bytes, shared by the inbox (``ingest``) and the decoder (``ocr``).
"""
from __future__ import annotations

import re

KINDS = ("PDF", "JPEG", "PNG", "TIFF")

_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_OTHER_FORMATS = [
    (b"RIFF", "WEBP/RIFF"), (b"GIF8", "GIF"), (b"BM", "BMP"), (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"),
    (b"\xd0\xcf\x11\xe0", "Microsoft Office (OLE)"), (b"{\\rtf", "RTF"), (b"<", "HTML/XML"),
]


def sniff_bytes(head: bytes, tail: bytes = b"") -> str | None:
    """'PDF' | 'JPEG' | 'PNG' | 'TIFF' from a file's first bytes (and last, for headerless PDFs)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if b"%PDF-" in head[:1024]:
        return "PDF"
    # PDF readers search further for the header, and accept a file without one whose objects and
    # cross-reference are there (qpdf: "can't find PDF header" is a warning)
    if b"%PDF-" in head or (_OBJ.search(head[:4096]) and (b"startxref" in tail or b"trailer" in tail)):
        return "PDF"
    return None


def describe(head: bytes) -> str:
    """A word on what a file that is no scan seems to be, for the technical detail."""
    if not head:
        return "empty"
    for magic, name in _OTHER_FORMATS:
        if head.startswith(magic):
            return name
    if b"ftypheic" in head[:32] or b"ftypmif1" in head[:32]:
        return "HEIC"
    try:
        head[:512].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unknown binary"


__all__ = ["KINDS", "sniff_bytes", "describe"]
