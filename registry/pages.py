"""Page operations for when the scanner got it wrong: rotate a page, split a document in two,
merge two documents, move a page to another document.

Each operation writes a new PDF (pikepdf) into the content-addressed store and points the
document at it; the previous file stays in the store and the change goes to the audit trail
(old and new sha256), so nothing is lost. A changed file no longer carries the organisation
seal: it is sealed again when a seal is configured (``sealer``: anything with ``seal(bytes) ->
bytes``, the caller's organisation seal), else marked unsealed. No file of the inbox, work/, done/
or quarantine/ is touched here: those belong to the ingest journal.
"""
from __future__ import annotations

import io
import subprocess

import pikepdf
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import certification, service
from registry.models import CertifiedCopy, Component, Document, Result, ReuseEvent
from registry.store import Store
from vocab.errors import Conflict, Invalid, NotFound
from vocab.text import fold, nfc

__all__ = ["rotate", "split", "merge", "move_page"]


def _open(store: Store, doc: Document) -> pikepdf.Pdf:
    if not store.exists(doc.sha256):
        raise NotFound(f"Tệp của văn bản #{doc.id} không có trong kho.")
    try:
        return pikepdf.open(io.BytesIO(store.read(doc.sha256)))
    except pikepdf.PdfError as exc:  # a stored file that is no PDF: say so, change nothing
        raise Conflict(f"Tệp của văn bản #{doc.id} không mở được như PDF: không thao tác trên trang được.",
                       detail=str(exc)) from None


def _bytes(pdf: pikepdf.Pdf) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _text(data: bytes) -> str:
    try:
        p = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, timeout=60)
        return nfc(p.stdout.decode("utf-8", errors="replace"))  # pdftotext may emit decomposed marks
    except (OSError, subprocess.SubprocessError):
        return ""


def _store(s: Session, store: Store, doc: Document, data: bytes, sealer, *, retext: bool, pages: int) -> str:
    if sealer is not None:
        data = sealer.seal(data)
    digest, _ = store.put_bytes(data)
    if digest != doc.sha256 and s.scalar(select(Document.id).where(Document.sha256 == digest)) is not None:
        raise Conflict("Một văn bản khác đã có đúng tệp này.")
    old = doc.sha256
    doc.sha256, doc.size, doc.pages, doc.sealed = digest, len(data), pages, sealer is not None
    if retext:
        doc.text = _text(data)
        doc.text_folded = fold(doc.text)
    return old


def _check_page(doc: Document, page: int) -> None:
    if not 1 <= page <= (doc.pages or 1):
        raise Invalid(f"Văn bản #{doc.id} không có trang {page}.")


def _frozen(s: Session, doc: Document) -> None:
    """A certified original or a certified copy keeps its pages as they were signed."""
    if doc.doc_type == "certified_copy" or s.scalar(select(func.count()).select_from(CertifiedCopy).where(
            CertifiedCopy.source_document_id == doc.id, CertifiedCopy.status == "signed")):
        raise Conflict(f"Văn bản #{doc.id} đã được chứng thực: không sửa trang được nữa.")


def rotate(s: Session, store: Store, doc: Document, page: int, degrees: int, *, actor: str, sealer=None) -> Document:
    _check_page(doc, page)
    _frozen(s, doc)
    if degrees % 90:
        raise Invalid("Chỉ xoay theo bội số của 90 độ.")
    pdf = _open(store, doc)
    pdf.pages[page - 1].rotate(degrees % 360, relative=True)
    old = _store(s, store, doc, _bytes(pdf), sealer, retext=False, pages=len(pdf.pages))
    service.audit(s, actor, "document.rotate", subject_id=doc.subject_id, object_type="document",
                  object_id=str(doc.id), detail={"page": page, "degrees": degrees, "before": old, "after": doc.sha256})
    s.flush()
    return doc


