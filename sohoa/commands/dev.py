"""Development helpers: ``sohoa dev portal`` (a fake national portal for tests and dev)."""
from __future__ import annotations

import click

from sohoa.cli import Ctx, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(dev)


@click.group()
def dev() -> None:
    """Development and test helpers (never for production)."""


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
@pass_ctx
def dev_portal(ctx: Ctx, host: str, port: int, fail_rate: float, modes: str, delay: float, token: str,
               seed: int | None) -> None:
    """A fake national portal: records the events it receives (GET /received) and fails on request."""
    from sohoa.dev.portal import FakePortal

    try:
        portal = FakePortal(host, port, fail_rate=fail_rate, modes=tuple(m.strip() for m in modes.split(",") if m.strip()),
                            delay=delay, token=token, seed=seed)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc))
    click.echo(f"fake portal on {portal.url} (GET /received); fail rate {fail_rate:.0%}", err=True)
    try:
        portal.serve_forever()
    except KeyboardInterrupt:
        pass
