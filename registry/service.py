"""Registry operations on a Session: procedures, subjects, dossiers, documents, components.

Functions here do not commit: the caller owns the unit of work (``Database.session()``).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import outbox
from registry.codes import format_dossier_code
from registry.models import (
    AuditEvent,
    Component,
    Counter,
    Document,
    Dossier,
    Procedure,
    Result,
    Subject,
)
from vocab.clock import local, utcnow
from vocab.errors import Invalid, NotFound
from vocab.kinds import DOC_TYPES, OPEN_STATUSES
from vocab.text import fold, nfc

_PID = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^\d{10}(-\d{3})?$")


# -- procedures ---------------------------------------------------------------------------------

def shipped_catalogue() -> list[dict[str, Any]]:
    return json.loads(resources.files("registry").joinpath("data/procedures.json").read_text("utf-8"))


def seed_procedures(s: Session) -> int:
    """Insert the shipped catalogue's procedures that are missing; returns how many were added."""
    added = 0
    for p in shipped_catalogue():
        if s.get(Procedure, p["code"]) is None:
            s.add(Procedure(code=p["code"], name=nfc(p["name"]), required_types=p["requires"],
                            days=p["days"], result_type=p.get("result_type")))
            added += 1
    s.flush()
    return added


def add_procedure(s: Session, code: str, name: str, requires: list[str], days: int = 5,
                  result_type: str | None = None) -> Procedure:
    bad = [t for t in requires if t not in DOC_TYPES]
    if bad:
        raise Invalid(f"loại thành phần không có trong danh mục: {', '.join(bad)} (có: {', '.join(DOC_TYPES)})")
    if not re.fullmatch(r"\d+\.\d{6}", code):
        raise Invalid(f"mã thủ tục {code!r} không đúng dạng mã quốc gia (ví dụ 1.001193)")
    proc = s.get(Procedure, code) or Procedure(code=code)
    proc.name, proc.required_types, proc.days = nfc(name), list(requires), days
    if result_type:
        proc.result_type = result_type
    s.add(proc)
    s.flush()
    return proc


def get_procedure(s: Session, code: str) -> Procedure:
    proc = s.get(Procedure, code)
    if proc is None:
        known = ", ".join(s.scalars(select(Procedure.code).order_by(Procedure.code)))
        raise NotFound(f"không có thủ tục {code!r} (đã có: {known}; thêm bằng `sohoa procedure add`)")
    return proc


# -- subjects ----------------------------------------------------------------------------------

def subject_kind(identifier: str) -> str:
    if _PID.match(identifier):
        return "citizen"
    if _ORG.match(identifier):
        return "organisation"
    raise Invalid("chủ thể là số định danh cá nhân 12 chữ số hoặc mã số thuế 10 chữ số (có thể thêm -NNN)")


def find_subject(s: Session, identifier: str) -> Subject | None:
    return s.scalar(select(Subject).where(Subject.identifier == identifier.strip()))


def get_or_create_subject(s: Session, identifier: str, name: str | None = None) -> Subject:
    identifier = identifier.strip()
    kind = subject_kind(identifier)
    subj = find_subject(s, identifier)
    if subj is None:
        subj = Subject(kind=kind, identifier=identifier, name=nfc(name or ""), name_folded=fold(name or ""))
        s.add(subj)
        try:
            with s.begin_nested():
                s.flush()
        except IntegrityError:  # created concurrently
            subj = find_subject(s, identifier)
            assert subj is not None
    elif name and not subj.name:
        subj.name, subj.name_folded = nfc(name), fold(name)
    return subj


# -- counters and dossiers -----------------------------------------------------------------------

def next_counter(s: Session, key: str) -> int:
    """Increment and return a named sequence inside the caller's transaction (gap-free per commit)."""
    row = s.execute(select(Counter).where(Counter.key == key).with_for_update()).scalar_one_or_none()
    if row is None:
        try:
            with s.begin_nested():
                s.add(Counter(key=key, value=1))
                s.flush()
            return 1
        except IntegrityError:
            row = s.execute(select(Counter).where(Counter.key == key).with_for_update()).scalar_one()
    s.execute(update(Counter).where(Counter.key == key).values(value=Counter.value + 1))
    s.flush()
    s.refresh(row)
    return row.value


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    d = start
    left = days
    while left > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d


def create_dossier(s: Session, *, procedure: str, subject: str, name: str | None = None,
                   agency: str, channel: str = "counter", created_by: str = "",
                   now: dt.datetime | None = None) -> Dossier:
    if channel not in ("counter", "postal", "online"):
        raise Invalid("kênh tiếp nhận là counter (trực tiếp), postal (bưu chính) hoặc online (trực tuyến)")
    proc = get_procedure(s, procedure)
    subj = get_or_create_subject(s, subject, name)
    now = now or utcnow()
    local_day = local(now).date()
    seq = next_counter(s, f"dossier:{agency}:{local_day:%y%m%d}")
    dossier = Dossier(code=format_dossier_code(agency, local_day, seq), subject=subj, procedure=proc,
                      channel=channel, unit=agency, status="received", received_at=now,
                      due_at=add_working_days(now, proc.days), created_by=created_by)
    s.add(dossier)
    s.flush()
    outbox.dossier_event(s, dossier, "dossier.received", actor=created_by)
    return dossier


