"""Developer and demo commands: ``sohoa dev sample`` writes a synthetic scan to try sohoa with."""
from __future__ import annotations

from pathlib import Path

import click

from sohoa.cli.context import Ctx, pass_ctx

KINDS = ("cccd", "khai_sinh")


def register(cli: click.Group) -> None:
    cli.add_command(dev)


@click.group()
def dev() -> None:
    """Tools for development and demonstrations (synthetic scans, dev services). Not for production data."""


@dev.command("sample")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the scan (.jpg, .png or .pdf), e.g. into $SOHOA_HOME/inbox/.")
@click.option("--subject", default="001088012345", show_default=True, help="Personal ID number printed on it.")
@click.option("--name", default="Nguyễn Văn An", show_default=True, help="Name printed on it.")
@click.option("--dob", default="12/05/1988", show_default=True, help="Date of birth dd/mm/yyyy.")
@pass_ctx
def dev_sample(ctx: Ctx, kind: str, out_path: str, subject: str, name: str, dob: str) -> None:
    """Render a synthetic, slightly skewed scan of an ID card (cccd) or a birth certificate
    (khai_sinh) with the given person's data; written atomically (a temp name, then renamed), so
    an inbox takes it whole."""
    from sohoa.dev import samples
    from vocab.identifiers import is_pid, sex_of_pid

    # the sex printed is the one the number encodes, as on a real paper
    person = samples.Person(name, subject, dob, sex_of_pid(subject) if is_pid(subject) else "Nam")
    if kind == "cccd":
        images = [samples.degrade(samples.render_page(samples.id_card(person), card=True), angle=-1.0, seed=7)]
    else:
        images = [samples.degrade(samples.render_page(p), angle=0.6, seed=i)
                  for i, p in enumerate(samples.birth_certificate(person))]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if out.suffix.lower() == ".pdf" or len(images) > 1:
        tmp.write_bytes(samples.images_to_pdf(images))
    else:
        images[0].convert("RGB").save(tmp, format="PNG" if out.suffix.lower() == ".png" else "JPEG", quality=88)
    tmp.rename(out)
    ctx.emit({"kind": kind, "out": str(out), "pages": len(images)}, f"đã ghi bản quét mẫu {kind} vào {out}")


@dev.command("portal")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of requests that fail (timeouts, 500s, dropped connections, duplicate and "
                   "out-of-order acknowledgements).")
@click.option("--modes", default="timeout,500,drop,duplicate,reorder", show_default=True,
              help="Failure modes to draw from, comma-separated.")
@click.option("--delay", type=float, default=3.0, show_default=True, help="Seconds a 'timeout' answer is held back.")
@click.option("--token", default="", envvar="SOHOA_DEV_PORTAL_TOKEN",
              help="Bearer token the portal requires (default: none).")
@click.option("--seed", type=int, default=None, help="Seed for the failures (repeatable runs).")
def dev_portal(host: str, port: int, fail_rate: float, modes: str, delay: float, token: str,
               seed: int | None) -> None:
    """A fake national portal: records the events it receives (GET /received) and fails on request."""
    from sohoa.dev.portal import FakePortal

    try:
        portal = FakePortal(host, port, fail_rate=fail_rate, modes=tuple(m.strip() for m in modes.split(",") if m.strip()),
                            delay=delay, token=token, seed=seed)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc))
    click.echo(f"Cổng giả lập tại {portal.url} (GET /received); tỷ lệ lỗi {fail_rate:.0%}", err=True)
    try:
        portal.serve_forever()
    except KeyboardInterrupt:
        pass


@dev.command("csc")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8190, show_default=True)
@click.option("--pki-dir", type=click.Path(file_okay=False), default=None,
              help="A `sohoa pki dev` directory whose officer (OTP) and seal (no OTP) become credentials "
                   "(default: $SOHOA_HOME/pki).")
@click.option("--credential", "extra", multiple=True,
              help="More credentials: ID=FILE.p12[:otp|approval|implicit] (passphrase in FILE.p12.pass).")
@click.option("--client-id", default="sohoa", show_default=True, help="OAuth2 client id the service accepts.")
@click.option("--client-secret-file", type=click.Path(dir_okay=False), default=None,
              help="File holding the OAuth2 client secret (created with a random secret when missing; "
                   "default: <pki-dir>/csc-client.secret).")
