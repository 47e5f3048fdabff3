"""Signing commands: ``pki``, ``officer``, ``certify``, ``refuse``, ``register``, ``verify``,
``archive refresh``.

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
    from signing import is_remote, is_token, key_secret

    pw = key_secret(key_ref, passphrase_file)
    if pw is None and sys.stdin.isatty():
        label = "Mã OTP (để trống: phê duyệt trên điện thoại)" if is_remote(key_ref) else (
            "PIN" if is_token(key_ref) else "Mật khẩu")
        pw = click.prompt(f"{label} cho {what}", hide_input=True, default="", show_default=False).encode()
    return pw


def register(cli: click.Group) -> None:  # noqa: C901 - one place for all signing commands
    from sohoa.cli.context import pass_ctx

    # -- pki ------------------------------------------------------------------------------------
    @cli.group()
    def pki() -> None:
        """Keys and certificates (dev/test PKI)."""

    @pki.command("dev")
    @click.option("--officer-name", default=None, help="Name of the demo certifying officer.")
    @click.option("--officer-title", default=None, help="Title of the demo officer.")
    @click.option("--base-url", default=None,
                  help="Where the PKI publishes its CRLs and CA certificates (default: this web app's /pki).")
    @_json_flag
    @pass_ctx
    def pki_dev(c, officer_name, officer_title, base_url) -> None:
        """Create a development PKI (root and issuing CA, officer, organisation seal, TSA, CRLs) under
        $SOHOA_HOME/pki, register the demo officer and the seal, and set seal_key, trust_roots_gov
        and dev_mode in $SOHOA_HOME/sohoa.toml. Idempotent. Never for production."""
        from sohoa.dev.pki import setup_dev_pki

        db = _db(c, create=True)
        res = setup_dev_pki(c.settings, db, officer_name=officer_name, officer_title=officer_title,
                            base_url=base_url)
        c.emit(res, f"PKI thử nghiệm: {res['pki_dir']} ({'mới tạo' if res['created'] else 'đã có'}); "
                    f"người ký số {res.get('officer_id')}, dấu cơ quan số {res.get('seal_id')}; "
                    f"CRL công bố tại {res['base_url']}; cấu hình: {res['config']}")

    @pki.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8181, show_default=True, type=int)
    @pass_ctx
    def pki_serve(c, host, port) -> None:
        """Run the dev TSA (POST /tsa) and publish the dev PKI (GET /pki/<ca>.crl|.crt) until
        interrupted."""
        import time

        from sohoa.dev.servers import DevServices

        svc = DevServices.for_pki_dir(c.settings.pki_dir, host=host, port=port).start()
        click.echo(f"TSA: {svc.tsa_url}  CRL: {svc.pki_url}/<ca>.crl  (SOHOA_TSA_URL={svc.tsa_url})")
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
    @click.option("--name", default=None,
                  help="The holder's name, to confirm it (the name on stamps is the certificate's).")
    @click.option("--title", default="", help="e.g. Phó Chủ tịch UBND xã")
    @click.option("--body", default="", help="Certifying body, e.g. Ủy ban nhân dân xã Tân Phú")
    @click.option("--cert", "p12", type=click.Path(exists=True, dir_okay=False), help="PKCS#12 file (.p12/.pfx).")
    @click.option("--pkcs11", "p11", default=None,
                  help="PKCS#11 URI, e.g. 'pkcs11:token=sohoa;object=officer1?module-path=/usr/lib/softhsm/"
                       "libsofthsm2.so' (PIN: SOHOA_PKCS11_PIN, pin-source=file:… or prompt).")
    @click.option("--csc", "csc_url", default=None,
                  help="Remote signing service (CSC API v2) base URL, e.g. https://ky-so.example.vn "
                       "(with --credential; client secret: SOHOA_CSC_CLIENT_SECRET or --csc-secret-file).")
    @click.option("--credential", default=None, help="The officer's credential id at the --csc service.")
    @click.option("--csc-client-id", default="", help="OAuth2 client id at the --csc service (else SOHOA_CSC_CLIENT_ID).")
    @click.option("--csc-secret-file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="File holding the OAuth2 client secret for the --csc service (else SOHOA_CSC_CLIENT_SECRET).")
    @click.option("--approval-timeout", type=click.FloatRange(1, 3600), default=None,
                  help="Seconds a batch waits for the officer's approval on the phone (--csc; default 120).")
    @click.option("--kind", type=click.Choice(["officer", "seal"]), default="officer", show_default=True)
    @click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="File holding the PKCS#12 passphrase / token PIN (else env or prompt).")
    @click.option("--offline", is_flag=True, help="Do not fetch CRLs / intermediates over the network.")
    @_json_flag
    @pass_ctx
    def officer_add(c, name, title, body, p12, p11, csc_url, credential, csc_client_id, csc_secret_file,
                    approval_timeout, kind, passphrase_file, offline) -> None:
        """Register an officer with the key that signs for them. The certificate is checked like at
        signing time (validity, key usage, path to a configured anchor set, revocation); the name
        is the certificate holder's. With --csc the key stays in a remote signing service: the
        certificate chain comes from its credentials/info (no OTP is needed to register)."""
        from signing import Trust, add_officer

        if sum(bool(x) for x in (p12, p11, csc_url)) != 1:
            raise click.UsageError("give exactly one of --cert FILE.p12, --pkcs11 URI or --csc URL --credential ID")
        if bool(csc_url) != bool(credential):
            raise click.UsageError("--csc URL and --credential ID go together")
        if csc_url:
            from signing.csc import make_ref

            key_ref, secret = make_ref(csc_url, credential, csc_client_id, csc_secret_file or "", approval_timeout), None
        else:
            key_ref = str(Path(p12).resolve()) if p12 else p11
            secret = _secret(key_ref, passphrase_file, name or "người ký")
        row = add_officer(_db(c), key_ref, name=name, title=title, body=body or c.settings.unit_name, kind=kind,
                          secret=secret, trust=Trust.from_settings(c.settings), allow_fetching=not offline)
        for w in row.get("warnings", []):
            click.echo(f"Cảnh báo: {w}", err=True)
        c.emit(row, f"{'Đã thêm' if row['created'] else 'Đã có'} người ký số {row['id']}: {row['name']}")

    @officer.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Include the organisation seal.")
    @_json_flag
    @pass_ctx
    def officer_list(c, show_all) -> None:
        """List officers: id, name, title, status."""
        from signing import list_officers

        for o in list_officers(_db(c), None if show_all else "officer"):
            c.emit({"id": o["id"], "name": o["name"], "title": o["title"], "status": o["status"],
                    **({"kind": o["kind"]} if show_all else {}),
                    **({"revocation_reason": o["revocation_reason"]} if o["revocation_reason"] else {})},
                   f"{o['id']:>4}  {o['name']}  {o['title']}  [{o['status']}]")

    @officer.command("link")
    @click.argument("officer_id", type=int)
    @click.option("--staff", "username", default=None, help="The officer's staff account (omit to unlink).")
    @_json_flag
    @pass_ctx
    def officer_link(c, officer_id, username) -> None:
        """Give an officer's signing key to their staff account: only they are offered it on the web."""
        from registry.signers import link_key

        with _db(c).session() as s:
            o = link_key(s, officer_id, username)
            out = {"id": o.id, "name": o.name, "staff": o.staff_username}
        c.emit(out, f"Đã gắn khóa ký của {out['name']} (số {out['id']}) với tài khoản {username}" if username
               else f"Đã bỏ gắn khóa ký của {out['name']} (số {out['id']})")

    @officer.command("revoke")
    @click.argument("officer_id", type=int)
    @click.option("--reason", required=True,
                  type=click.Choice(["left", "superseded", "ceased", "key-compromise", "other"]),
                  help="left: nghỉ việc/chuyển công tác; superseded: có chứng thư mới; ceased: thôi nhiệm vụ chứng "
                       "thực; key-compromise: lộ/mất khóa; other: lý do khác.")
    @_json_flag
    @pass_ctx
    def officer_revoke(c, officer_id, reason) -> None:
        """Revoke an officer's right to sign (they can no longer certify), recording why. A
        certificate of the local dev CA is also put on its CRL with the matching reason."""
        from signing import revoke_officer
        from sohoa.dev.pki import revoke_in_dev_ca

        info = revoke_officer(_db(c), officer_id, reason)
        info["crl_updated"] = revoke_in_dev_ca(c.settings.pki_dir, info.pop("cert_pem"), info["crl_reason"])
        c.emit(info, f"Đã thu hồi quyền ký của {info['name']} (số {info['id']}), lý do: {info['reason_text']}"
                     + ("; đã cập nhật CRL" if info["crl_updated"] else
                        f"; đề nghị CA thu hồi chứng thư số (lý do {info['crl_reason']})"))

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
        documents, signed by OFFICER with the certification stamp on the last page. Each document's
        certification request (the clerk's pending one, else a new one) is claimed, then settled
        or put back in the queue, as on the officer's page."""
        from signing import Certifier, list_officers, remote_wait
        from sohoa.jobs.certification import certify_documents

        db = _db(c)
        key_ref = next((o["key_ref"] for o in list_officers(db, None) if o["id"] == officer_id), "")
        secret = _secret(key_ref, passphrase_file, f"người ký số {officer_id}") if key_ref else None
        wait = remote_wait(key_ref)
        if wait is not None and not secret:
            click.echo(f"Hãy phê duyệt yêu cầu ký trên điện thoại (chờ tối đa {wait:g} giây)…", err=True)
        with Certifier(c.settings, db, officer_id, secret=secret, workers=workers, seal=not no_seal) as cert:
            for w in cert.check.warnings:
                click.echo(f"Cảnh báo: {w}", err=True)
            batch = certify_documents(cert, db, list(document_ids), copies=copies, actor=f"officer:{officer_id}",
                                      out_dir=out_dir, book=book)
        for _, r in batch.certified:
            c.emit(r.to_dict(), f"Tài liệu {r.source_document_id}: số chứng thực {r.number}, quyển {r.book} "
                                f"({r.level}) -> " + ", ".join(cp.path for cp in r.copies))
        if batch.failure is not None:
            raise batch.failure

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
        from signing import REFUSAL_REASONS, record_refusal

        refusal = record_refusal(_db(c), document_id, reason, note, officer_id)
        c.emit({"id": refusal.id, "document_id": document_id, "reason": reason, "note": note},
               f"Đã ghi nhận từ chối chứng thực tài liệu {document_id}: {REFUSAL_REASONS[reason]}")

    @cli.command("register")
    @click.option("--book", default=None, help="Book (quyển số), e.g. 01/2026-SCTĐT/BS.")
    @click.option("--year", type=int, default=None)
    @_json_flag
    @pass_ctx
    def register_cmd(c, book, year) -> None:
        """Print the certification register (sổ chứng thực) for a book and year."""
        from signing import register_rows

        for r in register_rows(_db(c), book, year):
            c.emit(r, f"{r['number']:>6}  {r['book']}  {r['year']}  tài liệu {r['source_document_id']} "
                      f"({r['doc_type']})  {r['copies']} bản  {r['officer']}  {r['status']}  {r['signed_at'] or ''}")

    # -- verify ---------------------------------------------------------------------------------
    @cli.command()
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False), required=True)
    @click.option("--offline", is_flag=True, help="Do not fetch CRLs or certificates over the network.")
    @_json_flag
    @pass_ctx
    def verify(c, files, offline) -> None:
        """Verify signed PDFs: intact, trusted (and by which anchor set), signer, time, revocation,
        what changed after each signature. Exit code 1 when a file is not valid."""
        from signing import Trust, verify_pdf

        trust = Trust.from_settings(c.settings)
        ok = True
        for f in files:
            rep = verify_pdf(Path(f).read_bytes(), trust, allow_fetching=not offline, path=str(f))
            ok = ok and rep.valid
            click.echo(rep.to_json() if c.as_json else rep.to_text())
        if not ok:
            sys.exit(1)

    # -- archive --------------------------------------------------------------------------------
    @cli.group()
    def archive() -> None:
        """Long-term archive of certified copies (PAdES B-LTA)."""

    @archive.command("refresh")
    @click.option("--within-days", default=90, show_default=True, type=click.IntRange(0, 3650),
                  help="Refresh copies whose timestamp chain expires within this many days.")
    @click.option("--dry-run", is_flag=True, help="Only report what is due.")
    @click.option("--offline", is_flag=True, help="Do not fetch CRLs or certificates over the network.")
    @_json_flag
    @pass_ctx
    def archive_refresh(c, within_days, dry_run, offline) -> None:
        """Add validation data and a new document timestamp to stored certified copies before the
        certificates proving their last timestamp expire. Exit code 1 when a copy failed."""
        from signing import refresh_archive

        rep = refresh_archive(c.settings, _db(c), within_days=within_days, dry_run=dry_run,
                              allow_fetching=not offline)
        click.echo(rep.to_json() if c.as_json else "\n".join(rep.lines()))
        if rep.failed:
            sys.exit(1)
