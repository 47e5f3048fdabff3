"""Backlog import: 40 scanned results with real rendered text, read by real Tesseract, a manifest
with 3 wrong rows, the importer SIGKILLed three times at random points."""
from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanning import wait_for
from sohoa.dev.backlog_samples import make_backlog

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _done(home: Path) -> int:
    try:
        con = sqlite3.connect(home / "sohoa.db", timeout=30)
        try:
            return con.execute("select count(*) from backlog_items where state not in ('pending', 'working')").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def _start(sohoa, src: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sohoa", "backlog", "import", str(src), "--manifest",
                             str(src / "manifest.csv"), "--workers", "2"], env=sohoa.env, cwd=ROOT,
                            stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True)


def test_import_40_results_through_three_sigkills(sohoa, tmp_path):
    sohoa.run("pki", "dev")  # an organisation seal: every imported result is sealed
    src = tmp_path / "hop-ho-so"
    scans = make_backlog(src, 40, seed=7, wrong=3)
    wrong = {s.file for s in scans if s.wrong}
    assert len(wrong) == 3
    rng = random.Random(40)
    log = tmp_path / "import.log"
    kills = []
    for k in range(3):
        before = _done(sohoa.home)
        target = before + rng.randint(1, 7)  # kill once this many more scans are settled …
        p = _start(sohoa, src, log)
        wait_for(lambda: _done(sohoa.home) >= target or p.poll() is not None, 600, f"{target} scans settled")
        time.sleep(rng.uniform(0, 1.5))  # … plus a random moment: mid-OCR, mid-commit, mid-listing
        assert p.poll() is None, "the importer finished before it could be killed"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        kills.append(_done(sohoa.home))
    assert kills[-1] < 40
    p = _start(sohoa, src, log)
    assert p.wait(timeout=900) == 0, log.read_text()[-3000:]

    st = sohoa.json("backlog", "status")[0]
    assert (st["total"], st["imported"], st["review"], st["rejected"], st["duplicate"], st["pending"],
            st["working"]) == (40, 37, 3, 0, 0, 0, 0), st
    assert st["state"] == "finished" and st["pages"] >= 57 and st["pages_per_min"] > 0
    review = sohoa.json("backlog", "review")
    assert {r["file"] for r in review} == wrong
    for r in review:
        assert "khác với bảng kê" in r["reason"], r
        pids = {s.person.pid for s in scans} | {s.manifest_subject for s in scans}
        assert not any(pid in json.dumps(r, ensure_ascii=False) for pid in pids), "a full ID number was shown"

    con = sqlite3.connect(sohoa.home / "sohoa.db")
    docs = con.execute("""select d.id, s.identifier, d.doc_type, d.fields, d.sealed, d.sha256 from documents d
                          join subjects s on s.id = d.subject_id where d.created_by = 'backlog'""").fetchall()
    results = con.execute("select document_id, dossier_id, valid_from, reusable, electronic from results").fetchall()
    items = con.execute("select rel_path, state, document_id from backlog_items").fetchall()
    con.close()
    assert len(docs) == 37 and len(results) == 37, "a result was lost or recorded twice"
    assert sorted(r[0] for r in results) == sorted(d[0] for d in docs)
    assert all(r[1] is None and r[2] == "2019-03-12" and r[3] == 1 and r[4] == 0 for r in results)
    by_file = {s.file: s for s in scans}
    imported = {path: doc for path, state, doc in items if state == "imported"}
    assert len(imported) == 37 and len(set(imported.values())) == 37
    doc_by_id = {d[0]: d for d in docs}
    for path, doc_id in imported.items():
        _id, subject, doc_type, fields, sealed, _sha = doc_by_id[doc_id]
        s = by_file[path]
        fields = json.loads(fields)
        assert (subject, doc_type, fields["so_ky_hieu"], sealed) == (s.person.pid, s.doc_type, s.number, 1)
        assert fields["ngay_ban_hanh"] == "12/03/2019" and fields["co_quan_ban_hanh"] == "UBND xã Bản Bo"
    assert len({(d[1], d[2], json.loads(d[3])["so_ky_hieu"]) for d in docs}) == 37

    # once-only: each subject's results are found for reuse
    for pid in {s.person.pid for s in scans}:
        want = {doc for path, doc in imported.items() if by_file[path].person.pid == pid}
        got = sohoa.json("reuse", "find", "--subject", pid)
        assert {e["id"] for e in got} == want, pid
        assert all(e["kind"] == "result" and e["reusable"] and e["digitization_code"] for e in got)

    # the seal validates against the dev PKI's root
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    sha = docs[0][5]
    data = (sohoa.home / "store" / sha[:2] / sha[2:4] / f"{sha}.pdf").read_bytes()
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(str(sohoa.home / "pki" / "ca.pem"))],
                           allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(data)).embedded_signatures[0], vc)
    assert status.intact and status.valid and status.trusted

    # importing the same folder again finds every result already held, without OCR
    again = sohoa.json("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"))[0]
    assert (again["imported"], again["duplicate"], again["review"]) == (0, 37, 3), again


