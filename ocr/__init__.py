"""sohoa OCR: decode, clean up, Tesseract, classify, extract fields.

Public API (other stages call exactly this):
    count_pages(path, *, max_pixels) -> int
    read_page(path, index, *, lang, max_pixels) -> PageResult      (picklable, runs in a worker)
    read_pages(path, executor=None, **kw) -> list[PageResult]
    classify(text) -> (doc_type, confidence)
    extract_fields(doc_type, text, known=None) -> dict[str, Field]
    assemble(path, pages) -> DocumentResult
    merge_pdfs(pdfs) -> bytes
    ocr_file(path, executor=None, **kw) -> DocumentResult
    sniff(path) -> 'PDF' | 'JPEG' | 'PNG' | 'TIFF' | None            (by content, not by name)
    content_key(pages) -> str        (a document's identity: input sha256 + page ranges)

ID numbers read are checked by the one rule of vocab.identifiers (pid_problems: shape, province
code, century and year against the date of birth); a problem is a flag on the field.

Errors: OcrInputError (permanent, ``.code`` a Problem, ``.detail``), OcrPageError (one page
failed unexpectedly: retry that page alone, then quarantine its file).
"""
from ocr.classify import TYPES, classify, starts_document
from ocr.fields import FIELDS_BY_TYPE, extract_fields
from ocr.inputs import count_pages, image_frames, sniff
from ocr.pipeline import (assemble, content_key, detect_qr, file_sha256, merge_pdfs, ocr_file, read_page,
                          read_pages)
from ocr.types import DocumentResult, Field, OcrInputError, OcrPageError, PageResult, Problem

__all__ = [
    "count_pages", "read_page", "read_pages", "classify", "extract_fields", "assemble",
    "merge_pdfs", "ocr_file", "detect_qr", "starts_document", "sniff", "image_frames", "content_key",
    "file_sha256", "TYPES", "FIELDS_BY_TYPE",
    "OcrInputError", "OcrPageError", "Problem", "Field", "PageResult", "DocumentResult",
]
