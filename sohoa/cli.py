"""The ``sohoa`` command line. Each stage's commands live in ``sohoa/commands/<name>.py`` and
expose ``register(cli)``; this module only builds the root group and the shared context."""
from __future__ import annotations

import importlib
import json

import click

from sohoa.config import Settings, load_settings

COMMAND_MODULES = ("core", "ingest", "ocr", "signing", "api", "sync", "backlog", "dev")


class Ctx:
    """What every command gets: settings, and the registry opened on first use."""

    def __init__(self, settings: Settings, as_json: bool) -> None:
        self.settings = settings
        self.as_json = as_json
        self._db = None

    @property
    def db(self):
        if self._db is None:
            from registry.db import Database

            self._db = Database(self.settings.db_url)
            if not self._db.is_initialised():
                raise click.ClickException(
                    f"the registry at {self.settings.db_url} is not initialised: run `sohoa init` first")
        return self._db

    def emit(self, obj: dict, human: str | None = None) -> None:
        """One JSON object per line with --json, else the human line."""
        if self.as_json:
            click.echo(json.dumps(obj, ensure_ascii=False, default=str))
        else:
            click.echo(human if human is not None else json.dumps(obj, ensure_ascii=False, default=str))


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False), envvar="SOHOA_HOME",
              help="Data directory (inbox/, store/, done/, quarantine/, the SQLite registry). "
                   "Default: $SOHOA_HOME or ~/.sohoa.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
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
    Configuration: SOHOA_* environment variables or $SOHOA_HOME/sohoa.toml.
    """
    ctx.obj = Ctx(load_settings(home), as_json)


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"sohoa.commands.{_name}")
    except ModuleNotFoundError as exc:  # a stage whose commands are not there yet
        if exc.name != f"sohoa.commands.{_name}":
            raise
        continue
    _mod.register(cli)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="sohoa", standalone_mode=True)

