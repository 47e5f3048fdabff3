"""The life of a certification request, in one place: a clerk asks for certified copies of an
original (:func:`request` → ``pending``); an officer's batch claims it with a lease
(:func:`claim` → ``signing``, owner ``host:pid`` and an expiry); the signing either settles it
(:func:`settle` → ``certified``, in the same transaction as the register's row) or did not
happen (:func:`release` → ``pending``); an officer may refuse a pending one (:func:`refuse` →
``refused``). A batch killed between claim and release leaves requests ``signing``:
:func:`recover` puts back those whose owner is gone or whose lease ran out (at start and before
each batch). Each transition checks the current state (an illegal one raises
:class:`~vocab.errors.Conflict` in Vietnamese) and writes exactly one audit row per request.

The register numbers are the signing package's (``signing.book``): a number allocated for a
request that goes back to the queue is reused by its retry, never allocated twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.models import AuditEvent, CertificationRequest, CertifiedCopy, Component, Document, Staff
from vocab.clock import as_utc, utcnow
from vocab.errors import Conflict, Invalid, NotFound
from vocab.kinds import CERT_STATE_NAMES, CERTIFIED_COPY, OPEN_CERT_STATES, CertState

__all__ = ["CertState", "Claimed", "RequestView", "LEASE", "request", "claim", "release", "settle", "refuse",
           "recover", "open_request", "pending_document", "states", "queue", "recent", "for_document"]

LEASE = dt.timedelta(minutes=30)  # a claim's lease; a live local owner keeps it, a dead one loses it at once
MAX_COPIES = 100

# the legal moves: to-state → the states it may come from
_FROM: dict[CertState, tuple[CertState, ...]] = {
    CertState.SIGNING: (CertState.PENDING,),
    CertState.PENDING: (CertState.SIGNING,),
    CertState.CERTIFIED: (CertState.SIGNING,),
    CertState.REFUSED: (CertState.PENDING,),
}


@dataclass(frozen=True)
class Claimed:
    """A request held by a batch: what the signing needs."""

    id: int
    document_id: int
    copies: int


@dataclass(frozen=True)
class RequestView:
    """A request as the officer's queue, the recent decisions and a document's page show it."""

    id: int
    document_id: int
    doc_type: str | None
    pages: int | None
    copies: int
    status: str
    dossier: str | None
    requested_by: str
    created_at: dt.datetime | None
    decided_at: dt.datetime | None
    number: int | None = None
    book: str | None = None
    copy_ids: tuple[int, ...] = ()


def _by(actor: str) -> str:
    """The name kept on the request: a staff account's user name, else the actor as it is."""
    return actor.split(":", 1)[1] if actor.startswith("staff:") else actor


def _audit(s: Session, actor: str, action: str, x: CertificationRequest, **detail) -> None:
    s.add(AuditEvent(actor=actor, action=action, subject_id=x.document.subject_id if x.document else None,
                     object_type="document", object_id=str(x.document_id), detail={"request": x.id, **detail}))


def _refused(x: CertificationRequest, to: CertState) -> Conflict:
    now = CERT_STATE_NAMES.get(x.status, x.status)
    return Conflict(f"Yêu cầu chứng thực #{x.id} (văn bản #{x.document_id}) đang ở trạng thái «{now}»: "
                    f"không thể chuyển sang «{CERT_STATE_NAMES[to]}».")


def _move(s: Session, x: CertificationRequest, to: CertState, *also, **values) -> None:
    """Check the transition and make it as one conditional UPDATE (compare and set, with the
    conditions ``also``: if another batch moved the request meanwhile, nothing changes here
    either); an illegal one is refused in words the officer reads."""
    if x.status in _FROM[to]:
        done = s.execute(update(CertificationRequest).where(
            CertificationRequest.id == x.id, CertificationRequest.status.in_(_FROM[to]), *also)
            .values(status=to.value, **values).execution_options(synchronize_session=False)).rowcount
        s.refresh(x)
        if done:
            return
    raise _refused(x, to)


def _get(s: Session, request_id: int, *, lock: bool = False) -> CertificationRequest:
    x = s.get(CertificationRequest, request_id, with_for_update=lock)
    if x is None:
        raise NotFound(f"Không có yêu cầu chứng thực #{request_id}.")
    return x


def open_request(s: Session, document_id: int) -> CertificationRequest | None:
    """The document's request still in the queue or being signed, if any."""
    return s.scalars(select(CertificationRequest).where(CertificationRequest.document_id == document_id,
                                                        CertificationRequest.status.in_(OPEN_CERT_STATES))
                     .order_by(CertificationRequest.id).limit(1)).first()


