"""The portal sync outbox: every change the national public service portal must know is written
here, in the same transaction as the change itself (the transactional outbox pattern), so a
change is never committed without its event and an event never exists without its change.

Each event belongs to one dossier and carries a per-dossier sequence number ``seq``; its
idempotency key ``<dossier code>/<seq>`` is what the portal deduplicates on. The sync worker
(``sohoa.jobs.sync``) sends the events of a dossier strictly in ``seq`` order: event n+1 only after
the portal acknowledged event n. States: ``pending`` → ``acknowledged``, or ``failed`` (dead
letter) after too many failed attempts, until ``sohoa sync retry`` makes it pending again.

Payloads are sohoa's own shapes (ISO 8601 times with the +07:00 offset); the portal client maps
them to the portal's fields (``sohoa.jobs.portal.to_portal``).
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.models import (Component, Document, Dossier, OutboxEvent, Result, Staff, SyncLease)
from vocab.clock import as_utc, iso, local, utcnow
from vocab.errors import Invalid

__all__ = [
    "KINDS", "REUSE_ORIGINS", "emit", "backfill", "dossier_event", "component_event", "step", "Pending", "heads",
    "acknowledge", "fail", "result_json", "reuse_origin", "details", "retry_failed", "status", "alerts", "take_lease", "release_lease",
]

KINDS = ("dossier.received", "dossier.step", "dossier.paused", "dossier.resumed", "dossier.completed",
         "dossier.returned", "dossier.apology", "component.digitized", "component.reused")
REUSE_ORIGINS = ("component", "result", "national_store")
ROLE_TITLES = {"clerk": "Cán bộ Bộ phận Một cửa", "officer": "Người có thẩm quyền xử lý",
               "manager": "Lãnh đạo đơn vị"}
PENDING, ACKNOWLEDGED, FAILED = "pending", "acknowledged", "failed"


# -- writing events (inside the caller's transaction) --------------------------------------------

def _officer(s: Session, actor: str) -> tuple[str, str]:
    """(name, title) of whoever made the change: a staff account's name and role, else the actor."""
    who = (actor or "system").strip()
    username = who.split(":", 1)[1] if who.startswith("staff:") else who
    st = s.scalar(select(Staff).where(Staff.username == username)) if username else None
    if st is not None:
        return st.name or st.username, ROLE_TITLES.get(st.role, st.role)
    if who in ("", "system", "ingest"):
        return "Hệ thống sohoa", "Xử lý tự động"
    return username, ROLE_TITLES["clerk"]


