"""The registry's one door for the ingest job: record a scanned document from what OCR read, and
attach it to the dossier a route found (or leave it for staff).

The job hands plain dataclasses (:class:`Incoming`) and calls an :class:`IntakeTx` inside the unit
of work the journal opens for the batch, so the documents, their components and the journal's
"done" all commit together. Routing rules live above (``sohoa.jobs.routes``): they ask this module's
:class:`Lookup` questions and never touch SQL.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import service
from vocab.identifiers import PID_FIELDS  # noqa: F401  (re-exported: the ID fields a document may carry)
from registry.models import Document, Dossier
from registry.store import Store
from registry.subjects import named_pids, owners
from vocab.kinds import Origin
from vocab.text import fold, nfc


@dataclass(frozen=True)
class FieldRead:
    value: str
    confidence: float
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Incoming:
    """One scanned document as the job hands it over: the stored PDF and what OCR read."""

    pdf: bytes  # searchable (and, when sealed, signed) PDF
    sealed: bool
    pages: int
    text: str
    doc_type: str
    type_confidence: float
    fields: Mapping[str, FieldRead]
    quality: str
    ingest_id: int | None  # None: not from the inbox journal (the backlog import)
    source_name: str
    page_from: int  # 1-based pages of the source file
    page_to: int
    created_by: str = "ingest"
    content_key: str = ""  # identity by input: sha256 over the source file(s) and page ranges (ocr.content_key)

    def subject_pids(self) -> list[str]:
        """Personal ID numbers the document names that passed the structure check (province code,
        century and year against the date of birth) and that OCR did not flag as a likely misread."""
        return named_pids({k: f.value for k, f in self.fields.items()},
                          {k: {"flags": list(f.flags)} for k, f in self.fields.items()})


@dataclass(frozen=True)
class Recorded:
    id: int
    new: bool  # False: the same scanned document (same input pages) was recorded before
    subject_pid: str | None


@dataclass(frozen=True)
class Placement:
    document_id: int
    dossier_code: str | None  # None: left in the unassigned queue
    routed_by: str | None


class Lookup(Protocol):
    """What a route may ask the registry."""

    def dossier_exists(self, code: str) -> bool: ...

    def open_dossiers_of(self, pid: str) -> list[str]: ...


@dataclass
class IntakeTx:
    """Registry writes of one batch, inside the caller's unit of work (``session``)."""

    session: Session
    store: Store
    placements: list[Placement] = field(default_factory=list)

    # -- Lookup ------------------------------------------------------------------------------------
    def dossier_exists(self, code: str) -> bool:
        return self.session.scalar(select(Dossier.id).where(Dossier.code == code)) is not None

    def open_dossiers_of(self, pid: str) -> list[str]:
        return [d.code for d in service.open_dossiers_of(self.session, pid)]

    # -- writes ------------------------------------------------------------------------------------
    def record(self, doc: Incoming) -> Recorded:
        """Store the PDF (content-addressed) and record the document with the people it names,
        taken from what the document itself says — its ID fields, which the chip ID card's QR has
        already put right (a flagged ID number may be a misread: nobody is linked by it) — and the
        metadata and validity it carries (``service.derive_from_content``).

        A document is the same document when it comes from the same input pages (its content
        key), never because two outputs happen to have the same bytes: two different scans
        whose searchable PDFs coincide are two documents sharing one stored file."""
        s = self.session
        digest, _ = self.store.put_bytes(doc.pdf)
        if doc.content_key:
            existing = s.scalar(select(Document).where(Document.content_key == doc.content_key))
        else:  # a caller that does not know the input: the stored bytes are all there is
            existing = s.scalar(select(Document).where(Document.sha256 == digest).limit(1))
        if existing is not None:
            return Recorded(existing.id, False, None)
        text = nfc(doc.text)
        row = Document(sha256=digest, size=len(doc.pdf), pages=doc.pages, text=text, text_folded=fold(text),
                       doc_type=doc.doc_type, type_confidence=doc.type_confidence,
                       fields={k: f.value for k, f in doc.fields.items()},
                       field_confidences={k: {"confidence": f.confidence, "flags": list(f.flags)}
                                          for k, f in doc.fields.items()},
                       quality=doc.quality, sealed=doc.sealed, ingest_id=doc.ingest_id,
                       page_from=doc.page_from, page_to=doc.page_to, source_name=doc.source_name,
                       created_by=doc.created_by, doc_metadata={}, content_key=doc.content_key or None)
        s.add(row)
        s.flush()
        service.derive_from_content(s, row)
        pids = doc.subject_pids()
        return Recorded(row.id, True, pids[0] if pids else None)

    def attach(self, document_id: int, code: str, routed_by: str) -> Placement:
        """Attach a recorded document to dossier ``code`` as a scanned component and give it its
        digitization code (``<dossier>.<nn>.<document>``).

        A document that names another person than the dossier's subject is not attached (only
        staff may do that, with a reason): it is left in the unassigned queue and the refusal is
        audited. A document that names nobody takes the dossier's subject (audited)."""
        s = self.session
        d = service.get_dossier(s, code)
        doc = s.get(Document, document_id)
        refusal = service.subject_mismatch(s, doc, d)
        if refusal is not None:
            service.audit(s, "system:intake", "document.route.refused", subject_id=d.subject_id,
                          object_type="document", object_id=str(doc.id),
                          detail={"dossier": d.code, "routed_by": routed_by, "reason": refusal.kind})
            return self.leave_unassigned(document_id)
        service.attach(s, d, doc, origin=Origin.SCANNED, routed_by=routed_by)
        if not owners(s, doc):
            service.link_subject(s, doc, d.subject, "route")
            service.audit(s, "system:intake", "document.subject", subject_id=d.subject_id, object_type="document",
                          object_id=str(doc.id), detail={"subject": d.subject.identifier,
                                                         "why": f"routed to dossier {d.code} by {routed_by}"})
        if not doc.digitization_code:
            n = len([c for c in d.components if c.document_id]) or 1
            doc.digitization_code = f"{d.code}.{n:02d}.{doc.id}"
        p = Placement(document_id, d.code, routed_by)
        self.placements.append(p)
        return p

    def leave_unassigned(self, document_id: int) -> Placement:
        p = Placement(document_id, None, None)
        self.placements.append(p)
        return p

    def documents_of_entry(self, ingest_id: int) -> list[int]:
        """Documents recorded from journal entry ``ingest_id`` (a duplicate file links to them)."""
        return list(self.session.scalars(select(Document.id).where(Document.ingest_id == ingest_id)
                                         .order_by(Document.id)))


def placements_of_entries(db, entry_ids) -> list[tuple[int, str | None]]:
    """(document id, dossier code or None) of the documents recorded from these journal entries."""
    from registry.models import Component

    with db.session() as s:
        return [(d, c) for d, c in s.execute(
            select(Document.id, Dossier.code).outerjoin(Component, Component.document_id == Document.id)
            .outerjoin(Dossier, Dossier.id == Component.dossier_id)
            .where(Document.ingest_id.in_(list(entry_ids)))).all()]
