"""Upgrades (issue 21): a home made by the previous release (tests/fixtures/release-73c6b49, built
by that commit's code: see tests/fixtures/make_release_home.py) is upgraded by today's
`sohoa init`; every row and every stored file is still there and readable. And `sohoa init` on an
older schema takes a backup first."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pikepdf

FIXTURE = Path(__file__).parent / "fixtures" / "release-73c6b49"


def _rows(db: Path) -> dict[str, dict[tuple, dict]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
        out = {}
        for t in tables:
            pk = [r["name"] for r in con.execute(f"PRAGMA table_info('{t}')") if r["pk"]] or ["rowid"]
            out[t] = {tuple(r[c] for c in pk): dict(r) for r in con.execute(f"SELECT {', '.join(pk)}, * FROM '{t}'")}
        return out
    finally:
        con.close()


def _old_home(tmp_path: Path) -> tuple[Path, dict]:
    made = json.loads((FIXTURE / "made.json").read_text(encoding="utf-8"))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy2(FIXTURE / "sohoa.db", home / "sohoa.db")
    for d in ("store", "pki"):
        shutil.copytree(FIXTURE / d, home / d)
    toml = (FIXTURE / "sohoa.toml").read_text(encoding="utf-8").replace(made["home"], str(home))
    (home / "sohoa.toml").write_text(toml, encoding="utf-8")
    return home, made


def test_previous_release_home_upgrades_with_every_row_and_file(tmp_path):
    from tests.conftest import SohoaCLI

    home, made = _old_home(tmp_path)
    before = _rows(home / "sohoa.db")
    assert len(before["documents"]) == 4 and len(before["dossiers"]) == 2  # 2 scans + 2 certified copies
    assert before["outbox"] and before["certified_copies"] and before["ingest_journal"]
    cli = SohoaCLI(home)
    (out,) = cli.json("init")
    after = _rows(home / "sohoa.db")
    for table, rows in before.items():
        assert table in after, f"table {table} is gone"
        for key, row in rows.items():
            new = after[table].get(key)
            assert new is not None, f"{table} row {key} is gone"
            assert {c: new.get(c) for c in row} == row, f"{table} row {key} changed"
    # the store: every document's file there, hashing to its name, a readable PDF of its pages
    check = cli.json("check")[0]
    assert check["ok"] and check["documents"] == 4 and check["files"] == 4, check
    for d in after["documents"].values():
        path = home / "store" / d["sha256"][:2] / d["sha256"][2:4] / f"{d['sha256']}.pdf"
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) == d["pages"]
    # the registry answers through today's code: dossiers, components, the certified copies
    for code in made["dossiers"]:
        shown = cli.json("dossier", "show", code)[0]
        assert [c["document_id"] for c in shown["components"] if c.get("document_id")]
    for name in made["copies"]:
        data = (FIXTURE / "certified" / name).read_bytes()
        assert b"/ByteRange" in data
        import hashlib

        assert hashlib.sha256(data).hexdigest() in {d["sha256"] for d in after["documents"].values()}
    assert cli.json("--json", "register")  # the certification register still reads
    doctor = {r["check"]: r for r in map(json.loads, cli.run("--json", "doctor", "--offline",
                                                               check=False).stdout.splitlines())}
    assert doctor["registry"]["status"] == "ok", doctor["registry"]
    if out["upgraded"]:  # the fixture's schema is older than today's: a backup was taken first
        assert Path(out["upgraded"]["registry_copy"]).is_file()


def test_init_on_an_older_schema_takes_a_backup_first(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    from registry.db import Database
    from tests.conftest import SohoaCLI

    home, _made = _old_home(tmp_path)
    cli = SohoaCLI(home)
    cli.run("init")  # the fixture's release → today's newest schema
    shutil.rmtree(home / "backups", ignore_errors=True)
    cli.run("init")  # at the newest schema: nothing to back up
    assert not (home / "backups").exists() or not list((home / "backups").iterdir())
    cli.run("backup", "keygen", "--out", str(tmp_path / "office.key"))
    cli.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "office.key")
    nightly = json.loads(cli.run("--json", "backup", str(tmp_path / "dest")).stdout)
    db = Database(f"sqlite:///{home / 'sohoa.db'}")
    cfg = db.alembic_config()
    script = ScriptDirectory.from_config(cfg)
    (head,) = script.get_heads()
    older = script.get_revision(head).down_revision
    older = older[0] if isinstance(older, tuple) else older
    command.downgrade(cfg, older)  # the schema as the release before the newest migration left it
    db.dispose()
    rows_before = _rows(home / "sohoa.db")

    (out,) = cli.json("init")
    up = out["upgraded"]
    assert up["from"] == [older] and up["to"] == [head]
    copy = Path(up["registry_copy"])
    assert copy.parent == home / "backups" and copy.is_file()
    con = sqlite3.connect(copy)
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(older,)]
    finally:
        con.close()
    assert _rows(copy) == rows_before  # the copy is the registry as it was before the upgrade
    # the office backs up nightly: a full backup went to the same place first, and it verifies
    full = Path(up["backup"])
    assert full.parent == tmp_path / "dest" and full.name != nightly["name"]
    manifest = json.loads((full / "manifest.json").read_text())
    assert manifest["documents"] == nightly["documents"] == 4
    assert json.loads(cli.run("--json", "backup", "verify", str(tmp_path / "dest")).stdout)["ok"]
    human = cli.run("init").stdout
    assert "đã sao lưu" not in human  # now at the newest schema: no second backup
