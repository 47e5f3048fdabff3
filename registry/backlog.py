"""The backlog journal (digitizing results issued before sohoa): one row per scan of a run,
committed before any work on it, and every later step a state change of that row.

States: ``pending`` → ``working`` (leased to one worker) → ``imported`` | ``review`` | ``rejected``
| ``duplicate``. A result is recorded (document, subject, Result) in the same transaction that
marks its row ``imported``, so a kill at any point either left the row to do again or finished
it: nothing is lost, nothing is recorded twice. Leases of dead workers go back to ``pending``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import service
from registry.intake import Incoming, IntakeTx
from registry.models import BacklogItem, BacklogRun, Document, Result
from registry.store import Store
from vocab.clock import as_utc, iso, utcnow
from vocab.errors import Conflict, Invalid, NotFound

__all__ = ["PlannedItem", "Decision", "open_run", "mark_reported", "add_items", "mark_ready", "claim", "release", "recover",
           "item", "record_result", "finish_if_held", "take_for_review", "back_to_review", "reject_reviewed", "note_settled",
           "REVIEW_OWNER", "given_back", "pending_ids", "known_paths", "finish_run", "finish", "status", "listing", "latest_run", "STATES", "DONE_STATES"]

STATES = ("pending", "working", "imported", "review", "rejected", "duplicate")
STATE_LABELS = {"pending": "chờ xử lý", "working": "đang xử lý", "imported": "đã nhập", "review": "cần xem lại",
                "rejected": "bị từ chối", "duplicate": "trùng kết quả đã có"}
DONE_STATES = ("imported", "review", "rejected", "duplicate")
NUMBER_FIELDS = ("so_ky_hieu", "so", "so_hieu", "so_phat_hanh")


@dataclass(frozen=True)
class PlannedItem:
    rel_path: str
    sha256: str
    size: int
    row_no: int | None
    row: dict[str, Any]
    problem: str | None = None  # rejected before any work (bad manifest row, missing file)


@dataclass(frozen=True)
class Decision:
    """What the importer concluded for one scan, to be recorded with the scan's PDF."""

    subject: str
    doc_type: str
    fields: dict[str, str]  # what OCR read plus the manifest's metadata (manifest wins)
    manifest_fields: tuple[str, ...]  # names that came from the manifest
    issued_on: dt.date | None
    valid_until: dt.date | None


# -- runs and the listing ----------------------------------------------------------------------

def open_run(s: Session, source: str, manifest: str | None) -> tuple[BacklogRun, bool]:
    """The run of ``source`` to resume, or a new one. Returns (run, resumed).

    A run is the same run until its report has been given: the latest run of ``source`` is
    resumed while it is unfinished, and also when it finished but the import was killed before
    it could report (``reported_at`` empty), so that report still counts the whole run."""
    run = s.scalar(select(BacklogRun).where(BacklogRun.source == source).order_by(BacklogRun.id.desc()).limit(1))
    if run is not None and (run.state != "finished" or run.reported_at is None):
        return run, True
    run = BacklogRun(source=source, manifest=manifest, state="listing")
    s.add(run)
    s.flush()
    return run, False


def mark_reported(s: Session, run_id: int) -> None:
    """The run's closing report has been given: importing the source again starts a new run."""
    run = s.get(BacklogRun, run_id)
    if run is not None and run.state == "finished" and run.reported_at is None:
        run.reported_at = utcnow()


def known_paths(s: Session, run_id: int) -> set[str]:
    return set(s.scalars(select(BacklogItem.rel_path).where(BacklogItem.run_id == run_id)))


def add_items(s: Session, run_id: int, items: Iterable[PlannedItem]) -> int:
    """Journal planned scans (those not journaled yet); problems are rejected at once."""
    have = known_paths(s, run_id)
    n = 0
    now = utcnow()
    for it in items:
        if it.rel_path in have:
            continue
        s.add(BacklogItem(run_id=run_id, rel_path=it.rel_path, sha256=it.sha256, size=it.size, row_no=it.row_no,
                          row=it.row, state="rejected" if it.problem else "pending", reason=it.problem,
                          finished_at=now if it.problem else None))
        have.add(it.rel_path)
        n += 1
    s.flush()
    return n


def mark_ready(s: Session, run: BacklogRun) -> None:
    run.state = "ready"
    run.total = s.scalar(select(func.count()).select_from(BacklogItem).where(BacklogItem.run_id == run.id)) or 0


def latest_run(s: Session, run_id: int | None = None) -> BacklogRun | None:
    if run_id is not None:
        return s.get(BacklogRun, run_id)
    return s.scalar(select(BacklogRun).order_by(BacklogRun.id.desc()).limit(1))


# -- leases ------------------------------------------------------------------------------------