def split(s: Session, store: Store, doc: Document, after: int, *, actor: str, sealer=None) -> Document:
    """Pages after ``after`` become a new document (not attached to any dossier: the unassigned queue)."""
    _frozen(s, doc)
    if not 1 <= after < (doc.pages or 1):
        raise Invalid("Chọn một trang giữa văn bản để tách.")
    pdf = _open(store, doc)
    tail = pikepdf.new()
    for p in list(pdf.pages)[after:]:
        tail.pages.append(p)
    tail_bytes = _bytes(tail)
    del pdf.pages[after:]
    old = _store(s, store, doc, _bytes(pdf), sealer, retext=True, pages=after)
    new = Document(sha256="pending", size=0, pages=len(tail.pages), doc_type="khac", type_confidence=0.0,
                   fields={}, field_confidences={}, quality=doc.quality, subject_id=None, ingest_id=doc.ingest_id,
                   page_from=(doc.page_from or 1) + after, page_to=doc.page_to, source_name=doc.source_name,
                   created_by=actor)
    doc.page_to = (doc.page_from or 1) + after - 1
    s.add(new)
    _store(s, store, new, tail_bytes, sealer, retext=True, pages=len(tail.pages))
    s.flush()
    service.audit(s, actor, "document.split", subject_id=doc.subject_id, object_type="document",
                  object_id=str(doc.id), detail={"after": after, "new_document": new.id, "before": old,
                                                 "after_sha256": doc.sha256})
    return new


def _removable(s: Session, doc: Document) -> None:
    used = bool(certification.for_document(s, doc.id))
    for model, col in ((Component, Component.document_id), (Result, Result.document_id),
                       (ReuseEvent, ReuseEvent.document_id), (CertifiedCopy, CertifiedCopy.source_document_id)):
        if used or s.scalar(select(func.count()).select_from(model).where(col == doc.id)):
            raise Conflict(f"Văn bản #{doc.id} đã được dùng trong hồ sơ hoặc sổ sách: hãy gỡ nó trước khi gộp.")


def merge(s: Session, store: Store, doc: Document, other: Document, *, actor: str, sealer=None) -> Document:
    """Append ``other``'s pages to ``doc``; ``other`` (used nowhere) is removed, its file kept in the store."""
    if doc.id == other.id:
        raise Invalid("Không gộp một văn bản với chính nó.")
    _frozen(s, doc)
    _frozen(s, other)
    _removable(s, other)
    pdf, tail = _open(store, doc), _open(store, other)
    pdf.pages.extend(tail.pages)
    old = _store(s, store, doc, _bytes(pdf), sealer, retext=True, pages=len(pdf.pages))
    service.audit(s, actor, "document.merge", subject_id=doc.subject_id, object_type="document",
                  object_id=str(doc.id), detail={"merged": other.id, "merged_sha256": other.sha256, "before": old,
                                                 "after": doc.sha256})
    service.remove_document(s, other)
    s.flush()
    return doc


def move_page(s: Session, store: Store, doc: Document, page: int, target: Document, *, actor: str,
              sealer=None) -> Document:
    """Move one page of ``doc`` to the end of ``target``."""
    _check_page(doc, page)
    if doc.id == target.id:
        raise Invalid("Chọn một văn bản khác để chuyển trang tới.")
    if (doc.pages or 1) == 1:
        raise Invalid("Văn bản chỉ có một trang: hãy gộp nó vào văn bản kia.")
    _frozen(s, doc)
    _frozen(s, target)
    src, dst = _open(store, doc), _open(store, target)
    dst.pages.append(src.pages[page - 1])
    dst_bytes = _bytes(dst)
    del src.pages[page - 1]
    old = _store(s, store, doc, _bytes(src), sealer, retext=True, pages=len(src.pages))
    old_t = _store(s, store, target, dst_bytes, sealer, retext=True, pages=len(dst.pages))
    service.audit(s, actor, "document.move_page", subject_id=doc.subject_id, object_type="document",
                  object_id=str(doc.id), detail={"page": page, "to": target.id, "before": old, "after": doc.sha256,
                                                 "target_before": old_t, "target_after": target.sha256})
    service.audit(s, actor, "document.move_page", subject_id=target.subject_id, object_type="document",
                  object_id=str(target.id), detail={"page": page, "from": doc.id, "before": old_t,
                                                    "after": target.sha256})
    s.flush()
    return target