def test_manifest_rows_are_checked_and_bad_ones_rejected_with_reasons(tmp_path):
    from openpyxl import Workbook

    from sohoa.jobs.backlog import HEADER, plan, read_manifest
    from vocab.errors import Invalid

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.pdf", "b.pdf", "c.jpg", "~$tmp.pdf", "notes.txt"):
        (src / name).write_bytes(b"%PDF-1.4\n" + name.encode())
    wb = Workbook()
    ws = wb.active
    ws.append(list(HEADER))
    import datetime as dt

    ws.append(["a.pdf", 1088012345, "khai_sinh", "KQ.G15.000031", "12/2019", dt.datetime(2019, 3, 12), "UBND", ""])
    ws.append(["b.pdf", "12345", "", "", "", "31/02/2019", "", ""])
    ws.append(["b.pdf", "", "giay_chung_nhan_la", "", "", "", "", "01/01/2018"])
    ws.append(["a.pdf", "", "", "", "", "", "", ""])
    ws.append(["missing.pdf", "", "", "", "", "", "", ""])
    ws.append(["", "", "", "", "", "", "", ""])  # blank lines are skipped
    ws.append(["", "001088012345", "", "", "", "", "", ""])
    wb.save(tmp_path / "m.xlsx")
    rows = read_manifest(tmp_path / "m.xlsx")
    assert rows[0].subject_id == "001088012345" and rows[0].issued_on == dt.date(2019, 3, 12)  # zeros restored
    items = {i.rel_path: i for i in plan(src, rows)}
    assert items["a.pdf"].problem is None and items["a.pdf"].row["number"] == "12/2019" and items["a.pdf"].sha256
    assert items["c.jpg"].problem is None and items["c.jpg"].row == {}  # no row: OCR decides
    assert "~$tmp.pdf" not in items and "notes.txt" not in items
    assert "b.pdf" not in items  # its only rows were bad
    why = {k: i.problem for k, i in items.items() if i.problem}
    assert "không phải số định danh" in why["b.pdf#dòng3"] and "dd/mm/yyyy" in why["b.pdf#dòng3"]
    assert "không phải loại giấy tờ" in why["b.pdf#dòng4"]
    assert "đã có ở dòng 2" in why["a.pdf#dòng5"]
    assert "không tìm thấy tệp missing.pdf" in why["missing.pdf#dòng6"]
    assert "thiếu tên tệp" in why["?#dòng8"]
    (tmp_path / "bad.csv").write_text("file,subject\nx.pdf,1\n", encoding="utf-8")
    with pytest.raises(Invalid, match="thiếu cột"):
        read_manifest(tmp_path / "bad.csv")


def test_folder_without_manifest_ocr_decides_and_sends_the_rest_to_review(sohoa, tmp_path):
    from sohoa.dev import samples

    src = tmp_path / "src"
    scans = make_backlog(src, 2, seed=3, manifest=None)
    samples.render_page(["Biên bản họp tổ dân phố", "Nội dung: vệ sinh môi trường"]).save(src / "khac.png")
    (src / "hong.pdf").write_bytes(b"%PDF-1.4 not really")
    rep = sohoa.json("backlog", "import", str(src))[0]
    assert (rep["imported"], rep["review"], rep["rejected"]) == (2, 1, 1), rep
    assert rep["needs_review"][0]["file"] == "khac.png" and "số định danh" in rep["needs_review"][0]["reason"]
    assert rep["rejected_items"][0]["file"] == "hong.pdf"
    assert rep["rejected_items"][0]["reason"].startswith("PDF bị"), rep  # the catalogue's sentence, in Vietnamese
    assert scans[0].person == scans[1].person  # one person, two results
    got = sohoa.json("reuse", "find", "--subject", scans[0].person.pid)
    assert sorted(e.get("doc_type") or e.get("type") for e in got) == sorted(s.doc_type for s in scans)