def emit(s: Session, dossier: Dossier, kind: str, data: dict[str, Any] | None = None, *,
         actor: str = "system", now: dt.datetime | None = None) -> OutboxEvent:
    """Append one event for ``dossier`` to the outbox, in the caller's transaction.

    Every event carries the processing step it records (officer, title, unit, time, due time and
    the dossier's status after the change)."""
    if kind not in KINDS:
        raise Invalid(f"unknown outbox event kind {kind!r}")
    if dossier.id is None:
        s.flush()
    # serialise writers of one dossier (a no-op lock on SQLite, whose writers are serial anyway)
    s.execute(select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    seq = (s.scalar(select(func.max(OutboxEvent.seq)).where(OutboxEvent.dossier_code == dossier.code)) or 0) + 1
    now = now or utcnow()
    name, title = _officer(s, actor)
    payload = {"dossier": dossier.code, "status": dossier.status,
               "step": {"officer": name, "title": title, "unit": dossier.unit, "at": iso(now),
                        "due_at": iso(dossier.due_at)},
               **(data or {})}
    ev = OutboxEvent(key=f"{dossier.code}/{seq}", dossier_code=dossier.code, seq=seq, kind=kind,
                     payload=payload, state=PENDING, created_at=now)
    s.add(ev)
    return ev


def dossier_event(s: Session, d: Dossier, kind: str, *, actor: str = "system", **data: Any) -> OutboxEvent:
    """A lifecycle event; ``dossier.received`` also carries what the portal needs to open its record."""
    if kind == "dossier.received":
        subj, proc = d.subject, d.procedure
        data = {"procedure": d.procedure_code, "procedure_name": proc.name if proc else "",
                "subject": subj.identifier if subj else "", "subject_kind": subj.kind if subj else "",
                "subject_name": subj.name if subj else "", "channel": d.channel,
                "received_at": iso(d.received_at), "persons": _persons(s, d), **data}
    return emit(s, d, kind, {k: _plain(v) for k, v in data.items()}, actor=actor)


def _persons(s: Session, d: Dossier) -> list[dict[str, str]]:
    """The persons concerned besides the applicant (role, identifier, name) for the portal's record."""
    from registry.models import DossierPerson, Subject

    return [{"role": p.role, "subject": subj.identifier, "name": subj.name}
            for p, subj in s.execute(select(DossierPerson, Subject).join(Subject, Subject.id == DossierPerson.subject_id)
                                     .where(DossierPerson.dossier_id == d.id).order_by(DossierPerson.id))]


def reuse_origin(s: Session, document_id: int | None) -> str:
    """Where a reused document comes from: an issued result, else an earlier dossier's component."""
    if document_id is not None and s.scalar(select(Result.id).where(Result.document_id == document_id).limit(1)):
        return "result"
    return "component"


def component_event(s: Session, comp: Component, *, actor: str = "system", origin: str | None = None) -> OutboxEvent:
    """A component attached to a dossier: digitized here (scanned), or reused (with its origin:
    from a component, from a result, from the national store)."""
    doc: Document | None = comp.document
    data: dict[str, Any] = {"doc_type": comp.doc_type, "document_id": comp.document_id,
                            "origin": comp.origin, "routed_by": comp.routed_by}
    if doc is not None:
        data.update(pages=doc.pages, sealed=bool(doc.sealed), sha256=doc.sha256,
                    digitization_code=doc.digitization_code)
    if comp.origin == "reused":
        origin = origin or reuse_origin(s, comp.document_id)
        if origin not in REUSE_ORIGINS:
            raise Invalid(f"reuse origin is one of {', '.join(REUSE_ORIGINS)}")
        data["reuse_origin"] = origin
        return emit(s, comp.dossier, "component.reused", data, actor=actor)
    return emit(s, comp.dossier, "component.digitized", data, actor=actor)


def backfill(s: Session, *, limit: int = 1000) -> int:
    """A ``dossier.received`` event (with the dossier's present status) for dossiers that have none:
    those opened before the outbox existed. Returns how many were added (at most ``limit``)."""
    have = select(OutboxEvent.dossier_code).distinct()
    n = 0
    for d in s.scalars(select(Dossier).where(Dossier.code.not_in(have)).order_by(Dossier.id).limit(limit)):
        dossier_event(s, d, "dossier.received", actor="system", backfilled=True)
        n += 1
    return n


def step(s: Session, d: Dossier, name: str, *, actor: str, officer: str | None = None,
         title: str | None = None, unit: str | None = None, due_at: dt.datetime | None = None) -> OutboxEvent:
    """A processing step that changes no status (e.g. "Thẩm định hồ sơ"), with who did it and when it is due."""
    name = (name or "").strip()
    if not name:
        raise Invalid("a processing step needs a name")
    ev = emit(s, d, "dossier.step", {"name": name}, actor=actor)
    st = ev.payload["step"]
    st.update({k: v for k, v in (("officer", officer), ("title", title), ("unit", unit)) if v})
    if due_at is not None:
        st["due_at"] = iso(due_at)
    return ev


def result_json(s: Session, result: Result | None) -> dict[str, Any] | None:
    """The result a completed dossier issued, as the portal needs it (or None)."""
    if result is None:
        return None
    doc = s.get(Document, result.document_id)
    return {"document_id": result.document_id, "doc_type": doc.doc_type if doc else None,
            "digitization_code": doc.digitization_code if doc else None, "electronic": bool(result.electronic),
            "valid_from": iso(result.valid_from), "valid_until": iso(result.valid_until),
            "reusable": bool(result.reusable)}


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date)):
        return iso(v)
    return v