def pending_document(s: Session, request_id: int) -> int:
    """The document of a request still in the queue (else :class:`NotFound`: decided, or taken
    by a batch)."""
    x = s.get(CertificationRequest, request_id)
    if x is None or x.status != CertState.PENDING:
        raise NotFound("Yêu cầu chứng thực này không còn trong hàng chờ.")
    return x.document_id


# -- transitions ------------------------------------------------------------------------------------

def request(s: Session, document_id: int, copies: int, *, actor: str, reuse_pending: bool = False) -> int:
    """Ask for ``copies`` certified copies of an original (→ ``pending``); returns the request id.
    A document has at most one open request: another is a conflict, unless ``reuse_pending``
    (the officer certifying straight from the command line takes the clerk's request, with the
    number of copies given now)."""
    if not 1 <= int(copies) <= MAX_COPIES:
        raise Invalid(f"Số bản sao từ 1 đến {MAX_COPIES}.")
    doc = s.get(Document, document_id)
    if doc is None:
        raise NotFound(f"Không có văn bản #{document_id}.")
    if doc.doc_type == CERTIFIED_COPY or doc.certified_from_id is not None:
        raise Invalid("Đây đã là bản sao chứng thực.")
    x = open_request(s, document_id)
    if x is not None:
        if not reuse_pending or x.status != CertState.PENDING:
            raise Conflict(f"Văn bản #{document_id} đã đang "
                           + ("chờ chứng thực." if x.status == CertState.PENDING else "được ký."))
        if x.copies == copies:
            return x.id
        _audit(s, actor, "certify.request", x, copies=copies, was=x.copies)
        x.copies = copies
        return x.id
    comp = s.scalars(select(Component).where(Component.document_id == document_id)
                     .order_by(Component.id).limit(1)).first()
    x = CertificationRequest(document_id=document_id, dossier_id=comp.dossier_id if comp else None, copies=copies,
                             status=CertState.PENDING.value, requested_by=_by(actor))
    s.add(x)
    s.flush()
    x.document = doc
    _audit(s, actor, "certify.request", x, copies=copies)
    return x.id


def claim(s: Session, request_ids: Iterable[int], *, actor: str, owner: str,
          lease: dt.timedelta = LEASE) -> list[Claimed]:
    """Hold pending requests for one batch (→ ``signing``, lease ``owner`` until now + ``lease``):
    all or none — a request already decided or held by another batch is a conflict (the session is
    rolled back: nothing claimed), so a second officer's batch cannot take it too."""
    ids = sorted({int(i) for i in request_ids})
    if not ids:
        raise Invalid("Hãy chọn ít nhất một văn bản trong hàng chờ.")
    # one conditional UPDATE first: of two batches racing for a request, exactly one takes it
    taken = s.execute(update(CertificationRequest).where(
        CertificationRequest.id.in_(ids), CertificationRequest.status.in_(_FROM[CertState.SIGNING]))
        .values(status=CertState.SIGNING.value, decided_by=_by(actor), lease_owner=owner,
                lease_until=utcnow() + lease).execution_options(synchronize_session=False)).rowcount
    if taken != len(ids):
        s.rollback()
        raise Conflict("Một số văn bản đã được xử lý hoặc đang được ký. Hãy tải lại hàng chờ.")
    rows = list(s.scalars(select(CertificationRequest).where(CertificationRequest.id.in_(ids))
                          .order_by(CertificationRequest.id)))
    for x in rows:
        _audit(s, actor, "certify.claim", x, owner=owner)
    s.flush()
    return [Claimed(x.id, x.document_id, x.copies) for x in rows]


def release(s: Session, request_ids: Iterable[int], *, actor: str, owner: str | None = None,
            reason: str = "") -> list[int]:
    """Requests whose signing did not happen go back to the queue (``signing`` → ``pending``);
    with ``owner``, only those that batch still holds. Returns the ids released."""
    ids = sorted({int(i) for i in request_ids})
    if not ids:
        return []
    held = [CertificationRequest.lease_owner == owner] if owner is not None else []
    out = []
    for x in list(s.scalars(select(CertificationRequest).where(
            CertificationRequest.id.in_(ids), CertificationRequest.status == CertState.SIGNING, *held)
            .order_by(CertificationRequest.id).with_for_update())):
        try:
            _move(s, x, CertState.PENDING, *held, decided_by=None, lease_owner=None, lease_until=None)
        except Conflict:  # settled or released meanwhile: not this call's to release
            continue
        _audit(s, actor, "certify.release", x, **({"reason": reason[:500]} if reason else {}))
        out.append(x.id)
    s.flush()
    return out


