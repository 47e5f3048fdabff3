"""CLI of the API stage: client tokens, dossier reuse/pause/resume/complete/apology, report, check."""
from __future__ import annotations

import datetime as dt
import json
import os

from click.testing import CliRunner
from sqlalchemy import select

from registry.models import Result
from registry.service import get_dossier, get_or_create_subject

from apitest_helpers import new_pid


def run(env, *args, ok=True):
    from sohoa.cli import cli

    res = CliRunner().invoke(cli, ["--json", *args], env={"SOHOA_HOME": str(env.settings.home),
                                                        "SOHOA_DATABASE_URL": env.settings.database_url},
                             catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def last_json(res):
    return json.loads(res.output.strip().splitlines()[-1])


def test_client_add_prints_token_once_and_it_works(env):
    res = run(env, "client", "add", f"tinh-{new_pid()}", "--scopes", "reuse:read,documents:read")
    out = last_json(res)
    assert out["token"].startswith("sohoa_") and out["scopes"] == ["documents:read", "reuse:read"]
    with env.client(out["token"]) as c:
        assert c.get("/api/v1/indicators").status_code == 200
        assert c.post("/api/v1/reuse-events", json={"document_id": 1}).status_code == 403
    listed = run(env, "client", "list").output
    assert out["token"] not in listed
    bad = run(env, "client", "add", "x-bad", "--scopes", "admin", ok=False)
    assert bad.exit_code != 0 and "phạm vi quyền không hợp lệ" in bad.output


def test_dossier_reuse_cli_and_reuse_find(env):
    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid, "Lê Văn Cường")
        card = env.document(s, subject=subj, doc_type="cccd", valid_until=dt.date.today() + dt.timedelta(days=3650))
        d = env.dossier(s, pid, "1.001193")
        code, card_id = d.code, card.id
    found = [json.loads(line) for line in run(env, "reuse", "find", "--subject", pid).output.splitlines()]
    assert [f["id"] for f in found] == [card_id]
    out = last_json(run(env, "dossier", "reuse", code, "--document", str(card_id), "--purpose", "intake"))
    assert out["component"]["origin"] == "reused" and out["reusable"] == []
    assert any(c["origin"] == "reused" and c["doc_type"] == "cccd" for c in out["components"])
    bad = run(env, "dossier", "reuse", code, "--document", "2147483000", ok=False)
    assert bad.exit_code == 3 and "không có tài liệu" in bad.output


def test_pause_resume_complete_late(env):
    pid = new_pid()
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=20)
    with env.db.session() as s:
        d = env.dossier(s, pid, "1.001193", now=long_ago)
        result_doc = env.document(s, doc_type="khai_sinh")
        code, due0, doc_id = d.code, d.due_at, result_doc.id
    assert run(env, "dossier", "pause", code, ok=False).exit_code == 2  # --reason is required
    out = last_json(run(env, "dossier", "pause", code, "--reason", "Bổ sung giấy tờ"))
    assert out["status"] == "paused" and out["pause_reason"] == "Bổ sung giấy tờ" and out["late"] is True
    out = last_json(run(env, "dossier", "resume", code))
    assert out["status"] in ("received", "processing")
    assert dt.datetime.fromisoformat(out["due_at"]) >= due0.replace(microsecond=0), (out["due_at"], due0)
    until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    out = last_json(run(env, "dossier", "complete", code, "--result-document", str(doc_id), "--valid-until", until))
    assert out["status"] == "completed" and out["late"] is True
    assert out["result"]["electronic"] is True and out["result"]["valid_until"] == until
    with env.db.session() as s:
        r = s.scalar(select(Result).where(Result.document_id == doc_id))
        assert r.electronic and r.dossier_id == get_dossier(s, code).id
    assert run(env, "dossier", "complete", code, ok=False).exit_code == 4  # already completed: a conflict


def test_apology_slip_pdf(env, tmp_path):
    import pikepdf

    pid = new_pid()
    with env.db.session() as s:
        d = env.dossier(s, pid, "1.004873", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10))
        code = d.code
    new_date = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    pdf_path = tmp_path / "xin-loi.pdf"
    out = last_json(run(env, "dossier", "apology", code, "--reason", "Chờ xác minh của cơ quan khác",
                        "--new-date", new_date, "--out", str(pdf_path)))
    assert out["late"] is True and out["apology_ref"] and out["due_at"].startswith(new_date)
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF")
    with pikepdf.open(pdf_path) as pdf:
        fonts = pdf.pages[0].Resources.Font
        descriptors = [f.DescendantFonts[0].FontDescriptor if "/DescendantFonts" in f else f.get("/FontDescriptor")
                       for f in fonts.values()]
        embedded = [d for d in descriptors if d is not None and "/FontFile2" in d]
        assert embedded, "the Vietnamese font must be embedded"
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True).stdout
        assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
        assert "Chờ xác minh của cơ quan khác" in text and code in text


