"""Issue 19 §6 and §8: identifiers are ASCII digits at every door; the data home is private; the
upload takes each file on its own; refusals under one's own officer id; key errors show no path."""
from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import func, select

from registry.models import AuditEvent, CertificationRequest, Officer, Subject
from tests.security.conftest import post, seed_world

FULL_WIDTH = "００１０８８０１２３４５"  # 001088012345
ARABIC_INDIC = "٠٠١٠٨٨٠١٢٣٤٥"


def _subjects(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Subject))


def test_look_alike_digits_never_make_a_second_subject(office):
    from registry import service
    from vocab.identifiers import clean_identifier, pid_problems

    assert clean_identifier(FULL_WIDTH) == clean_identifier(ARABIC_INDIC) == "001088012345"
    assert pid_problems(FULL_WIDTH) == ["pid_format"]  # the rule itself takes ASCII digits only
    c = office.signed_in("clerk")
    for pid in ("001088012345", FULL_WIDTH, ARABIC_INDIC):  # web
        r = post(c, "/dossiers", {"procedure": "1.001193", "subject": pid, "name": "Nguyễn Văn An"})
        assert r.status_code == 303
    with office.db.session() as s:
        assert [x for x, in s.execute(select(Subject.identifier))] == ["001088012345"]
        d = service.create_dossier(s, procedure="1.001193", subject=ARABIC_INDIC, agency="A", created_by="t")  # CLI door
        assert d.subject.identifier == "001088012345"
    assert _subjects(office.db) == 1


def test_ocr_reads_look_alike_digits_as_ascii():
    from ocr.fields import extract_fields

    f = extract_fields("cccd", "CĂN CƯỚC CÔNG DÂN\nSố định danh cá nhân: " + FULL_WIDTH + "\nHọ và tên: NGUYỄN VĂN AN\n")
    assert f["so_dinh_danh"].value == "001088012345"


def test_cli_creates_the_data_home_private(sohoa):
    home = sohoa.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "sohoa.db").stat().st_mode) == 0o600
    for d in ("store", "work", "done", "quarantine"):
        assert stat.S_IMODE((home / d).stat().st_mode) == 0o700, d
    # and the CLI door for identifiers: a full-width ID is the same subject
    sohoa.run("dossier", "create", "--procedure", "1.001193", "--subject", FULL_WIDTH, "--name", "An")
    import sqlite3
    con = sqlite3.connect(home / "sohoa.db")
    assert [r[0] for r in con.execute("select identifier from subjects")] == ["001088012345"]
    con.close()


def test_upload_takes_each_file_on_its_own(office):
    c = office.signed_in("clerk")
    good = ("good.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    long_name = ("B" * 300 + ".pdf", b"%PDF-1.4\n% long\n%%EOF\n", "application/pdf")
    bad = ("letter.docx", b"not a scan", "application/octet-stream")
    empty = ("empty.pdf", b"", "application/pdf")
    token = c.get("/inbox").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/upload", data={"csrf_token": token}, files=[("files", good), ("files", long_name), ("files", bad),
                                                               ("files", empty)])
    assert r.status_code == 303, r.text[:300]
    inbox = office.settings.inbox
    names = sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))
    assert "good.pdf" in names and len(names) == 2 and all(len(n.encode()) <= 120 for n in names)
    with office.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "upload")).one()
        assert len(ev.detail["files"]) == 2 and ev.detail["refused"] == 2
    page = c.get("/inbox").text
    assert "letter.docx" in page and "empty.pdf" in page  # the clerk is told which were not taken
    # a 300-character name alone: accepted shortened, never a server error
    r = c.post("/upload", data={"csrf_token": token}, files=[("files", ("Đ" * 300 + ".pdf", b"%PDF-1.4\n%%EOF\n"))])
    assert r.status_code == 303


def test_a_refusal_is_recorded_under_ones_own_officer_id(office):
    w = seed_world(office)
    with office.db.session() as s:
        mine = Officer(kind="officer", name="officer XA", title="Phó Chủ tịch", status="active")
        other = Officer(kind="officer", name="Người khác", title="Chủ tịch", status="active")
        s.add_all([mine, other])
        s.flush()
        req = CertificationRequest(document_id=w["XA"]["doc"], dossier_id=None, copies=1, status="pending",
                                   requested_by="clerk-xa")
        s.add(req)
        s.flush()
        ids = (mine.id, other.id, req.id)
    o = office.signed_in("officer", "XA")
    r = post(o, f"/certify/{ids[2]}/refuse", {"reason": "damaged", "officer_id": str(ids[1])})
    assert r.status_code == 403
    r = post(o, f"/certify/{ids[2]}/refuse", {"reason": "damaged", "officer_id": "99999999999999999999999"})
    assert r.status_code == 403
    r = post(o, f"/certify/{ids[2]}/refuse", {"reason": "damaged", "officer_id": str(ids[0])})
    assert r.status_code == 303
    with office.db.session() as s:
        from registry.models import CertificationRefusal
        assert [x.officer_id for x in s.scalars(select(CertificationRefusal))] == [ids[0]]


def test_a_wrong_passphrase_names_no_server_path(tmp_path):
    from signing.errors import KeyUnavailable
    from signing.keys import load_signer

    key = tmp_path / "secret-place" / "officer.p12"
    key.parent.mkdir()
    key.write_bytes(os.urandom(512))
    with pytest.raises(KeyUnavailable) as e:
        load_signer(str(key), secret="wrong")
    assert str(tmp_path) not in e.value.message and "officer.p12" in e.value.message
    with pytest.raises(KeyUnavailable) as e:
        load_signer(str(tmp_path / "missing.p12"), secret="x")
    assert str(tmp_path) not in e.value.message
