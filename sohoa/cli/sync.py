"""Portal sync commands: ``sync status|retry|run`` and the dossier steps the portal is told of
(``dossier step``, ``dossier return``)."""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

import click

from sohoa.cli.context import Ctx, pass_ctx
from vocab.clock import VN_TZ
from vocab.errors import Unavailable


def register(cli: click.Group) -> None:
    cli.add_command(sync)
    dossier = cli.commands.get("dossier")
    if dossier is not None:
        dossier.add_command(dossier_step)
        dossier.add_command(dossier_return)


@click.group()
def sync() -> None:
    """Đồng bộ hồ sơ lên Cổng Dịch vụ công quốc gia (SOHOA_PORTAL_URL, SOHOA_PORTAL_TOKEN)."""


@sync.command("status")
@pass_ctx
def sync_status(ctx: Ctx) -> None:
    """Reconcile the outbox: events, acknowledged, pending, failed, and the sync rate (%)."""
    from registry import outbox

    with ctx.db.session() as s:
        st = outbox.status(s)
        more = outbox.details(s)
        alerts = outbox.alerts(s)
    if ctx.as_json:
        ctx.emit(st)
        return
    lines = [f"Tỷ lệ đồng bộ: {st['rate']:.2f}%  ({st['acknowledged']}/{st['events']} sự kiện đã được Cổng xác nhận)",
             f"  đã gửi ít nhất một lần: {more['sent']}   đang chờ: {st['pending']}   lỗi (dừng gửi): {st['failed']}",
             f"  Cổng: {ctx.settings.portal_url or '— chưa cấu hình SOHOA_PORTAL_URL, sự kiện chờ trong hàng đợi'}"]
    if more["dossiers_without_events"]:
        lines.append(f"  hồ sơ chưa có sự kiện nào (mở trước khi có hàng đợi): {more['dossiers_without_events']} — "
                     "chạy “sohoa sync backfill”")
    if more["blocked_dossiers"]:
        lines.append(f"  hồ sơ bị chặn bởi sự kiện lỗi: {more['blocked_dossiers']}")
    if more["last_error"] and (st["pending"] or st["failed"]):
        lines.append(f"  lỗi gần nhất: {more['last_error']}")
    lines += [f"  ! {a['message']}" for a in alerts]
    click.echo("\n".join(lines))


@sync.command("retry")
@click.option("--dossier", "code", default=None, help="Only the failed events of this dossier.")
@pass_ctx
def sync_retry(ctx: Ctx, code: str | None) -> None:
    """Send dead-lettered (failed) events again: back to pending, attempts reset."""
    from registry import outbox

    with ctx.db.session() as s:
        n = outbox.retry_failed(s, code)
    ctx.emit({"retried": n}, f"{n} sự kiện lỗi được đưa lại vào hàng đợi gửi")


@sync.command("backfill")
@pass_ctx
def sync_backfill(ctx: Ctx) -> None:
    """Queue a 'received' event for dossiers opened before the outbox existed."""
    from registry import outbox

    total = 0
    while True:
        with ctx.db.session() as s:
            n = outbox.backfill(s)
        total += n
        if not n:
            break
    ctx.emit({"backfilled": total}, f"{total} hồ sơ được đưa vào hàng đợi đồng bộ")


@sync.command("run")
@click.option("--until-idle", is_flag=True, help="Exit once nothing is left to send (failed events stay).")
@click.option("-v", "--verbose", is_flag=True)
@pass_ctx
def sync_run(ctx: Ctx, until_idle: bool, verbose: bool) -> None:
    """Run the sync worker in the foreground (`sohoa run` and `sohoa worker` run it too)."""
    from sohoa.cli.inbox import _logging
    from sohoa.jobs.sync import SyncWorker

    _logging(verbose)
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    worker = SyncWorker.from_settings(ctx.settings, ctx.db)
    if worker is None:
        raise Unavailable("SOHOA_PORTAL_URL chưa được cấu hình: sự kiện chờ trong hàng đợi")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        worker.run_forever(stop, until_idle=until_idle, idle=0.2 if until_idle else 1.0)
    finally:
        worker.close()
    from registry import outbox

    with ctx.db.session() as s:
        st = outbox.status(s)
    ctx.emit(st, f"Tỷ lệ đồng bộ: {st['rate']:.2f}% ({st['acknowledged']}/{st['events']})")


def _due(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        raise click.BadParameter(f"{value!r}: ngày theo dạng dd/mm/yyyy", param_hint="--due")
    return dt.datetime.combine(day, dt.time(17, 0), tzinfo=VN_TZ)


@click.command("step")
@click.argument("code")
@click.option("--name", "step_name", required=True, help="What was done, e.g. 'Thẩm định hồ sơ'.")
@click.option("--officer", default=None, help="Who did it (default: the signed-in user).")
@click.option("--title", default=None, help="Their title (chức danh).")
@click.option("--unit", default=None, help="Their unit (default: the dossier's unit).")
@click.option("--due", default=None, help="When this step is due (dd/mm/yyyy).")
@pass_ctx
def dossier_step(ctx: Ctx, code: str, step_name: str, officer: str | None, title: str | None, unit: str | None,
                 due: str | None) -> None:
    """Record a processing step of dossier CODE for the portal (quá trình xử lý)."""
    from registry import outbox, service

    due_at = _due(due)
    with ctx.db.session() as s:
        d = service.get_dossier(s, code)
        ev = outbox.step(s, d, step_name, actor="staff:cli", officer=officer, title=title, unit=unit,
                         due_at=due_at)
        obj = {"dossier": d.code, "key": ev.key, "step": ev.payload["step"], "name": step_name}
    ctx.emit(obj, f"{obj['dossier']}: đã ghi bước xử lý “{step_name}”")


@click.command("return")
@click.argument("code")
@click.option("--reason", required=True, help="Written reason (required).")
@pass_ctx
def dossier_return(ctx: Ctx, code: str, reason: str) -> None:
    """Return dossier CODE to the applicant without a result (trả lại hồ sơ), with the reason."""
    from registry import service
    from registry.lifecycle import return_dossier

    with ctx.db.session() as s:
        d = return_dossier(s, service.get_dossier(s, code), reason, actor="staff:cli")
        obj = {"code": d.code, "status": d.status, "reason": reason}
    ctx.emit(obj, f"{obj['code']}: đã trả lại hồ sơ ({reason})")
