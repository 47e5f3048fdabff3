"""The scaled mode: the same ingest job (``sohoa.pipeline.process_batch``) as a Celery task.

``SOHOA_BROKER_URL=redis://…`` or ``amqp://…`` makes ``sohoa watch``/``run`` enqueue each batch
instead of running it in-process; ``sohoa worker`` on any number of machines (sharing the
registry database and ``SOHOA_HOME``) runs them. Messages are acknowledged only after the job
(``acks_late``), so a worker that dies mid-page leaves its batch to be delivered again, and the
journal's lease lets the next worker take it over.
"""
from __future__ import annotations

import logging
import threading

from celery import Celery

from sohoa.config import Settings, load_settings

QUEUE = "sohoa.ingest"
TASK = "sohoa.process_batch"
log = logging.getLogger("sohoa.worker")

_ctx = None
_ctx_lock = threading.Lock()


def make_app(broker_url: str, queue: str = QUEUE) -> Celery:
    app = Celery("sohoa", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    app.task(name=TASK)(process_batch_task)
    return app


def _context():
    """One context per worker process: settings, registry, OCR page pool and seal loaded once."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            from ingest.journal import Journal, Paths
            from registry.db import Database
            from registry.store import Store
            from sohoa.pipeline import JobContext
            from sohoa.runtime import load_sealer, page_pool

            st: Settings = load_settings()
            st.ensure_dirs()
            db = Database(st.db_url)
            journal = Journal(db, Paths(st.inbox, st.work_dir, st.done_dir, st.quarantine_dir))
            _ctx = JobContext(st, db, Store(st.store_dir), journal, page_pool(st.worker_count), load_sealer(st))
        return _ctx


def process_batch_task(entry_ids: list[int]) -> dict:
    from sohoa.pipeline import process_batch

    ctx = _context()
    out = process_batch(ctx, list(entry_ids))
    if out.pool_broken:
        global _ctx
        with _ctx_lock:
            _ctx = None
    log.info("batch %s: %d document(s), %d quarantined, %d to retry", entry_ids, len(out.documents),
             len(out.quarantined), len(out.retry))
    return {"documents": out.documents, "quarantined": out.quarantined, "retry": out.retry}
