"""Backlog commands: ``backlog import SOURCE [--manifest FILE]``, ``status``, ``review``, and settling the review
queue with ``accept ITEM`` / ``reject ITEM --reason``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from sohoa.cli.context import Ctx, pass_ctx
from vocab.errors import NotFound


def register(cli: click.Group) -> None:
    cli.add_command(backlog)


@click.group()
def backlog() -> None:
    """Số hóa kết quả giải quyết TTHC còn hiệu lực (tồn đọng): nhập hàng loạt từ thư mục bản quét.

    \b
    A run, start to end:
      sohoa backlog import hop-01 --manifest hop-01/bang-ke.xlsx   # resumable: run it again after a crash
      sohoa backlog status                                         # from another terminal: rate, time left
      sohoa backlog review                                         # what needs a person, with the reason
      sohoa backlog accept 12 --subject 001088012345               # corrected, read again, imported
      sohoa backlog reject 13 --reason "bản quét của hồ sơ khác"
    """


def _hms(seconds: int | None) -> str:
    return "—" if seconds is None else f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _human_status(st: dict) -> str:
    eta_s = _hms(st.get("eta_seconds"))
    return (f"Lượt #{st['run']} {st['source']}: {st['done']}/{st['total']} bản quét xong — "
            f"đã nhập {st['imported']}, cần xem lại {st['review']}, bị từ chối {st['rejected']}, "
            f"trùng {st['duplicate']}; {st['pages']} trang, {st['pages_per_min']:.1f} trang/phút, còn lại ~{eta_s}")


class _Progress:
    """Rate and ETA on a terminal (rich); a line every few seconds elsewhere (logs, pipes)."""

    def __init__(self, enabled: bool) -> None:
        self.live = enabled and sys.stderr.isatty()
        self.bar = None
        self.last = 0.0
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]Số hóa tồn đọng"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]:.1f} trang/phút"), TimeElapsedColumn(),
                                TextColumn("còn {task.fields[eta]}"), TextColumn("{task.fields[note]}"),
                                console=Console(stderr=True), transient=False)
            self.task = self.bar.add_task("backlog", total=None, rate=0.0, eta="—", note="")
            self.bar.start()

    def __call__(self, st: dict) -> None:
        import time

        if self.bar is not None:
            self.bar.update(self.task, total=st["total"], completed=st["done"], rate=st["pages_per_min"],
                            eta=_hms(st["eta_seconds"]),
                            note=f"nhập {st['imported']} · xem lại {st['review']} · từ chối {st['rejected']} · "
                                 f"trùng {st['duplicate']}")
        elif time.monotonic() - self.last > 10:
            self.last = time.monotonic()
            click.echo(_human_status(st), err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@backlog.command("import")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV or XLSX with the header file,subject_id,doc_type,result_code,number,issued_on,issuer,"
                   "valid_until (dates dd/mm/yyyy; any column but file may be empty).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="OCR processes (default: cores).")
@click.option("--no-progress", is_flag=True, help="No progress display.")
@click.option("-v", "--verbose", is_flag=True)
@pass_ctx
def backlog_import(ctx: Ctx, source: Path, manifest: Path | None, workers: int | None, no_progress: bool,
                   verbose: bool) -> None:
    """Digitize the results scanned into SOURCE: each becomes a sealed, reusable Result of its subject.

    Journaled: run the same command again after a crash and it resumes the same run where it
    stopped; its report then counts the whole run. With
    SOHOA_BROKER_URL set, the scans go to the `sohoa worker` processes.
    """
    from sohoa.jobs.backlog import Importer, report
    from sohoa.cli.inbox import _logging
    from sohoa.config import with_overrides

    _logging(verbose)
    st = with_overrides(ctx.settings, workers=workers)
    st.ensure_dirs()
    db = ctx.db
    pool = remote = sealer = None
    if st.broker_url:
        from sohoa.jobs.tasks import make_app

        remote = make_app(st)
    else:
        from sohoa.jobs.host import load_sealer, page_pool

        sealer = load_sealer(st)
        pool = page_pool(st.worker_count, st.ocr_nice)
    imp = Importer(st, db, executor=pool, sealer=sealer, remote=remote)
    progress = _Progress(not no_progress and not ctx.as_json)
    if progress.live and not verbose:  # the bar says it all; per-scan lines would tear it
        import logging

        logging.getLogger("sohoa.jobs.backlog").setLevel(logging.WARNING)
    try:
        run_id = imp.journal_source(source, manifest)
        imp.run(run_id, progress)
    finally:
        progress.close()
        if imp.ctx.executor is not None:
            imp.ctx.executor.shutdown(wait=True, cancel_futures=True)
    rep = report(db, run_id)
    lines = [_human_status(rep)]
    for title, key in (("Cần xem lại", "needs_review"), ("Bị từ chối", "rejected_items"),
                       ("Trùng kết quả đã có", "duplicate_items")):
        if rep[key]:
            lines.append(f"{title}:")
            lines += [f"  #{i['id']} {i['file']}" + (f" (dòng {i['row']})" if i["row"] else "") + f": {i['reason']}"
                      for i in rep[key]]
    ctx.emit(rep, "\n".join(lines))
    imp.reported(run_id)  # a kill before this line: the next import resumes this run and reports it


@backlog.command("status")
@click.option("--run", "run_id", type=int, default=None, help="A run id (default: the latest run).")
@pass_ctx
def backlog_status(ctx: Ctx, run_id: int | None) -> None:
    """Progress of a backlog import: counts, pages per minute, time left."""
    from registry import backlog as journal

    with ctx.db.session() as s:
        st = journal.status(s, run_id)
    if st is None:
        raise NotFound("chưa có lượt nhập tồn đọng nào" if run_id is None else f"không có lượt nhập #{run_id}")
    ctx.emit(st, _human_status(st))


@backlog.command("review")
@click.option("--run", "run_id", type=int, default=None, help="A run id (default: the latest run).")
@pass_ctx
def backlog_review(ctx: Ctx, run_id: int | None) -> None:
    """The review queue: scans OCR could not settle or that contradict their manifest row.

    Settle each with `sohoa backlog accept ITEM [--subject …] [--doc-type …]` or
    `sohoa backlog reject ITEM --reason …`."""
    from registry import backlog as journal
    from vocab.text import mask_pid

    with ctx.db.session() as s:
        run = journal.latest_run(s, run_id)
        if run is None:
            raise NotFound("chưa có lượt nhập tồn đọng nào")
        run_no = run.id
        items = journal.listing(s, run_no, ("review",))
    for i in items:
        read = i.pop("read")
        i["read"] = {"doc_type": read.get("doc_type"), "confidence": read.get("confidence"),
                     "fields": {k: mask_pid(v) if k.startswith("so_dinh_danh") else v
                                for k, v in (read.get("fields") or {}).items()}}
        man = i.pop("manifest")
        i["manifest"] = {k: man.get(k) for k in ("subject_id", "doc_type", "number")} | {
            "subject_id": mask_pid(man["subject_id"]) if man.get("subject_id") else None}
        ctx.emit(i, f"#{i['id']} {i['file']}" + (f" (dòng {i['row']})" if i["row"] else "") + f": {i['reason']}")
    if not items and not ctx.as_json:
        click.echo(f"Lượt #{run_no}: hàng chờ xem lại trống.")


@backlog.command("accept")
@click.argument("item_id", metavar="ITEM", type=int)
@click.option("--subject", "subject_id", default=None, help="Số định danh (12 chữ số) hoặc mã số thuế của chủ thể.")
@click.option("--doc-type", default=None, help="Loại giấy tờ (mã, ví dụ khai_sinh).")
@click.option("--number", default=None, help="Số/ký hiệu của kết quả.")
@click.option("--result-code", default=None, help="Mã kết quả (ví dụ KQ.G15.000031).")
@click.option("--issued-on", default=None, metavar="DD/MM/YYYY", help="Ngày ban hành.")
@click.option("--issuer", default=None, help="Cơ quan ban hành.")
@click.option("--valid-until", default=None, metavar="DD/MM/YYYY", help="Hiệu lực đến ngày.")
@click.option("--override-reason", default=None,
              help="Khi trang vẫn khác bảng kê đã sửa: lý do giữ bảng kê (ghi vào nhật ký kiểm tra).")
@pass_ctx
def backlog_accept(ctx: Ctx, item_id: int, subject_id: str | None, doc_type: str | None, number: str | None,
                   result_code: str | None, issued_on: str | None, issuer: str | None, valid_until: str | None,
                   override_reason: str | None) -> None:
    """Settle an item of the review queue: correct its row, read the scan again, and import it.

    The corrected row is checked against the page like a manifest row: a different ID number on
    the page still stops it, unless --override-reason says why the row is right. Example:

      sohoa backlog accept 12 --subject 001090001234 --doc-type khai_sinh
    """
    from sohoa.jobs.backlog import BacklogContext, StillInReview, settle
    from sohoa.cli.lifecycle import _staff

    ctx.settings.ensure_dirs()
    bctx = BacklogContext.for_settling(ctx.settings, ctx.db)
    changes = {"subject_id": subject_id, "doc_type": doc_type, "number": number, "result_code": result_code,
               "issued_on": issued_on, "issuer": issuer, "valid_until": valid_until}
    try:
        state, doc_id = settle(bctx, item_id, {k: v for k, v in changes.items() if v is not None},
                               actor=_staff(ctx), override_reason=override_reason)
    except StillInReview as exc:
        raise StillInReview(f"{exc.message}. Sửa bằng --subject/--doc-type, hoặc ghi --override-reason nếu bảng kê "
                            "đúng", detail=exc.detail) from None
    human = (f"Mục #{item_id}: đã nhập thành kết quả số hóa (tài liệu #{doc_id})" if state == "imported" else
             f"Mục #{item_id}: trùng kết quả đã có (tài liệu #{doc_id}), không nhập lần nữa")
    ctx.emit({"id": item_id, "state": state, "document_id": doc_id}, human)


@backlog.command("reject")
@click.argument("item_id", metavar="ITEM", type=int)
@click.option("--reason", required=True, help="Vì sao không nhập (ghi vào báo cáo và nhật ký kiểm tra).")
@pass_ctx
def backlog_reject(ctx: Ctx, item_id: int, reason: str) -> None:
    """Reject an item of the review queue (not a result to keep, an unreadable or wrong paper)."""
    from registry import backlog as journal
    from sohoa.cli.lifecycle import _staff

    with ctx.db.session() as s:
        it = journal.reject_reviewed(s, item_id, reason, actor=_staff(ctx))
        out = {"id": it.id, "state": it.state, "reason": it.reason}
    ctx.emit(out, f"Mục #{item_id}: đã từ chối — {out['reason']}")
