"""Registry operations on a Session: procedures, subjects, dossiers, documents, components.

Functions here do not commit: the caller owns the unit of work (``Database.session()``).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vocab import identifiers
from registry import metadata, outbox
from registry.codes import format_dossier_code
from registry.components import (  # noqa: F401  (ComponentState, component_states, labels: re-exported)
    EXEMPT_REASONS,
    STATE_LABELS,
    ComponentState,
    component_states,
    reuse_state_of,
    state_of_component,
)
from registry.errors import InvalidField, SubjectMismatch, TypeNotRequired
from registry.models import (
    AuditEvent,
    CertifiedCopy,
    Component,
    Counter,
    Document,
    DocumentSubject,
    Dossier,
    Procedure,
    Result,
    Subject,
)
from registry.subjects import named_pids, names_in_text, owners
from registry.population import NoVerifier, check_identity
from vocab.clock import VN_TZ, local, utcnow
from vocab.errors import Conflict, Invalid, NotFound
from vocab.kinds import DOC_TYPES, OPEN_STATUSES
from vocab.text import fold, mask_pid, nfc



# -- procedures ---------------------------------------------------------------------------------

def shipped_catalogue() -> list[dict[str, Any]]:
    return json.loads(resources.files("registry").joinpath("data/procedures.json").read_text("utf-8"))


def seed_procedures(s: Session) -> int:
    """Insert the shipped catalogue's procedures that are missing; returns how many were added."""
    added = 0
    for p in shipped_catalogue():
        if s.get(Procedure, p["code"]) is None:
            s.add(Procedure(code=p["code"], name=nfc(p["name"]), required_types=p["requires"],
                            days=p["days"], result_type=p.get("result_type"),
                            certification=bool(p.get("certification"))))
            added += 1
    s.flush()
    return added


def add_procedure(s: Session, code: str, name: str, requires: list[str], days: int = 5,
                  result_type: str | None = None, certification: bool | None = None) -> Procedure:
    bad = [t for t in requires if t not in DOC_TYPES]
    if bad:
        raise Invalid(f"loại thành phần không có trong danh mục: {', '.join(bad)} (có: {', '.join(DOC_TYPES)})")
    if not re.fullmatch(r"\d+\.\d{6}", code):
        raise Invalid(f"mã thủ tục {code!r} không đúng dạng mã quốc gia (ví dụ 1.001193)")
    proc = s.get(Procedure, code) or Procedure(code=code)
    proc.name, proc.required_types, proc.days = nfc(name), list(requires), days
    if result_type:
        proc.result_type = result_type
    if certification is not None:
        proc.certification = certification
    elif proc.certification is None:
        proc.certification = fold(name).startswith("chung thuc")
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
    kind = identifiers.subject_kind(identifiers.clean_identifier(identifier))
    if kind:
        return kind
    raise Invalid("chủ thể là số định danh cá nhân 12 chữ số hoặc mã số thuế 10 chữ số (có thể thêm -NNN)")


def find_subject(s: Session, identifier: str) -> Subject | None:
    return s.scalar(select(Subject).where(Subject.identifier == identifiers.clean_identifier(identifier)))


def get_or_create_subject(s: Session, identifier: str, name: str | None = None) -> Subject:
    identifier = identifiers.clean_identifier(identifier)
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


CERTIFICATION_CUTOFF = dt.time(15, 0)  # received after 15:00: due the next working day
END_OF_DAY = dt.time(17, 0)


def next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def due_date(proc: Procedure, received_at: dt.datetime) -> dt.datetime:
    """When the result is due. A certification procedure is due the same day, or the next working
    day when received after 15:00 Vietnam time (or on a weekend): at the end of that working day.
    Other procedures: their time limit in working days from receipt."""
    if proc.certification:
        t = local(received_at)
        day = t.date()
        if t.time() > CERTIFICATION_CUTOFF or day.weekday() >= 5:
            day = next_working_day(day)
        return dt.datetime.combine(day, END_OF_DAY, tzinfo=VN_TZ).astimezone(dt.timezone.utc)
    return add_working_days(received_at, proc.days)


