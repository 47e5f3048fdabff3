"""Health and metrics on the web app's port: ``/healthz`` (the process answers), ``/readyz`` (the
registry is reachable and migrated, the inbox writable, the store present) and ``/metrics`` in the
Prometheus text format (``prometheus_client``; every name starts with ``sohoa_``).

The values are read at scrape time from the registry (the ingest journal, documents, outbox,
certification requests, officers' certificates), the inbox folder and the backup state file, so
they are right whichever process did the work (``sohoa run``, Celery workers, the CLI).
"""
from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

from sohoa.config import Settings

RECENT = 100  # the seconds-per-page gauge averages over this many last finished files


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def inbox_depth(inbox: Path) -> int:
    """Files waiting in the inbox (hidden and temporary names of writers not counted)."""
    n = 0
    for _root, dirs, files in os.walk(inbox):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        n += sum(1 for f in files if not f.startswith(".") and not f.startswith("~"))
    return n


def snapshot(settings: Settings, db) -> dict:
    """Every metric's value now, as plain numbers (the collector and tests read this)."""
    from cryptography import x509
    from sqlalchemy import func, select

    from registry.models import CertificationRequest, Document, IngestEntry, Officer, OutboxEvent
    from registry.service import unassigned_count
    from sohoa.ops.backup import last_backup_age
    from vocab.kinds import ACTIVE_STATES, EntryState

    now = dt.datetime.now(dt.timezone.utc)
    out: dict = {}
    with db.session() as s:
        out["documents"] = s.scalar(select(func.count()).select_from(Document).where(Document.kind == "scan")) or 0
        out["pages"] = s.scalar(select(func.coalesce(func.sum(Document.pages), 0)).where(Document.kind == "scan")) or 0
        states = dict(s.execute(select(IngestEntry.state, func.count()).group_by(IngestEntry.state)).all())
        out["queue"] = sum(states.get(str(st), 0) for st in ACTIVE_STATES)
        out["quarantined"] = states.get(str(EntryState.QUARANTINED), 0)
        out["files_done"] = states.get(str(EntryState.DONE), 0)
        done = s.execute(select(IngestEntry.created_at, IngestEntry.finished_at, IngestEntry.pages_total)
                         .where(IngestEntry.state == str(EntryState.DONE), IngestEntry.finished_at.is_not(None),
                                IngestEntry.pages_total > 0)
                         .order_by(IngestEntry.finished_at.desc()).limit(RECENT)).all()
        secs = sum(max(0.0, (_utc(f) - _utc(c)).total_seconds()) for c, f, _p in done)
        pages = sum(p for _c, _f, p in done)
        out["seconds_per_page"] = secs / pages if pages else 0.0
        out["unassigned"] = unassigned_count(s)
        sync = dict(s.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state)).all())
        out["sync_pending"] = sync.get("pending", 0)
        out["sync_failed"] = sync.get("failed", 0)
        oldest = s.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.state == "pending"))
        out["sync_lag"] = max(0.0, (now - _utc(oldest)).total_seconds()) if oldest else 0.0
        out["cert_pending"] = s.scalar(select(func.count()).select_from(CertificationRequest)
                                       .where(CertificationRequest.status == "pending")) or 0
        certs = []
        for oid, kind, pem in s.execute(select(Officer.id, Officer.kind, Officer.cert_pem)
                                        .where(Officer.status == "active")):
            if pem:
                c = x509.load_pem_x509_certificate(pem.encode())
                certs.append((str(oid), kind, (c.not_valid_after_utc - now).total_seconds() / 86400))
        out["certificates"] = certs
    out["inbox"] = inbox_depth(settings.inbox) if settings.inbox.is_dir() else 0
    age = last_backup_age(settings, now)
    out["backup_age"] = math.inf if age is None else age
    return out


class SohoaCollector:
    """A ``prometheus_client`` collector that reads :func:`snapshot` on each scrape."""

    def __init__(self, settings: Settings, db) -> None:
        self.settings, self.db = settings, db

    def describe(self):
        return []  # values come at collect time only; no registration-time query

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        v = snapshot(self.settings, self.db)
        yield CounterMetricFamily("sohoa_documents_processed", "Scanned documents stored in the registry.",
                                  value=v["documents"])
        yield CounterMetricFamily("sohoa_pages_processed", "Pages of the scanned documents stored.", value=v["pages"])
        yield CounterMetricFamily("sohoa_files_ingested", "Inbox files ingested (journal state done).",
                                  value=v["files_done"])
        yield GaugeMetricFamily("sohoa_seconds_per_page",
                                f"Seconds from journal to stored, per page, over the last {RECENT} files.",
                                value=v["seconds_per_page"])
        yield GaugeMetricFamily("sohoa_inbox_files", "Files waiting in the inbox folder.", value=v["inbox"])
        yield GaugeMetricFamily("sohoa_queue_depth", "Inbox files journaled and not finished (pending, working, retry).",
                                value=v["queue"])
        yield GaugeMetricFamily("sohoa_quarantined_files", "Inbox files in quarantine.", value=v["quarantined"])
        yield GaugeMetricFamily("sohoa_unassigned_documents", "Documents waiting to be routed to a dossier.",
                                value=v["unassigned"])
        yield GaugeMetricFamily("sohoa_sync_pending_events", "Portal events waiting in the outbox.",
                                value=v["sync_pending"])
        yield GaugeMetricFamily("sohoa_sync_failed_events", "Portal events given up on (dead letters).",
                                value=v["sync_failed"])
        yield GaugeMetricFamily("sohoa_sync_lag_seconds", "Age of the oldest portal event still waiting.",
                                value=v["sync_lag"])
        yield GaugeMetricFamily("sohoa_certification_requests_pending", "Certification requests waiting for an officer.",
                                value=v["cert_pending"])
        g = GaugeMetricFamily("sohoa_certificate_days_to_expiry", "Days until an active signer's certificate expires.",
                              labels=["officer_id", "kind"])
        for oid, kind, days in v["certificates"]:
            g.add_metric([oid, kind], days)
        yield g
        yield GaugeMetricFamily("sohoa_backup_age_seconds", "Seconds since the last good backup (+Inf: never).",
                                value=v["backup_age"])


def readiness(settings: Settings, db) -> list[str]:
    """What keeps this instance from doing work (Vietnamese); empty when ready."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    problems = []
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        if current != set(ScriptDirectory.from_config(db.alembic_config()).get_heads()):
            problems.append("lược đồ sổ đăng ký chưa nâng cấp: chạy `sohoa init`")
    except SQLAlchemyError:
        problems.append("không kết nối được sổ đăng ký")
    if not os.access(settings.inbox, os.W_OK | os.X_OK) or not settings.inbox.is_dir():
        problems.append("hộp thư đến không ghi được")
    if not settings.store_dir.is_dir():
        problems.append("không có kho lưu trữ")
    return problems


def mount_health(app, settings: Settings, db) -> None:
    """Add ``/healthz``, ``/readyz`` and ``/metrics`` to the FastAPI ``app``."""
    from fastapi import Response
    from fastapi.responses import JSONResponse
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SohoaCollector(settings, db))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        problems = readiness(settings, db)
        return JSONResponse({"ready": not problems, "problems": problems}, status_code=503 if problems else 200)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
