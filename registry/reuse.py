"""Once-only: find a subject's reusable digitized documents and reuse them instead of paper.

A subject's documents are those that name it (``Document.subject_id`` and the people linked in
``document_subjects``, see :mod:`registry.subjects`) and those issued as a result of one of its
dossiers — never a document merely attached to one of its dossiers (staff may attach another
person's paper with an audited override; that does not make it the subject's). A document is
*valid on* a day when neither the document's own expiry nor its result's ``valid_until`` has
passed and no result's ``valid_from`` is still ahead; it is *reusable* when it is valid and not
every result it was issued as is marked not reusable. Expired documents are listed (``--all``)
but never reusable. Certified copies are listed under the scan they were made from, and offered
as certified results beside it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, cast, func, insert, select, union
from sqlalchemy.orm import Session

from registry import outbox
from registry.components import reuse_state_of
from registry.errors import DocumentNotUsable, SubjectMismatch
from registry.models import (AuditEvent, CertifiedCopy, Component, Document, DocumentSubject, Dossier, Result,
                             ReuseEvent, Subject)
from registry.persons import subject_ids
from registry.service import (attach, audit, check_type, component_states, get_or_create_subject, link_subject,
                              refuse_unless_overridden, type_not_required)
from vocab.clock import iso as _iso
from vocab.clock import utcnow, vn_today
from vocab.errors import Conflict, Invalid, NotFound
from vocab.identifiers import clean_identifier
from vocab.kinds import CERTIFIED_COPY, status_name
from vocab.text import mask_pid

CERTIFIED_COPY_TYPE = CERTIFIED_COPY
# the component's state → the portal's reuse origin (registry.outbox.REUSE_ORIGINS)
_PORTAL_ORIGIN = {"reused_component": "component", "reused_result": "result", "reused_national": "national_store"}
CLOSED_STATUSES = ("completed", "returned")


def _subject_doc_ids(subject_id: int):
    """A selectable of the ids of every document of the subject (named by it, or its results)."""
    direct = select(Document.id.label("id")).where(Document.subject_id == subject_id)
    linked = select(DocumentSubject.document_id.label("id")).where(DocumentSubject.subject_id == subject_id)
    results = (select(Result.document_id.label("id")).join(Dossier, Result.dossier_id == Dossier.id)
               .where(Dossier.subject_id == subject_id))
    return union(direct, linked, results).subquery()


def _build_lookup_statements(sid):
    """The subject lookup as Core statements built once (bound parameters, compiled-cache friendly):
    this is the hot path other systems hit, so no per-call expression building or ORM loading.
    ``sid``: the subject id as a bound parameter, or as a sub-query on the identifier."""
    dt_ = Document.__table__
    rt, ct, dot, cct = Result.__table__, Component.__table__, Dossier.__table__, CertifiedCopy.__table__
    dst = DocumentSubject.__table__
    ids = union(
        select(dt_.c.id.label("id")).where(dt_.c.subject_id == sid),
        select(dst.c.document_id.label("id")).where(dst.c.subject_id == sid),
        select(rt.c.document_id.label("id")).join(dot, rt.c.dossier_id == dot.c.id).where(dot.c.subject_id == sid),
    ).subquery()
    # One round trip for the usual case: each document of the subject (a join on the union, not
    # ``IN (union)``, which PostgreSQL plans as a hash semi-join), its results (LEFT JOIN; one row per
    # result), the dossier it was first attached to, and whether signed certified copies exist.
    rdos = dot.alias("result_dossier")
    first_comp_code = (select(dot.c.code).select_from(ct.join(dot, ct.c.dossier_id == dot.c.id))
                       .where(ct.c.document_id == dt_.c.id, dot.c.subject_id == sid).order_by(ct.c.id).limit(1)
                       .correlate(dt_).scalar_subquery())
    has_copies = (select(cct.c.id).where(cct.c.source_document_id == dt_.c.id, cct.c.status == "signed")
                  .correlate(dt_).exists())
    docs = (select(dt_.c.id, dt_.c.doc_type, dt_.c.fields, dt_.c.pages, dt_.c.sha256, dt_.c.digitization_code,
                   dt_.c.sealed, dt_.c.valid_until, dt_.c.created_at, dt_.c.kind, dt_.c.doc_metadata,
                   rt.c.id.label("r_id"), rt.c.valid_from.label("r_from"), rt.c.valid_until.label("r_until"),
                   rt.c.reusable.label("r_reusable"), rt.c.electronic.label("r_electronic"),
                   rdos.c.code.label("r_code"), first_comp_code.label("c_code"), has_copies.label("has_copies"))
            .join(ids, ids.c.id == dt_.c.id)
            .outerjoin(rt, rt.c.document_id == dt_.c.id)
            .outerjoin(rdos, rdos.c.id == rt.c.dossier_id)
            .where(dt_.c.doc_type != CERTIFIED_COPY_TYPE, dt_.c.kind != CERTIFIED_COPY_TYPE,
                   dt_.c.certified_from_id.is_(None))
            .order_by(dt_.c.id, rt.c.id))
    docs_typed = docs.where(dt_.c.doc_type == bindparam("doc_type"))
    in_ids = bindparam("ids", expanding=True)  # the few ids found above, as a literal list
    copies = (select(cct.c.source_document_id, cct.c.id, cct.c.number, cct.c.book, cct.c.year, cct.c.copies,
                     cct.c.signed_at, cct.c.signed_document_id)
              .where(cct.c.source_document_id.in_(in_ids), cct.c.status == "signed").order_by(cct.c.id))
    subject = select(Subject.__table__.c.id).where(Subject.__table__.c.identifier == bindparam("identifier"))
    return {"docs": docs, "docs_typed": docs_typed, "copies": copies, "subject": subject}


_Q = _build_lookup_statements(bindparam("sid"))
SUBJECT_BY_IDENTIFIER = (select(Subject.__table__.c.id)
                         .where(Subject.__table__.c.identifier == bindparam("identifier")).scalar_subquery())
_QI = _build_lookup_statements(SUBJECT_BY_IDENTIFIER)  # one round trip fewer: no separate subject query


class _ResultRow(NamedTuple):
    valid_from: dt.date | None
    valid_until: dt.date | None
    reusable: bool
    electronic: bool
    code: str | None


def subject_documents(s: Session, subject_id: int | None, *, doc_type: str | None = None,
                      valid_on: dt.date | None = None, only_valid: bool = True,
                      link: Callable[[int], str] | None = None,
                      identifier: str | None = None) -> list[dict[str, Any]]:
    """Every digitized document of a subject with its validity, results and certified copies.

    The subject is ``subject_id``, or the subject whose identifier is ``identifier`` (then
    ``subject_id`` is ignored).

    Best first: sealed or certified, then issued results, then newest. Signed certified copies are
    listed under their source document, not on their own.
    """
    valid_on = valid_on or vn_today()
    conn = s.connection() if isinstance(s, Session) else s
    q, p = (_Q, {"sid": subject_id}) if identifier is None else (_QI, {"identifier": identifier})
    if doc_type:
        rows = conn.execute(q["docs_typed"], {**p, "doc_type": doc_type}).all()
    else:
        rows = conn.execute(q["docs"], p).all()
    if not rows:
        return []
    docs, results, comps, with_copies = [], {}, {}, []
    for r in rows:
        if not docs or docs[-1].id != r.id:
            docs.append(r)
            if r.c_code is not None:
                comps[r.id] = r.c_code
            if r.has_copies:
                with_copies.append(r.id)
        if r.r_id is not None:
            results.setdefault(r.id, []).append(_ResultRow(r.r_from, r.r_until, r.r_reusable, r.r_electronic, r.r_code))
    copies: dict[int, list] = {}
    if with_copies:
        for c in conn.execute(_Q["copies"], {"ids": with_copies}):
            copies.setdefault(c.source_document_id, []).append(c)

    out = []
    for d in docs:
        rs = results.get(d.id, [])
        until = [x for x in [d.valid_until, *(r.valid_until for r in rs)] if x is not None]
        valid_until = min(until) if until else None
        froms = [r.valid_from for r in rs if r.valid_from is not None]
        valid_from = max(froms) if froms else None
        valid = (valid_until is None or valid_until >= valid_on) and (valid_from is None or valid_from <= valid_on)
        reusable = valid and (any(r.reusable for r in rs) if rs else True)
        if only_valid and not reusable:
            continue
        cc = copies.get(d.id, [])
        out.append({
            "id": d.id,
            "doc_type": d.doc_type,
            "fields": d.fields or {},
            "pages": d.pages,
            "sha256": d.sha256,
            "digitization_code": d.digitization_code,
            "sealed": bool(d.sealed),
            "kind": ("national_store" if d.kind == "national_store" else
                     "result" if rs else ("component" if d.id in comps else "document")),
            "metadata": d.doc_metadata or {},
            "dossier": rs[0].code if rs else comps.get(d.id),
            "electronic": any(r.electronic for r in rs) if rs else None,
            "valid_from": _iso(valid_from),
            "valid_until": _iso(valid_until),
            "valid": valid,
            "reusable": reusable,
            "created_at": _iso(d.created_at),
            "certified_copies": [{
                "id": c.id, "number": c.number, "book": c.book, "year": c.year, "copies": c.copies,
                "signed_at": _iso(c.signed_at), "document_id": c.signed_document_id,
                "download": link(c.signed_document_id) if (link and c.signed_document_id) else None,
            } for c in cc],
            "download": link(d.id) if link else None,
        })
    out.sort(key=lambda e: (not (e["sealed"] or e["certified_copies"]), e["kind"] != "result", -e["id"]))
    return out


def reusable_for_dossier(s: Session, dossier: Dossier) -> list[dict[str, Any]]:
    """The dossier's required component types that a valid digitized document already covers.

    One entry per type still missing from the dossier (best candidate first: sealed/certified,
    then issued results, then newest); the clerk need not ask the citizen for these.
    """
    attached = {c.document_id for c in dossier.components}
    missing = [c.doc_type for c in component_states(s, dossier) if c.state == "missing"]
    if not missing:
        return []
    cands: dict[str, list[dict[str, Any]]] = {}
    for sid in sorted(subject_ids(s, dossier), key=lambda x: x != dossier.subject_id):  # the applicant's first
        for e in subject_documents(s, sid):
            if e["doc_type"] in missing and e["id"] not in attached and e not in cands.get(e["doc_type"], []):
                cands.setdefault(e["doc_type"], []).append(e)
    out = []
    for t in missing:
        if t not in cands:
            continue
        best = cands[t][0]
        copy = next((c for c in best["certified_copies"] if c["document_id"]), None)
        out.append({"doc_type": t, "document_id": best["id"], "sealed": best["sealed"],
                    "certified": bool(best["certified_copies"]), "kind": best["kind"],
                    "from_dossier": best["dossier"], "valid_until": best["valid_until"],
                    "digitization_code": best["digitization_code"],
                    # the scan's electronic certified copy, offered beside it as a certified result
                    "certified_copy": None if copy is None else {
                        "document_id": copy["document_id"], "number": copy["number"], "book": copy["book"],
                        "year": copy["year"], "kind": "certified_result"},
                    "alternatives": [e["id"] for e in cands[t][1:]]})
    return out


def _document_of_subject(s: Session, subject_id: int, document_id: int) -> bool:
    ids = _subject_doc_ids(subject_id)
    if s.scalar(select(ids.c.id).where(ids.c.id == document_id)) is not None:
        return True
    # a signed certified copy of one of the subject's documents
    src = s.scalar(select(Document.certified_from_id).where(Document.id == document_id)) or s.scalar(
        select(CertifiedCopy.source_document_id).where(CertifiedCopy.signed_document_id == document_id).limit(1))
    return src is not None and s.scalar(select(ids.c.id).where(ids.c.id == src)) is not None


def document_subject_id(s: Session, doc: Document) -> int | None:
    """The subject a document belongs to (direct link, else the dossier it was issued/attached in)."""
    if doc.subject_id is not None:
        return doc.subject_id
    sid = s.scalar(select(Dossier.subject_id).join(Result, Result.dossier_id == Dossier.id)
                   .where(Result.document_id == doc.id).limit(1))
    if sid is None:
        sid = s.scalar(select(Dossier.subject_id).join(Component, Component.dossier_id == Dossier.id)
                       .where(Component.document_id == doc.id).limit(1))
    if sid is None:
        src = s.scalar(select(CertifiedCopy.source_document_id)
                       .where(CertifiedCopy.signed_document_id == doc.id).limit(1))
        if src is not None and src != doc.id:
            source = s.get(Document, src)
            return document_subject_id(s, source) if source else None
    return sid


def check_usable(s: Session, doc: Document, on: dt.date | None = None) -> None:
    """Refuse a document that is expired or not reusable (DocumentNotUsable)."""
    on = on or vn_today()
    src = s.get(Document, doc.certified_from_id) if doc.certified_from_id else None
    rs = list(s.scalars(select(Result).where(Result.document_id == doc.id)))
    until = [x for x in [doc.valid_until, src.valid_until if src else None, *(r.valid_until for r in rs)]
             if x is not None]
    if until and min(until) < on:
        raise DocumentNotUsable(f"Văn bản {doc.id} đã hết hiệu lực từ ngày {min(until):%d/%m/%Y}: "
                                "không dùng lại được, đề nghị công dân xuất trình giấy tờ còn hiệu lực.")
    if rs and not any(r.reusable for r in rs):
        raise DocumentNotUsable(f"Văn bản {doc.id} không được đánh dấu là dùng lại được.")


def reuse_into_dossier(s: Session, dossier: Dossier, document_id: int, *, actor: str, purpose: str = "",
                       client_id: int | None = None, override_reason: str | None = None) -> Component:
    """Satisfy a component of ``dossier`` with an existing document of the same subject (no paper).

    Attaches it with origin ``reused`` and the state of where it came from (an earlier component,
    a result or certified copy, the national store) and writes a ReuseEvent and an AuditEvent.
    Another person's document, or a type the procedure does not ask for, is refused (409) unless
    ``override_reason`` is given (then audited as ``reuse.override``); an expired or non-reusable
    document is always refused. Idempotent: reusing a document already attached returns its
    component without a second ledger entry.
    """
    if dossier.status in CLOSED_STATUSES:
        raise Conflict(f"hồ sơ {dossier.code} đang ở trạng thái “{status_name(dossier.status).lower()}”: không thể gắn thêm thành phần")
    doc = s.get(Document, int(document_id))
    if doc is None:
        raise NotFound(f"không có tài liệu số {document_id}")
    existing = s.scalar(select(Component).where(Component.dossier_id == dossier.id,
                                                Component.document_id == doc.id))
    if existing is not None:
        return existing
    doc_type = doc.doc_type
    if doc_type == CERTIFIED_COPY_TYPE:
        src = s.scalar(select(Document).join(CertifiedCopy, CertifiedCopy.source_document_id == Document.id)
                       .where(CertifiedCopy.signed_document_id == doc.id).limit(1))
        if src is not None:
            doc_type = src.doc_type
    not_own = None if any(_document_of_subject(s, sid, doc.id) for sid in subject_ids(s, dossier)) else SubjectMismatch(
        f"Văn bản {doc.id} không phải giấy tờ của người nộp hay người có liên quan của hồ sơ {dossier.code} "
        f"(người nộp: số định danh {mask_pid(dossier.subject.identifier)}): chỉ dùng lại giấy tờ của những người đó.")
    refuse_unless_overridden(
        s, [not_own, type_not_required(dossier, doc_type)], override_reason, actor=actor, action="reuse.override",
        subject_id=dossier.subject_id, object_type="dossier", object_id=dossier.code,
        detail={"document_id": doc.id, "doc_type": doc_type})
    check_usable(s, doc)
    comp = attach(s, dossier, doc, origin="reused", routed_by="reuse", doc_type=doc_type,
                  state=reuse_state_of(s, doc))
    outbox.component_event(s, comp, actor=actor, origin=_PORTAL_ORIGIN.get(comp.state))
    s.add(ReuseEvent(document_id=doc.id, dossier_id=dossier.id, client_id=client_id, system=actor,
                     purpose=purpose or f"component {doc_type} of dossier {dossier.code}"))
    audit(s, actor, "reuse.attach", subject_id=dossier.subject_id, object_type="dossier",
          object_id=dossier.code, detail={"document_id": doc.id, "doc_type": doc_type, "purpose": purpose})
    s.flush()
    return comp


def record_external_reuse(s: Session, document_id: int, *, actor: str, system: str, purpose: str = "",
                          client_id: int | None = None, dossier_code: str | None = None) -> ReuseEvent:
    """Another system reports that it reused a document (optionally for one of our dossiers)."""
    doc = s.get(Document, int(document_id))
    if doc is None:
        raise NotFound(f"không có tài liệu số {document_id}")
    dossier_id = None
    if dossier_code:
        d = s.scalar(select(Dossier).where(Dossier.code == dossier_code.strip()))
        if d is None:
            raise NotFound(f"không có hồ sơ {dossier_code!r}")
        dossier_id = d.id
    ev = ReuseEvent(document_id=doc.id, dossier_id=dossier_id, client_id=client_id,
                    system=(system or actor)[:200], purpose=purpose or "")
    s.add(ev)
    audit(s, actor, "reuse.record", subject_id=document_subject_id(s, doc), object_type="document",
          object_id=str(doc.id), detail={"system": system, "purpose": purpose, "dossier": dossier_code})
    s.flush()
    return ev


LOOKUP_GRANTS_READ = dt.timedelta(hours=24)


def client_may_read(s: Session, actor: str, doc: Document, named_subject: str | None = None, *,
                    now: dt.datetime | None = None) -> bool:
    """Need-to-know for other systems: a client reads a document only for a subject it names —
    the identifier it sends with the read (``named_subject``), or one it looked up itself
    (``POST /subjects/documents``) within the last :data:`LOOKUP_GRANTS_READ`. Walking ids finds
    nothing: a document of anybody else is as absent as one that does not exist."""
    sid = document_subject_id(s, doc)
    if sid is None:
        return False
    if named_subject:
        named = find_subject_id(s, named_subject)
        return named is not None and (named == sid or _document_of_subject(s, named, doc.id))
    since = (now or utcnow()) - LOOKUP_GRANTS_READ
    return s.scalar(select(AuditEvent.id).where(
        AuditEvent.actor == actor, AuditEvent.action == "subject.documents", AuditEvent.subject_id == sid,
        AuditEvent.at >= since).limit(1)) is not None


def find_subject_id(s: Session, identifier: str) -> int | None:
    return s.connection().execute(_Q["subject"], {"identifier": clean_identifier(identifier)}).scalar()



# the hot path's audit row, without ORM unit-of-work overhead; the subject is resolved in the same
# statement (NULL when no subject has that identifier)
_AUDIT_INSERT = insert(AuditEvent.__table__).values(
    subject_id=SUBJECT_BY_IDENTIFIER,
    object_id=func.coalesce(cast(SUBJECT_BY_IDENTIFIER, String), ""))


def lookup_subject_documents(s, actor: str, identifier: str, *, doc_type: str | None = None,
                             valid_on: dt.date | None = None, link=None) -> dict:
    """What POST /subjects/documents answers, as a function (also used by the benchmark): the
    subject's reusable documents, and the audit event of the read."""
    valid_on = valid_on or vn_today()
    identifier = clean_identifier(identifier)
    docs = subject_documents(s, None, identifier=identifier, doc_type=doc_type, valid_on=valid_on, link=link)
    detail = {"doc_type": doc_type, "valid_on": valid_on.isoformat(), "count": len(docs), "subject": mask_pid(identifier)}
    s.connection().execute(_AUDIT_INSERT, {"actor": actor, "action": "subject.documents", "identifier": identifier,
                                           "object_type": "subject", "detail": detail})
    return {"subject_id": identifier, "valid_on": valid_on.isoformat(), "documents": docs}