def get_dossier(s: Session, code: str) -> Dossier:
    d = s.scalar(select(Dossier).where(Dossier.code == code.strip()))
    if d is None:
        raise NotFound(f"không có hồ sơ {code!r}")
    return d


def open_dossiers_of(s: Session, identifier: str) -> list[Dossier]:
    return list(s.scalars(select(Dossier).join(Subject).where(
        Subject.identifier == identifier, Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id)))


def attach(s: Session, dossier: Dossier, document: Document, *, origin: str = "scanned",
           routed_by: str = "", doc_type: str | None = None) -> Component:
    """Attach ``document`` to ``dossier`` (idempotent: the same document is attached once)."""
    existing = s.scalar(select(Component).where(Component.dossier_id == dossier.id,
                                                Component.document_id == document.id))
    if existing is not None:
        return existing
    comp = Component(dossier=dossier, document=document, doc_type=doc_type or document.doc_type,
                     origin=origin, routed_by=routed_by)
    s.add(comp)
    if dossier.status == "received":
        dossier.status = "processing"
        outbox.dossier_event(s, dossier, "dossier.step", name="Bắt đầu xử lý")
    s.flush()
    if origin != "reused":  # a reuse is reported by registry.reuse, with its origin and actor
        outbox.component_event(s, comp)
    return comp


def unassigned_documents(s: Session) -> list[Document]:
    """Digitized documents attached to no dossier and issued as no result: staff must route them."""
    attached = select(Component.document_id).where(Component.document_id.is_not(None))
    results = select(Result.document_id)
    return list(s.scalars(select(Document).where(Document.id.not_in(attached), Document.id.not_in(results),
                                                 Document.doc_type != "certified_copy")
                          .order_by(Document.id)))


def audit(s: Session, actor: str, action: str, *, subject_id: int | None = None, object_type: str = "",
          object_id: str = "", detail: dict | None = None) -> None:
    s.add(AuditEvent(actor=actor, action=action, subject_id=subject_id, object_type=object_type,
                     object_id=str(object_id), detail=detail or {}))


def check_type(doc_type: str) -> None:
    if doc_type not in DOC_TYPES:
        raise Invalid(f"loại giấy tờ {doc_type!r} không có trong danh mục (có: {', '.join(DOC_TYPES)})")


def get_document(s: Session, document_id: int) -> Document:
    doc = s.get(Document, document_id)
    if doc is None:
        raise NotFound(f"không có tài liệu số {document_id}")
    return doc


def assign_document(s: Session, document_id: int, code: str, *, actor: str,
                    doc_type: str | None = None) -> Component:
    """Staff attach a document to a dossier by hand (the unassigned queue), optionally retyping it."""
    doc = get_document(s, document_id)
    d = get_dossier(s, code)
    if doc_type:
        check_type(doc_type)
        doc.doc_type = doc_type
    comp = attach(s, d, doc, routed_by="manual", doc_type=doc_type or None)
    if doc.subject_id is None:
        doc.subject_id = d.subject_id
    audit(s, actor, "document.assign", subject_id=d.subject_id, object_type="document", object_id=str(doc.id),
          detail={"dossier": d.code})
    return comp


def correct_document(s: Session, document_id: int, *, actor: str, doc_type: str | None = None,
                     fields: dict[str, str] | None = None) -> Document:
    """Staff correct what OCR read: the type and/or field values (an empty value removes the field).
    Corrections get confidence 1 and a ``corrected`` flag; the previous values go to the audit trail."""
    doc = get_document(s, document_id)
    before = {"doc_type": doc.doc_type, "fields": dict(doc.fields or {})}
    if doc_type and doc_type != doc.doc_type:
        check_type(doc_type)
        doc.doc_type, doc.type_confidence = doc_type, 1.0
        for c in doc.components:
            c.doc_type = doc_type
    values, confs = dict(doc.fields or {}), dict(doc.field_confidences or {})
    for name, value in (fields or {}).items():
        value = nfc(value.strip())
        if value:
            values[name], confs[name] = value, {"confidence": 1.0, "flags": ["corrected"]}
        else:
            values.pop(name, None)
            confs.pop(name, None)
    doc.fields, doc.field_confidences = values, confs
    audit(s, actor, "document.correct", subject_id=doc.subject_id, object_type="document", object_id=str(doc.id),
          detail={"before": before})
    return doc
