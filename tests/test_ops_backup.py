"""`sohoa backup` / `restore` / `backup keygen` / `backup verify` (issue 21): the contracts, the
incremental store copy, tampering and a wrong key found by verify, retention, bad input."""
from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import SohoaCLI


def _add_document(sohoa, tmp_path: Path, n: int) -> None:
    """A dossier whose component is a PDF taken from the national store (no OCR needed)."""
    from sohoa.dev import samples
    from sohoa.dev.scans import scanned_pdf

    person = samples.demo_people(seed=70 + n)[0]
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", person.pid,
                      "--name", person.name)[0]["code"]
    pdf = tmp_path / f"national-{n}.pdf"
    pdf.write_bytes(scanned_pdf(text_lines=("GIẤY KHAI SINH", f"Số: {n:04d}"), dpi=60, noise=False))
    sohoa.run("dossier", "national-store", code, "--type", "to_khai", "--file", str(pdf), "--ref", f"KDL-{n}")


@pytest.fixture
def keyed(sohoa, tmp_path):
    from sohoa.config import update_config_file

    sohoa.run("backup", "keygen", "--out", str(tmp_path / "keys" / "office.key"))
    update_config_file(sohoa.home, {"backup_key": str(tmp_path / "keys" / "office.key")})
    return sohoa


def test_keygen_makes_a_private_key_and_never_overwrites(sohoa, tmp_path):
    out = json.loads(sohoa.run("--json", "backup", "keygen", "--out", str(tmp_path / "k")).stdout)
    assert out["public_key"].startswith("age1")
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600
    text = (tmp_path / "k").read_text()
    assert f"# public key: {out['public_key']}" in text and "AGE-SECRET-KEY-1" in text
    again = sohoa.run("backup", "keygen", "--out", str(tmp_path / "k"), check=False)
    assert again.returncode == 4 and again.stderr.startswith("sohoa: lỗi: ") and "không ghi đè" in again.stderr
    assert (tmp_path / "k").read_text() == text


def test_without_a_key_backup_says_how_to_make_one(sohoa, tmp_path):
    p = sohoa.run("backup", str(tmp_path / "dest"), check=False)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        'sohoa: lỗi: chưa có khóa sao lưu: đặt backup_key = "TỆP" trong sohoa.toml hoặc SOHOA_BACKUP_KEY '
        "(tạo khóa bằng `sohoa backup keygen --out TỆP`)"]
    assert not (tmp_path / "dest").exists() or not list((tmp_path / "dest").glob("sohoa-*"))


