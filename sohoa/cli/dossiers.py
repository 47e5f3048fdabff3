"""Registry commands: init, procedure, dossier, receipt, unassigned, document, staff, unit."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from registry import service, shapes, units
from registry.models import Dossier, Procedure, Staff
from registry.reuse import reusable_for_dossier
from sohoa.cli.context import Ctx, pass_ctx
from sohoa.i18n import fmt_date, fmt_time, label
from vocab.text import mask_pid


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for fv in values:
        name, sep, value = fv.partition("=")
        if not sep or not name.strip():
            raise click.ClickException(f"{option} takes NAME=VALUE, got {fv!r}")
        out[name.strip()] = value
    return out


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(procedure)
    cli.add_command(dossier)
    cli.add_command(receipt)
    cli.add_command(unassigned)
    cli.add_command(assign)
    cli.add_command(document)
    cli.add_command(staff)
    cli.add_command(unit)


@click.command()
@pass_ctx
def init(ctx: Ctx) -> None:
    """Create the data directory and the registry (or migrate it to the newest schema)."""
    from registry.db import Database

    st = ctx.settings
    st.ensure_dirs()
    db = Database(st.db_url)
    from sohoa.ops.backup import backup_before_upgrade

    saved = backup_before_upgrade(st, db)  # an older schema: a backup first (issue 21)
    db.migrate()
    with db.session() as s:
        added = service.seed_procedures(s)
        units.ensure_unit(s, st.agency_code, st.unit_name)
    ctx.emit({"home": str(st.home), "database": _safe_url(st.db_url), "inbox": str(st.inbox),
              "procedures_added": added, "upgraded": saved},
             (f"đã sao lưu sổ đăng ký trước khi nâng cấp lược đồ {', '.join(saved['from'])}: "
              f"{saved['registry_copy']}\n" if saved else "") +
             (f"  không sao lưu đầy đủ được: {saved['backup_error']}\n" if saved and "backup_error" in saved else "") +
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
@click.option("--certification/--no-certification", default=None,
              help="A certification procedure (due the same day, or the next working day after 15:00). "
                   "Default: when the name starts with 'Chứng thực'.")
@pass_ctx
def procedure_add(ctx: Ctx, code: str, name: str, requires: str, days: int, result_type: str | None,
                  certification: bool | None) -> None:
    """Add (or update) procedure CODE in the catalogue."""
    types = [t.strip() for t in requires.split(",") if t.strip()]
    with ctx.db.session() as s:
        p = service.add_procedure(s, code, name, types, days, result_type, certification)
        obj = {"code": p.code, "name": p.name, "requires": p.required_types, "days": p.days,
               "certification": bool(p.certification)}
    ctx.emit(obj, f"procedure {obj['code']} {obj['name']}: requires {', '.join(types)}; {days} working days")


@procedure.command("list")
@pass_ctx
def procedure_list(ctx: Ctx) -> None:
    """List the catalogue."""
    with ctx.db.session() as s:
        for p in s.scalars(select(Procedure).order_by(Procedure.code)):
            ctx.emit({"code": p.code, "name": p.name, "requires": p.required_types, "days": p.days,
                      "certification": bool(p.certification)},
                     f"{p.code:10} {p.name}  [{', '.join(p.required_types)}]  {p.days} ngày")


# -- dossiers -------------------------------------------------------------------------------------

@click.group()
def dossier() -> None:
    """Open, show and list dossiers (hồ sơ)."""


@dossier.command("create")
@click.option("--procedure", "procedure_code", required=True, help="National procedure code, e.g. 1.001193.")
@click.option("--subject", required=True, help="Personal ID number (12 digits) or tax code of the applicant.")
@click.option("--name", default=None, help="Applicant's name (Vietnamese, any case).")
@click.option("--birth-date", default=None, help="Applicant's date of birth, dd/mm/yyyy (for the identity check).")
@click.option("--channel", type=click.Choice(["counter", "postal", "online"]), default="counter", show_default=True)
@click.option("--person", "persons", multiple=True, metavar="ROLE:ID[:NAME]",
              help="A person the dossier concerns besides the applicant (repeatable), e.g. "
                   "vo:001190012345:Nguyễn Thị Hoa; roles: vo, chong, con, cha, me, nguoi-duoc-khai-tu, "
                   "nguoi-uy-quyen, nguoi-giam-ho, nguoi-duoc-giam-ho, nguoi-co-lien-quan-khac.")
@click.option("--phone", default="", help="The applicant's phone number.")
@click.option("--address", default="", help="The applicant's address.")
@click.option("--sets", default=1, show_default=True, type=int, help="Number of sets of papers received.")
@click.option("--fee", default=0, show_default=True, type=int, help="Fee collected, in đồng.")
@pass_ctx
def dossier_create(ctx: Ctx, procedure_code: str, subject: str, name: str | None, birth_date: str | None,
                   channel: str, persons: tuple[str, ...], phone: str, address: str, sets: int, fee: int) -> None:
    """Open a dossier; checks the applicant's identity (SOHOA_IDENTITY_URL) and prints its code
    (and what the citizen need not bring again)."""
    from registry.persons import parse_person, persons as persons_of
    from sohoa.jobs.population import verifier_for

    people = [parse_person(p) for p in persons]
    with ctx.db.session() as s:
        d = service.open_dossier(s, procedure=procedure_code, subject=subject, name=name, birth_date=birth_date,
                                 agency=ctx.settings.agency_code, channel=channel, actor="staff:cli",
                                 verifier=verifier_for(ctx.settings), persons=people, phone=phone,
                                 address=address, sets=sets, fee=fee)
        reusable = reusable_for_dossier(s, d)
        obj = {"code": d.code, "procedure": d.procedure_code, "subject": d.subject.identifier,
               "due_at": shapes.dossier_json(d)["due_at"], "identity_status": d.identity_status,
               "required": list(d.procedure.required_types), "reusable": reusable,
               "persons": [{"role": p.role, "subject": p.identifier, "name": p.name}
                           for p in persons_of(s, d)[1:]]}
    from registry.population import STATUS_LABELS

    human = (f"đã tiếp nhận hồ sơ {obj['code']}; hẹn trả {fmt_date(obj['due_at'])}\n"
             f"  kiểm tra danh tính: {STATUS_LABELS.get(obj['identity_status'] or '', '—')}")
    if reusable:
        human += "\n  đã có bản số hóa, không yêu cầu nộp lại: " + ", ".join(
            f"{label('doc_type', r.get('doc_type'))} (văn bản {r.get('document_id')})" for r in reusable)
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
        obj["component_states"] = [vars(c) for c in service.component_states(s, d)]
        from registry.persons import persons as persons_of
        from vocab.clock import iso

        obj["persons"] = [{"role": p.role, "subject": p.identifier, "name": p.name} for p in persons_of(s, d)[1:]]
        obj["holder"] = {"unit": d.holder_unit, "officer": d.holder, "step_due_at": iso(d.step_due_at)} \
            if d.holder else None
        obj["decision"], obj["handover"] = d.decision, dict(d.handover or {}) or None
        service.audit(s, "staff:cli", "dossier.show", subject_id=d.subject_id, object_type="dossier",
                      object_id=d.code)
    if ctx.as_json:
        ctx.emit(obj)
        return
    lines = [f"{obj['code']}  {label('status', obj['status'])}  thủ tục {obj['procedure']}  "
             f"công dân {mask_pid(obj['subject'])} {obj['subject_name']}  nhận {fmt_time(obj['received_at'])}  "
             f"hẹn trả {fmt_date(obj['due_at'])}"]
    from registry.persons import ROLES

    for p in obj["persons"]:
        lines.append(f"  {ROLES.get(p['role'], p['role'])}: {p['name'] or '—'} {mask_pid(p['subject'])}")
    for c in obj["components"]:
        doc = c["document"] or {}
        lines.append(f"  - {label('doc_type', c['doc_type'])}: văn bản {doc.get('id')}, {doc.get('pages')} trang, "
                     f"{service.STATE_LABELS.get(c['state'], label('origin', c['origin']))}, "
                     f"{label('routed_by', c['routed_by'])}, ký số lưu kho: {'có' if doc.get('sealed') else 'chưa'}"
                     + (f" ({service.EXEMPT_REASONS[c['exempt_reason']]})" if c["exempt_reason"] else "")
                     + (f"  {c['note']}" if c["note"] else ""))
    missing = [c["doc_type"] for c in obj["component_states"] if c["state"] == "missing"]
    if missing:
        lines.append("  còn thiếu: " + ", ".join(label("doc_type", t) for t in missing))
    for r in obj["reusable"]:
        lines.append(f"  dùng lại được: {label('doc_type', r.get('doc_type'))} (văn bản {r.get('document_id')})")
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
                     f"{d.code}  {label('status', d.status):14} {d.procedure_code}  {mask_pid(d.subject.identifier)}  "
                     f"[{', '.join(label('doc_type', x) for x in types)}]")


def _record_component(ctx: Ctx, code: str, record, human) -> None:
    """Run ``record(s, dossier) -> Component`` on dossier CODE and print the component and the states."""
    with ctx.db.session() as s:
        d = service.get_dossier(s, code)
        comp = record(s, d)
        ctx.emit({"code": d.code, "component": {"doc_type": comp.doc_type, "state": comp.state,
                                                "exempt_reason": comp.exempt_reason, "note": comp.note,
                                                "document_id": comp.document_id},
                  "component_states": [vars(c) for c in service.component_states(s, d)]}, human(d, comp))


@dossier.command("exempt")
@click.argument("code")
@click.option("--type", "doc_type", required=True, help="The required component type, e.g. cccd.")
@click.option("--reason", required=True, type=click.Choice(sorted(service.EXEMPT_REASONS)),
              help="Why it is not scanned (Circular 03/2025/TT-VPCP Art. 5): online = submitted online, "
                   "comparison = presented for comparison only, internal = internal verification result, "
                   "confidential = confidential paper.")
@click.option("--note", default="", help="Anything the record should say (e.g. what was compared).")
@pass_ctx
def dossier_exempt(ctx: Ctx, code: str, doc_type: str, reason: str, note: str) -> None:
    """Record that a required component is not scanned, for a reason the law allows."""
    _record_component(ctx, code, lambda s, d: service.exempt_component(s, d, doc_type, reason, actor="staff:cli",
                                                                       note=note),
                      lambda d, c: f"{d.code}: {doc_type} không phải số hóa — {service.EXEMPT_REASONS[reason]}")


@dossier.command("national-data")
@click.argument("code")
@click.option("--type", "doc_type", required=True, help="The required component type the data replaces.")
@click.option("--source", required=True, help="The national database, e.g. 'CSDL quốc gia về dân cư'.")
@click.option("--ref", "reference", default="", help="The record's reference in that database.")
@pass_ctx
def dossier_national_data(ctx: Ctx, code: str, doc_type: str, source: str, reference: str) -> None:
    """Record that a required component is replaced by data from a national database."""
    _record_component(ctx, code, lambda s, d: service.national_data_component(
        s, d, doc_type, source=source, reference=reference, actor="staff:cli"),
        lambda d, c: f"{d.code}: {doc_type} thay bằng dữ liệu từ {source}")


@dossier.command("national-store")
@click.argument("code")
@click.option("--type", "doc_type", required=True, help="The required component type.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The PDF downloaded from the citizen's store on the national portal.")
@click.option("--ref", "reference", required=True, help="The document's reference in the national store.")
@pass_ctx
def dossier_national_store(ctx: Ctx, code: str, doc_type: str, path: str, reference: str) -> None:
    """Satisfy a component with a document taken from the national store (recorded as reuse)."""
    from registry.reuse import reuse_from_national_store
    from registry.store import Store

    _record_component(ctx, code, lambda s, d: reuse_from_national_store(
        s, d, doc_type=doc_type, data=Path(path).read_bytes(), store=Store(ctx.settings.store_dir),
        reference=reference, actor="staff:cli"),
        lambda d, c: f"{d.code}: {doc_type} lấy từ Kho dữ liệu quốc gia (văn bản {c.document_id})")


@click.command()
@click.argument("code")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the receipt PDF.")
@pass_ctx
def receipt(ctx: Ctx, code: str, out_path: str) -> None:
    """Write the intake receipt of dossier CODE (code as text and QR) to a PDF."""
    from sohoa.papers.receipt import receipt_for

    with ctx.db.session() as s:
        pdf = receipt_for(s, service.get_dossier(s, code), ctx.settings)
    Path(out_path).write_bytes(pdf)
    ctx.emit({"code": code, "out": out_path}, f"đã ghi giấy tiếp nhận hồ sơ {code} vào {out_path}")


@click.command()
@pass_ctx
def unassigned(ctx: Ctx) -> None:
    """Documents that could not be routed to a dossier (staff resolve them)."""
    with ctx.db.session() as s:
        for doc in service.unassigned_documents(s):
            ctx.emit(shapes.document_json(doc) | {"source": doc.source_name},
                     f"văn bản {doc.id}  {label('doc_type', doc.doc_type)}  (tệp quét {doc.source_name}, "
                     f"{fmt_time(doc.created_at)})")


@click.command()
@click.argument("document_id", type=int)
@click.argument("code")
@click.option("--type", "doc_type", default=None, help="Component type, when OCR typed the document wrongly.")
@click.option("--override-reason", default=None,
              help="Attach although the document is another person's or of a type the procedure does not ask "
                   "for; the reason is kept in the audit log.")
@pass_ctx
def assign(ctx: Ctx, document_id: int, code: str, doc_type: str | None, override_reason: str | None) -> None:
    """Attach document DOCUMENT_ID to dossier CODE by hand (resolves the unassigned queue).

    Refused when the document names another person than the dossier's applicant, or its type is not
    one the procedure asks for, unless --override-reason is given."""
    with ctx.db.session() as s:
        comp = service.assign_document(s, document_id, code, actor="staff:cli", doc_type=doc_type,
                                       override_reason=override_reason)
        obj = {"document_id": comp.document_id, "dossier": code, "doc_type": comp.doc_type}
    overridden = " (đã ghi lý do ghi đè vào nhật ký)" if override_reason and override_reason.strip() else ""
    ctx.emit(obj, f"đã gắn văn bản {obj['document_id']} vào hồ sơ {obj['dossier']}: "
                  f"{label('doc_type', obj['doc_type'])}{overridden}")


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
        obj["subjects"] = [mask_pid(x) for x in _subject_identifiers(s, doc)]
        service.audit(s, "staff:cli", "document.show", subject_id=doc.subject_id, object_type="document",
                      object_id=str(doc.id))
    if ctx.as_json:
        ctx.emit(obj)
        return
    click.echo(f"văn bản {obj['id']}  {label('doc_type', obj['doc_type'])} ({obj['confidence']:.0%})  "
               f"{obj['pages']} trang  chất lượng: {label('quality', obj['quality'])}  "
               f"ký số lưu kho: {'có' if obj['sealed'] else 'chưa'}  tệp quét: {obj['source']}")
    for k, v in obj["fields"].items():
        conf = (obj["field_confidences"] or {}).get(k, {}).get("confidence")
        shown = mask_pid(v) if k.startswith("so_dinh_danh") else v
        click.echo(f"  {label('field', k) + ':':26} {shown}" + (f"  ({conf:.0%})" if conf is not None else ""))
    for k, v in obj["metadata"].items():
        click.echo(f"  {label('field', k) + ':':26} {v}")
    click.echo(f"  hiệu lực đến: {fmt_date(obj['valid_until'])}   của: {', '.join(obj['subjects']) or '—'}")
    click.echo(f"  hồ sơ: {', '.join(obj['dossiers']) or '— (chưa gắn hồ sơ)'}")


def _subject_identifiers(s, doc) -> list[str]:
    from registry.models import Subject
    from registry.subjects import owners

    ids = owners(s, doc)
    return list(s.scalars(select(Subject.identifier).where(Subject.id.in_(ids)))) if ids else []


@document.command("correct")
@click.argument("document_id", type=int)
@click.option("--type", "doc_type", default=None, help="The right document type.")
@click.option("--field", "field_values", multiple=True, metavar="NAME=VALUE",
              help="A corrected field value (repeatable); an empty value removes the field.")
@click.option("--meta", "meta_values", multiple=True, metavar="KEY=VALUE",
              help="Document metadata (repeatable): so_ky_hieu, ngay_ban_hanh, co_quan_ban_hanh, nguoi_ky, "
                   "trich_yeu, hieu_luc_den (dd/mm/yyyy or 'vĩnh viễn'), pham_vi, ma_ket_qua.")
@pass_ctx
def document_correct(ctx: Ctx, document_id: int, doc_type: str | None, field_values: tuple[str, ...],
                     meta_values: tuple[str, ...]) -> None:
    """Correct the type, fields or metadata OCR read. Values are checked (ID number structure and
    date of birth, dates dd/mm/yyyy, tax codes); corrections are audited and get confidence 1; the
    validity is derived again from the expiry the document carries."""
    fields = _pairs(field_values, "--field")
    meta = _pairs(meta_values, "--meta")
    with ctx.db.session() as s:
        doc = service.correct_document(s, document_id, actor="staff:cli", doc_type=doc_type, fields=fields,
                                       meta=meta)
        obj = shapes.document_json(doc)
    ctx.emit(obj, f"đã sửa văn bản {obj['id']}: {label('doc_type', obj['doc_type'])}, {len(obj['fields'])} trường")


@click.group()
def staff() -> None:
    """Staff accounts for the web UI (roles: clerk, officer, manager, admin)."""


def _staff_password(prompt: str = "Mật khẩu") -> str:
    import os

    return os.environ.get("SOHOA_STAFF_PASSWORD") or click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _staff_op(ctx: Ctx, action: str, fn, username: str, human: str, **detail) -> None:
    with ctx.db.session() as s:  # typed errors (Invalid, NotFound) are mapped once by the CLI
        st = fn(s)
        service.audit(s, "staff:cli", action, object_type="staff", object_id=st.username, detail=detail)
        obj = {"id": st.id, "username": st.username, "role": st.role, "disabled": st.disabled,
               "unit": st.unit_code}
    ctx.emit(obj, human.format(**obj))


@staff.command("add")
@click.argument("username")
@click.option("--name", default="", help="Full name shown in the UI and the audit trail.")
@click.option("--role", type=click.Choice(["clerk", "officer", "manager", "admin"]), default="clerk",
              show_default=True, help="clerk: counter; officer: certifying officer; manager: indicators; "
                                      "admin: staff accounts.")
@click.option("--unit", "unit_code", default=None,
              help="The unit the account belongs to (see `sohoa unit list`); default: the office's own unit.")
@pass_ctx
def staff_add(ctx: Ctx, username: str, name: str, role: str, unit_code: str | None) -> None:
    """Add (or reset) a staff account. The password is read from SOHOA_STAFF_PASSWORD or asked
    for at the prompt, never taken as an argument (shell history and process lists keep those)."""
    from registry.staff import add_staff
    from sohoa.i18n import label

    password = _staff_password()
    def add(s):
        add_staff(s, username, password, name=name, role=role)
        return units.set_staff_unit(s, username, unit_code) if unit_code else s.scalar(
            select(Staff).where(Staff.username == username))

    _staff_op(ctx, "staff.add", add, username,
              "tài khoản {username} (" + label("role", role) + ") đã sẵn sàng", role=role, unit=unit_code)


@click.group()
def unit() -> None:
    """Units of the office (đơn vị): a commune's counter, district and province offices. Staff
    belong to one and see the dossiers of their unit and of the units below it."""


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The unit's name as printed, e.g. \"UBND xã Tân Phú\".")
@click.option("--level", type=click.Choice(["commune", "district", "province"]), default="commune", show_default=True)
@click.option("--parent", "parent_code", default=None, help="The code of the unit above it.")
@pass_ctx
def unit_add(ctx: Ctx, code: str, name: str, level: str, parent_code: str | None) -> None:
    """Add (or rename) unit CODE."""
    with ctx.db.session() as s:
        u = units.add_unit(s, code, name, level=level, parent_code=parent_code)
        service.audit(s, "staff:cli", "unit.add", object_type="unit", object_id=u.code,
                      detail={"name": u.name, "level": u.level, "parent": u.parent_code})
    ctx.emit(u.__dict__, f"đơn vị {u.code} — {u.name} ({units.LEVEL_NAMES[u.level]}) đã sẵn sàng")


@unit.command("list")
@pass_ctx
def unit_list(ctx: Ctx) -> None:
    """List the units."""
    with ctx.db.session() as s:
        for u in units.list_units(s):
            ctx.emit(u.__dict__, f"{u.code}\t{u.name}\t{units.LEVEL_NAMES[u.level]}\t{u.parent_code or ''}")


@staff.command("disable")
@click.argument("username")
@pass_ctx
def staff_disable(ctx: Ctx, username: str) -> None:
    """Disable an account (its open sessions end)."""
    from registry.staff import set_disabled

    _staff_op(ctx, "staff.disable", lambda s: set_disabled(s, username, True), username, "đã khóa tài khoản {username}")


@staff.command("unlock")
@click.argument("username")
@pass_ctx
def staff_unlock(ctx: Ctx, username: str) -> None:
    """Lift a sign-in lockout after repeated wrong passwords."""
    from registry.staff import unlock

    _staff_op(ctx, "staff.unlock", lambda s: unlock(s, username), username, "đã mở khóa đăng nhập cho {username}")


@staff.command("list")
@pass_ctx
def staff_list(ctx: Ctx) -> None:
    """List staff accounts."""
    from registry.staff import list_staff
    from sohoa.i18n import label

    with ctx.db.session() as s:
        for st in list_staff(s):
            ctx.emit({"id": st.id, "username": st.username, "name": st.name, "role": st.role, "disabled": st.disabled},
                     f"{st.username:16} {label('role', st.role):32} {st.name}" + ("  [đã khóa]" if st.disabled else ""))
