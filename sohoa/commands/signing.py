"""Signing commands: ``pki``, ``officer``, ``certify``, ``refuse``, ``register``, ``verify``.

Passphrases and PINs are never command-line arguments: ``--passphrase-file``, the environment
(``SOHOA_OFFICER_PASSPHRASE``, ``SOHOA_SEAL_PASSPHRASE``, ``SOHOA_PKCS11_PIN``), a ``pin-source``
in the key reference, or an interactive prompt.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click


def _json_flag(f):
    """A per-command ``--json`` (same as the global one)."""
    def cb(ctx, _param, value):
        if value and ctx.obj is not None:
            ctx.obj.as_json = True
        return value
    return click.option("--json", "as_json_local", is_flag=True, expose_value=False, callback=cb,
                        help="Print one JSON object per line.")(f)


def _db(ctx_obj, create: bool = False):
    if create:
        from registry.db import Database

        ctx_obj.settings.ensure_dirs()
        db = Database(ctx_obj.settings.db_url)
        if not db.is_initialised():
            db.migrate()
        ctx_obj._db = db
    return ctx_obj.db


def _secret(key_ref: str, passphrase_file: str | None, what: str):
    """Passphrase/PIN: file, key URI pin-source, env, sibling file; else prompt on a terminal."""
    from signing.keys import KeyRef, resolve_secret

    ref = KeyRef.parse(key_ref)
    env_var = "SOHOA_PKCS11_PIN" if ref.kind == "pkcs11" else "SOHOA_OFFICER_PASSPHRASE"
    pw = resolve_secret(ref, env_var, None, extra_file=passphrase_file)
    if pw is None and sys.stdin.isatty():
        pw = click.prompt(f"{'PIN' if ref.kind == 'pkcs11' else 'Mật khẩu'} cho {what}", hide_input=True,
                          default="", show_default=False).encode()
    return pw


def register(cli: click.Group) -> None:  # noqa: C901 - one place for all signing commands
    from sohoa.commands.context import pass_ctx

    # -- pki ------------------------------------------------------------------------------------
    @cli.group()
    def pki() -> None:
        """Keys and certificates (dev/test PKI)."""

    @pki.command("dev")
    @click.option("--officer-name", default=None, help="Name of the demo certifying officer.")
    @click.option("--officer-title", default=None, help="Title of the demo officer.")
    @click.option("--crl-url", default=None, help="CRL distribution point written into the certificates.")
    @_json_flag
    @pass_ctx
    def pki_dev(c, officer_name, officer_title, crl_url) -> None:
        """Create a development PKI (CA, officer, organisation seal, TSA, CRL) under $SOHOA_HOME/pki,
        register the demo officer and the seal, and configure seal_key / trust_roots in
        $SOHOA_HOME/sohoa.toml. Idempotent. Never for production."""
        from signing.admin import setup_dev_pki

        db = _db(c, create=True)
        res = setup_dev_pki(c.settings, db, officer_name=officer_name, officer_title=officer_title,
                            crl_url=crl_url)
        c.emit(res, f"PKI thử nghiệm: {res['pki_dir']} ({'mới tạo' if res['created'] else 'đã có'}); "
                    f"người ký số {res.get('officer_id')}, dấu cơ quan số {res.get('seal_id')}; "
                    f"cấu hình: {res['config']}")

    @pki.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8181, show_default=True, type=int)
    @pass_ctx
    def pki_serve(c, host, port) -> None:
        """Run the dev TSA (POST /tsa) and CRL (GET /crl) of the dev PKI until interrupted."""
        import time

        from signing.devserver import DevServices

        svc = DevServices.for_pki_dir(c.settings.pki_dir, host=host, port=port).start()
        click.echo(f"TSA: {svc.tsa_url}  CRL: {svc.crl_url}  (SOHOA_TSA_URL={svc.tsa_url})")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            svc.stop()

    # -- officers -------------------------------------------------------------------------------
    @cli.group()
    def officer() -> None:
        """Certifying officers (người có thẩm quyền chứng thực) and the organisation seal."""

    @officer.command("add")
    @click.option("--name", required=True)
    @click.option("--title", default="", help="e.g. Phó Chủ tịch UBND xã")
    @click.option("--body", default="", help="Certifying body, e.g. Ủy ban nhân dân xã Tân Phú")
    @click.option("--cert", "p12", type=click.Path(exists=True, dir_okay=False), help="PKCS#12 file (.p12/.pfx).")
    @click.option("--pkcs11", "p11", default=None,
                  help="PKCS#11 URI, e.g. 'pkcs11:token=sohoa;object=officer1?module-path=/usr/lib/softhsm/"
                       "libsofthsm2.so' (PIN: SOHOA_PKCS11_PIN, pin-source=file:… or prompt).")
    @click.option("--kind", type=click.Choice(["officer", "seal"]), default="officer", show_default=True)
    @click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="File holding the PKCS#12 passphrase / token PIN (else env or prompt).")
    @_json_flag
    @pass_ctx
    def officer_add(c, name, title, body, p12, p11, kind, passphrase_file) -> None:
        """Register an officer with the key that signs for them (idempotent per certificate)."""
        from signing.admin import add_officer
        from signing.keys import KeyLoadError

        if bool(p12) == bool(p11):
            raise click.UsageError("give exactly one of --cert FILE.p12 or --pkcs11 URI")
        key_ref = str(Path(p12).resolve()) if p12 else p11
        secret = _secret(key_ref, passphrase_file, name)
        try:
            row = add_officer(_db(c), name, key_ref, title=title, body=body or c.settings.unit_name, kind=kind,
                              secret=secret)
        except KeyLoadError as exc:
            raise click.ClickException(str(exc)) from exc
        c.emit(row, f"{'Đã thêm' if row['created'] else 'Đã có'} người ký số {row['id']}: {row['name']}")

    @officer.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Include the organisation seal.")
    @_json_flag
    @pass_ctx
    def officer_list(c, show_all) -> None:
        """List officers: id, name, title, status."""
        from signing.admin import list_officers

        for o in list_officers(_db(c), None if show_all else "officer"):
            c.emit({"id": o["id"], "name": o["name"], "title": o["title"], "status": o["status"],
                    **({"kind": o["kind"]} if show_all else {})},
                   f"{o['id']:>4}  {o['name']}  {o['title']}  [{o['status']}]")

    @officer.command("revoke")
    @click.argument("officer_id", type=int)
    @_json_flag
    @pass_ctx
    def officer_revoke(c, officer_id) -> None:
        """Revoke an officer (e.g. when they leave): they can no longer certify. A certificate of the
        local dev CA is also put on its CRL."""
        from signing.admin import AdminError, revoke_officer

        try:
            info = revoke_officer(_db(c), officer_id, c.settings.pki_dir)
        except AdminError as exc:
            raise click.ClickException(str(exc)) from exc
        c.emit(info, f"Đã thu hồi quyền ký của {info['name']} (số {info['id']})"
                     + ("; đã cập nhật CRL" if info["crl_updated"] else ""))

    # -- certify / refuse / register ------------------------------------------------------------
    @cli.command()
    @click.argument("document_ids", nargs=-1, type=int, required=True)
    @click.option("--officer", "officer_id", type=int, required=True, help="Officer id (sohoa officer list).")
    @click.option("--copies", default=1, show_default=True, type=click.IntRange(1, 100),
                  help="Copies of each original; they share one certification number.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output directory.")
    @click.option("--book", default=None, help="Book (quyển số); default 01/<year>-SCTĐT/BS.")
    @click.option("--workers", type=int, default=None, help="Signing processes (default: one per core).")
    @click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="File with the officer's key passphrase / PIN (else env, key URI or prompt).")
    @click.option("--no-seal", is_flag=True, help="Do not add the organisation seal after the officer's signature.")
    @_json_flag
    @pass_ctx
    def certify(c, document_ids, officer_id, copies, out_dir, book, workers, passphrase_file, no_seal) -> None:
        """Make electronic certified copies (bản sao điện tử chứng thực từ bản chính) of stored
        documents, signed by OFFICER with the certification stamp on the last page."""
        from signing.service import CertifyError, Certifier

        db = _db(c)
        from registry.models import Officer

        with db.session() as s:
            o = s.get(Officer, officer_id)
            key_ref = o.key_ref if o is not None else ""
        secret = _secret(key_ref, passphrase_file, f"người ký số {officer_id}") if key_ref else None
        try:
            with Certifier(c.settings, db, officer_id, secret=secret, workers=workers, seal=not no_seal) as cert:
                for w in cert.check.warnings:
                    click.echo(f"Cảnh báo: {w}", err=True)
                results = cert.certify(list(document_ids), copies=copies, out_dir=out_dir, book=book)
        except CertifyError as exc:
            raise click.ClickException(str(exc)) from exc
        for r in results:
            c.emit(r.to_dict(), f"Tài liệu {r.source_document_id}: số chứng thực {r.number}, quyển {r.book} "
                                f"({r.level}) -> " + ", ".join(cp.path for cp in r.copies))

    @cli.command()
    @click.argument("document_id", type=int)
    @click.option("--reason", required=True,
                  type=click.Choice(["erased", "damaged", "confidential", "unlawful", "self_made"]),
                  help="erased: tẩy xóa/sửa chữa; damaged: hư hỏng; confidential: mật/không được sao chụp; "
                       "unlawful: nội dung trái pháp luật; self_made: tự lập, không có xác nhận của cơ quan.")
    @click.option("--note", default="")
    @click.option("--officer", "officer_id", type=int, default=None)
    @_json_flag
    @pass_ctx
    def refuse(c, document_id, reason, note, officer_id) -> None:
        """Refuse to certify an original, recording the reason."""
        from signing.service import REFUSAL_REASONS, CertifyError, record_refusal

        try:
            rid = record_refusal(_db(c), document_id, reason, note, officer_id)
        except CertifyError as exc:
            raise click.ClickException(str(exc)) from exc
        c.emit({"id": rid, "document_id": document_id, "reason": reason, "note": note},
               f"Đã ghi nhận từ chối chứng thực tài liệu {document_id}: {REFUSAL_REASONS[reason]}")

    @cli.command("register")
    @click.option("--book", default=None, help="Book (quyển số), e.g. 01/2026-SCTĐT/BS.")
    @click.option("--year", type=int, default=None)
    @_json_flag
    @pass_ctx
    def register_cmd(c, book, year) -> None:
        """Print the certification register (sổ chứng thực) for a book and year."""
        from signing.service import register_rows

        for r in register_rows(_db(c), book, year):
            c.emit(r, f"{r['number']:>6}  {r['book']}  {r['year']}  tài liệu {r['source_document_id']} "
                      f"({r['doc_type']})  {r['copies']} bản  {r['officer']}  {r['status']}  {r['signed_at'] or ''}")

    # -- verify ---------------------------------------------------------------------------------
    @cli.command()
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False), required=True)
    @click.option("--trust-roots", default=None, help="PEM files (comma-separated); default: settings.trust_roots.")
    @click.option("--offline", is_flag=True, help="Do not fetch CRLs/OCSP over the network.")
    @_json_flag
    @pass_ctx
    def verify(c, files, trust_roots, offline) -> None:
        """Verify signed PDFs: intact, trusted, signer, time, revocation, changes after signing.
        Exit code 1 when a file is not valid."""
        from signing.verify import verify_pdf

        roots = trust_roots or c.settings.trust_roots
        ok = True
        for f in files:
            rep = verify_pdf(Path(f).read_bytes(), roots, [c.settings.pki_dir], allow_fetching=not offline,
                             path=str(f))
            ok = ok and rep.valid
            if c.as_json:
                click.echo(rep.to_json())
            else:
                click.echo(rep.to_text())
        if not ok:
            sys.exit(1)
