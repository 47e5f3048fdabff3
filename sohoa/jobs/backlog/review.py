"""Settling the backlog's review queue: an officer corrects a row (the manifest's names and
checks), the scan is read again and checked against the corrected row, then sealed and recorded
as its subject's result — or, when the page still contradicts the row, kept in review unless the
officer gives a reason (audited) for the row to stand."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from ingest import core
from ingest.journal import lease_owner_alive
from ingest.reasons import for_exception
from ocr import OcrInputError
from registry import backlog as journal
from registry.store import sha256_file
from sohoa.jobs.backlog.decision import Review, decide
from sohoa.jobs.backlog.importer import LEASE, BacklogContext, incoming
from sohoa.jobs.backlog.manifest import check_values
from vocab.errors import Invalid
from vocab.text import nfc

__all__ = ["StillInReview", "CORRECTABLE", "correct_row", "settle"]

log = logging.getLogger(__name__)


class StillInReview(Invalid):
    """The corrected row still disagrees with the page (or still lacks a subject or a type)."""


CORRECTABLE = ("subject_id", "doc_type", "result_code", "number", "issued_on", "issuer", "valid_until")


def correct_row(row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The manifest row with an officer's corrections (same names and checks as the manifest's
    columns; dates as dd/mm/yyyy or dates). Raises Invalid with every problem found."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise Invalid(f"không sửa được cột {', '.join(unknown)}; các cột sửa được: {', '.join(CORRECTABLE)}")
    out = dict(row)
    out.update({k: v if isinstance(v, (dt.date, dt.datetime)) else nfc(str(v).strip())
                for k, v in changes.items() if v is not None})
    problems: list[str] = []
    issued, until = check_values(out.get("subject_id") or "", out.get("doc_type") or "", out.get("issued_on"),
                                  out.get("valid_until"), problems)  # the manifest keeps its dates as ISO text
    if problems:
        raise Invalid("; ".join(problems))
    out["issued_on"], out["valid_until"] = (d.isoformat() if d else None for d in (issued, until))
    return out


def settle(ctx: BacklogContext, item_id: int, changes: dict[str, Any], *, actor: str,
           override_reason: str | None = None) -> tuple[str, int | None]:
    """An officer settles a review item: the scan is read again, checked against the row as the
    officer corrected it, sealed and recorded as its subject's result. When the page still
    contradicts the row, ``override_reason`` (audited) lets the officer's row stand.
    Returns (final state ``imported`` | ``duplicate``, document id)."""
    override_reason = (override_reason or "").strip() or None
    with ctx.db.session() as s:
        it, run = journal.take_for_review(s, item_id, ctx.owner, lease=LEASE, alive=lease_owner_alive)
        path, row, was, sha = Path(run.source) / it.rel_path, dict(it.row or {}), it.reason, it.sha256
    try:
        row = correct_row(row, changes)
        if not sha or not path.is_file():
            raise Invalid(f"không còn bản quét {path}: không thể nhập mục #{item_id}")
        if sha256_file(path) != sha:
            raise Invalid(f"bản quét {path.name} đã đổi từ khi được lập danh sách: không thể nhập mục #{item_id}")
        try:  # read as the importer reads: the configured pixel budget, a failed page again alone
            res = core.read_scan(path, ctx.budget, sha256=sha)
        except (OcrInputError, OSError) as exc:
            raise Invalid(f"bản quét {path.name}: {for_exception(exc).message}", detail=str(exc)) from exc
        verdict = decide(row, res, trust_row=override_reason is not None)
        if isinstance(verdict, Review):
            raise StillInReview(f"mục #{item_id} vẫn cần xem lại: {verdict.message}", detail=verdict.message)
        with ctx.db.session() as s:
            state, doc_id = journal.record_result(s, ctx.store, item_id, journal.REVIEW_OWNER + ctx.owner,
                                                  incoming(ctx, path, res, verdict), verdict,
                                                  agency=ctx.settings.agency_code, actor=actor)
            if not state:
                raise Invalid(f"mục #{item_id} đã được người khác xử lý")
            journal.note_settled(s, item_id, row, actor=actor, review_reason=was, override_reason=override_reason)
        log.info("backlog #%d %s settled by %s → %s (document #%s)", item_id, path.name, actor, state, doc_id)
        return state, doc_id
    except BaseException:
        with ctx.db.session() as s:
            journal.back_to_review(s, item_id, ctx.owner)
        raise
