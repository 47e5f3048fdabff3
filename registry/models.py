"""The system of record (the product spec's registry model), as SQLAlchemy 2.0 typed models.

Conventions: every timestamp is timezone-aware UTC; text is NFC; ``*_folded`` columns hold the
diacritic-free lower-case form used by search; JSON columns hold plain dicts/lists.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vocab.clock import utcnow

__all__ = ["utcnow"]  # re-exported: the default of every created_at column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, dt.datetime: DateTime(timezone=True)}


class Subject(Base):
    """A citizen (12-digit personal ID number) or an organisation (tax / enterprise code)."""

    __tablename__ = "subjects"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="citizen")  # citizen | organisation
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    name_folded: Mapped[str] = mapped_column(String(200), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dossiers: Mapped[list["Dossier"]] = relationship(back_populates="subject")


class Procedure(Base):
    """An administrative procedure of the national catalogue (e.g. ``1.001193`` Đăng ký khai sinh)."""

    __tablename__ = "procedures"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    required_types: Mapped[list[str]] = mapped_column(default=list)
    days: Mapped[int] = mapped_column(Integer, default=5)  # time limit, working days
    result_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # 0006_once: a certification procedure (chứng thực) is due the same day, or the next working
    # day when received after 15:00 (Decree 23/2015)
    certification: Mapped[bool] = mapped_column(Boolean, default=False)


class Dossier(Base):
    """A dossier (hồ sơ) received for one subject and one procedure."""

    __tablename__ = "dossiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"))
    channel: Mapped[str] = mapped_column(String(16), default="counter")  # counter | postal | online
    unit: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    # received | processing | paused | completed | returned
    pause_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    apology_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # 0006_once: the due date given on the receipt (moved only by time spent paused, never by an
    # apology: on-time counts against it); an officer's declaration that it will be late; the
    # answer of the identity check made when the dossier was opened
    original_due_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    declared_late_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    identity_status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # match | no_match | unavailable

    # 0013_dossier_flow: what the counter takes besides the applicant (phone, address, number of
    # sets, the fee in đồng), who holds the dossier now (unit, officer, the step's due time), the
    # decision and the result chosen for it, and how the result was handed over
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    sets: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    fee: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    holder_unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # staff username
    step_due_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # approved | refused
    result_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    handover: Mapped[dict[str, Any]] = mapped_column(default=dict)

    subject: Mapped[Subject] = relationship(back_populates="dossiers")
    procedure: Mapped[Procedure] = relationship()
    persons: Mapped[list["DossierPerson"]] = relationship(back_populates="dossier", order_by="DossierPerson.id")
    components: Mapped[list["Component"]] = relationship(back_populates="dossier", order_by="Component.id")


class DossierPerson(Base):
    """A person a dossier concerns besides its applicant (0013_dossier_flow): a spouse, a child, a
    parent, the deceased, the person who authorised the applicant. Their papers belong in the dossier."""

    __tablename__ = "dossier_persons"
    __table_args__ = (UniqueConstraint("dossier_id", "subject_id", name="uq_dossier_person"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))  # registry.persons.ROLES
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dossier: Mapped["Dossier"] = relationship(back_populates="persons")
    subject: Mapped[Subject] = relationship()


class Document(Base):
    """A digitized document: a searchable PDF in the content-addressed store plus what OCR read."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the stored PDF (two documents may share it)
    size: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    mime: Mapped[str] = mapped_column(String(64), default="application/pdf")
    text: Mapped[str] = mapped_column(Text, default="")
    text_folded: Mapped[str] = mapped_column(Text, default="")
    doc_type: Mapped[str] = mapped_column(String(40), default="khac", index=True)
    type_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    field_confidences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quality: Mapped[str] = mapped_column(String(16), default="ok")  # ok | review
    digitization_code: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True, index=True)
    ingest_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_journal.id"), nullable=True, index=True)
    page_from: Mapped[int] = mapped_column(Integer, default=1)
    page_to: Mapped[int] = mapped_column(Integer, default=1)
    source_name: Mapped[str] = mapped_column(String(500), default="")
    # identity by input (ocr.content_key: the source files' sha256 and page ranges); NULL for
    # documents sohoa made itself (certified copies) and for rows older than migration 0010
    content_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # 0006_once: what kind of document (a scan, a certified copy made from one, a document taken
    # from the national store), the original a certified copy was made from, and the document-level
    # metadata of results and official papers (registry.metadata)
    kind: Mapped[str] = mapped_column(String(16), default="scan", index=True)
    certified_from_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True, index=True)
    doc_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)

    components: Mapped[list["Component"]] = relationship(back_populates="document")


