"""CLI of the registry API stage: serve, client, reuse, report, check, and the dossier lifecycle
subcommands (reuse, pause, resume, complete, apology) added to the ``dossier`` group."""
from __future__ import annotations

import datetime as dt
import functools
import os
import sys

import click



def _date(value: str | None, name: str) -> dt.date | None:
    """A date option (dd/mm/yyyy or yyyy-mm-dd), parsed as the web forms parse it."""
    from sohoa.i18n import parse_date
    from vocab.errors import Invalid

    try:
        return parse_date(value)
    except Invalid as exc:
        raise Invalid(f"{name}: {exc.message}") from None


def _staff(ctx) -> str:
    import getpass

    try:
        return f"staff:{getpass.getuser()}"
    except Exception:  # noqa: BLE001
        return "staff:cli"


def register(cli: click.Group) -> None:
    # -- serve ----------------------------------------------------------------------------------
    @cli.command("serve")
    @click.option("--host", default=None, help="Bind address (default: settings web_host, 127.0.0.1).")
    @click.option("--port", type=int, default=None, help="Port (default: settings web_port, 8080).")
    @click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
                  help="Web server processes sharing the port. With ingest in its own process "
                       "(`sohoa run --no-web` or `sohoa worker`), 2 on a 2-core office server keeps "
                       "the pages and the reuse API quick while scans are read.")
    @click.option("--only", type=click.Choice(["api", "web"]), default=None,
                  help="Serve only the API for other systems (/api/v1) or only the staff pages: run "
                       "each on its own port, so that a page being drawn never holds up a reuse "
                       "lookup (a reverse proxy sends /api/ to the API's port).")
    @click.option("--nice", type=click.IntRange(0, 19), default=None,
                  help="CPU priority these server processes give up (Unix niceness). Default: the "
                       "setting web_nice (10) with --only web, so that reuse lookups take the CPU "
                       "before a page is drawn; 0 otherwise.")
    @click.pass_obj
    def serve(ctx, host, port, processes, only, nice):
        """Serve the staff web UI and the HTTP API (/api/v1, OpenAPI at /api/v1/openapi.json) with
        uvicorn, without the inbox: pair it with `sohoa run --no-web` (or Celery workers in the
        scaled mode) to keep the web apart from the reading of scans."""
        import uvicorn

        from sohoa.jobs.certification import recover
        from sohoa.web.app import create_app

        recover(ctx.db)  # certification requests a killed batch left "signing" go back to the queue
        host, port = host or ctx.settings.web_host, port or ctx.settings.web_port
        parts = (only,) if only else ("api", "web")
        from sohoa.jobs.host import lower_priority

        lower_priority(ctx.settings.web_nice if nice is None and only == "web" else (nice or 0))  # inherited by workers
        if processes == 1:
            app = create_app(ctx.settings, ctx.db, parts, freeze_gc=True)
            uvicorn.run(app, host=host, port=port, log_level="info")
            return
        # each process builds its own app (and its own connections) from the same home
        os.environ["SOHOA_HOME"] = str(ctx.settings.home)
        os.environ["SOHOA_SERVE_PARTS"] = ",".join(parts)
        uvicorn.run("sohoa.web.app:app_from_environment", factory=True, workers=processes, host=host,
                    port=port, log_level="info")

    # -- clients ----------------------------------------------------------------------------------
    @cli.group("client")
    def client():
        """API clients (other systems) and their bearer tokens."""

    @client.command("add")
    @click.argument("name")
    @click.option("--scopes", required=True, help="Comma-separated: reuse:read, reuse:write, documents:read.")
    @click.pass_obj
    def client_add(ctx, name, scopes):
        """Create a client; prints its token ONCE (only a hash is kept)."""
        from registry.auth import add_client

        with ctx.db.session() as s:
            c, token = add_client(s, name, scopes)
            out = {"name": c.name, "id": c.id, "scopes": c.scopes, "token": token}
        ctx.emit(out, f"client {out['name']} ({', '.join(out['scopes'])})\ntoken (shown once): {token}")

    @client.command("list")
    @click.pass_obj
    def client_list(ctx):
        """List clients (never their tokens)."""
        from registry.auth import list_clients

        with ctx.db.session() as s:
            rows = [{"id": c.id, "name": c.name, "scopes": c.scopes, "created_at": c.created_at.isoformat(),
                     "revoked": c.revoked_at is not None} for c in list_clients(s)]
        for r in rows:
            ctx.emit(r, f"{r['id']:>4} {r['name']:<30} {','.join(r['scopes']):<40} {'revoked' if r['revoked'] else ''}")

    @client.command("revoke")
    @click.argument("name")
    @click.pass_obj
    def client_revoke(ctx, name):
        """Revoke a client's token at once."""
        from registry.auth import revoke_client

        with ctx.db.session() as s:
            c = revoke_client(s, name)
            out = {"id": c.id, "name": name, "revoked": True}
        ctx.emit(out, f"revoked {name}")

    # -- reuse find ----------------------------------------------------------------------------------
    reuse_group = cli.commands.get("reuse")
    if reuse_group is None:
        @cli.group("reuse")
        def reuse_group():
            """Once-only: find reusable digitized documents of a subject."""

    @reuse_group.command("find")
    @click.option("--subject", required=True, help="Personal ID number or tax code.")
    @click.option("--type", "doc_type", default=None, help="Document type, e.g. khai_sinh.")
    @click.option("--valid-on", default=None, help="Only documents valid on this day (default today).")
    @click.option("--all", "show_all", is_flag=True, help="Include expired and non-reusable documents.")
    @click.pass_obj
    def reuse_find(ctx, subject, doc_type, valid_on, show_all):
        """Reusable digitized results and components of a subject (audited)."""
        from registry import reuse
        from registry.service import audit
        from vocab.text import mask_pid

        on = _date(valid_on, "--valid-on")
        with ctx.db.session() as s:
            sid = reuse.find_subject_id(s, subject)
            docs = reuse.subject_documents(s, sid, doc_type=doc_type, valid_on=on, only_valid=not show_all) if sid else []
            audit(s, _staff(ctx), "subject.documents", subject_id=sid, object_type="subject", object_id=str(sid or ""),
                  detail={"doc_type": doc_type, "count": len(docs), "via": "cli"})
        if not docs and not ctx.as_json:
            click.echo(f"nothing reusable for {mask_pid(subject)}")
        for e in docs:
            ctx.emit(e, f"{e['id']:>8} {e['doc_type']:<22} {'sealed' if e['sealed'] else '      '} "
                        f"{'certified' if e['certified_copies'] else '         '} valid until {e['valid_until'] or '—':<10} "
                        f"{e['kind']:<9} {e['dossier'] or ''}")

    # -- report / check ------------------------------------------------------------------------------
    @cli.command("report")
    @click.option("--from", "date_from", default=None, help="First day (received), YYYY-MM-DD.")
    @click.option("--to", "date_to", default=None, help="Last day (received), YYYY-MM-DD, inclusive.")
    @click.option("--unit", default=None, help="Unit (agency code) of the dossiers.")
    @click.pass_obj
    def report(ctx, date_from, date_to, unit):
        """Indicators: received, digitized, electronic results, reuse rate, on-time rate."""
        from registry import indicators
        from registry.lifecycle import refresh_late

        with ctx.db.session() as s:
            refresh_late(s)
            ind = indicators.compute(s, _date(date_from, "--from"), _date(date_to, "--to"), unit)
        ctx.emit(ind, indicators.human(ind))

    @cli.command("check")
    @click.pass_obj
    def check(ctx):
        """Re-hash the store against the documents table; exit 1 when anything differs."""
        from registry.integrity import check as run_check
        from registry.store import Store

        with ctx.db.session() as s:
            res = run_check(s, Store(ctx.settings.store_dir))
        if ctx.as_json:
            ctx.emit(res)
        else:
            click.echo(f"{res['documents']} documents, {res['files']} files in {ctx.settings.store_dir}")
            for m in res["missing"]:
                click.echo(f"MISSING   document {m['document_id']} {m['sha256']} ({m['path']})")
            for m in res["mismatch"]:
                click.echo(f"MISMATCH  document {m['document_id']} {m['sha256']} hashes to {m['actual']}")
            for m in res["orphans"]:
                click.echo(f"ORPHAN    {m['path']}")
            click.echo("ok" if res["ok"] else
                       f"DIFFERS: {res['missing_count']} missing, {res['mismatch_count']} mismatched, "
                       f"{res['orphan_count']} orphan")
        if not res["ok"]:
            sys.exit(1)

    # -- dossier lifecycle ------------------------------------------------------------------------------
    dossier = cli.commands.get("dossier")
    if dossier is None:
        @cli.group("dossier")
        def dossier():
            """Dossiers (hồ sơ)."""

    def _show(ctx, s, d, extra: dict | None = None, human: str | None = None):
        from registry.reuse import reusable_for_dossier
        from registry.shapes import dossier_json

        out = dossier_json(d)
        out.update({"late": bool(d.late), "pause_reason": d.pause_reason, "apology_ref": d.apology_ref,
                    "completed_at": d.completed_at.isoformat() if d.completed_at else None,
                    "reusable": reusable_for_dossier(s, d)})
        out.update(extra or {})
        ctx.emit(out, human or f"{d.code}: {d.status}{' (late)' if d.late else ''}")

    @dossier.command("reuse")
    @click.argument("code")
    @click.option("--document", "document_id", type=int, required=True, help="Id of the document to reuse.")
    @click.option("--purpose", default="", help="Why (kept in the reuse ledger).")
    @click.option("--override-reason", default=None,
                  help="Reuse although the document is another person's or not a required type (audited).")
    @click.pass_obj
    def dossier_reuse(ctx, code, document_id, purpose, override_reason):
        """Satisfy a component with an existing digitized document instead of paper."""
        from registry.reuse import reuse_into_dossier
        from registry.service import get_dossier

        with ctx.db.session() as s:
            d = get_dossier(s, code)
            comp = reuse_into_dossier(s, d, document_id, actor=_staff(ctx), purpose=purpose,
                                      override_reason=override_reason)
            _show(ctx, s, d, {"component": {"doc_type": comp.doc_type, "document_id": comp.document_id,
                                            "origin": comp.origin, "state": comp.state}},
                  f"{d.code}: {comp.doc_type} satisfied by document {comp.document_id} (reused, no paper)")

    @dossier.command("pause")
    @click.argument("code")
    @click.option("--reason", required=True, help="Written reason (required).")
    @click.pass_obj
    def dossier_pause(ctx, code, reason):
        """Pause a dossier with a written reason."""
        from registry.lifecycle import pause
        from registry.service import get_dossier

        with ctx.db.session() as s:
            d = pause(s, get_dossier(s, code), reason, actor=_staff(ctx))
            _show(ctx, s, d, human=f"{d.code}: paused ({reason})")

    @dossier.command("resume")
    @click.argument("code")
    @click.pass_obj
    def dossier_resume(ctx, code):
        """Resume a paused dossier (its due date moves by the time spent paused)."""
        from registry.lifecycle import resume
        from registry.service import get_dossier

        with ctx.db.session() as s:
            d = resume(s, get_dossier(s, code), actor=_staff(ctx))
            _show(ctx, s, d, human=f"{d.code}: {d.status}, due {d.due_at:%Y-%m-%d %H:%M}" if d.due_at else None)

    @dossier.command("complete")
    @click.argument("code")
    @click.option("--result-document", type=int, default=None, help="Id of the document issued as the result.")
    @click.option("--valid-until", default=None, help="Last day the result is valid (YYYY-MM-DD).")
    @click.option("--paper", is_flag=True, help="The result was issued on paper only (not electronically).")
    @click.option("--override-reason", default=None,
                  help="Complete although a required component is in no allowed state (audited).")
    @click.pass_obj
    def dossier_complete(ctx, code, result_document, valid_until, paper, override_reason):
        """Complete a dossier, recording its result (issued electronically unless --paper).

        Refused while a required component is missing (not scanned, reused, replaced by national
        data, or exempt with a reason), unless --override-reason is given."""
        from registry.lifecycle import complete
        from registry.service import get_dossier

        until = _date(valid_until, "--valid-until")
        with ctx.db.session() as s:
            d = get_dossier(s, code)
            r = complete(s, d, actor=_staff(ctx), result_document_id=result_document, valid_until=until,
                         electronic=not paper, override_reason=override_reason)
            _show(ctx, s, d, {"result": None if r is None else {
                "document_id": r.document_id, "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                "valid_until": r.valid_until.isoformat() if r.valid_until else None, "electronic": r.electronic}},
                f"{d.code}: completed{' late' if d.late else ' on time'}"
                + (f", result document {r.document_id}" if r else ""))

    @dossier.command("apology")
    @click.argument("code")
    @click.option("--reason", required=True, help="Why the result is late.")
    @click.option("--new-date", required=True, help="New date for returning the result (YYYY-MM-DD).")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the PDF.")
    @click.option("--declare-late", is_flag=True,
                  help="The dossier is not late yet but the officer declares it will be (the reason is recorded).")
    @click.pass_obj
    def dossier_apology(ctx, code, reason, new_date, out, declare_late):
        """Write the apology slip (Phiếu xin lỗi và hẹn lại ngày trả kết quả) for a late dossier.

        Refused for a dossier that is not late unless --declare-late. The on-time rate still counts
        the dossier against its original due date."""
        from registry.lifecycle import apology
        from registry.service import get_dossier
        from sohoa.papers.slips import apology_pdf

        nd = _date(new_date, "--new-date")
        with ctx.db.session() as s:
            d = get_dossier(s, code)
            path = apology(s, d, reason=reason, new_date=nd, out=out, actor=_staff(ctx),
                           render=functools.partial(apology_pdf, unit_name=ctx.settings.unit_name),
                           declare_late=declare_late)
            _show(ctx, s, d, {"apology_pdf": str(path)}, f"{d.code}: apology slip written to {path}")
