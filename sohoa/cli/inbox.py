"""Pipeline commands: watch (the inbox), run (the main job), worker (scaled mode), and the quarantine
(list, retry, delete: the journal's operations, as the web page uses them)."""
from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from sohoa.cli.context import Ctx, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(watch)
    cli.add_command(run)
    cli.add_command(worker)
    cli.add_command(quarantine)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from vocab.text import RedactPids

    for h in logging.getLogger().handlers:  # every record, whichever logger wrote it: no ID number in the log
        if not any(isinstance(f, RedactPids) for f in h.filters):
            h.addFilter(RedactPids())
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    # watchdog reports a harmless race when its emitter is stopped while events are queued
    logging.getLogger("watchdog").setLevel(logging.CRITICAL)


def _report(ctx: Ctx, stats) -> None:
    by_dossier: dict[str, int] = {}
    for _doc, code in stats.attached:
        by_dossier[code] = by_dossier.get(code, 0) + 1
    obj = {"files": stats.files, "documents": stats.documents, "attached": len(stats.attached),
           "dossiers": by_dossier, "unassigned": stats.unassigned, "quarantined": stats.quarantined,
           "duplicates": stats.duplicates, "retried": stats.retried}
    human = (f"processed {stats.files} file(s): {stats.documents} document(s), {len(stats.attached)} attached, "
             f"{stats.unassigned} unassigned, {stats.quarantined} quarantined, {stats.duplicates} duplicate(s)")
    for code, n in sorted(by_dossier.items()):
        human += f"\n  dossier {code}: +{n} component(s)"
    ctx.emit(obj, human)


def _runtime(ctx: Ctx, workers: int | None, quiet: float | None):
    from sohoa.config import with_overrides
    from sohoa.jobs.runtime import Runtime

    settings = with_overrides(ctx.settings, workers=workers, quiet_seconds=quiet)
    ctx.settings = settings
    return Runtime(settings, ctx.db)


@click.command()
@click.option("--once", is_flag=True, help="Process what is complete in the inbox, wait for that work, exit.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="OCR worker processes (default: cores).")
@click.option("--quiet", type=float, default=None, help="Seconds a file must stay unchanged before it is taken.")
@click.option("-v", "--verbose", is_flag=True)
@pass_ctx
def watch(ctx: Ctx, once: bool, workers: int | None, quiet: float | None, verbose: bool) -> None:
    """Watch the inbox: each finished scan is journaled, OCR'd, typed and attached to its dossier.

    Scans land in $SOHOA_HOME/inbox (or a sub-folder named after a dossier code). Finished files
    go to done/, unreadable ones to quarantine/ with a <name>.reason.txt beside them.
    """
    _logging(verbose)
    rt = _runtime(ctx, workers, quiet)
    try:
        if once:
            _report(ctx, rt.run_once())
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"watching {ctx.settings.inbox} (Ctrl-C to stop)", err=True)
        rt.run_forever(stop)
        _report(ctx, rt.stats)
    finally:
        rt.close()


