"""Plain dataclasses that ocr/ hands to the other stages. No I/O here."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vocab.errors import Invalid


class Problem(StrEnum):
    """Why a file or a page cannot be read: the stable codes that ``ingest.reasons`` turns into a
    message a clerk can act on (the technical detail travels separately)."""

    EMPTY = "empty_file"
    NOT_A_SCAN = "not_a_scan"  # content is no PDF/JPEG/PNG/TIFF
    PDF_PASSWORD = "pdf_password"
    PDF_CERTIFICATE = "pdf_certificate"  # encrypted for the holders of certain certificates
    PDF_TRUNCATED = "pdf_truncated"
    PDF_CORRUPT = "pdf_corrupt"
    PDF_NO_PAGES = "pdf_no_pages"
    IMAGE_CORRUPT = "image_corrupt"
    TOO_LARGE = "too_large"  # pixel cap (decompression bomb, absurd page size)
    PAGE_FAILED = "page_failed"  # an unexpected error on one page
    UNREADABLE = "unreadable"  # anything else that makes the file unreadable


class OcrInputError(Invalid):
    """The file cannot be read as a document (corrupt, encrypted, bomb, wrong type): permanent.

    ``code`` is a :class:`Problem`; ``detail`` (also ``str(exc)``) is the technical reason for the
    log; ``page`` the 0-based page it concerns, when it concerns one page."""

    kind = "unreadable"

    def __init__(self, detail: str, *, code: str = Problem.UNREADABLE, page: int | None = None) -> None:
        super().__init__(detail, detail=detail)
        self.code = Problem(code)
        self.page = page


class OcrPageError(OcrInputError):
    """An unexpected failure on one page (a library assertion, a Tesseract crash). Worth one more
    try of that page alone; if it fails again, its file is quarantined and the batch goes on."""

    def __init__(self, detail: str, *, page: int, code: str = Problem.PAGE_FAILED) -> None:
        super().__init__(detail, code=code, page=page)


FIELD_REVIEW_BELOW = 0.75  # a value read less surely than this is a guess: its document goes to review


@dataclass(frozen=True)
class Field:
    value: str  # NFC, as printed; dates dd/mm/yyyy
    confidence: float  # 0..1
    flags: tuple[str, ...] = ()  # e.g. ("pid_dob_mismatch",)
    source: str = ""  # where the value comes from when not the page text: qr | mrz | pdf


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
    source_sha256: str = ""  # content key of the input file this page was read from
    plausibility: float = 1.0  # 0..1: how much the text reads as Vietnamese (or another real text)
    text_source: str = "ocr"  # ocr | ocr-lines (line by line, ocr.lines) | pdf | pdf-tcvn3 | pdf-vni (a legacy-font layer converted)
    mrz: str = ""  # an ICAO TD1 machine-readable zone whose check digits pass (3 lines), else ""
    # why a person should look although the words read well: "blur", "glare", "small-print",
    # "handwriting"
    flags: list[str] = field(default_factory=list)
    # the page's other reads (plain, line by line) that lost to ``text``: fields missing from the
    # text may be found there (ocr.assemble), at a confidence that asks for review
    alt_texts: list[str] = field(default_factory=list)
    # the words of ``text`` the recognizer was unsure of (below pipeline.WORD_SURE), with their
    # confidence: a field made of them is no surer than they are (ocr.assemble)
    weak_words: list[tuple[str, float]] = field(default_factory=list)


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
    content_key: str = ""  # sha256 of the input file(s) + page ranges: the document's identity

    def to_json(self) -> dict:
        """The shape the product spec's interfaces give ``sohoa ocr --json``: {"path", "doc_type",
        "confidence", "fields", "text", "pages", "quality"}."""
        return {
            "path": self.path,
            "doc_type": self.doc_type,
            "confidence": round(self.confidence, 4),
            "fields": {k: {"value": f.value, "confidence": round(f.confidence, 4),
                           **({"flags": list(f.flags)} if f.flags else {}),
                           **({"source": f.source} if f.source else {})}
                       for k, f in self.fields.items()},
            "text": self.text,
            "pages": len(self.pages),
            "quality": self.quality,
            # why a person should look (added key): blur, glare, small-print, handwriting, per the pages
            **({"review_reasons": sorted({r for p in self.pages for r in p.flags})}
               if any(p.flags for p in self.pages) else {}),
        }
