"""The signing commands as a user runs them (click, in-process)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner


@pytest.fixture
def run(tmp_path):
    from sohoa.cli import cli

    home = tmp_path / "h"
    home.mkdir()
    (home / "sohoa.toml").write_text('unit_name = "Ủy ban nhân dân xã Tân Phú"\nworkers = 2\n', encoding="utf-8")
    runner = CliRunner()

    def go(*args, ok=True, env=None):
        res = runner.invoke(cli, list(args), env={"SOHOA_HOME": str(home), **(env or {})}, catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return res
    go.home = home
    return go


def _lines(res):
    return [json.loads(x) for x in res.output.splitlines() if x.strip().startswith("{")]


def _put(home, data):
    from registry.db import Database
    from registry.models import Document
    from registry.store import Store
    from sohoa.config import load_settings

    s = load_settings(home, env={})
    sha, _ = Store(s.store_dir).put_bytes(data)
    db = Database(s.db_url)
    with db.session() as ses:
        d = Document(sha256=sha, size=len(data), pages=1, text="GIẤY KHAI SINH")
        ses.add(d)
        ses.flush()
        i = d.id
    db.dispose()
    return i


def test_cli_flow(run, scan_pdf, tpki, tmp_path):
    import tomllib

    (first,) = _lines(run("pki", "dev", "--json"))
    (second,) = _lines(run("--json", "pki", "dev"))
    assert first["created"] and not second["created"] and first["officer_id"] == second["officer_id"]
    cfg = tomllib.loads((run.home / "sohoa.toml").read_text(encoding="utf-8"))
    assert cfg["unit_name"] == "Ủy ban nhân dân xã Tân Phú" and cfg["workers"] == 2  # kept
    assert cfg["seal_key"].endswith("seal.p12") and cfg["trust_roots_gov"].endswith("ca.pem") and cfg["dev_mode"]
    officers = _lines(run("officer", "list", "--json"))
    assert officers == [{"id": first["officer_id"], "name": "Nguyễn Văn An", "title": "Phó Chủ tịch UBND xã",
                         "status": "active"}]
    # another officer from a PKCS#12 file, passphrase from the environment (never an argument); the
    # test CA is configured as a public CA this time
    env = {"SOHOA_OFFICER_PASSPHRASE": tpki.officer.pass_path.read_text(), "SOHOA_TRUST_ROOTS_PUBLIC": tpki.ca_pem}
    r = run("officer", "add", "--name", "Lò Văn Sơn", "--title", "Chủ tịch", "--cert", str(tpki.officer.p12_path),
            env=env, ok=False)
    assert r.exit_code == 2 and "không phải Lò Văn Sơn" in r.output  # someone else's certificate
    r = run("officer", "add", "--title", "Chủ tịch", "--cert", str(tpki.officer.p12_path), ok=False,
            env={"SOHOA_OFFICER_PASSPHRASE": env["SOHOA_OFFICER_PASSPHRASE"]})
    assert r.exit_code == 5 and "gốc tin cậy" in r.output and "Traceback" not in r.output  # foreign without it
    (added,) = _lines(run("officer", "add", "--name", "nguyen van an", "--title", "Chủ tịch",
                          "--cert", str(tpki.officer.p12_path), "--json", env=env))
    assert added["created"] and added["name"] == "Nguyễn Văn An" and added["anchor_set"] == "public"
    doc = _put(run.home, scan_pdf)
    out = tmp_path / "out"
    (res,) = _lines(run("certify", str(doc), "--officer", str(first["officer_id"]), "--out", str(out), "--json"))
    assert res["number"] == 1 and res["level"] == "B-B" and len(res["copies"]) == 1
    signed = res["copies"][0]["path"]
    v = run("verify", signed)
    assert "HỢP LỆ" in v.output and "Nguyễn Văn An" in v.output and "KHÔNG HỢP LỆ" not in v.output
    (vj,) = _lines(run("verify", signed, "--json"))
    assert vj["valid"] and vj["trusted"] and vj["intact"] and not vj["modified_after_signing"]
    assert [s["kind"] for s in vj["signatures"]] == ["certification", "approval"]  # officer, then the seal
    data = bytearray(Path(signed).read_bytes())
    data[len(data) // 3] ^= 0x20
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    r = run("verify", str(bad), ok=False)
    assert r.exit_code == 1 and "KHÔNG HỢP LỆ" in r.output
    (ref,) = _lines(run("refuse", str(doc), "--reason", "damaged", "--note", "rách góc", "--json"))
    assert ref["reason"] == "damaged"
    from registry.db import Database
    from registry.models import AuditEvent, CertificationRefusal
    from sohoa.config import load_settings

    db = Database(load_settings(run.home, env={}).db_url)
    with db.session() as ses:
        (rr,) = ses.query(CertificationRefusal).all()
        assert (rr.document_id, rr.reason, rr.note) == (doc, "damaged", "rách góc")
        assert {a.action for a in ses.query(AuditEvent).all()} >= {"certify", "certify.refuse"}
    db.dispose()
    reg = _lines(run("register", "--book", res["book"], "--year", str(res["year"]), "--json"))
    assert [x["number"] for x in reg] == [1] and reg[0]["status"] == "signed"
    # revoke: refused, nothing allocated
    (rv,) = _lines(run("officer", "revoke", str(first["officer_id"]), "--reason", "left", "--json"))
    assert rv["crl_updated"] and rv["crl_reason"] == "affiliation_changed"  # leaving is not a key compromise
    r = run("certify", str(doc), "--officer", str(first["officer_id"]), "--out", str(out), ok=False)
    assert r.exit_code != 0 and "không được ký" in r.output
    assert len(_lines(run("register", "--json"))) == 1
    st = {o["id"]: o["status"] for o in _lines(run("officer", "list", "--json"))}
    assert st[first["officer_id"]] == "revoked"


def test_cli_verify_reports_added_page(run, tpki, scan_pdf, tmp_path):
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from signing import Sealer
    from sohoa.config import load_settings

    run("pki", "dev")
    data = Sealer.from_settings(load_settings(run.home, env={})).seal(scan_pdf)
    ok = tmp_path / "ok.pdf"
    ok.write_bytes(data)
    (rep,) = _lines(run("--json", "verify", str(ok)))
    assert rep["valid"]
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.insert_page(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.pdf_name("/Resources"): generic.DictionaryObject()}))
    out = io.BytesIO()
    w.write(out)
    bad = tmp_path / "added.pdf"
    bad.write_bytes(out.getvalue())
    r = run("verify", str(bad), ok=False)
    assert r.exit_code == 1 and "Bị thay đổi sau khi ký: có" in r.output and "KHÔNG HỢP LỆ" in r.output