class Component(Base):
    """A component (thành phần hồ sơ) of a dossier, satisfied by a document."""

    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("dossier_id", "document_id", name="uq_component_dossier_document"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True, index=True)
    origin: Mapped[str] = mapped_column(String(16), default="scanned")  # scanned | reused | online
    routed_by: Mapped[str] = mapped_column(String(16), default="")  # qr | folder | pid | manual | reuse
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # 0006_once: the component's state (registry.components.STATES; NULL = derived from origin),
    # the legal reason a component was not scanned, and a note (e.g. the national database record)
    state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    exempt_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    dossier: Mapped[Dossier] = relationship(back_populates="components")
    document: Mapped[Document | None] = relationship(back_populates="components")


class Result(Base):
    """A result (kết quả giải quyết) of a dossier: the document issued, and how long it is valid."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), nullable=True, index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    reusable: Mapped[bool] = mapped_column(Boolean, default=True)
    electronic: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IngestEntry(Base):
    """The ingest journal: one row per file seen in the inbox, written before any work on it."""

    __tablename__ = "ingest_journal"
    __table_args__ = (Index("ix_ingest_state_next", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rel_path: Mapped[str] = mapped_column(String(1000))  # path relative to the inbox, as found
    name: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer, default=0)
    mtime: Mapped[float] = mapped_column(Float, default=0.0)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # vocab.kinds.EntryState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    work_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    final_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    route_hint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # dossier code from sub-folder
    batch_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)  # files taken together
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("ingest_journal.id"), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    pages_total: Mapped[int | None] = mapped_column(Integer, nullable=True)  # OCR progress, for the live inbox
    pages_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Counter(Base):
    """Transactional sequences: dossier numbers per day, certification numbers per (book, year)."""

    __tablename__ = "counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Officer(Base):
    """A certifying officer (người có thẩm quyền chứng thực) or the organisation seal."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="officer")  # officer | seal
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(300), default="")  # certifying body, e.g. UBND xã …
    cert_pem: Mapped[str] = mapped_column(Text, default="")
    cert_fingerprint: Mapped[str] = mapped_column(String(64), default="", index=True)
    key_ref: Mapped[str] = mapped_column(String(1000), default="")  # pkcs12 path or pkcs11 URI
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked | disabled
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # migration 0009 (signing): when and why the officer's right to sign was revoked
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # left | key-compromise | …
    # 0013_dossier_flow: the staff account whose key this is (only they are offered it)
    staff_username: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class CertifiedCopy(Base):
    """An electronic certified copy: one certification act (one number) may make several copies."""

    __tablename__ = "certified_copies"
    __table_args__ = (UniqueConstraint("book", "year", "number", name="uq_certified_book_year_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    book: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    signed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="allocated")  # vocab.kinds.ActState
    signed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # migration 0002 (signing): every copy of the act, the PAdES level reached, the last failure
    signed_document_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    level: Mapped[str | None] = mapped_column(String(8), nullable=True)  # B-B | B-T | B-LT
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class CertificationRefusal(Base):
    """Staff declined to certify an original; the reason is kept (the product spec's certified copy)."""

    __tablename__ = "certification_refusals"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReuseEvent(Base):
    """The once-only ledger: each time a document is reused instead of asking for paper again."""

    __tablename__ = "reuse_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), nullable=True, index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), nullable=True)
    system: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ApiClient(Base):
    """Another system allowed to call the API; the bearer token is stored only as a hash."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class AuditEvent(Base):
    """Who read or changed which subject's data, and when. The only place a full ID may appear."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # client:<name> | staff:<user> | system
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True, index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)



class Unit(Base):
    """A unit of the office (đơn vị): a commune's one-stop counter, a district or province office.
    Staff belong to one; a dossier is held by one (``Dossier.unit`` is its code)."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. 000.00.01.H29
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16), default="commune")  # commune | district | province
    parent_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class Staff(Base):
    """A counter clerk, certifying officer or manager who signs in to the web UI."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="clerk")  # clerk | officer | manager
    password_hash: Mapped[str] = mapped_column(String(300))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # None: the office's own unit


class DocumentSubject(Base):
    """A person a document names (0006_once): both spouses of a marriage certificate, the holder
    of an ID card; ``source`` says how it is known (fields | qr | decision | result)."""

    __tablename__ = "document_subjects"
    __table_args__ = (UniqueConstraint("document_id", "subject_id", name="uq_document_subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="fields")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdentityCheck(Base):
    """One call of the identity verifier when a dossier was opened (0006_once): what was asked
    (masked), by whom, and the answer (match | no_match | unavailable)."""

    __tablename__ = "identity_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    verifier: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    officer: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxEvent(Base):
    """The transactional outbox of the portal sync (issue 12): one row per change the national
    portal must know, written in the same transaction as the change. ``seq`` orders the events of
    one dossier; ``key`` is the idempotency key the portal deduplicates on."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("dossier_code", "seq", name="uq_outbox_dossier_seq"),
                      Index("ix_outbox_state_dossier", "state", "dossier_code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))  # dossier.received | dossier.step | … (registry.outbox.KINDS)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | acknowledged | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # last delivery attempt
    acked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class SyncLease(Base):
    """Who sends the outbox now: one sender at a time across processes and machines (per ``name``)."""

    __tablename__ = "sync_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    until: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class BacklogRun(Base):
    """One ``sohoa backlog import SOURCE``: the folder, the manifest, and when it ran."""

    __tablename__ = "backlog_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(1000), index=True)
    manifest: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="listing")  # listing | ready | finished
    total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reported_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # its closing report was given


class BacklogItem(Base):
    """The backlog journal: one row per scan (one result) of a run, committed before any work on it.

    States: pending → working (leased) → imported | review | rejected | duplicate."""

    __tablename__ = "backlog_items"
    __table_args__ = (UniqueConstraint("run_id", "rel_path", name="uq_backlog_run_path"),
                      Index("ix_backlog_state", "run_id", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("backlog_runs.id"), index=True)
    rel_path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)  # of the scan as found
    size: Mapped[int] = mapped_column(Integer, default=0)
    row_no: Mapped[int | None] = mapped_column(Integer, nullable=True)  # manifest line, when any
    row: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the manifest row, parsed
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    read: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what OCR read (for review)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


# -- the web UI (issue 11): sign-in lockout and session revocation on Staff, certification requests --
Staff.failed_logins = mapped_column(Integer, default=0, server_default="0", nullable=False)  # in a row
Staff.locked_until = mapped_column(DateTime(timezone=True), nullable=True)
Staff.last_login_at = mapped_column(DateTime(timezone=True), nullable=True)
Staff.session_epoch = mapped_column(Integer, default=0, server_default="0", nullable=False)  # bump = sign out everywhere


class CertificationRequest(Base):
    """A clerk marked a scanned original "cần chứng thực" with the number of copies asked; the
    certifying officer's queue is the pending ones. Certified or refused, the row keeps the outcome."""

    __tablename__ = "certification_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), nullable=True)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # vocab.kinds.CertState
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    certified_copy_id: Mapped[int | None] = mapped_column(ForeignKey("certified_copies.id"), nullable=True)
    refusal_id: Mapped[int | None] = mapped_column(ForeignKey("certification_refusals.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # migration 0011: the batch signing it (``host:pid``) and until when its claim holds
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    document: Mapped[Document] = relationship()
    dossier: Mapped[Dossier | None] = relationship()
Index("ix_dossiers_procedure_received", Dossier.procedure_code, Dossier.received_at)
Index("ix_dossiers_unit_received", Dossier.unit, Dossier.received_at)
Index("ix_dossiers_due_at", Dossier.due_at)
Index("ix_audit_object", AuditEvent.object_type, AuditEvent.object_id)


class StaffSession(Base):
    """A signed-in session of the staff UI, held on the server (0014_sessions): the cookie carries
    only a random token whose SHA-256 is the key. Sign-out, idle expiry and the session's age end
    the row, and with it every copy of the cookie."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_why: Mapped[str | None] = mapped_column(String(16), nullable=True)  # logout | idle | age
