"""The certification register (sổ chứng thực): numbers per (book, year), allocated in one
transaction with the act's row before anything is rendered, never reused nor skipped by a retry:
an act left ``allocated`` (a batch killed mid-signing) or ``failed`` is taken again, with its
number, by the retry of the same original; a number that will never be signed (the request
refused, the retry made in another book or year) is recorded ``void``. The signed copies are
recorded as Documents with the act's row and the request's settlement (:mod:`registry.certification`)
in one transaction; the register is read back in number order."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from signing.errors import SigningNotFound
from vocab.clock import iso
from vocab.kinds import UNFINISHED_ACTS, ActState

DEFAULT_BOOK = "01/{year}-SCTĐT/BS"  # electronic books apart from paper ones (…-SCT/BS)


def default_book(year: int, settings=None) -> str:
    tpl = (settings.extra.get("cert_book") if settings is not None else None) or DEFAULT_BOOK
    return tpl.format(year=year)


@dataclass
class Act:
    """One certification act: one number for one original certified at one time."""

    id: int
    number: int
    book: str
    year: int
    sha256: str  # of the original in the store
    source_id: int
    request_id: int | None = None  # the certification request it settles
    fresh: bool = False  # its number was taken by this allocation (not a retry's)


@dataclass
class CopyOut:
    document_id: int
    sha256: str
    path: str


@dataclass
class CertifiedResult:
    source_document_id: int
    certified_copy_id: int
    number: int
    book: str
    year: int
    officer_id: int
    level: str
    copies: list[CopyOut] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"source_document_id": self.source_document_id, "certified_copy_id": self.certified_copy_id,
                "number": self.number, "book": self.book, "year": self.year, "officer_id": self.officer_id,
                "level": self.level, "copies": [c.__dict__ for c in self.copies], "warnings": self.warnings}


def allocate(db, document_ids, *, book: str, year: int, copies: int, officer_id: int,
             requests: dict[int, int] | None = None) -> list[Act]:
    """One number per original, in one transaction with the register rows (a retry of an
    unfinished act — allocated / failed — reuses its row and number). ``requests``: the
    certification request of each original (document id → request id), settled when recorded."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(3):
        try:
            return _allocate_tx(db, document_ids, book, year, copies, officer_id, requests or {})
        except IntegrityError:  # two first allocations of a new (book, year) raced: retry
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _allocate_tx(db, document_ids, book: str, year: int, copies: int, officer_id: int,
                 requests: dict[int, int]) -> list[Act]:
    from sqlalchemy import select

    from registry.models import CertifiedCopy, Counter, Document

    key = f"certify:{book}:{year}"
    acts = []
    with db.session() as s:
        ctr = None
        for document_id in document_ids:
            doc = s.get(Document, document_id)
            if doc is None:
                raise SigningNotFound(f"không có tài liệu số {document_id}")
            unfinished = list(s.scalars(select(CertifiedCopy).where(
                CertifiedCopy.source_document_id == document_id, CertifiedCopy.status.in_(UNFINISHED_ACTS))
                .order_by(CertifiedCopy.id).with_for_update()))
            row = next((r for r in unfinished if (r.book, r.year) == (book, year)), None)
            for other in unfinished:  # this original's numbers in another book or year: never signed now
                if other is not row:
                    other.status, other.error = ActState.VOID.value, f"ký lại vào quyển {book} năm {year}"
            fresh = row is None
            if row is None:
                if ctr is None:
                    ctr = s.get(Counter, key, with_for_update=True)
                    if ctr is None:
                        ctr = Counter(key=key, value=0)
                        s.add(ctr)
                ctr.value += 1
                row = CertifiedCopy(source_document_id=document_id, book=book, year=year, number=ctr.value,
                                    copies=copies, officer_id=officer_id, status=ActState.ALLOCATED.value)
                s.add(row)
            else:
                row.officer_id = officer_id
                row.copies = copies
                row.status = ActState.ALLOCATED.value
            s.flush()
            acts.append(Act(id=row.id, number=row.number, book=row.book, year=row.year, sha256=doc.sha256,
                            source_id=document_id, request_id=requests.get(document_id), fresh=fresh))
    return acts