@click.command()
@click.option("--once", is_flag=True, help="Process the inbox once and exit (no web server).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="OCR worker processes (default: cores).")
@click.option("--no-web", is_flag=True, help="Do not start the web server.")
@click.option("-v", "--verbose", is_flag=True)
@pass_ctx
def run(ctx: Ctx, once: bool, workers: int | None, no_web: bool, verbose: bool) -> None:
    """The main job: watch the inbox with in-process workers and serve the web UI/API."""
    from sohoa.jobs.certification import recover

    _logging(verbose)
    recover(ctx.db)  # certification requests a killed batch left "signing" go back to the queue
    rt = _runtime(ctx, workers, None)
    server = None
    try:
        if once:
            _report(ctx, rt.run_once())
            return
        if not no_web:
            server = _start_web(ctx)
        stop = threading.Event()
        _start_sync(ctx, stop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"watching {ctx.settings.inbox}" + (f"; web on http://{ctx.settings.web_host}:"
                                                         f"{ctx.settings.web_port}" if server else ""), err=True)
        rt.run_forever(stop)
        _report(ctx, rt.stats)
    finally:
        if server is not None:
            server.should_exit = True
        rt.close()


def _start_sync(ctx: Ctx, stop: threading.Event) -> None:
    """The portal sync worker in the background (nothing when SOHOA_PORTAL_URL is empty)."""
    from sohoa.jobs.sync import start_background

    logging.getLogger("httpx").setLevel(logging.WARNING)
    start_background(ctx.settings, ctx.db, stop)


def _start_web(ctx: Ctx):
    try:
        from sohoa.web.app import create_app  # type: ignore[import-not-found]
    except ImportError:
        return None
    import uvicorn

    app = create_app(ctx.settings, ctx.db, freeze_gc=True)
    server = uvicorn.Server(uvicorn.Config(app, host=ctx.settings.web_host, port=ctx.settings.web_port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True, name="web").start()
    return server


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Batches run at once in this worker (their pages share one OCR process pool).")
@click.option("-v", "--verbose", is_flag=True)
@pass_ctx
def worker(ctx: Ctx, concurrency: int, verbose: bool) -> None:
    """Scaled mode: run ingest jobs from the queue at SOHOA_BROKER_URL (redis:// or amqp://).

    Start as many as you like, on any machine that shares the registry database
    (SOHOA_DATABASE_URL) and SOHOA_HOME; `sohoa watch`/`sohoa run` with the same
    SOHOA_BROKER_URL enqueue the batches.
    """
    import os

    from sohoa.jobs.tasks import make_app

    _logging(verbose)
    if not ctx.settings.broker_url:
        raise click.ClickException("SOHOA_BROKER_URL is not set: without a broker, `sohoa run` works in-process")
    ctx.db  # fail early when the registry is not initialised
    app = make_app(ctx.settings)
    _start_sync(ctx, threading.Event())  # one sender across all workers: the outbox lease decides
    app.worker_main(["worker", "-P", "threads", "-c", str(concurrency), "-Q", ctx.settings.queue, "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "-l", "DEBUG" if verbose else "INFO",
                     "-n", f"sohoa-{os.getpid()}@%h"])


@click.group()
def quarantine() -> None:
    """Files the inbox could not read: list them, put one back in the inbox, or delete one."""


@quarantine.command("list")
@pass_ctx
def quarantine_list(ctx: Ctx) -> None:
    """The quarantined files still in quarantine/, newest first, with their reason."""
    from registry.queues import quarantined_entries

    with ctx.db.session() as s:
        rows = quarantined_entries(s)
    for r in rows:
        reason = (r["error"] or "").splitlines()[0] if r["error"] else ""
        ctx.emit({"id": r["id"], "name": r["name"], "size": r["size"], "at": r["at"], "reason": r["error"]},
                 f"#{r['id']} {r['name']} ({r['size']} byte): {reason}")


def _staff_act(ctx: Ctx, entry_id: int, act: str) -> str:
    """One of the journal's staff operations on a quarantined file, as this user (audited)."""
    from sohoa.cli.lifecycle import _staff
    from sohoa.jobs.host import make_journal

    journal = make_journal(ctx.settings, ctx.db)
    op = journal.retry_quarantined if act == "retry" else journal.delete_quarantined
    return op(entry_id, actor=_staff(ctx))


@quarantine.command("retry")
@click.argument("entry_id", type=int)
@pass_ctx
def quarantine_retry(ctx: Ctx, entry_id: int) -> None:
    """Put quarantined file ENTRY_ID back in the inbox to be read again."""
    name = _staff_act(ctx, entry_id, "retry")
    ctx.emit({"id": entry_id, "retried": True, "inbox_name": name},
             f"Đã đưa tệp {name} trở lại hộp thư để nhận dạng lại.")


@quarantine.command("delete")
@click.argument("entry_id", type=int)
@pass_ctx
def quarantine_delete(ctx: Ctx, entry_id: int) -> None:
    """Delete quarantined file ENTRY_ID (its journal row stays, for the audit trail)."""
    name = _staff_act(ctx, entry_id, "delete")
    ctx.emit({"id": entry_id, "deleted": True, "name": name}, f"Đã xóa tệp {name} khỏi thư mục cách ly.")
