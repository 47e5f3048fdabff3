"""Registry commands: init, procedure, dossier, receipt, unassigned."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from registry import service, shapes
from registry.models import Dossier, Procedure
from registry.reuse import reusable_for_dossier
from sohoa.commands.context import Ctx, pass_ctx
from vocab.text import mask_pid


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(procedure)
    cli.add_command(dossier)
    cli.add_command(receipt)
    cli.add_command(unassigned)
    cli.add_command(assign)
    cli.add_command(document)
    cli.add_command(staff)


@click.command()
@pass_ctx
def init(ctx: Ctx) -> None:
    """Create the data directory and the registry (or migrate it to the newest schema)."""
    from registry.db import Database

    st = ctx.settings
    st.ensure_dirs()
    db = Database(st.db_url)
    db.migrate()
    with db.session() as s:
        added = service.seed_procedures(s)
    ctx.emit({"home": str(st.home), "database": _safe_url(st.db_url), "inbox": str(st.inbox),
              "procedures_added": added},
             f"sohoa is ready in {st.home}\n  registry: {_safe_url(st.db_url)}\n  inbox:    {st.inbox}\n"
             f"  procedures added from the catalogue: {added}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- procedures -------------------------------------------------------------------------------------

@click.group()
def procedure() -> None:
    """The procedure catalogue (national codes, required components, time limits)."""


@procedure.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Procedure name, e.g. 'Đăng ký khai sinh'.")
@click.option("--requires", required=True, help="Required component types, comma-separated (cccd,to_khai,…).")
@click.option("--days", type=click.IntRange(0, 365), default=5, show_default=True, help="Time limit, working days.")
@click.option("--result-type", default=None, help="Document type of the result, if any.")
@pass_ctx
def procedure_add(ctx: Ctx, code: str, name: str, requires: str, days: int, result_type: str | None) -> None:
    """Add (or update) procedure CODE in the catalogue."""
    types = [t.strip() for t in requires.split(",") if t.strip()]
    with ctx.db.session() as s:
        p = service.add_procedure(s, code, name, types, days, result_type)
        obj = {"code": p.code, "name": p.name, "requires": p.required_types, "days": p.days}
    ctx.emit(obj, f"procedure {obj['code']} {obj['name']}: requires {', '.join(types)}; {days} working days")


@procedure.command("list")
@pass_ctx
def procedure_list(ctx: Ctx) -> None:
    """List the catalogue."""
    with ctx.db.session() as s:
        for p in s.scalars(select(Procedure).order_by(Procedure.code)):
            ctx.emit({"code": p.code, "name": p.name, "requires": p.required_types, "days": p.days},
                     f"{p.code:10} {p.name}  [{', '.join(p.required_types)}]  {p.days} ngày")


# -- dossiers -------------------------------------------------------------------------------------

@click.group()
def dossier() -> None:
    """Open, show and list dossiers (hồ sơ)."""


@dossier.command("create")
@click.option("--procedure", "procedure_code", required=True, help="National procedure code, e.g. 1.001193.")
@click.option("--subject", required=True, help="Personal ID number (12 digits) or tax code of the applicant.")
@click.option("--name", default=None, help="Applicant's name (Vietnamese, any case).")
@click.option("--channel", type=click.Choice(["counter", "postal", "online"]), default="counter", show_default=True)
@pass_ctx
def dossier_create(ctx: Ctx, procedure_code: str, subject: str, name: str | None, channel: str) -> None:
    """Open a dossier; prints its code (and what the citizen need not bring again)."""
    with ctx.db.session() as s:
        d = service.create_dossier(s, procedure=procedure_code, subject=subject, name=name,
                                   agency=ctx.settings.agency_code, channel=channel, created_by="cli")
        reusable = reusable_for_dossier(s, d)
        service.audit(s, "staff:cli", "dossier.create", subject_id=d.subject_id, object_type="dossier",
                      object_id=d.code)
        obj = {"code": d.code, "procedure": d.procedure_code, "subject": d.subject.identifier,
               "due_at": shapes.dossier_json(d)["due_at"],
               "required": list(d.procedure.required_types), "reusable": reusable}
    human = f"dossier {obj['code']} opened; due {obj['due_at'][:10] if obj['due_at'] else '—'}"
    if reusable:
        human += "\n  already digitized, do not ask for paper: " + ", ".join(
            f"{r.get('doc_type')} (document {r.get('document_id')})" for r in reusable)
    ctx.emit(obj, human)


@dossier.command("show")
@click.argument("code")
@pass_ctx
def dossier_show(ctx: Ctx, code: str) -> None:
    """Show a dossier with its components."""
    with ctx.db.session() as s:
        d = service.get_dossier(s, code)
        obj = shapes.dossier_json(d)
        obj["reusable"] = reusable_for_dossier(s, d)
        obj["required"] = list(d.procedure.required_types)
        service.audit(s, "staff:cli", "dossier.show", subject_id=d.subject_id, object_type="dossier",
                      object_id=d.code)
    if ctx.as_json:
        ctx.emit(obj)
        return
    lines = [f"{obj['code']}  {obj['status']}  procedure {obj['procedure']}  subject {mask_pid(obj['subject'])}"
             f" {obj['subject_name']}"]
    for c in obj["components"]:
        doc = c["document"] or {}
        lines.append(f"  - {c['doc_type']:22} document {doc.get('id')}  {doc.get('pages')} p.  {c['origin']}"
                     f" via {c['routed_by'] or '—'}  sealed={doc.get('sealed')}")
    have = {c["doc_type"] for c in obj["components"]}
    missing = [t for t in obj["required"] if t not in have]
    if missing:
        lines.append("  missing: " + ", ".join(missing))
    for r in obj["reusable"]:
        lines.append(f"  reusable: {r.get('doc_type')} (document {r.get('document_id')})")
    click.echo("\n".join(lines))


@dossier.command("list")
@click.option("--status", default=None, help="Only dossiers in this status.")
@click.option("--limit", type=int, default=100, show_default=True)
@pass_ctx
def dossier_list(ctx: Ctx, status: str | None, limit: int) -> None:
    """List dossiers, newest first."""
    with ctx.db.session() as s:
        q = select(Dossier).order_by(Dossier.id.desc()).limit(limit)
        if status:
            q = q.where(Dossier.status == status)
        for d in s.scalars(q):
            types = [c.doc_type for c in d.components]
            ctx.emit({"code": d.code, "status": d.status, "procedure": d.procedure_code,
                      "subject": mask_pid(d.subject.identifier), "components": types},
                     f"{d.code}  {d.status:10} {d.procedure_code}  {mask_pid(d.subject.identifier)}  "
                     f"[{', '.join(types)}]")


@click.command()
@click.argument("code")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the receipt PDF.")
@pass_ctx
def receipt(ctx: Ctx, code: str, out_path: str) -> None:
    """Write the intake receipt of dossier CODE (code as text and QR) to a PDF."""
    from sohoa.receipt import receipt_for

    with ctx.db.session() as s:
        pdf = receipt_for(s, service.get_dossier(s, code), ctx.settings)
    Path(out_path).write_bytes(pdf)
    ctx.emit({"code": code, "out": out_path}, f"receipt for {code} written to {out_path}")


@click.command()
@pass_ctx
def unassigned(ctx: Ctx) -> None:
    """Documents that could not be routed to a dossier (staff resolve them)."""
    with ctx.db.session() as s:
        for doc in service.unassigned_documents(s):
            ctx.emit(shapes.document_json(doc) | {"source": doc.source_name},
                     f"document {doc.id}  {doc.doc_type:22} from {doc.source_name}")


@click.command()
@click.argument("document_id", type=int)
@click.argument("code")
@click.option("--type", "doc_type", default=None, help="Component type, when OCR typed the document wrongly.")
@pass_ctx
def assign(ctx: Ctx, document_id: int, code: str, doc_type: str | None) -> None:
    """Attach document DOCUMENT_ID to dossier CODE by hand (resolves the unassigned queue)."""
    with ctx.db.session() as s:
        comp = service.assign_document(s, document_id, code, actor="staff:cli", doc_type=doc_type)
        obj = {"document_id": comp.document_id, "dossier": code, "doc_type": comp.doc_type}
    ctx.emit(obj, f"document {obj['document_id']} attached to {obj['dossier']} as {obj['doc_type']}")


@click.group()
def document() -> None:
    """Digitized documents: show one, correct what OCR read."""


@document.command("show")
@click.argument("document_id", type=int)
@pass_ctx
def document_show(ctx: Ctx, document_id: int) -> None:
    """Show a document: type, fields with confidences, where it came from and where it is attached."""
    with ctx.db.session() as s:
        doc = service.get_document(s, document_id)
        obj = shapes.document_json(doc, detail=True)
        obj["dossiers"] = [c.dossier.code for c in doc.components]
        service.audit(s, "staff:cli", "document.show", subject_id=doc.subject_id, object_type="document",
                      object_id=str(doc.id))
    if ctx.as_json:
        ctx.emit(obj)
        return
    click.echo(f"document {obj['id']}  {obj['doc_type']} ({obj['confidence']:.0%})  {obj['pages']} p.  "
               f"quality {obj['quality']}  sealed={obj['sealed']}  from {obj['source']}")
    for k, v in obj["fields"].items():
        conf = (obj["field_confidences"] or {}).get(k, {}).get("confidence")
        click.echo(f"  {k:22} {v}" + (f"  ({conf:.0%})" if conf is not None else ""))
    click.echo(f"  dossiers: {', '.join(obj['dossiers']) or '— (unassigned)'}")


@document.command("correct")
@click.argument("document_id", type=int)
@click.option("--type", "doc_type", default=None, help="The right document type.")
@click.option("--field", "field_values", multiple=True, metavar="NAME=VALUE",
              help="A corrected field value (repeatable); an empty value removes the field.")
@pass_ctx
def document_correct(ctx: Ctx, document_id: int, doc_type: str | None, field_values: tuple[str, ...]) -> None:
    """Correct the type or fields OCR read; corrections are audited and get confidence 1."""
    fields = {}
    for fv in field_values:
        name, sep, value = fv.partition("=")
        if not sep or not name.strip():
            raise click.ClickException(f"--field takes NAME=VALUE, got {fv!r}")
        fields[name.strip()] = value
    with ctx.db.session() as s:
        doc = service.correct_document(s, document_id, actor="staff:cli", doc_type=doc_type, fields=fields)
        obj = shapes.document_json(doc)
    ctx.emit(obj, f"document {obj['id']} is now {obj['doc_type']} with {len(obj['fields'])} field(s)")


@click.group()
def staff() -> None:
    """Staff accounts for the web UI."""


@staff.command("add")
@click.argument("username")
@click.option("--name", default="", help="Full name shown in the UI and the audit trail.")
@click.option("--role", type=click.Choice(["clerk", "officer", "manager"]), default="clerk", show_default=True)
@pass_ctx
def staff_add(ctx: Ctx, username: str, name: str, role: str) -> None:
    """Add (or reset) a staff account. The password is read from SOHOA_STAFF_PASSWORD or asked
    for at the prompt, never taken as an argument (shell history and process lists keep those)."""
    import os

    from registry.staff import add_staff

    password = os.environ.get("SOHOA_STAFF_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with ctx.db.session() as s:
        st = add_staff(s, username, password, name=name, role=role)
        service.audit(s, "staff:cli", "staff.add", object_type="staff", object_id=st.username)
        obj = {"id": st.id, "username": st.username, "role": st.role}
    ctx.emit(obj, f"staff account {obj['username']} ({obj['role']}) ready")
