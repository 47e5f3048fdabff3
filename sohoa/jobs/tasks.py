"""The scaled mode: the same ingest job (``sohoa.jobs.inbox.process_batch``) as a Celery task.

``SOHOA_BROKER_URL=redis://…`` or ``amqp://…`` makes ``sohoa watch``/``run`` enqueue each batch
instead of running it in-process; ``sohoa worker`` on any number of machines (sharing the
registry database and ``SOHOA_HOME``) runs them. Messages are acknowledged only after the job
(``acks_late``), so a worker that dies mid-page leaves its batch to be delivered again, and the
journal's lease lets the next worker take it over.

The app is made from the caller's :class:`~sohoa.config.Settings`: a worker's job context is built
from those (``sohoa.jobs.host.JobHost``, once per worker process, on the first task), never from
environment variables read behind the caller's back.
"""
from __future__ import annotations

import logging
import threading

from celery import Celery

from sohoa.jobs.backlog import BACKLOG_TASK
from sohoa.config import Settings

TASK = "sohoa.process_batch"
log = logging.getLogger("sohoa.worker")


def make_app(settings: Settings) -> Celery:
    app = Celery("sohoa", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.queue,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    host_lock = threading.Lock()
    host: list = []  # the worker's JobHost, built on the first task

    def process_batch_task(entry_ids: list[int]) -> dict:
        from registry.db import Database
        from sohoa.jobs.host import JobHost

        with host_lock:
            if not host:
                host.append(JobHost(settings, Database(settings.db_url)))
        out = host[0].run(list(entry_ids))
        log.info("batch %s: %d document(s), %d quarantined, %d to retry", entry_ids, len(out.documents),
                 len(out.quarantined), len(out.retry))
        return {"documents": out.documents, "quarantined": out.quarantined, "retry": out.retry}

    def backlog_items_task(item_ids: list[int]) -> dict:
        from registry.db import Database
        from sohoa.jobs.backlog import BacklogContext, process_items
        from sohoa.jobs.host import JobHost

        with host_lock:
            if not host:
                host.append(JobHost(settings, Database(settings.db_url)))
        h = host[0]
        out = process_items(BacklogContext(settings, h.db, h.ctx.store, h.ctx.executor, h.ctx.sealer), list(item_ids))
        if out.pool_broken:  # a page worker died (its pages were read again alone): a fresh pool for the next
            h.renew_pool()
        return {"states": out.states, "pages": out.pages}

    app.task(name=TASK)(process_batch_task)
    app.task(name=BACKLOG_TASK)(backlog_items_task)
    return app
