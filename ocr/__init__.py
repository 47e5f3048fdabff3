"""sohoa OCR: decode, clean up, Tesseract, classify, extract fields.

Public API (other stages call exactly this):
    count_pages(path, *, max_pixels) -> int
    read_page(path, index, *, lang, max_pixels) -> PageResult      (picklable, runs in a worker)
    read_pages(path, executor=None, **kw) -> list[PageResult]
    classify(text) -> (doc_type, confidence)
    extract_fields(doc_type, text) -> dict[str, Field]
    check_pid(pid, dob=None) -> list[str]
    assemble(path, pages) -> DocumentResult
    merge_pdfs(pdfs) -> bytes
    ocr_file(path, executor=None, **kw) -> DocumentResult
"""
from ocr.classify import TYPES, classify, starts_document
from ocr.fields import FIELDS_BY_TYPE, check_pid, extract_fields
from ocr.inputs import count_pages
from ocr.pipeline import assemble, detect_qr, merge_pdfs, ocr_file, read_page, read_pages
from ocr.types import DocumentResult, Field, OcrInputError, PageResult

__all__ = [
    "count_pages", "read_page", "read_pages", "classify", "extract_fields", "check_pid", "assemble",
    "merge_pdfs", "ocr_file", "detect_qr", "starts_document", "TYPES", "FIELDS_BY_TYPE",
    "OcrInputError", "Field", "PageResult", "DocumentResult",
]