def test_incremental_verify_tamper_wrong_key_and_one_set_restore(keyed, tmp_path):
    sohoa = keyed
    dest = tmp_path / "dest"
    _add_document(sohoa, tmp_path, 1)
    first = json.loads(sohoa.run("--json", "backup", str(dest)).stdout)
    assert first["documents"] == 1 and first["new_files"] == 1
    _add_document(sohoa, tmp_path, 2)
    second = json.loads(sohoa.run("--json", "backup", str(dest)).stdout)
    assert second["documents"] == 2 and second["new_files"] == 1  # only the new file is copied
    assert len(list((dest / "store").rglob("*.age"))) == 2
    manifest = json.loads((Path(second["path"]) / "manifest.json").read_text())
    assert {e["path"].split("/")[-1].split(".")[0] for e in manifest["files"]} == {
        e["sha256"] for e in manifest["files"]}  # every file listed with its hash
    assert manifest["database"]["sha256"] and manifest["home_tar"]["sha256"]

    ok = sohoa.run("backup", "verify")  # default: where the last backup went
    assert ok.stdout.strip().endswith("tốt")

    # one set inside DEST restores as it was (SRC = a set); the newer document is not in it
    one = SohoaCLI(tmp_path / "h1")
    one.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "keys" / "office.key")
    sets = sorted(dest.glob("sohoa-*"))
    assert len(sets) == 2  # the newest day's sets are all kept
    one.run("restore", str(sets[0]))
    assert json.loads(one.run("--json", "check").stdout)["documents"] == 1

    # a wrong key: verify and restore refuse, one line each
    sohoa.run("backup", "keygen", "--out", str(tmp_path / "other.key"))
    toml = (sohoa.home / "sohoa.toml").read_text(encoding="utf-8")
    (sohoa.home / "sohoa.toml").write_text(toml.replace(str(tmp_path / "keys" / "office.key"), str(tmp_path / "other.key")), encoding="utf-8")
    try:
        wrong = sohoa.run("--json", "backup", "verify", str(dest), check=False)
    finally:
        (sohoa.home / "sohoa.toml").write_text(toml, encoding="utf-8")
    assert wrong.returncode == 1 and "sai khóa sao lưu" in wrong.stdout

    # a flipped byte in a stored file: verify names it
    obj = sorted((dest / "store").rglob("*.age"))[0]
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 1
    obj.write_bytes(bytes(data))
    bad = json.loads(sohoa.run("--json", "backup", "verify", str(dest), check=False).stdout)
    assert not bad["ok"] and any(obj.name in e for e in bad["errors"]), bad
    fresh = SohoaCLI(tmp_path / "h2")
    fresh.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "keys" / "office.key")
    r = fresh.run("restore", str(dest), check=False)
    assert r.returncode != 0 and r.stderr.startswith("sohoa: lỗi: ") and "Traceback" not in r.stderr
    assert not (fresh.home / "sohoa.db").exists()  # stopped before the registry: can be run again
    data[len(data) // 2] ^= 1  # the disk is repaired (or the file copied back from another backup)
    obj.write_bytes(bytes(data))
    fresh.run("restore", str(dest))  # the same home, run again: completes
    assert json.loads(fresh.run("--json", "check").stdout)["ok"]
    obj.unlink()  # a stored file lost from the backup disk
    gone = json.loads(sohoa.run("--json", "backup", "verify", str(dest), check=False).stdout)
    assert not gone["ok"] and any(e.startswith("thiếu ") and obj.name in e for e in gone["errors"]), gone
    r = SohoaCLI(tmp_path / "h3")
    r.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "keys" / "office.key")
    p = r.run("restore", str(dest), check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "thiếu tệp" in p.stderr, p.stderr
    assert not (tmp_path / "h3" / "sohoa.db").exists()  # nothing half-restored


def test_retention_keeps_daily_and_monthly_sets(tmp_path):
    from sohoa.config import load_settings
    from sohoa.ops.backup import backup, keygen, list_sets

    home = tmp_path / "home"
    SohoaCLI(home).run("init")
    keygen(tmp_path / "k")
    st = load_settings(home, env={"SOHOA_BACKUP_KEY": str(tmp_path / "k")})
    dest = tmp_path / "dest"
    days = [dt.datetime(2026, 1, 1, 22), dt.datetime(2026, 1, 31, 22), dt.datetime(2026, 2, 27, 22),
            dt.datetime(2026, 2, 28, 9), dt.datetime(2026, 2, 28, 22), dt.datetime(2026, 3, 1, 22),
            dt.datetime(2026, 3, 2, 22)]
    for t in days:
        backup(st, dest, now=t.replace(tzinfo=dt.timezone.utc), keep_daily=3, keep_monthly=2)
    names = [p.name for p in list_sets(dest)]
    # the last 3 days' newest sets (28/02 22:00, 01/03, 02/03) and the last 2 months' newest (28/02, 02/03)
    assert names == ["sohoa-20260228T220000Z", "sohoa-20260301T220000Z", "sohoa-20260302T220000Z"]


@pytest.mark.postgres
def test_scaled_mode_backs_up_with_pg_dump_and_restores_into_an_empty_database(tmp_path):
    import shutil
    import socket
    import uuid

    import psycopg

    from tests.conftest import need, pg_test_url

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        up = True
    except OSError:
        up = False
    need(up, "PostgreSQL at 127.0.0.1:5432 (SOHOA_TEST_PG_URL)")
    need(shutil.which("pg_dump") and shutil.which("pg_restore"), "pg_dump and pg_restore (postgresql-client)")
    admin = pg_test_url(sqlalchemy=False)
    names = [f"sohoa_bk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(admin, autocommit=True) as con:
        for n in names:
            con.execute(f'CREATE DATABASE "{n}"')
    base = pg_test_url(sqlalchemy=True).rsplit("/", 1)[0]
    try:
        src = SohoaCLI(tmp_path / "office")
        src.env.update(SOHOA_DATABASE_URL=f"{base}/{names[0]}", SOHOA_BACKUP_KEY=str(tmp_path / "k"))
        src.run("init")
        src.run("backup", "keygen", "--out", str(tmp_path / "k"))
        _add_document(src, tmp_path, 1)
        _add_document(src, tmp_path, 2)
        made = json.loads(src.run("--json", "backup", str(tmp_path / "dest")).stdout)
        manifest = json.loads((Path(made["path"]) / "manifest.json").read_text())
        assert manifest["database"]["kind"] == "postgresql" and manifest["database"]["path"] == "registry.pgdump.age"
        assert made["documents"] == 2
        dst = SohoaCLI(tmp_path / "new")
        dst.env.update(SOHOA_DATABASE_URL=f"{base}/{names[1]}", SOHOA_BACKUP_KEY=str(tmp_path / "k"))
        dst.run("restore", str(tmp_path / "dest"))
        dst.run("init")
        check = json.loads(dst.run("--json", "check").stdout)
        assert check["ok"] and check["documents"] == 2, check
        assert [d["code"] for d in dst.json("dossier", "list")] == [d["code"] for d in src.json("dossier", "list")]
        again = dst.run("restore", str(tmp_path / "dest"), check=False)
        assert again.returncode == 4 and again.stderr.startswith("sohoa: lỗi: ")
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            for n in names:
                con.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