def record(db, done: list[tuple[Act, list[dict]]], *, officer_id: int, level: str, sealed: bool,
           actor: str | None = None) -> list[list[CopyOut]]:
    """Register signed copies (Documents + the act's row + its request settled, with the act's one
    audit row) for several acts in one transaction. ``done``: ``(act, [{"sha256", "size", "path",
    "pages_added"}, …])``; ``actor``: who certifies (default ``officer:<id>``)."""
    from registry import certification
    from registry.models import CertifiedCopy, Document
    from registry.service import audit

    result = []
    made_by = f"officer:{officer_id}"
    actor = actor or made_by
    with db.session() as s:
        for act, copies in done:
            src = s.get(Document, act.source_id)
            outs = []
            for i, cp in enumerate(copies, 1):
                pages = (src.pages or 0) + int(cp.get("pages_added") or 0) or None
                doc = s.query(Document).filter_by(sha256=cp["sha256"]).one_or_none()
                if doc is None:
                    doc = Document(sha256=cp["sha256"], size=cp["size"], pages=pages,
                                   mime="application/pdf", text=src.text, text_folded=src.text_folded,
                                   doc_type=src.doc_type, type_confidence=src.type_confidence,
                                   fields=dict(src.fields or {}), field_confidences=dict(src.field_confidences or {}),
                                   quality=src.quality, sealed=sealed, subject_id=src.subject_id, page_from=1,
                                   page_to=pages,
                                   source_name=f"Bản sao chứng thực số {act.number} quyển {act.book}"
                                               + (f" (bản {i}/{len(copies)})" if len(copies) > 1 else ""),
                                   valid_until=src.valid_until, created_by=made_by,
                                   kind="certified_copy", certified_from_id=src.id)
                    s.add(doc)
                    s.flush()
                outs.append(CopyOut(document_id=doc.id, sha256=cp["sha256"], path=cp["path"]))
            row = s.get(CertifiedCopy, act.id)
            row.status = ActState.SIGNED.value
            row.signed_sha256 = outs[0].sha256
            row.signed_document_id = outs[0].document_id
            row.signed_at = dt.datetime.now(dt.timezone.utc)
            row.copies = len(copies)
            row.signed_document_ids = [o.document_id for o in outs]
            row.level = level
            row.error = None
            detail = {"book": act.book, "year": act.year, "number": act.number, "officer_id": officer_id,
                      "copies": [o.document_id for o in outs], "level": level}
            if act.request_id is not None:  # the request's settlement writes the act's audit row
                certification.settle(s, act.request_id, certified_copy_id=act.id, actor=actor, detail=detail)
            else:  # certified through the library without a request
                audit(s, actor, "certify", subject_id=src.subject_id, object_type="document",
                      object_id=str(src.id), detail=detail)
            result.append(outs)
    return result


def release(db, acts: list[Act], error: str) -> None:
    """Undo the allocation of acts whose signing did not happen. A number this allocation took
    and nobody allocated after is given back (row deleted, counter stepped back), so the register
    has no number for a copy that was not signed; any other (a retry's, or one followed by
    another officer's) stays allocated to its original as ``failed``, for the retry — never skipped."""
    from registry.models import CertifiedCopy, Counter

    with db.session() as s:
        for act in sorted(acts, key=lambda a: -a.number):
            row = s.get(CertifiedCopy, act.id)
            if row is None or row.status == ActState.SIGNED:
                continue
            ctr = s.get(Counter, f"certify:{act.book}:{act.year}", with_for_update=True)
            if act.fresh and ctr is not None and ctr.value == act.number:
                s.delete(row)
                ctr.value -= 1
                s.flush()
            else:
                row.status, row.error = ActState.FAILED.value, error[:2000]


def mark_failed(db, act_id: int, error: str) -> None:
    from registry.models import CertifiedCopy

    with db.session() as s:
        row = s.get(CertifiedCopy, act_id)
        if row is not None and row.status != ActState.SIGNED:
            row.status = ActState.FAILED.value
            row.error = error[:2000]


def void_unfinished(s, document_id: int, why: str) -> list[int]:
    """The original's numbers allocated but never signed (its request refused): recorded as void,
    so the register shows why the number has no copy. Returns the numbers voided."""
    from sqlalchemy import select

    from registry.models import CertifiedCopy

    out = []
    for row in s.scalars(select(CertifiedCopy).where(CertifiedCopy.source_document_id == document_id,
                                                     CertifiedCopy.status.in_(UNFINISHED_ACTS))):
        row.status, row.error = ActState.VOID.value, why[:2000]
        out.append(row.number)
    return out


def register_rows(db, book: str | None = None, year: int | None = None) -> list[dict]:
    """The certification register (sổ chứng thực), in number order."""
    from sqlalchemy import select

    from registry.models import CertifiedCopy, Document, Officer

    with db.session() as s:
        q = select(CertifiedCopy, Officer, Document).join(Officer, Officer.id == CertifiedCopy.officer_id) \
            .join(Document, Document.id == CertifiedCopy.source_document_id)
        if book:
            q = q.where(CertifiedCopy.book == book)
        if year:
            q = q.where(CertifiedCopy.year == year)
        q = q.order_by(CertifiedCopy.book, CertifiedCopy.year, CertifiedCopy.number)
        return [{"book": cc.book, "year": cc.year, "number": cc.number, "status": cc.status, "copies": cc.copies,
                 "source_document_id": cc.source_document_id, "doc_type": doc.doc_type, "officer_id": off.id,
                 "officer": off.name, "level": cc.level, "signed_document_id": cc.signed_document_id,
                 "signed_document_ids": list(cc.signed_document_ids or []), "signed_sha256": cc.signed_sha256,
                 "signed_at": iso(cc.signed_at), "created_at": iso(cc.created_at)}
                for cc, off, doc in s.execute(q)]


def find_certified(db, book: str, year: int, number: int) -> dict | None:
    """The register entry a stamp's QR code points to (``/verify?quyen=&nam=&so=``)."""
    rows = [r for r in register_rows(db, book, int(year)) if r["number"] == int(number)]
    return rows[0] if rows else None