REVIEW_OWNER = "review@"  # prefix of the lease of a review item an officer is settling


def _settling(it: BacklogItem) -> bool:
    """Leased to an officer settling it from the review queue (not to an importer)."""
    return (it.lease_owner or "").startswith(REVIEW_OWNER)


def _stale(it: BacklogItem, alive: Callable[[str], bool], now: dt.datetime) -> bool:
    owner = (it.lease_owner or "").removeprefix(REVIEW_OWNER)
    return not alive(owner) or (it.lease_until is not None and as_utc(it.lease_until) < now)


def recover(s: Session, run_id: int, alive: Callable[[str], bool]) -> int:
    """Rows left ``working`` by a dead (or expired) worker go back to ``pending``; a review item
    whose settling was cut off goes back to ``review``."""
    now, n = utcnow(), 0
    for it in s.scalars(select(BacklogItem).where(BacklogItem.run_id == run_id, BacklogItem.state == "working")):
        if _stale(it, alive, now):
            back = "review" if _settling(it) else "pending"
            it.state, it.lease_owner, it.lease_until = back, None, None
            n += 1
    return n


def pending_ids(s: Session, run_id: int, *, limit: int | None = None, exclude: Iterable[int] = ()) -> list[int]:
    q = (select(BacklogItem.id).where(BacklogItem.run_id == run_id, BacklogItem.state == "pending")
         .order_by(BacklogItem.id))
    ex = list(exclude)
    if ex:
        q = q.where(BacklogItem.id.not_in(ex))
    return list(s.scalars(q.limit(limit) if limit else q))


def given_back(s: Session, run_id: int) -> list[tuple[int, int]]:
    """(id, attempts) of rows pending again after a worker took them (released or recovered)."""
    return [tuple(r) for r in s.execute(select(BacklogItem.id, BacklogItem.attempts).where(
        BacklogItem.run_id == run_id, BacklogItem.state == "pending", BacklogItem.attempts > 0))]


def claim(s: Session, ids: list[int], owner: str, *, lease: dt.timedelta, alive: Callable[[str], bool],
          max_attempts: int = 10, gave_up: Callable[[int], str] | None = None) -> list[int]:
    """Lease the rows still to do (pending, or working under a dead or expired lease). A row
    claimed ``max_attempts`` times already (it crashed or failed each time) is rejected instead,
    with the reason ``gave_up(attempts)`` (the caller's catalogue sentence)."""
    now, out = utcnow(), []
    for it in s.scalars(select(BacklogItem).where(BacklogItem.id.in_(ids)).order_by(BacklogItem.id).with_for_update()):
        stale = it.state == "working" and not _settling(it) and _stale(it, alive, now)  # an officer's is not ours
        if (it.state == "pending" or stale) and it.attempts >= max_attempts:
            why = gave_up(it.attempts) if gave_up else f"bỏ qua sau {it.attempts} lần xử lý lỗi"
            it.state, it.reason, it.finished_at = "rejected", why, now
            it.lease_owner = it.lease_until = None
        elif it.state == "pending" or stale:
            it.state, it.lease_owner, it.lease_until = "working", owner, now + lease
            it.attempts += 1
            out.append(it.id)
    return out


def release(s: Session, ids: list[int], owner: str) -> None:
    """Give rows back (a transient failure such as a broken worker pool): another pass takes them."""
    for it in s.scalars(select(BacklogItem).where(BacklogItem.id.in_(ids), BacklogItem.state == "working",
                                                  BacklogItem.lease_owner == owner)):
        it.state, it.lease_owner, it.lease_until = "pending", None, None


def item(s: Session, item_id: int) -> tuple[BacklogItem, BacklogRun]:
    it = s.get(BacklogItem, item_id)
    if it is None:
        raise NotFound(f"không có mục tồn đọng #{item_id}")
    return it, s.get(BacklogRun, it.run_id)


def _owned(s: Session, item_id: int, owner: str) -> BacklogItem | None:
    it = s.execute(select(BacklogItem).where(BacklogItem.id == item_id).with_for_update()).scalar_one_or_none()
    if it is None or it.state != "working" or it.lease_owner != owner:
        return None  # finished by another worker meanwhile (its lease was taken over)
    return it


# -- settling the review queue ------------------------------------------------------------------

def _in_review(s: Session, item_id: int, *, also: Callable[[BacklogItem], bool] = lambda _it: False) -> BacklogItem:
    """The item, locked, when it waits in the review queue (or ``also`` accepts it); else why not."""
    it = s.execute(select(BacklogItem).where(BacklogItem.id == item_id).with_for_update()).scalar_one_or_none()
    if it is None:
        raise NotFound(f"không có mục tồn đọng #{item_id}")
    if it.state != "review" and not also(it):
        raise Conflict(f"mục tồn đọng #{item_id} không ở hàng chờ xem lại (trạng thái: {STATE_LABELS.get(it.state, it.state)})")
    return it