# -- the sender's side -------------------------------------------------------------------------

@dataclass(frozen=True)
class Pending:
    """An event ready to send (plain data: the sender keeps no ORM objects across threads)."""

    id: int
    key: str
    dossier_code: str
    seq: int
    kind: str
    payload: dict[str, Any]
    attempts: int


def heads(s: Session, *, limit: int = 500, now: dt.datetime | None = None) -> list[Pending]:
    """For each dossier, its first event not yet acknowledged, when that event is pending and due.

    A dossier whose first unacknowledged event is failed (dead letter) sends nothing more until
    the failure is retried: the portal never sees a later step before an earlier one."""
    now = now or utcnow()
    first = (select(OutboxEvent.dossier_code, func.min(OutboxEvent.seq).label("seq"))
             .where(OutboxEvent.state != ACKNOWLEDGED).group_by(OutboxEvent.dossier_code).subquery())
    rows = s.scalars(select(OutboxEvent).join(first, (first.c.dossier_code == OutboxEvent.dossier_code)
                                               & (first.c.seq == OutboxEvent.seq))
                     .where(OutboxEvent.state == PENDING,
                            (OutboxEvent.next_attempt_at.is_(None)) | (OutboxEvent.next_attempt_at <= now))
                     .order_by(OutboxEvent.id).limit(limit)).all()
    out = []
    for e in rows:
        out.append(Pending(e.id, e.key, e.dossier_code, e.seq, e.kind, _with_codes(s, e.payload or {}), e.attempts))
    return out


