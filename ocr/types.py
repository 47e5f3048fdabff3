"""Plain dataclasses that ocr/ hands to the other stages. No I/O here."""
from __future__ import annotations

from dataclasses import dataclass, field


class OcrInputError(Exception):
    """The file cannot be read as a document (corrupt, encrypted, bomb, wrong type): permanent."""


@dataclass(frozen=True)
class Field:
    value: str  # NFC, as printed; dates dd/mm/yyyy
    confidence: float  # 0..1
    flags: tuple[str, ...] = ()  # e.g. ("pid_dob_mismatch",)


@dataclass
class PageResult:
    index: int  # 0-based page index in the source file
    text: str  # NFC, one line per text line
    confidence: float  # mean word confidence 0..1
    rotation: int = 0  # 0/90/180/270 applied to make the page upright
    skew: float = 0.0  # degrees of deskew applied
    qr: list[str] = field(default_factory=list)  # QR payloads found on the page
    quality: str = "ok"  # ok | review (low OCR quality: a human should look)
    born_digital: bool = False  # text came from the PDF, no OCR
    pdf: bytes = b""  # one-page searchable PDF (page image + invisible text layer)
    width: int = 0
    height: int = 0
    dpi: int = 300
    doc_type: str = "khac"  # per-page classification (used to split batch scans)
    type_confidence: float = 0.0
    starts_document: bool = False  # carries a document title: a new document starts here
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class DocumentResult:
    path: str
    pages: list[PageResult]
    doc_type: str
    confidence: float
    fields: dict[str, Field]
    text: str
    quality: str  # ok | review
    pdf: bytes = b""  # searchable PDF of all pages

    def to_json(self) -> dict:
        """The shape of spec §6: {"path", "doc_type", "confidence", "fields", "text", "pages", "quality"}."""
        return {
            "path": self.path,
            "doc_type": self.doc_type,
            "confidence": round(self.confidence, 4),
            "fields": {k: {"value": f.value, "confidence": round(f.confidence, 4),
                           **({"flags": list(f.flags)} if f.flags else {})}
                       for k, f in self.fields.items()},
            "text": self.text,
            "pages": len(self.pages),
            "quality": self.quality,
        }