def take_for_review(s: Session, item_id: int, owner: str, *, lease: dt.timedelta,
                    alive: Callable[[str], bool]) -> tuple[BacklogItem, BacklogRun]:
    """Lease a review item to the officer settling it (``owner`` = ``host:pid`` of that process).
    A settling cut off before (its process died) may be taken again."""
    now = utcnow()
    it = _in_review(s, item_id, also=lambda it: it.state == "working" and _settling(it) and _stale(it, alive, now))
    it.state, it.lease_owner, it.lease_until = "working", REVIEW_OWNER + owner, now + lease
    s.flush()
    return it, s.get(BacklogRun, it.run_id)


def back_to_review(s: Session, item_id: int, owner: str) -> None:
    """The settling failed (the scan could not be read again, a check refused): the item waits again."""
    it = s.get(BacklogItem, item_id)
    if it is not None and it.state == "working" and it.lease_owner == REVIEW_OWNER + owner:
        it.state, it.lease_owner, it.lease_until = "review", None, None


def reject_reviewed(s: Session, item_id: int, reason: str, *, actor: str) -> BacklogItem:
    """An officer rejects a review item (a scan that is not a result to keep, a wrong paper)."""
    it = _in_review(s, item_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("cần ghi lý do từ chối")
    before = it.reason
    it.state, it.reason, it.finished_at = "rejected", f"cán bộ từ chối: {reason}", utcnow()
    service.audit(s, actor, "backlog.reject", object_type="backlog_item", object_id=str(it.id),
                  detail={"run": it.run_id, "file": it.rel_path, "row": it.row_no, "reason": reason,
                          "review_reason": before})
    return it


def note_settled(s: Session, item_id: int, row: dict[str, Any], *, actor: str, review_reason: str | None,
                 override_reason: str | None) -> None:
    """Keep the row as the officer corrected it, and audit the settling (with what was corrected)."""
    it = s.get(BacklogItem, item_id)
    before = dict(it.row or {})
    it.row = dict(row)
    service.audit(s, actor, "backlog.accept", object_type="backlog_item", object_id=str(it.id),
                  detail={"run": it.run_id, "file": it.rel_path, "row": it.row_no, "review_reason": review_reason,
                          "corrected": {k: [before.get(k), v] for k, v in row.items() if before.get(k) != v},
                          "override_reason": override_reason, "state": it.state, "document": it.document_id})


# -- endings -------------------------------------------------------------------------------------

def finish(s: Session, item_id: int, owner: str, state: str, reason: str | None, read: dict[str, Any],
           pages: int) -> bool:
    """End a row as ``review`` or ``rejected`` (with the reason) and keep what OCR read."""
    it = _owned(s, item_id, owner)
    if it is None:
        return False
    it.state, it.reason, it.read, it.pages = state, reason, read, pages
    it.finished_at, it.lease_owner, it.lease_until = utcnow(), None, None
    return True


def finish_if_held(s: Session, item_id: int, owner: str) -> bool:
    """A scan whose exact bytes were imported before is a duplicate: settled before any OCR."""
    it = _owned(s, item_id, owner)
    if it is None or not it.sha256:
        return False
    held = s.scalar(select(BacklogItem.document_id).where(BacklogItem.sha256 == it.sha256, BacklogItem.id != it.id,
                                                          BacklogItem.state == "imported").limit(1))
    if held is None:
        return False
    it.state, it.reason, it.document_id = "duplicate", f"cùng bản quét với kết quả đã số hóa (tài liệu #{held})", held
    it.finished_at, it.lease_owner, it.lease_until = utcnow(), None, None
    return True


def _held(s: Session, subject_id: int, doc: Decision, sha256: str, item_id: int) -> tuple[int | None, str | None]:
    """A result already held: the same scan imported before, or the same subject, type and number."""
    same_scan = s.scalar(select(BacklogItem.document_id).where(BacklogItem.sha256 == sha256, BacklogItem.id != item_id,
                                                               BacklogItem.state == "imported").limit(1))
    if same_scan is not None:
        return same_scan, f"cùng bản quét với kết quả đã số hóa (tài liệu #{same_scan})"
    number = next((doc.fields[k] for k in NUMBER_FIELDS if doc.fields.get(k)), None)
    if not number:
        return None, None
    for d_id, fields in s.execute(select(Document.id, Document.fields).where(
            Document.subject_id == subject_id, Document.doc_type == doc.doc_type)):
        if any((fields or {}).get(k) == number for k in NUMBER_FIELDS):
            return d_id, f"kết quả số {number} của chủ thể này đã có (tài liệu #{d_id})"
    return None, None


def record_result(s: Session, store: Store, item_id: int, owner: str, incoming: Incoming, doc: Decision, *,
                  agency: str, actor: str = "system:backlog") -> tuple[str, int | None]:
    """Record one backlog scan as a digitized, reusable Result of its subject, in the transaction
    that ends its row. Returns (final state, document id); ("", None) when the row was no longer ours."""
    it = _owned(s, item_id, owner)
    if it is None:
        return "", None
    subj = service.get_or_create_subject(s, doc.subject, doc.fields.get("ho_ten"))
    s.flush()
    now = utcnow()
    held, why = _held(s, subj.id, doc, it.sha256, it.id)
    if held is None:
        rec = IntakeTx(s, store).record(incoming)
        if not rec.new:
            held, why = rec.id, f"cùng nội dung với tài liệu #{rec.id} đã lưu"
    if held is not None:
        it.state, it.reason, it.document_id = "duplicate", why, held
    else:
        d = s.get(Document, rec.id)
        confs = dict(d.field_confidences or {})
        confs.update({k: {"confidence": 1.0, "flags": ["manifest"]} for k in doc.manifest_fields})
        d.doc_type, d.fields, d.field_confidences = doc.doc_type, dict(doc.fields), confs
        d.subject_id, d.valid_until = subj.id, doc.valid_until
        d.digitization_code = f"{agency}.KQ.{d.id}"
        result = Result(dossier_id=None, document_id=d.id, valid_from=doc.issued_on, valid_until=doc.valid_until,
                        reusable=True, electronic=False)
        s.add(result)
        s.flush()
        it.state, it.reason, it.document_id, it.result_id = "imported", None, d.id, result.id
        service.audit(s, actor, "backlog.import", subject_id=subj.id, object_type="document", object_id=str(d.id),
                      detail={"run": it.run_id, "file": it.rel_path, "row": it.row_no})
    it.pages, it.finished_at, it.lease_owner, it.lease_until = incoming.pages, now, None, None
    return it.state, it.document_id


# -- what people see -------------------------------------------------------------------------------

def status(s: Session, run_id: int | None = None, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """Progress of a run (the latest by default): counts per state, pages done, rate and ETA.

    The rate is pages per minute since the run started (until it finished); the ETA assumes the
    remaining scans have as many pages as those done."""
    run = latest_run(s, run_id)
    if run is None:
        return None
    now = now or utcnow()
    counts = dict(s.execute(select(BacklogItem.state, func.count()).where(BacklogItem.run_id == run.id)
                            .group_by(BacklogItem.state)).all())
    pages, last, nworked = s.execute(
        select(func.coalesce(func.sum(BacklogItem.pages), 0), func.max(BacklogItem.finished_at), func.count())
        .where(BacklogItem.run_id == run.id, BacklogItem.pages > 0, BacklogItem.finished_at.is_not(None))).one()
    total = sum(counts.values())
    todo = counts.get("pending", 0) + counts.get("working", 0)
    started = as_utc(run.started_at)
    end = as_utc(run.finished_at) if run.finished_at else (now if todo else as_utc(last) or now)
    minutes = max((end - started).total_seconds(), 1e-6) / 60
    rate = pages / minutes if pages else 0.0
    per_item = pages / nworked if nworked else None
    eta = (todo * per_item / rate * 60) if (rate and per_item and todo) else (0.0 if not todo else None)
    return {"run": run.id, "source": run.source, "manifest": run.manifest, "state": run.state, "total": total,
            **{k: counts.get(k, 0) for k in STATES}, "done": total - todo, "pages": int(pages),
            "pages_per_min": round(rate, 1), "eta_seconds": None if eta is None else round(eta),
            "started_at": iso(started), "finished_at": iso(as_utc(run.finished_at))}


def listing(s: Session, run_id: int, states: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = s.scalars(select(BacklogItem).where(BacklogItem.run_id == run_id, BacklogItem.state.in_(states))
                     .order_by(BacklogItem.id))
    return [{"id": it.id, "file": it.rel_path, "row": it.row_no, "state": it.state, "reason": it.reason,
             "document_id": it.document_id, "read": it.read or {}, "manifest": dict(it.row or {})} for it in rows]


def finish_run(s: Session, run_id: int) -> bool:
    """Close the run once nothing is left to do; True when it is finished."""
    run = s.get(BacklogRun, run_id)
    if run.state == "finished":
        return True
    todo = s.scalar(select(func.count()).select_from(BacklogItem).where(
        BacklogItem.run_id == run_id, BacklogItem.state.in_(("pending", "working"))))
    if run.state == "ready" and not todo:
        run.state, run.finished_at = "finished", utcnow()
        return True
    return False