def create_dossier(s: Session, *, procedure: str, subject: str, name: str | None = None,
                   agency: str, channel: str = "counter", created_by: str = "",
                   now: dt.datetime | None = None, unit: str | None = None, persons: list | None = None, phone: str = "",
                   address: str = "", sets: int = 1, fee: int = 0) -> Dossier:
    """Create a dossier; ``persons``: the persons concerned besides the applicant
    (``registry.persons.PersonIn``, already checked), recorded before the portal hears of it."""
    from registry.persons import add_persons

    if channel not in ("counter", "postal", "online"):
        raise Invalid("kênh tiếp nhận là counter (trực tiếp), postal (bưu chính) hoặc online (trực tuyến)")
    proc = get_procedure(s, procedure)
    subj = get_or_create_subject(s, subject, name)
    now = now or utcnow()
    local_day = local(now).date()
    seq = next_counter(s, f"dossier:{agency}:{local_day:%y%m%d}")
    due = due_date(proc, now)
    dossier = Dossier(code=format_dossier_code(agency, local_day, seq), subject=subj, procedure=proc,
                      channel=channel, unit=unit or agency, status="received", received_at=now,
                      due_at=due, original_due_at=due, created_by=created_by, phone=nfc(phone.strip()),
                      address=nfc(address.strip()), sets=sets, fee=fee)
    s.add(dossier)
    s.flush()
    if persons:
        add_persons(s, dossier, [(get_or_create_subject(s, p.identifier, p.name or None), p.role) for p in persons],
                    actor=created_by or "system")
    outbox.dossier_event(s, dossier, "dossier.received", actor=created_by)
    return dossier


def intake_problems(s: Session, *, procedure: str, subject: str, birth_date: str | None, phone: str = "",
                    sets: int | str = 1, fee: int | str = 0, persons: list | None = None) -> dict[str, str]:
    """What is wrong with an intake form, by form field, in plain Vietnamese (nothing raised)."""
    from registry.errors import FormErrors
    from registry.persons import check_persons

    errors: dict[str, str] = {}
    if not (procedure or "").strip():
        errors["procedure"] = "Hãy chọn thủ tục."
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = "Hãy nhập số định danh cá nhân (12 chữ số) hoặc mã số thuế (10 chữ số)."
    elif identifiers.subject_kind(subject) is None:
        errors["subject"] = ("Số định danh cá nhân gồm 12 chữ số; mã số thuế của tổ chức gồm 10 chữ số, "
                             "có thể kèm mã chi nhánh.")
    if birth_date and identifiers.parse_date(birth_date) is None:
        errors["birth_date"] = "Ngày sinh viết dạng ngày/tháng/năm (dd/mm/yyyy), ví dụ 05/09/1990."
    elif "subject" not in errors and subject and identifiers.is_pid(subject):
        probs = identifiers.pid_problems(subject, birth_date=birth_date or None)
        if probs:
            errors["subject"] = ("Số định danh không hợp lệ: "
                                 + "; ".join(identifiers.PROBLEM_MESSAGES[p] for p in probs) + ".")
    if phone and not re.fullmatch(r"\+?[0-9 .-]{8,15}", phone.strip()):
        errors["phone"] = "Số điện thoại chỉ gồm chữ số (8 đến 15 số)."
    if not str(sets).strip().isdigit() or not 1 <= int(str(sets).strip()) <= 50:
        errors["sets"] = "Số bộ hồ sơ là một số từ 1 đến 50."
    fee_text = str(fee).replace(".", "").replace(",", "").replace(" ", "").strip() or "0"
    if not fee_text.isdigit() or int(fee_text) > 100_000_000:
        errors["fee"] = "Lệ phí là số tiền bằng đồng, ví dụ 50000 (để 0 nếu không thu)."
    if persons:
        try:
            check_persons(persons, subject)
        except FormErrors as exc:
            errors.update(exc.errors)
    return errors


