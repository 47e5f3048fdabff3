"""Pages that update themselves: server-sent events. The stream polls the registry once a second
for a cheap fingerprint of what the page shows (the journal for the inbox, the components for a
dossier) and, when it changes, sends the re-rendered region; the page's script swaps it in.
A stream ends after a few minutes and the browser's EventSource reconnects by itself."""
from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from registry import backlog
from registry.models import Component, Dossier, IngestEntry
from registry.queues import inbox_counts, journal_rows
from registry.service import placement_fingerprint
from sohoa.web.base import CLERK, MANAGER, Principal, Web, load_dossier
from sohoa.web.dossiers import dossier_view
from vocab.errors import NotFound

STREAM_SECONDS = 300
POLL_SECONDS = 1.0


def _sse(event: str, data: str) -> str:
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def journal_mark(s) -> tuple:
        return tuple(s.execute(select(func.count(), func.max(IngestEntry.id), func.max(IngestEntry.updated_at))
                               .select_from(IngestEntry)).one())

    def inbox_mark() -> tuple:
        with web.db.session() as s:
            run = backlog.status(s)  # a backlog import's progress, when one is running
            return journal_mark(s) + (s.scalar(select(func.sum(IngestEntry.pages_done))),) + placement_fingerprint(s) + (
                (run["run"], run["state"], run["done"], run["pages"]) if run else ())

    def inbox_view() -> dict:
        with web.db.session() as s:
            return {"rows": journal_rows(s), "counts": inbox_counts(s), "backlog": backlog.status(s)}

    def dossier_of(s, code: str) -> Dossier:
        d = s.scalar(select(Dossier).where(Dossier.code == code))
        if d is None:
            raise NotFound(f"Không có hồ sơ mã {code}.")
        return d

    def dossier_mark(code: str) -> tuple:
        with web.db.session() as s:
            d = dossier_of(s, code)
            comps = s.execute(select(func.count(), func.max(Component.id)).where(Component.dossier_id == d.id)).one()
            return (d.status, d.due_at, tuple(comps), journal_mark(s))

    def dossier_state(code: str, role: str, csrf: str) -> dict:
        with web.db.session() as s:
            d = dossier_of(s, code)
            return {"d": dossier_view(s, d), "can_act": role == CLERK, "csrf": csrf}

    async def stream(request: Request, mark_of, view_of, render, *, initial: bool = False):
        """Send the rendered regions whenever the fingerprint changes (and at once with ``initial``:
        the inbox counts on the dossier list are filled in by the first event). Only the
        fingerprint is read every second; what the regions show is read when it has changed."""
        started = time.monotonic()
        last = None
        yield "retry: 2000\n\n"
        while time.monotonic() - started < STREAM_SECONDS:
            if await request.is_disconnected():
                return
            mark = await run_in_threadpool(mark_of)
            if mark != last:
                if last is not None or initial:
                    ctx = await run_in_threadpool(view_of)
                    for event, html in render(ctx):
                        yield _sse(event, html)
                last = mark
            else:
                yield ": ping\n\n"
            await asyncio.sleep(POLL_SECONDS)

    @r.get("/events/inbox")
    async def inbox_events(request: Request, u: Principal = Depends(web.require(CLERK))):
        csrf = web.csrf_token(request)

        def render(ctx):
            yield "inbox", web.fragment("_inbox_rows.html", rows=ctx["rows"])
            yield "backlog", web.fragment("_backlog.html", backlog=ctx["backlog"])
            yield "counts", json.dumps(ctx["counts"])

        return StreamingResponse(stream(request, inbox_mark, inbox_view, render, initial=True),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @r.get("/events/dossiers/{code}")
    async def dossier_events(request: Request, code: str, u: Principal = Depends(web.require(CLERK, MANAGER))):
        csrf = web.csrf_token(request)
        with web.db.session() as s:
            d = load_dossier(s, code, u)  # need-to-know, as the dossier's page
            web.audit(s, u, "dossier.watch", subject_id=d.subject_id, object_type="dossier", object_id=d.code)

        def render(ctx):
            yield "components", web.fragment("_components.html", **ctx)
            yield "status", web.fragment("_status.html", d=ctx["d"])

        return StreamingResponse(stream(request, lambda: dossier_mark(code), lambda: dossier_state(code, u.role, csrf), render),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return r
