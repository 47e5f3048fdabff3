"""Fixtures for the registry API tests: one registry per database backend (SQLite file, and a fresh
schema on the PostgreSQL at SOHOA_TEST_PG_URL), a real uvicorn server on loopback, API clients."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import need
from apitest_helpers import PG_URL, SCOPE_SETS, Env, ServerThread, _pg_reachable


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'registry.db'}"
        return
    reason = _pg_reachable(PG_URL)
    need(not reason, f"PostgreSQL ({reason})")
    from sqlalchemy import create_engine, text

    schema = f"sohoa_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def env(db_url, tmp_path_factory):
    from registry.auth import add_client
    from registry.db import Database
    from registry.service import seed_procedures
    from registry.store import Store
    from sohoa.config import load_settings
    from sohoa.web.app import create_app

    home: Path = tmp_path_factory.mktemp("home")
    settings = load_settings(home, env={}, database_url=db_url)
    settings.ensure_dirs()
    db = Database(db_url)
    db.migrate()
    tokens = {}
    with db.session() as s:
        seed_procedures(s)
        for name, scopes in SCOPE_SETS.items():
            _, tokens[name] = add_client(s, f"test-{name}", scopes)
    app = create_app(settings, db)
    with ServerThread(app) as srv:
        yield Env(settings=settings, db=db, store=Store(settings.store_dir), url=srv.url, tokens=tokens)
    db.dispose()
