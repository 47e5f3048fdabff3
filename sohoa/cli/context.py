"""What every command gets: the settings, ``--json``, and the registry opened on first use."""
from __future__ import annotations

import json

import click

from sohoa.config import Settings
from vocab.errors import Unavailable


class Ctx:
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
                raise Unavailable(f"sổ đăng ký tại {self._db.safe_url} chưa được khởi tạo: chạy `sohoa init` trước")
        return self._db

    def emit(self, obj: dict, human: str | None = None) -> None:
        """One JSON object per line with --json, else the human line."""
        if self.as_json or human is None:
            click.echo(json.dumps(obj, ensure_ascii=False, default=str))
        else:
            click.echo(human)


pass_ctx = click.make_pass_decorator(Ctx)