def test_the_review_queue_is_settled_by_an_officer(sohoa, tmp_path):
    """Three rows name the wrong person: one is corrected and imported, one is kept as the manifest
    says only with an audited override reason, one is rejected; none can be settled twice."""
    src = tmp_path / "src"
    scans = make_backlog(src, 6, seed=11, wrong=3)
    rep = sohoa.json("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"))[0]
    assert (rep["imported"], rep["review"]) == (3, 3), rep
    by_file = {s.file: s for s in scans}
    fix, keep, drop = [(r["id"], by_file[r["file"]]) for r in rep["needs_review"]]

    # the corrected row still has to agree with the page: another person's number is refused …
    other = next(s.person.pid for s in scans if s.person.pid != fix[1].person.pid)
    p = sohoa.run("backlog", "accept", str(fix[0]), "--subject", other, check=False)
    assert p.returncode == 2 and "vẫn cần xem lại" in p.stderr and other not in p.stderr + p.stdout, p
    p = sohoa.run("backlog", "accept", str(fix[0]), "--issued-on", "31/02/2019", check=False)
    assert p.returncode == 2 and "dd/mm/yyyy" in p.stderr, p
    # … the number printed on the page is taken
    out = sohoa.json("backlog", "accept", str(fix[0]), "--subject", fix[1].person.pid, "--number", "77/2020")[0]
    assert out["state"] == "imported" and out["document_id"]
    got = sohoa.json("reuse", "find", "--subject", fix[1].person.pid)
    assert out["document_id"] in {e["id"] for e in got}

    # the manifest's subject kept against the page: only with a reason, which is audited
    p = sohoa.run("backlog", "accept", str(keep[0]), check=False)
    assert p.returncode == 2 and "--override-reason" in p.stderr, p
    out = sohoa.json("backlog", "accept", str(keep[0]), "--override-reason", "đối chiếu sổ hộ tịch: bảng kê đúng")[0]
    assert out["state"] == "imported"
    got = sohoa.json("reuse", "find", "--subject", keep[1].manifest_subject)
    assert out["document_id"] in {e["id"] for e in got}

    out = sohoa.json("backlog", "reject", str(drop[0]), "--reason", "bản quét của hồ sơ khác")[0]
    assert out["state"] == "rejected" and "bản quét của hồ sơ khác" in out["reason"]

    assert sohoa.json("backlog", "review") == []
    st = sohoa.json("backlog", "status")[0]
    assert (st["imported"], st["review"], st["rejected"]) == (5, 0, 1), st
    for item in (fix[0], keep[0], drop[0]):  # settled once
        p = sohoa.run("backlog", "accept", str(item), check=False)
        assert p.returncode == 4 and "không ở hàng chờ xem lại" in p.stderr, p
    p = sohoa.run("backlog", "reject", "9999", "--reason", "x", check=False)
    assert p.returncode == 3 and "không có mục tồn đọng #9999" in p.stderr, p

    con = sqlite3.connect(sohoa.home / "sohoa.db")
    audit = {(a, json.loads(d).get("override_reason")) for a, d in con.execute(
        "select action, detail from audit_events where action like 'backlog.%'")}
    con.close()
    assert ("backlog.accept", "đối chiếu sổ hộ tịch: bảng kê đúng") in audit and ("backlog.accept", None) in audit
    assert any(a == "backlog.reject" for a, _ in audit)


def test_manifests_as_office_spreadsheets_write_them(tmp_path):
    """Excel on a Vietnamese Windows writes CSV with semicolons in Windows-1258 (tone marks as
    combining characters), or UTF-16 with tabs; sheets often carry a title above the header;
    dates come as d/m/yyyy, dd-mm-yyyy or dd.mm.yyyy."""
    import datetime as dt
    import unicodedata

    from openpyxl import Workbook

    from sohoa.jobs.backlog import HEADER, read_manifest
    from vocab.errors import Invalid

    issuer = "UBND xã Bản Bo"
    rows = [["a.pdf", "001088012345", "khai_sinh", "", "12/2019", "1/3/2019", issuer, ""],
            ["b.pdf", "", "", "", "", "12-03-2019", issuer, "31.12.2030"]]

    def check(path):
        got = read_manifest(path)
        assert [(r.line, r.file, r.subject_id, r.issued_on, r.issuer, r.valid_until, r.problems) for r in got] == [
            (got[0].line, "a.pdf", "001088012345", dt.date(2019, 3, 1), issuer, None, ()),
            (got[0].line + 1, "b.pdf", "", dt.date(2019, 3, 12), issuer, dt.date(2030, 12, 31), ())], path.name
        assert all(unicodedata.is_normalized("NFC", r.issuer) for r in got)
        return got[0].line

    title = "DANH SÁCH KẾT QUẢ GIẢI QUYẾT TTHC CÒN HIỆU LỰC"
    def cp1258(text: str) -> bytes:  # as Windows writes it: base letters with their hats, tone marks combining
        tones = "\u0300\u0301\u0303\u0309\u0323"
        out = ""
        for ch in unicodedata.normalize("NFC", text):
            d = unicodedata.normalize("NFD", ch)
            out += unicodedata.normalize("NFC", "".join(c for c in d if c not in tones)) + "".join(c for c in d if c in tones)
        return out.encode("cp1258")

    data = cp1258("\r\n".join([title, ";".join(HEADER)] + [";".join(r) for r in rows]))
    assert b"\xec" in data  # a combining tone mark (acute) is there
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (tmp_path / "excel.csv").write_bytes(data)
    assert check(tmp_path / "excel.csv") == 3  # the title is line 1, the header line 2
    (tmp_path / "unicode.txt").write_text("\t".join(HEADER) + "\n" + "\n".join("\t".join(r) for r in rows),
                                          encoding="utf-16")
    assert check(tmp_path / "unicode.txt") == 2
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.append([])
    ws.append(list(HEADER))
    for r in rows:
        ws.append(r)
    wb.save(tmp_path / "titled.xlsx")
    assert check(tmp_path / "titled.xlsx") == 4
    (tmp_path / "no-header.csv").write_text("tên tệp;số định danh\na.pdf;001088012345\n", encoding="utf-8")
    with pytest.raises(Invalid, match="thiếu cột file"):
        read_manifest(tmp_path / "no-header.csv")
