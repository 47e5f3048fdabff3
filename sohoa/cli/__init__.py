"""The ``sohoa`` command line: the root group, the options every command shares, and the one
place where expected failures become a one-line message and an exit code.

Each area's commands live in ``sohoa/cli/<area>.py`` and expose ``register(cli)``.
"""
from __future__ import annotations

import logging
import sys

import click

try:  # a library's deprecation notices (e.g. cryptography's about DSA, which sohoa never uses) are not
    # for the people at the counter: the command line prints only its own lines
    from cryptography.utils import CryptographyDeprecationWarning

    import warnings

    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
except ImportError:  # pragma: no cover - cryptography is a dependency
    pass
from sqlalchemy.exc import OperationalError

from sohoa.cli import backlog, dev, dossiers, inbox, lifecycle, ocr, ops, signing, sync
from sohoa.cli.context import Ctx
from sohoa.config import load_settings
from vocab.errors import SohoaError
from vocab.text import redact_pids

COMMAND_MODULES = (dossiers, inbox, ocr, signing, lifecycle, sync, backlog, ops, dev)
GLOBAL_FLAGS = ("--json",)
GLOBAL_VALUED = ("--home",)
log = logging.getLogger("sohoa.cli")


def hoist_global_options(args: list[str]) -> list[str]:
    """``--json`` and ``--home DIR`` may stand anywhere on the line (``sohoa dossier show CODE
    --json``): move them in front of the subcommand, where the root group parses them. Nothing
    after ``--`` is touched."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i:]
            break
        if a in GLOBAL_FLAGS:
            front.append(a)
        elif a in GLOBAL_VALUED and i + 1 < len(args):
            front += [a, args[i + 1]]
            i += 1
        elif any(a.startswith(o + "=") for o in GLOBAL_VALUED):
            front.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


class SohoaGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SohoaError as exc:
            fail(exc.message, exc.exit_code, exc.detail)
        except OperationalError as exc:
            fail("không kết nối được cơ sở dữ liệu (kiểm tra SOHOA_DATABASE_URL và máy chủ CSDL)", 6, str(exc.orig))


def fail(message: str, code: int, detail: str | None = None) -> None:
    if detail:
        log.debug("%s", redact_pids(detail))
    click.echo(f"sohoa: lỗi: {message}", err=True)
    sys.exit(code)


@click.group(cls=SohoaGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False), envvar="SOHOA_HOME",
              help="Data directory (inbox/, store/, done/, quarantine/, the SQLite registry). "
                   "Default: $SOHOA_HOME or ~/.sohoa. May be given anywhere on the line.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per line. May be given anywhere on the line.")
@click.version_option(package_name="sohoa")
@click.pass_context
def cli(ctx: click.Context, home: str | None, as_json: bool) -> None:
    """sohoa — scan-to-registry pipeline for one-stop public service counters.

    \b
    Typical day:
      sohoa init                                   # once: create the registry
      sohoa dossier create --procedure 1.001193 --subject 001203004567 --name "Nguyễn Văn An"
      sohoa receipt 000.00.01.H29-261123-0001 --out receipt.pdf
      sohoa run                                    # watch the inbox, OCR, attach, serve the web UI
    --json and --home may stand before or after the subcommand.
    Exit codes: 0 ok, 1 error, 2 invalid input, 3 not found, 4 conflict, 5 forbidden, 6 unavailable.
    Configuration: SOHOA_* environment variables or $SOHOA_HOME/sohoa.toml.
    """
    ctx.obj = Ctx(load_settings(home), as_json)


for _mod in COMMAND_MODULES:
    _mod.register(cli)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="sohoa", standalone_mode=True)