def open_dossier(s: Session, *, procedure: str, subject: str, name: str | None = None, birth_date: str | None = None,
                 agency: str, channel: str = "counter", actor: str, verifier=None,
                 now: dt.datetime | None = None, unit: str | None = None, persons: list | None = None, phone: str = "",
                 address: str = "", sets: int | str = 1, fee: int | str = 0) -> Dossier:
    """Open a dossier at the counter: check the form (every problem at once, by field:
    ``registry.errors.FormErrors``), create it with the persons concerned, check the applicant's
    identity with ``verifier`` (registry.population; its answer is stored with the dossier, the
    call audited) and audit the opening."""
    from registry.errors import FormErrors
    from registry.persons import check_persons

    birth_date = (birth_date or "").strip() or None
    subject = identifiers.clean_identifier(subject)  # other Unicode digits: normalised, then checked
    errors = intake_problems(s, procedure=procedure, subject=subject, birth_date=birth_date, phone=phone,
                             sets=sets, fee=fee, persons=persons)
    if errors:
        raise FormErrors(errors)
    people = check_persons(persons or [], subject.strip())
    fee_value = int(str(fee).replace(".", "").replace(",", "").replace(" ", "").strip() or "0")
    d = create_dossier(s, procedure=procedure.strip(), subject=subject, name=name, agency=agency, channel=channel,
                       created_by=actor, now=now, unit=unit, persons=people, phone=phone, address=address,
                       sets=int(str(sets).strip()), fee=fee_value)
    audit(s, actor, "dossier.create", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
    if d.subject.kind == "citizen":
        check_identity(s, d, verifier or NoVerifier(), name=name or d.subject.name, birth_date=birth_date, officer=actor)
    return d


def get_dossier(s: Session, code: str) -> Dossier:
    d = s.scalar(select(Dossier).where(Dossier.code == code.strip()))
    if d is None:
        raise NotFound(f"không có hồ sơ {code!r}")
    return d


def open_dossiers_of(s: Session, identifier: str) -> list[Dossier]:
    """Open dossiers the person is concerned by: as applicant or as a related person."""
    from registry.persons import dossier_ids_of

    return list(s.scalars(select(Dossier).where(Dossier.id.in_(dossier_ids_of(identifier)),
                                                Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id)))


def attach(s: Session, dossier: Dossier, document: Document, *, origin: str = "scanned",
           routed_by: str = "", doc_type: str | None = None, state: str | None = None) -> Component:
    """Attach ``document`` to ``dossier`` (idempotent: the same document is attached once).
    ``state``: the component's state (default: ``scanned`` for a scan, else from ``origin``)."""
    existing = s.scalar(select(Component).where(Component.dossier_id == dossier.id,
                                                Component.document_id == document.id))
    if existing is not None:
        return existing
    comp = Component(dossier=dossier, document=document, doc_type=doc_type or document.doc_type,
                     origin=origin, routed_by=routed_by)
    comp.state = state or state_of_component(comp)
    s.add(comp)
    if dossier.status == "received":
        dossier.status = "processing"
        outbox.dossier_event(s, dossier, "dossier.step", name="Bắt đầu xử lý")
    s.flush()
    if origin != "reused":  # a reuse is reported by registry.reuse, with its origin and actor
        outbox.component_event(s, comp)
    return comp


def _unassigned_where() -> tuple:
    # NOT EXISTS, not NOT IN: anti-joins the planner may walk in id order and stop at a page's limit
    attached = select(Component.id).where(Component.document_id == Document.id).exists()
    results = select(Result.id).where(Result.document_id == Document.id).exists()
    copies = select(CertifiedCopy.id).where(CertifiedCopy.signed_document_id == Document.id).exists()
    return (~attached, ~results, ~copies,
            Document.kind == "scan", Document.certified_from_id.is_(None), Document.doc_type != "certified_copy")


def unassigned_documents(s: Session, limit: int | None = None) -> list[Document]:
    """Digitized documents attached to no dossier and issued as no result: staff must route them."""
    q = select(Document).where(*_unassigned_where()).order_by(Document.id)
    return list(s.scalars(q.limit(limit) if limit else q))


DOCUMENTS_REMOVED = "documents.removed"


def remove_document(s: Session, doc: Document) -> None:
    """Delete a document's row (a merge: its pages live on in another document). The only way a
    document leaves the registry, counted so that ``placement_fingerprint`` moves."""
    next_counter(s, DOCUMENTS_REMOVED)
    s.delete(doc)


def placement_fingerprint(s: Session) -> tuple:
    """Moves whenever the unassigned set can: a document added, removed (merged away) or retyped as
    a copy; a component, a result or a certified copy added, removed or pointed at another document.
    Index reads (5 ms at 100,000 documents on PostgreSQL, where the count itself takes 52 ms)."""
    def stats(model, col):
        return select(func.count(), func.max(model.id), func.sum(col)).select_from(model).subquery()

    # documents leave only through remove_document, which counts them: a primary-key read here
    # instead of counting every document (8 ms at 100,000)
    removed = select(func.coalesce(func.max(Counter.value), 0)).where(Counter.key == DOCUMENTS_REMOVED).subquery()
    parts = [removed, select(func.max(Document.id)).subquery(),
             stats(Component, Component.document_id),
             stats(Result, Result.document_id), stats(CertifiedCopy, CertifiedCopy.signed_document_id)]
    copies = select(func.count()).select_from(Document).where(Document.doc_type == "certified_copy").scalar_subquery()
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.join(p, true())  # one row each
    return tuple(s.execute(select(*[c for p in parts for c in p.c], copies).select_from(joined)).one())


# the last count per database, with the fingerprint it was counted at: the inbox, the live inbox,
# the unassigned page and /metrics all show it, and most of them see nothing placed in between
_unassigned_memo: dict[str, tuple[tuple, int]] = {}


def unassigned_count(s: Session) -> int:
    """How many documents wait for a dossier (see ``unassigned_documents``); counted again only
    when the placement fingerprint has moved since the last count."""
    bind = s.get_bind()
    key = str(getattr(bind, "engine", bind).url)
    fp = placement_fingerprint(s)
    hit = _unassigned_memo.get(key)
    if hit is not None and hit[0] == fp:
        return hit[1]
    n = s.scalar(select(func.count()).select_from(Document).where(*_unassigned_where())) or 0
    if placement_fingerprint(s) == fp:  # nothing placed between the two reads: the pair holds
        _unassigned_memo[key] = (fp, n)
    return n


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


# -- whose a document is, and what a dossier asks for ---------------------------------------------

def link_subject(s: Session, doc: Document, subject: Subject, source: str) -> None:
    """Link ``doc`` to ``subject`` (idempotent); the first link becomes the primary subject."""
    if doc.id is None:
        s.flush()
    if doc.subject_id is None:
        doc.subject_id = subject.id
    exists = s.scalar(select(DocumentSubject.id).where(DocumentSubject.document_id == doc.id,
                                                       DocumentSubject.subject_id == subject.id))
    if exists is None:
        s.add(DocumentSubject(document_id=doc.id, subject_id=subject.id, source=source))
        s.flush()


def label_document(s: Session, doc: Document, *, source: str = "fields", create: bool = True) -> list[str]:
    """Link a document to the people its fields name (creating their subjects when ``create``);
    returns the identifiers linked. Used at intake and after a staff correction of an ID field."""
    pids = named_pids(doc.fields, doc.field_confidences)
    name_of = {"so_dinh_danh": doc.fields.get("ho_ten"), "so_dinh_danh_chong": doc.fields.get("ho_ten_chong"),
               "so_dinh_danh_vo": doc.fields.get("ho_ten_vo")} if doc.fields else {}
    linked = []
    for pid in pids:
        field = next((k for k in identifiers.PID_FIELDS if (doc.fields or {}).get(k) == pid), "so_dinh_danh")
        subj = (get_or_create_subject(s, pid, name_of.get(field)) if create
                else s.scalar(select(Subject).where(Subject.identifier == pid)))
        if subj is not None:
            link_subject(s, doc, subj, source)
            linked.append(pid)
    return linked


def subject_mismatch(s: Session, doc: Document, dossier: Dossier) -> SubjectMismatch | None:
    """The refusal when ``doc`` belongs to nobody the dossier concerns, else None.

    The dossier concerns its applicant and its persons concerned (``registry.persons``: a spouse,
    a child, the deceased…). Another person's: the document is linked to people and none of them is
    concerned, or its ID fields name people and none of them is — unless the document names one of
    them by full name as another party (a parent on the child's birth certificate,
    ``subjects.names_in_text``). A document that names nobody and belongs to nobody is nobody else's."""
    from registry.persons import persons as persons_of

    concerned = persons_of(s, dossier)
    own = owners(s, doc)
    named = named_pids(doc.fields, doc.field_confidences)
    if (own & {p.subject_id for p in concerned}) or ({p.identifier for p in concerned} & set(named)):
        return None
    if not own and not named:
        return None
    if any(p.name and names_in_text(doc, p.name) for p in concerned):  # a parent named on the child's birth certificate
        return None
    names = named or [x.identifier for x in s.scalars(select(Subject).where(Subject.id.in_(own)))]
    who = ", ".join(mask_pid(x) for x in names)
    related = " hay người có liên quan" if len(concerned) > 1 else ""
    return SubjectMismatch(f"Văn bản {doc.id} là giấy tờ của người khác (số định danh {who}), không phải của "
                           f"người nộp{related} của hồ sơ {dossier.code} (người nộp: số định danh "
                           f"{mask_pid(dossier.subject.identifier)}). Chỉ gắn khi có lý do, ghi rõ lý do ghi đè.")


def type_not_required(dossier: Dossier, doc_type: str) -> TypeNotRequired | None:
    """The refusal when the dossier's procedure does not ask for ``doc_type`` (a certification
    dossier takes an original of any type)."""
    proc = dossier.procedure
    if proc.certification or doc_type in (proc.required_types or []):
        return None
    return TypeNotRequired(f"Thủ tục {proc.code} ({proc.name}) không yêu cầu thành phần loại {doc_type}; "
                           f"thành phần cần có: {', '.join(proc.required_types or []) or '—'}. "
                           "Chỉ gắn khi có lý do, ghi rõ lý do ghi đè.")


def refuse_unless_overridden(s: Session, refusals: list[Conflict | None], override_reason: str | None, *,
                             actor: str, action: str, subject_id: int | None, object_type: str, object_id: str,
                             detail: dict) -> bool:
    """Raise the first refusal unless a reason is given; with one, audit the override. True when
    something was overridden."""
    refusals = [r for r in refusals if r is not None]
    if not refusals:
        return False
    reason = nfc((override_reason or "").strip())
    if not reason:
        raise refusals[0]
    audit(s, actor, action, subject_id=subject_id, object_type=object_type, object_id=object_id,
          detail={**detail, "reason": reason, "overridden": [r.kind for r in refusals],
                  "messages": [r.message for r in refusals]})
    return True


def assign_document(s: Session, document_id: int, code: str, *, actor: str, doc_type: str | None = None,
                    override_reason: str | None = None) -> Component:
    """Staff attach a document to a dossier by hand (the unassigned queue), optionally retyping it.

    Refused (SubjectMismatch, TypeNotRequired) when the document is another person's or of a type
    the procedure does not ask for, unless ``override_reason`` is given: then it is attached and
    the override audited (``document.assign.override``). The document's subject never changes
    here; a document that names nobody takes the dossier's subject, as an audited decision."""
    doc = get_document(s, document_id)
    d = get_dossier(s, code)
    if d.status in ("completed", "returned"):
        raise Conflict(f"Hồ sơ {d.code} đã {'hoàn thành' if d.status == 'completed' else 'trả lại'}: "
                       "không gắn thêm được văn bản.")
    if doc_type:
        check_type(doc_type)
    new_type = doc_type or doc.doc_type
    mismatch = subject_mismatch(s, doc, d)
    overridden = refuse_unless_overridden(
        s, [mismatch, type_not_required(d, new_type)], override_reason, actor=actor,
        action="document.assign.override", subject_id=d.subject_id, object_type="document", object_id=str(doc.id),
        detail={"dossier": d.code, "doc_type": new_type})
    if doc_type and doc_type != doc.doc_type:
        doc.doc_type = doc_type
    comp = attach(s, d, doc, routed_by="manual", doc_type=new_type, state=_state_for(s, doc, d))
    if mismatch is None and not owners(s, doc):
        link_subject(s, doc, d.subject, "decision")
        audit(s, actor, "document.subject", subject_id=d.subject_id, object_type="document", object_id=str(doc.id),
              detail={"subject": d.subject.identifier, "why": f"assigned to dossier {d.code}"})
    audit(s, actor, "document.assign", subject_id=d.subject_id, object_type="document", object_id=str(doc.id),
          detail={"dossier": d.code, "override": overridden})
    return comp


def _state_for(s: Session, doc: Document, d: Dossier) -> str:
    """A scan attached for the first time is scanned; an earlier dossier's paper, a result or a
    national-store document is a reuse."""
    earlier = s.scalar(select(Component.id).where(Component.document_id == doc.id, Component.dossier_id != d.id)
                       .limit(1))
    if doc.kind == "scan" and doc.certified_from_id is None and earlier is None \
            and s.scalar(select(Result.id).where(Result.document_id == doc.id).limit(1)) is None:
        return "scanned"
    return reuse_state_of(s, doc)


def _field_error(problems: dict[str, list[str]]) -> InvalidField:
    name, probs = next(iter(problems.items()))
    text = "; ".join(identifiers.PROBLEM_MESSAGES.get(p, p) for p in probs)
    return InvalidField(f"Giá trị không hợp lệ: {text}.", field=name, problems=probs)


def correct_document(s: Session, document_id: int, *, actor: str, doc_type: str | None = None,
                     fields: dict[str, str] | None = None, meta: dict[str, str] | None = None) -> Document:
    """Staff correct what OCR read: the type, field values and document metadata (an empty value
    removes it). Every value is checked by its kind (personal ID structure and consistency with the
    date of birth, dates dd/mm/yyyy, tax codes; metadata keys and formats) before anything is
    saved. Corrections get confidence 1 and a ``corrected`` flag; the previous values go to the
    audit trail; the validity and the people the document names are derived again."""
    doc = get_document(s, document_id)
    before = {"doc_type": doc.doc_type, "fields": dict(doc.fields or {}), "metadata": dict(doc.doc_metadata or {}),
              "valid_until": doc.valid_until.isoformat() if doc.valid_until else None}
    if doc_type and doc_type != doc.doc_type:
        check_type(doc_type)
    values, confs = dict(doc.fields or {}), dict(doc.field_confidences or {})
    changed = []
    for name, value in (fields or {}).items():
        name = name.strip()
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", name):
            raise InvalidField(f"Tên trường {name!r} không hợp lệ (chữ thường không dấu, số, '_').", field=name)
        value = nfc(value.strip())
        if value:
            values[name], confs[name] = value, {"confidence": 1.0, "flags": ["corrected"]}
        else:
            values.pop(name, None)
            confs.pop(name, None)
        changed.append(name)
    check = set(changed)
    if check & {"ngay_sinh", "gioi_tinh"}:
        check.add("so_dinh_danh")  # the ID number must still agree with the date of birth and sex
    problems = identifiers.field_problems(values, sorted(n for n in check if n in values))
    if problems:
        raise _field_error(problems)
    meta_values = dict(doc.doc_metadata or {})
    for k, v in (meta or {}).items():
        v = nfc((v or "").strip())
        if v:
            meta_values[k] = v
        else:
            meta_values.pop(k, None)
    mprobs = metadata.metadata_problems({k: meta_values.get(k, "") for k in (meta or {})})
    if mprobs:
        k, msg = next(iter(mprobs.items()))
        raise InvalidField(msg[:1].upper() + msg[1:] + ".", field=k)
    if doc_type and doc_type != doc.doc_type:
        doc.doc_type, doc.type_confidence = doc_type, 1.0
        for c in doc.components:
            c.doc_type = doc_type
    doc.fields, doc.field_confidences, doc.doc_metadata = values, confs, meta_values
    doc.valid_until = metadata.valid_until(values, meta_values)
    subjects = _relabel(s, doc, actor) if set(changed) & {*identifiers.PID_FIELDS, "ngay_sinh"} else None
    audit(s, actor, "document.correct", subject_id=doc.subject_id, object_type="document", object_id=str(doc.id),
          detail={"before": before, "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
                  **({"subjects": subjects} if subjects is not None else {})})
    return doc


def _relabel(s: Session, doc: Document, actor: str) -> list[str]:
    """After a correction of an ID field: the document names whom its corrected fields name.
    Links that came from the fields are replaced; a link decided for a paper that named nobody
    (staff's decision, a route) goes too once the paper names someone; links as a result or a
    national-store document stay. The change is audited with the identifiers before and after."""
    old = {ds.subject_id: ds for ds in s.scalars(select(DocumentSubject).where(DocumentSubject.document_id == doc.id))}
    old_ids = [x.identifier for x in s.scalars(select(Subject).where(Subject.id.in_(list(old))))] if old else []
    named = named_pids(doc.fields, doc.field_confidences)
    keep = {sid for sid, ds in old.items()
            if ds.source in ("result", "national") or (not named and ds.source in ("decision", "route"))}
    for sid, ds in old.items():
        if sid not in keep:
            s.delete(ds)
    s.flush()
    if doc.subject_id not in keep:
        doc.subject_id = None
    linked = label_document(s, doc, source="fields")
    if doc.subject_id is None and named:
        doc.subject_id = find_subject(s, named[0]).id
    new_ids = linked + [x.identifier for x in s.scalars(select(Subject).where(Subject.id.in_(list(keep))))]
    if sorted(old_ids) != sorted(new_ids):
        audit(s, actor, "document.subject", subject_id=doc.subject_id, object_type="document", object_id=str(doc.id),
              detail={"before": old_ids, "after": new_ids, "why": "correction of an ID field"})
    return new_ids


def derive_from_content(s: Session, doc: Document, *, link_subjects: bool = True) -> Document:
    """What a newly recorded document's content says about it: the metadata printed on it (kept
    where staff set none), its validity from the expiry it carries, the people it names. Called by
    the intake for every recorded document."""
    found = metadata.extract_metadata(doc.text or "") if metadata.has_metadata(doc.doc_type) else {}
    doc.doc_metadata = {**found, **(doc.doc_metadata or {})}
    doc.valid_until = metadata.valid_until(doc.fields, doc.doc_metadata)
    if link_subjects:
        label_document(s, doc, source="fields", create=True)
    return doc


# -- components not scanned -----------------------------------------------------------------------

def _required_component(d: Dossier, doc_type: str) -> None:
    check_type(doc_type)
    if doc_type not in (d.procedure.required_types or []):
        raise TypeNotRequired(f"Thủ tục {d.procedure_code} không yêu cầu thành phần loại {doc_type}.")
    if d.status in ("completed", "returned"):
        raise Conflict(f"Hồ sơ {d.code} đã kết thúc: không ghi nhận thêm thành phần.")


def exempt_component(s: Session, d: Dossier, doc_type: str, reason: str, *, actor: str, note: str = "") -> Component:
    """Record that a required component is not scanned, for a reason Circular 03/2025 Art. 5 allows."""
    _required_component(d, doc_type)
    if reason not in EXEMPT_REASONS:
        raise Invalid("Lý do không số hóa phải là một trong: "
                      + "; ".join(f"{k} ({v})" for k, v in EXEMPT_REASONS.items()))
    comp = Component(dossier=d, doc_type=doc_type, document_id=None, origin="online" if reason == "online" else "scanned",
                     routed_by="manual", state="exempt", exempt_reason=reason, note=nfc(note.strip()))
    s.add(comp)
    audit(s, actor, "component.exempt", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"doc_type": doc_type, "reason": reason, "note": comp.note})
    s.flush()
    return comp


