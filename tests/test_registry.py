"""Registry basics: dossier codes, the catalogue, dossiers, the CLI's JSON contracts."""
from __future__ import annotations

import datetime as dt

import pytest

from vocab.errors import Invalid, NotFound
from registry import service
from registry.codes import find_dossier_code, parse_dossier_code
from vocab.text import fold, mask_pid, redact_pids


def test_dossier_code_format():
    c = parse_dossier_code("000.00.01.H29-260310-0420")
    assert c and c.agency == "000.00.01.H29" and c.date == dt.date(2026, 3, 10) and c.seq == 420
    assert parse_dossier_code("38.98.H29-210519-0013")  # older local form
    assert parse_dossier_code("000.00.01.H29-261332-0001") is None  # no 32nd of the 13th month
    assert parse_dossier_code("000.00.01.H29-260310-0000") is None
    assert parse_dossier_code("hello") is None
    assert find_dossier_code("https://x.example/hs?code=000.00.01.H29-260310-0420") == "000.00.01.H29-260310-0420"


def test_text_helpers():
    assert fold("Nguyễn  Văn Đức") == "nguyen van duc"
    assert mask_pid("001203004567") == "*********567"
    assert "001203004567" not in redact_pids("subject 001203004567 read")


def test_dossier_numbers_are_sequential_per_day(db):
    now = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        a = service.create_dossier(s, procedure="1.001193", subject="001203004567", agency="000.00.01.H29", now=now)
        b = service.create_dossier(s, procedure="1.001193", subject="001203004567", agency="000.00.01.H29", now=now)
        assert (a.code, b.code) == ("000.00.01.H29-260310-0001", "000.00.01.H29-260310-0002")
        assert a.due_at.date() == dt.date(2026, 3, 11)  # one working day
        with pytest.raises(NotFound, match="không có thủ tục"):
            service.create_dossier(s, procedure="9.999999", subject="001203004567", agency="X1")
        with pytest.raises(Invalid, match="12 chữ số"):
            service.create_dossier(s, procedure="1.001193", subject="12345", agency="X1")


def test_cli_dossier_contracts(sohoa):
    made = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", "001203004567",
                      "--name", "Nguyễn Văn An")[0]
    code = made["code"]
    assert parse_dossier_code(code)
    shown = sohoa.json("dossier", "show", code)[0]
    assert shown["code"] == code and shown["subject"] == "001203004567"
    assert shown["status"] == "received" and shown["components"] == []
    listed = sohoa.json("dossier", "list")
    assert [d["code"] for d in listed] == [code]
    bad = sohoa.run("dossier", "create", "--procedure", "9.999999", "--subject", "001203004567", check=False)
    assert bad.returncode == 3 and "không có thủ tục" in bad.stderr


def test_cli_procedure_add_extends_the_catalogue(sohoa):
    sohoa.run("procedure", "add", "2.000815", "--name", "Cấp bản sao trích lục hộ tịch",
              "--requires", "to_khai,cccd", "--days", "2")
    code = sohoa.json("dossier", "create", "--procedure", "2.000815", "--subject", "001203004567")[0]["code"]
    assert sohoa.json("dossier", "show", code)[0]["status"] == "received"
    bad = sohoa.run("procedure", "add", "2.000816", "--name", "x", "--requires", "passport", check=False)
    assert bad.returncode != 0 and "loại thành phần không có trong danh mục" in bad.stderr


def test_receipt_carries_code_as_text_and_qr(sohoa, tmp_path):
    import subprocess

    import cv2
    import numpy as np

    from sohoa.dev.samples import rasterize_pdf

    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", "001203004567")[0]["code"]
    out = tmp_path / "r.pdf"
    sohoa.run("receipt", code, "--out", str(out))
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert code in text and "001203004567" not in text
    page = np.asarray(rasterize_pdf(out.read_bytes(), dpi=150)[0])
    payload, _, _ = cv2.QRCodeDetector().detectAndDecode(page)
    from registry.codes import parse_receipt_qr

    assert parse_receipt_qr(payload) == code


