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

    person = samples.Person(name, subject, dob, "Nam")
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