def reuse_from_national_store(s: Session, dossier: Dossier, *, doc_type: str, data: bytes, store,
                              reference: str, actor: str, fields: dict[str, str] | None = None,
                              purpose: str = "") -> Component:
    """Satisfy a component with a document taken from the national store (the citizen's data store
    on the national public service portal): the PDF is kept in our store as a document of kind
    ``national_store`` belonging to the dossier's subject, attached as ``reused_national`` and
    written to the reuse ledger with the store's reference."""
    check_type(doc_type)
    if dossier.status in CLOSED_STATUSES:
        raise Conflict(f"hồ sơ {dossier.code} đang ở trạng thái “{status_name(dossier.status).lower()}”: không thể gắn thêm thành phần")
    refusal = type_not_required(dossier, doc_type)
    if refusal is not None:
        raise refusal
    reference = (reference or "").strip()
    if not reference:
        raise Invalid("tài liệu lấy từ Kho dữ liệu quốc gia cần mã tài liệu trong kho (--ref)")
    if not data.startswith(b"%PDF-"):
        raise Invalid("tài liệu lấy từ Kho dữ liệu quốc gia phải là tệp PDF")
    digest, _ = store.put_bytes(data)
    doc = s.scalar(select(Document).where(Document.sha256 == digest))
    if doc is None:
        doc = Document(sha256=digest, size=len(data), doc_type=doc_type, type_confidence=1.0, fields=dict(fields or {}),
                       kind="national_store", source_name=f"Kho dữ liệu quốc gia: {reference}"[:500],
                       created_by=actor, doc_metadata={})
        s.add(doc)
        s.flush()
    if doc.kind != "national_store":
        raise Conflict(f"tệp này đã là tài liệu số {doc.id}, không phải tài liệu lấy từ Kho dữ liệu quốc gia")
    link_subject(s, doc, get_or_create_subject(s, dossier.subject.identifier), "national")
    return reuse_into_dossier(s, dossier, doc.id, actor=actor,
                              purpose=purpose or f"national store {reference}", client_id=None)