def _with_codes(s: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Fill in digitization codes given after the event was written (a document gets its code right
    after it is attached or issued, in the same transaction); a code never changes once given."""
    def code(part: dict[str, Any]) -> dict[str, Any]:
        if part.get("document_id") and not part.get("digitization_code"):
            part = {**part, "digitization_code": s.scalar(select(Document.digitization_code)
                                                           .where(Document.id == part["document_id"]))}
        return part

    payload = code(dict(payload))
    if isinstance(payload.get("result"), dict):
        payload["result"] = code(payload["result"])
    return payload


def acknowledge(s: Session, ids: list[int], now: dt.datetime | None = None) -> int:
    """Mark events acknowledged by the portal (idempotent: a second acknowledgement changes nothing)."""
    if not ids:
        return 0
    now = now or utcnow()
    res = s.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids), OutboxEvent.state != ACKNOWLEDGED)
                    .values(state=ACKNOWLEDGED, acked_at=now, sent_at=now, last_error=None, next_attempt_at=None,
                            attempts=OutboxEvent.attempts + 1))
    return res.rowcount or 0


def fail(s: Session, ids: list[int], error: str, *, max_attempts: int, backoff: float, backoff_max: float,
         now: dt.datetime | None = None) -> list[int]:
    """A failed delivery: try again after an exponential backoff (with jitter), or dead-letter the
    event once it has failed ``max_attempts`` times. Returns the ids dead-lettered now."""
    now = now or utcnow()
    dead = []
    for e in s.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids), OutboxEvent.state == PENDING)):
        e.attempts += 1
        e.sent_at, e.last_error = now, error[:1000]
        if e.attempts >= max_attempts:
            e.state, e.next_attempt_at = FAILED, None
            dead.append(e.id)
        else:
            delay = min(backoff_max, backoff * 2 ** (e.attempts - 1)) * random.uniform(0.5, 1.0)
            e.next_attempt_at = now + dt.timedelta(seconds=delay)
    return dead


def retry_failed(s: Session, dossier_code: str | None = None) -> int:
    """Dead-lettered events back to pending, attempts reset (``sohoa sync retry``)."""
    q = update(OutboxEvent).where(OutboxEvent.state == FAILED)
    if dossier_code:
        q = q.where(OutboxEvent.dossier_code == dossier_code)
    res = s.execute(q.values(state=PENDING, attempts=0, next_attempt_at=None))
    return res.rowcount or 0


# -- what people see -----------------------------------------------------------------------------

def status(s: Session) -> dict[str, Any]:
    """``{"events", "acknowledged", "pending", "failed", "rate"}``; rate = acknowledged / events in %,
    100.0 when there is nothing to send."""
    counts = dict(s.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state)).all())
    events = sum(counts.values())
    acked = counts.get(ACKNOWLEDGED, 0)
    return {"events": events, "acknowledged": acked, "pending": counts.get(PENDING, 0),
            "failed": counts.get(FAILED, 0), "rate": round(100.0 * acked / events, 2) if events else 100.0}


def details(s: Session) -> dict[str, Any]:
    """More for people: events attempted at least once, dossiers blocked by a dead letter, the oldest
    pending event and the last error."""
    sent = s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.attempts > 0)) or 0
    blocked = s.scalar(select(func.count(func.distinct(OutboxEvent.dossier_code)))
                       .where(OutboxEvent.state == FAILED)) or 0
    oldest = s.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.state == PENDING))
    last_error = s.scalar(select(OutboxEvent.last_error).where(OutboxEvent.state != ACKNOWLEDGED,
                                                               OutboxEvent.last_error.is_not(None))
                          .order_by(OutboxEvent.sent_at.desc()).limit(1))
    unsynced = s.scalar(select(func.count()).select_from(Dossier).where(
        Dossier.code.not_in(select(OutboxEvent.dossier_code).distinct()))) or 0
    return {"sent": sent, "blocked_dossiers": blocked, "oldest_pending": iso(as_utc(oldest)),
            "last_error": last_error, "dossiers_without_events": unsynced}


def _pct(rate: float) -> str:
    return f"{rate:.2f}".replace(".", ",") + "%"  # Vietnamese decimal comma


def alerts(s: Session, *, stale_after: dt.timedelta = dt.timedelta(hours=1),
           now: dt.datetime | None = None) -> list[dict[str, str]]:
    """Messages the web UI shows staff (Vietnamese): dead letters, and events waiting too long."""
    now = now or utcnow()
    st, more = status(s), details(s)
    out = []
    if st["failed"]:
        out.append({"level": "error", "message": (
            f"{st['failed']} sự kiện không gửi được lên Cổng Dịch vụ công quốc gia "
            f"({more['blocked_dossiers']} hồ sơ đang bị chặn). Kiểm tra kết nối rồi chạy "
            f"“sohoa sync retry”.")})
    oldest = as_utc(s.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.state == PENDING)))
    if oldest is not None and now - oldest > stale_after:
        out.append({"level": "warning", "message": (
            f"{st['pending']} sự kiện đang chờ đồng bộ lên Cổng Dịch vụ công quốc gia, lâu nhất từ "
            f"{local(oldest):%H:%M ngày %d/%m/%Y}. Tỷ lệ đồng bộ: {_pct(st['rate'])}.")})
    return out


# -- one sender at a time -----------------------------------------------------------------------

def take_lease(s: Session, owner: str, *, seconds: float = 30.0, name: str = "portal",
               alive: Callable[[str], bool] = lambda _owner: True, now: dt.datetime | None = None) -> bool:
    """Take or renew the sender lease; False when another sender holds it, its lease has not run
    out and ``alive(owner)`` says it is still there (a process killed on this machine is not)."""
    now = now or utcnow()
    row = s.execute(select(SyncLease).where(SyncLease.name == name).with_for_update()).scalar_one_or_none()
    if row is None:
        row = SyncLease(name=name)
        s.add(row)
    elif row.owner and row.owner != owner and as_utc(row.until) and as_utc(row.until) > now and alive(row.owner):
        return False
    row.owner, row.until = owner, now + dt.timedelta(seconds=seconds)
    s.flush()
    return True


def release_lease(s: Session, owner: str, name: str = "portal") -> None:
    s.execute(update(SyncLease).where(SyncLease.name == name, SyncLease.owner == owner)
              .values(owner=None, until=None))