def national_data_component(s: Session, d: Dossier, doc_type: str, *, source: str, reference: str = "",
                            actor: str) -> Component:
    """Record that a required component is replaced by data from a national database (the
    database's name and the record's reference are kept)."""
    _required_component(d, doc_type)
    source = nfc((source or "").strip())
    if not source:
        raise Invalid("Ghi rõ cơ sở dữ liệu quốc gia đã cung cấp dữ liệu (ví dụ: CSDL quốc gia về dân cư).")
    comp = Component(dossier=d, doc_type=doc_type, document_id=None, origin="reused", routed_by="national",
                     state="national_data", note=f"{source}" + (f" — {nfc(reference.strip())}" if reference.strip() else ""))
    s.add(comp)
    audit(s, actor, "component.national_data", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"doc_type": doc_type, "source": source, "reference": reference})
    s.flush()
    return comp



def detach_component(s: Session, d: Dossier, component_id: int, *, reason: str, actor: str) -> None:
    """Take a component off a dossier that is not yet settled, for a written reason (audited on the
    dossier and, when a document backed it, on the document: it goes back to the unassigned queue)."""
    reason = nfc((reason or "").strip())
    if not reason:
        raise Invalid("Hãy ghi lý do gỡ thành phần.")
    c = s.get(Component, component_id)
    if c is None or c.dossier_id != d.id:
        raise NotFound("Hồ sơ không có thành phần này.")
    if d.status in ("completed", "returned"):
        raise Conflict("Hồ sơ đã giải quyết: không gỡ thành phần được.")
    audit(s, actor, "dossier.detach", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"document_id": c.document_id, "doc_type": c.doc_type, "origin": c.origin, "reason": reason})
    if c.document_id:
        audit(s, actor, "dossier.detach", subject_id=d.subject_id, object_type="document",
              object_id=str(c.document_id), detail={"dossier": d.code, "reason": reason})
    s.delete(c)