def settle(s: Session, request_id: int, *, certified_copy_id: int, actor: str, detail: dict) -> None:
    """The request's copies are signed and in the register (→ ``certified``). Called by the
    signing package in the transaction that records the act, so the register row and the request
    change together; ``detail`` (book, year, number, copies, level) goes in the act's audit row."""
    x = _get(s, request_id, lock=True)
    _move(s, x, CertState.CERTIFIED, decided_at=utcnow(), certified_copy_id=certified_copy_id,
          decided_by=x.decided_by or _by(actor), lease_owner=None, lease_until=None)
    _audit(s, actor, "certify", x, **detail)


def refuse(s: Session, request_id: int, *, refusal_id: int, actor: str, detail: dict | None = None) -> None:
    """The officer refuses a pending request (→ ``refused``) with the recorded refusal."""
    x = s.get(CertificationRequest, request_id, with_for_update=True)
    gone = NotFound("Yêu cầu chứng thực này không còn trong hàng chờ.")
    if x is None:
        raise gone
    try:
        _move(s, x, CertState.REFUSED, decided_by=_by(actor), decided_at=utcnow(), refusal_id=refusal_id)
    except Conflict:  # decided, or taken by a batch
        raise gone from None
    _audit(s, actor, "certify.refuse", x, **(detail or {}))


def recover(s: Session, alive: Callable[[str], bool], *, now: dt.datetime | None = None) -> list[int]:
    """Requests left ``signing`` by a batch that is gone (``alive(owner)`` false: a process of this
    machine that died) or whose lease ran out go back to ``pending``; one audit row each."""
    now = now or utcnow()
    stale = [x.id for x in s.scalars(select(CertificationRequest).where(
        CertificationRequest.status == CertState.SIGNING))
        if x.lease_until is None or as_utc(x.lease_until) < now or not alive(x.lease_owner or "")]
    return release(s, stale, actor="system", reason="recovered")


# -- reading ---------------------------------------------------------------------------------------

def states(s: Session, request_ids: Iterable[int]) -> dict[int, str]:
    """The current state of each request."""
    ids = sorted({int(i) for i in request_ids})
    return dict(s.execute(select(CertificationRequest.id, CertificationRequest.status)
                          .where(CertificationRequest.id.in_(ids))).all()) if ids else {}


def _views(s: Session, rows: list[CertificationRequest], names: bool = False) -> list[RequestView]:
    acts = {c.id: c for c in s.scalars(select(CertifiedCopy).where(
        CertifiedCopy.id.in_([x.certified_copy_id for x in rows if x.certified_copy_id])))} if rows else {}
    who = dict(s.execute(select(Staff.username, Staff.name)).all()) if names and rows else {}
    out = []
    for x in rows:
        cc = acts.get(x.certified_copy_id) if x.certified_copy_id else None
        copy_ids = tuple(cc.signed_document_ids or ([cc.signed_document_id] if cc.signed_document_id else [])) \
            if cc else ()
        out.append(RequestView(id=x.id, document_id=x.document_id, doc_type=x.document.doc_type,
                               pages=x.document.pages, copies=x.copies, status=x.status,
                               dossier=x.dossier.code if x.dossier else None,
                               requested_by=who.get(x.requested_by) or x.requested_by,
                               created_at=x.created_at, decided_at=x.decided_at,
                               number=cc.number if cc else None, book=cc.book if cc else None, copy_ids=copy_ids))
    return out


def queue(s: Session) -> list[RequestView]:
    """The officer's queue: pending requests, oldest first, with the requesting clerk's name."""
    rows = list(s.scalars(select(CertificationRequest).where(CertificationRequest.status == CertState.PENDING)
                          .order_by(CertificationRequest.id)))
    return _views(s, rows, names=True)


def recent(s: Session, limit: int = 30) -> list[RequestView]:
    """The latest requests no longer pending (being signed, certified, refused), newest first."""
    rows = list(s.scalars(select(CertificationRequest).where(CertificationRequest.status != CertState.PENDING)
                          .order_by(CertificationRequest.decided_at.desc(), CertificationRequest.id.desc())
                          .limit(limit)))
    return _views(s, rows)


def for_document(s: Session, document_id: int) -> list[RequestView]:
    """A document's requests, newest first."""
    rows = list(s.scalars(select(CertificationRequest).where(CertificationRequest.document_id == document_id)
                          .order_by(CertificationRequest.id.desc())))
    return _views(s, rows)