def test_report_matches_api(env):
    from registry.indicators import compute

    today = dt.date.today()
    frm, to = (today - dt.timedelta(days=60)).isoformat(), (today + dt.timedelta(days=1)).isoformat()
    out = last_json(run(env, "report", "--from", frm, "--to", to, "--unit", "000.00.01.H29"))
    for key in ("received", "digitized_rate", "electronic_result_rate", "reuse_rate", "on_time_rate"):
        assert key in out
    assert out["received"] > 0
    with env.client("reuse_read") as c:
        api = c.get("/api/v1/indicators", params={"from": frm, "to": to, "unit": "000.00.01.H29"}).json()
    with env.db.session() as s:
        direct = compute(s, dt.date.fromisoformat(frm), dt.date.fromisoformat(to), "000.00.01.H29")
    for key in ("received", "digitized", "required_components", "reused_components", "completed"):
        assert out[key] == api[key] == direct[key]
    human = run(env, "report").output  # --json is global; without it too
    assert "reuse rate" in CliRunner().invoke(__import__("sohoa.cli", fromlist=["cli"]).cli, ["report"], env={
        "SOHOA_HOME": str(env.settings.home), "SOHOA_DATABASE_URL": env.settings.database_url}).output
    assert human


def test_indicator_arithmetic(env):
    """A fresh unit: 2 dossiers, one digitized by reuse, one completed on time electronically."""
    from registry.indicators import compute
    from registry.lifecycle import complete
    from registry.reuse import reuse_into_dossier
    from registry.service import create_dossier

    unit = f"99.{new_pid()[-6:]}.H29"
    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid, "Phạm Thị Dung")
        card = env.document(s, subject=subj, doc_type="cccd")
        d1 = create_dossier(s, procedure="1.001193", subject=pid, agency=unit)  # to_khai, cccd
        d2 = create_dossier(s, procedure="1.004873", subject=pid, agency=unit)  # to_khai, cccd
        reuse_into_dossier(s, d1, card.id, actor="test", purpose="t")
        res = env.document(s, doc_type="xac_nhan_hon_nhan")
        complete(s, d2, actor="test", result_document_id=res.id)
        ind = compute(s, unit=unit)
    assert ind["received"] == 2 and ind["digitized"] == 1 and ind["digitized_rate"] == 0.5
    assert ind["required_components"] == 4 and ind["reused_components"] == 1 and ind["reuse_rate"] == 0.25
    assert ind["completed"] == 1 and ind["electronic_result_rate"] == 1.0 and ind["on_time_rate"] == 1.0


def test_check_detects_missing_mismatch_orphan(env):
    from registry.store import Store

    res = run(env, "check", ok=False)
    assert res.exit_code == 0, res.output
    assert last_json(res)["ok"] is True
    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid)
        a = env.document(s, subject=subj)
        b = env.document(s, subject=subj)
        sha_a, sha_b = a.sha256, b.sha256
    store = Store(env.settings.store_dir)
    pa, pb = store.path_for(sha_a), store.path_for(sha_b)
    data_a, data_b = pa.read_bytes(), pb.read_bytes()
    orphan_sha, orphan = store.put_bytes(b"%PDF-1.4 orphan " + pid.encode())
    try:
        os.chmod(pa, 0o644)
        pa.write_bytes(data_a + b"tampered")
        pb.unlink()
        res = run(env, "check", ok=False)
        assert res.exit_code == 1
        out = last_json(res)
        assert out["ok"] is False
        assert [m["sha256"] for m in out["mismatch"]] == [sha_a]
        assert [m["sha256"] for m in out["missing"]] == [sha_b]
        assert [m["sha256"] for m in out["orphans"]] == [orphan_sha]
    finally:
        pa.write_bytes(data_a)
        pb.write_bytes(data_b)
        orphan.unlink()
    assert run(env, "check", ok=False).exit_code == 0