@click.option("--approval", is_flag=True, help="The officer's credential asks for a phone approval instead of an OTP.")
@click.option("--approve", type=click.Choice(["poll", "time", "never"]), default="poll", show_default=True,
              help="When a pending approval is granted: on the --approve-polls-th check, after --approve-after "
                   "seconds, or never (POST /_dev/approve grants at once).")
@click.option("--approve-after", type=float, default=5.0, show_default=True)
@click.option("--approve-polls", type=int, default=2, show_default=True)
@click.option("--multisign", type=int, default=10, show_default=True, help="Hashes per signHash call.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of API calls answered HTTP 500.")
@click.option("--fail-on", default="", help="Endpoints always answered 500, comma-separated (e.g. signatures/signHash).")
@click.option("--hang-on", default="", help="Endpoints that never answer, comma-separated.")
@click.option("--delay", type=float, default=0.0, show_default=True, help="Seconds before each answer.")
@click.option("--token-ttl", type=float, default=3600.0, show_default=True, help="Access tokens expire after N seconds.")
@click.option("--token-uses", type=int, default=0, show_default=True, help="… or after N calls (0: no limit).")
@click.option("--sad-ttl", type=float, default=300.0, show_default=True, help="An authorization (SAD) expires after N seconds.")
@click.option("--sad-signatures", type=int, default=0, show_default=True,
              help="… or is used up after N signatures (0: numSignatures).")
@click.option("--otp-ttl", type=float, default=120.0, show_default=True, help="An OTP changes every N seconds.")
@pass_ctx
def dev_csc(ctx: Ctx, host, port, pki_dir, extra, client_id, client_secret_file, approval, approve, approve_after,
            approve_polls, multisign, fail_rate, fail_on, hang_on, delay, token_ttl, token_uses, sad_ttl,
            sad_signatures, otp_ttl) -> None:
    """A local remote-signing service (CSC API v2) with real keys, for development and tests: OAuth2
    client credentials, credentials/list|info|authorize(+authorizeCheck), signatures/signHash; it
    prints the OTPs; switches to fail, delay and expire. Never for production."""
    import secrets as _secrets

    from sohoa.dev.csc import DevCSC

    d = Path(pki_dir) if pki_dir else ctx.settings.pki_dir
    secret_file = Path(client_secret_file) if client_secret_file else d / "csc-client.secret"
    if secret_file.is_file():
        secret = secret_file.read_text().strip()
    else:
        secret = _secrets.token_urlsafe(24)
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.touch(mode=0o600)
        secret_file.write_text(secret + "\n")
    split = lambda v: [x.strip() for x in v.split(",") if x.strip()]  # noqa: E731
    try:
        svc = DevCSC(host, port, client_id=client_id, client_secret=secret, fail_rate=fail_rate,
                     fail_on=split(fail_on), hang_on=split(hang_on), delay=delay, token_ttl=token_ttl,
                     token_uses=token_uses, sad_ttl=sad_ttl, sad_signatures=sad_signatures, otp_ttl=otp_ttl, approve=approve,
                     approve_after=approve_after, approve_after_polls=approve_polls)
        for name, mode in (("officer", "approval" if approval else "otp"), ("seal", "implicit")):
            if (d / f"{name}.p12").is_file():
                svc.add_p12(name, d / f"{name}.p12", mode=mode, multisign=multisign)
        for spec in extra:
            cid, _, rest = spec.partition("=")
            path, _, mode = rest.partition(":")
            svc.add_p12(cid.strip(), path, mode=mode or "otp", multisign=multisign)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc))
    if not svc.credentials:
        svc.stop()
        raise click.ClickException(f"không có chứng thư nào để phục vụ (chạy `sohoa pki dev` hoặc dùng --credential): {d}")
    click.echo(f"Dịch vụ ký số từ xa (CSC v2) giả lập tại {svc.url}; client id {client_id}, client secret trong "
               f"{secret_file}; chứng thư: {', '.join(sorted(svc.credentials))}", err=True)
    click.echo(f"Đăng ký: sohoa officer add --csc {svc.url} --credential officer --csc-client-id {client_id} "
               f"--csc-secret-file {secret_file}", err=True)
    try:
        svc.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        svc.stop()