def test_staff_assign_and_correct(sohoa, db_for):
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", "001203004567")[0]["code"]
    doc_id = db_for(sohoa.home)
    assert [u["id"] for u in sohoa.json("unassigned")] == [doc_id]
    out = sohoa.json("assign", str(doc_id), code, "--type", "cccd")[0]
    assert out == {"document_id": doc_id, "dossier": code, "doc_type": "cccd"}
    assert sohoa.json("unassigned") == []
    fixed = sohoa.json("document", "correct", str(doc_id), "--field", "ho_ten=Nguyễn Văn An",
                       "--field", "ngay_sinh=")[0]
    assert fixed["fields"] == {"ho_ten": "Nguyễn Văn An", "so_dinh_danh": "001203004567"}
    shown = sohoa.json("document", "show", str(doc_id))[0]
    assert shown["dossiers"] == [code] and shown["field_confidences"]["ho_ten"]["flags"] == ["corrected"]
    bad = sohoa.run("document", "correct", str(doc_id), "--type", "passport", check=False)
    assert bad.returncode != 0 and "không có trong danh mục" in bad.stderr


@pytest.fixture
def db_for():
    """Insert one unassigned OCR'd document straight into a home's registry; returns its id."""
    from registry.db import Database
    from registry.models import Document

    def make(home):
        d = Database(f"sqlite:///{home / 'sohoa.db'}")
        with d.session() as s:
            doc = Document(sha256="ab" * 32, doc_type="khac", fields={"so_dinh_danh": "001203004567",
                                                                     "ngay_sinh": "01/02/2003"},
                           source_name="x.jpg")
            s.add(doc)
            s.flush()
            i = doc.id
        d.dispose()
        return i

    return make


def test_staff_add_takes_the_password_from_env_never_argv(sohoa):
    sohoa.env["SOHOA_STAFF_PASSWORD"] = "đủ-dài-rồi"
    out = sohoa.json("staff", "add", "clerk1", "--name", "Lò Thị Hạnh")[0]
    assert out["username"] == "clerk1" and out["role"] == "clerk"
    sohoa.env["SOHOA_STAFF_PASSWORD"] = "short"
    bad = sohoa.run("staff", "add", "clerk2", check=False)
    assert bad.returncode != 0 and "ít nhất 8 ký tự" in bad.stderr
    assert "--password" not in sohoa.run("staff", "add", "--help").stdout


def test_unassigned_count_follows_every_placement(db):
    """The count is kept between reads while nothing is placed; every way a document enters or
    leaves the queue moves it at once."""
    from registry.models import Component, Document, Result

    with db.session() as s:
        d = service.create_dossier(s, procedure="1.001193", subject="001203004567", agency="000.00.01.H29")
        docs = [Document(sha256=f"{i:064x}", doc_type="cccd") for i in range(4)]
        s.add_all(docs)
        s.flush()
        assert service.unassigned_count(s) == 4
        assert service.unassigned_count(s) == 4  # read again: the same
        comp = Component(dossier=d, document=docs[0], doc_type="cccd", origin="scanned")
        s.add(comp)
        s.flush()
        assert service.unassigned_count(s) == 3
        comp.document_id = docs[1].id  # the component pointed at another document: still 3
        s.flush()
        assert service.unassigned_count(s) == 3
        assert {x.id for x in service.unassigned_documents(s)} == {docs[0].id, docs[2].id, docs[3].id}
        s.delete(comp)  # taken off the dossier: back in the queue
        s.flush()
        assert service.unassigned_count(s) == 4
        s.add(Result(dossier_id=d.id, document_id=docs[2].id))  # issued as a result
        s.flush()
        assert service.unassigned_count(s) == 3
        docs[3].doc_type = "certified_copy"  # retyped as a copy
        s.flush()
        assert service.unassigned_count(s) == 2
        s.add(Document(sha256="f" * 64, doc_type="khai_sinh"))  # a new scan
        s.flush()
        assert service.unassigned_count(s) == 3
        service.remove_document(s, docs[0])  # merged into another scan of the paper (registry.pages.merge)
        s.flush()
        assert service.unassigned_count(s) == 2
