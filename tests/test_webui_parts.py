"""The parts under the staff UI, without a browser: the message catalogue, sign-in lockout and its
equal work for unknown users, search with and without diacritics, page operations on real PDFs,
the upload and quarantine round trips through the inbox folder, CSRF and error pages."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

from pathlib import Path

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from registry import service
from registry.models import AuditEvent, Document, IngestEntry
from registry.search import DossierFilter, list_dossiers, search, snippet
from registry.staff import LoginPolicy, add_staff, authenticate, set_disabled
from registry.store import Store
from sohoa import i18n
from sohoa.dev import samples
from vocab.kinds import DOC_TYPES, DossierStatus, EntryState, Origin, RoutedBy
from vocab.text import fold

PW = "mật-khẩu-dài"


# -- the catalogue ---------------------------------------------------------------------------------

def test_every_vocabulary_code_has_a_vietnamese_name():
    kinds = {"doc_type": DOC_TYPES, "status": [s.value for s in DossierStatus], "state": [s.value for s in EntryState],
             "origin": [o.value for o in Origin], "routed_by": [r.value for r in RoutedBy]}
    missing = [(k, c) for k, codes in kinds.items() for c in codes if not i18n.has_label(k, c)]
    assert not missing
    for field in ("so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_het_han", "so", "ho_ten_chong", "ho_ten_vo",
                  "so_dinh_danh_chong", "so_dinh_danh_vo", "ngay_chet", "so_phat_hanh", "thua_dat_so",
                  "to_ban_do_so", "so_hieu", "hang", "ma_so_ho_kinh_doanh"):
        assert i18n.has_label("field", field), field
    assert i18n.label("doc_type", "ket_hon") == "Giấy chứng nhận kết hôn"
    assert i18n.label("field", "so_dinh_danh_chong") == "Số định danh của chồng"
    assert i18n.label("status", "paused", "en") == "Paused"
    assert i18n.label("status", "paused", "xx") == "Tạm dừng"  # unknown locale: Vietnamese
    assert i18n.label("field", "ten_cha_me") == "Ten cha me"  # never the raw code
    for kind in ("reason", "refusal", "error", "role", "action"):
        assert i18n.has_label(kind, {"reason": "empty", "refusal": "erased", "error": "not_found", "role": "admin",
                                     "action": "document.correct"}[kind])


def test_dates_and_times_are_vietnamese():
    t = dt.datetime(2026, 11, 24, 14, 5, tzinfo=dt.timezone.utc)
    assert i18n.fmt_date(t) == "24/11/2026"
    assert i18n.fmt_time(t) == "24/11/2026 21:05 (+07:00)"
    assert i18n.fmt_time("2026-11-24T23:30:00+07:00") == "24/11/2026 23:30 (+07:00)"
    assert i18n.fmt_date(dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.timezone.utc)) == "25/11/2026"  # local day
    assert i18n.fmt_date(None) == "—"
    assert i18n.parse_date("05/03/2026") == dt.date(2026, 3, 5) == i18n.parse_date("2026-03-05")
    assert i18n.parse_date(" ") is None
    with pytest.raises(Exception, match="dd/mm/yyyy"):
        i18n.parse_date("31/02/2026")


@pytest.mark.parametrize("text,code", [
    ("empty file (0 bytes)", "empty"), ("encrypted PDF (password protected)", "encrypted"),
    ("unsupported file type '.docx': expected PDF, JPEG, PNG or TIFF", "unsupported_type"),
    ("file content is png but the extension claims pdf", "type_mismatch"),
    ("gave up after 5 attempts; last error: corrupt PDF page: x", "gave_up"),
    ("image too large: 90000x90000 = 8100000000 pixels > 200000000 (decompression bomb?)", "too_large"),
    ("something new", "other")])
def test_quarantine_reasons_have_names(text, code):
    assert i18n.reason_code(text) == code
    assert i18n.reason_label(text) == i18n.label("reason", code)


def test_quarantine_reasons_from_the_ingest_catalogue_are_shown_as_written():
    text = "PDF có mật khẩu: mở khóa rồi quét lại.\n\nChi tiết kỹ thuật (pdf_password):\nqpdf: invalid password"
    assert i18n.reason_label(text) == "PDF có mật khẩu: mở khóa rồi quét lại."


def test_catalogue_compiles_from_the_po_when_the_mo_is_missing(tmp_path, monkeypatch):
    import shutil

    loc = tmp_path / "locale"
    shutil.copytree(i18n._DIR, loc, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "_DIR", loc)
    monkeypatch.setattr(i18n, "_cache", {})
    assert i18n.label("origin", "reused") == "Dùng lại bản số hóa"
    assert (loc / "vi" / "LC_MESSAGES" / "sohoa.mo").is_file()


# -- sign-in ---------------------------------------------------------------------------------------

def test_lockout_after_five_wrong_passwords(db):
    policy = LoginPolicy(max_failures=5, lockout=dt.timedelta(minutes=15))
    t0 = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        add_staff(s, "an.nguyen", PW, role="clerk")
    for i in range(5):
        with db.session() as s:
            assert authenticate(s, "an.nguyen", f"wrong-{i}", policy=policy, now=t0).reason == "bad"
    with db.session() as s:  # the 6th attempt, with the right password, is refused
        r = authenticate(s, "an.nguyen", PW, policy=policy, now=t0 + dt.timedelta(minutes=1))
        assert r.reason == "locked" and r.locked_until == t0 + dt.timedelta(minutes=15)
    with db.session() as s:  # still locked just before the end
        assert authenticate(s, "an.nguyen", PW, policy=policy, now=t0 + dt.timedelta(minutes=14)).reason == "locked"
    with db.session() as s:  # after it, the right password works and the count starts again
        assert authenticate(s, "an.nguyen", PW, policy=policy, now=t0 + dt.timedelta(minutes=16)).ok
    with db.session() as s:
        st = authenticate(s, "an.nguyen", "wrong", policy=policy, now=t0 + dt.timedelta(minutes=17)).staff
        assert st.failed_logins == 1 and st.locked_until is None


def test_unknown_disabled_locked_and_known_users_cost_one_hash_each(db, monkeypatch):
    """The response time does not tell which user names exist: every path runs scrypt once."""
    with db.session() as s:
        add_staff(s, "binh", PW, role="officer")
        add_staff(s, "chau", PW, role="clerk")
        set_disabled(s, "chau", True)
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    counts = {}
    for user, pw in (("nobody-here", PW), ("binh", "wrong"), ("binh", PW), ("chau", PW)):
        with db.session() as s:
            authenticate(s, user, "x")  # first call may compute the dummy hash once
        calls.clear()
        with db.session() as s:
            authenticate(s, user, pw)
        counts[(user, pw == PW)] = len(calls)
    assert set(counts.values()) == {1}, counts


# -- search and lists --------------------------------------------------------------------------------

def _doc(s, store, text: str, doc_type: str = "khac") -> Document:
    data = samples.images_to_pdf([samples.render_page([text[:40]], dpi=60)])
    digest, _ = store.put_bytes(data)
    d = Document(sha256=digest, size=len(data), text=text, text_folded=fold(text), doc_type=doc_type)
    s.add(d)
    s.flush()
    return d


def test_search_with_and_without_diacritics(any_db, settings):
    db = any_db
    store = Store(settings.store_dir)
    with db.session() as s:
        d1 = service.create_dossier(s, procedure="1.001193", subject="001088012345", name="Nguyễn Văn Đức",
                                    agency="000.00.01.H29")
        d2 = service.create_dossier(s, procedure="1.000894", subject="001190054321", name="Trần Thị Lan",
                                    agency="000.00.01.H29")
        doc = _doc(s, store, "QUYẾT ĐỊNH về việc phê duyệt quy hoạch sử dụng đất xã Tân Phú")
        service.attach(s, d2, doc)
        _doc(s, store, "Biên bản họp dân về đường giao thông nông thôn")
        codes = (d1.code, d2.code)
    with db.session() as s:
        for q in ("Nguyễn Văn Đức", "nguyen van duc", "NGUYEN VAN", "van duc", "001088012345", codes[0][-11:]):
            assert [d.code for d in list_dossiers(s, DossierFilter(q=q)).items] == [codes[0]], q
        for q in ("quy hoạch", "quy hoach su dung dat", "Tân Phú", "tan phu"):  # the document's text
            r = search(s, q)
            assert [d.code for d in r.dossiers.items] == [codes[1]], q
            assert len(r.documents) == 1 and r.documents[0].dossiers == [codes[1]], q
        assert "phê duyệt quy hoạch" in search(s, "phe duyet").documents[0].snippet  # shown with its marks
        assert search(s, "giao thong").documents[0].dossiers == []
        assert list_dossiers(s, DossierFilter(q="không có ai")).total == 0
        assert list_dossiers(s, DossierFilter(q='"; DROP TABLE dossiers; --')).total == 0
    assert snippet("Họ và tên: ĐẶNG THỊ THU", "dang thi") == "Họ và tên: ĐẶNG THỊ THU"


def test_lists_page_filter_and_sort(db):
    base = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        for i in range(30):
            service.create_dossier(s, procedure="1.001193" if i % 3 else "1.000894", subject=f"0010880{i:05d}",
                                   agency="000.00.01.H29", now=base + dt.timedelta(days=i))
    with db.session() as s:
        pg = list_dossiers(s, page=2, per_page=10)
        assert (pg.total, pg.pages, len(pg.items)) == (30, 3, 10)
        assert pg.items[0].received_at > pg.items[-1].received_at  # newest first
        f = DossierFilter(procedure="1.000894", date_from=dt.date(2026, 3, 5), date_to=dt.date(2026, 3, 20))
        got = list_dossiers(s, f, sort="received", desc=False, per_page=50)
        days = [d.received_at.day for d in got.items]
        assert days == sorted(days) and all(5 <= x <= 20 for x in days) and got.total == 5
        assert list_dossiers(s, DossierFilter(status="paused")).total == 0
        assert list_dossiers(s, DossierFilter(late=True)).total == 30  # all past their due date


# -- page operations ----------------------------------------------------------------------------------

def _three_pages(s, store) -> Document:
    pages = [samples.render_page([f"#TRANG {n}", f"Nội dung trang {n}"], dpi=60) for n in (1, 2, 3)]
    data = samples.images_to_pdf(pages)
    digest, _ = store.put_bytes(data)
    d = Document(sha256=digest, size=len(data), pages=3, doc_type="to_khai", page_from=1, page_to=3,
                 source_name="batch.pdf")
    s.add(d)
    s.flush()
    return d


def test_rotate_split_merge_and_move_pages(db, settings):
    from registry import pages

    store = Store(settings.store_dir)
    with db.session() as s:
        d = _three_pages(s, store)
        first = d.sha256
        pages.rotate(s, store, d, 2, 90, actor="staff:t")
        assert d.sha256 != first and store.exists(first)  # the old file stays
        pdf = pikepdf.open(io.BytesIO(store.read(d.sha256)))
        assert [int(p.obj.get("/Rotate", 0)) for p in pdf.pages] == [0, 90, 0]
        tail = pages.split(s, store, d, 1, actor="staff:t")
        assert (d.pages, tail.pages) == (1, 2) and (tail.page_from, tail.page_to) == (2, 3)
        assert len(pikepdf.open(io.BytesIO(store.read(tail.sha256))).pages) == 2
        pages.move_page(s, store, tail, 2, d, actor="staff:t")
        assert (d.pages, tail.pages) == (2, 1)
        pages.merge(s, store, d, tail, actor="staff:t")
        assert d.pages == 3 and s.get(Document, tail.id) is None
        with pytest.raises(Exception, match="không có trang"):
            pages.rotate(s, store, d, 7, 90, actor="staff:t")
        actions = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.object_id == str(d.id)))]
        assert actions == ["document.rotate", "document.split", "document.move_page", "document.merge"]


# -- the web app without a browser -------------------------------------------------------------------

@pytest.fixture
def client(settings, db):
    from sohoa.web.app import create_app

    with db.session() as s:
        add_staff(s, "clerk1", PW, name="Lò Thị Hạnh", role="clerk")
    with TestClient(create_app(settings, db)) as c:
        r = c.get("/login")
        tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        r = c.post("/login", data={"username": "clerk1", "password": PW, "csrf_token": tok}, follow_redirects=False)
        assert r.status_code == 303
        c.csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/dossiers").text).group(1)
        yield c


def test_upload_goes_through_the_inbox_atomically(client, settings):
    jpg = io.BytesIO()
    samples.render_page(["#CĂN CƯỚC"], dpi=60).save(jpg, "JPEG")
    r = client.post("/upload", data={"csrf_token": client.csrf},
                    files=[("files", ("quét 1.jpg", jpg.getvalue(), "image/jpeg"))], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    files = [p.name for p in settings.inbox.iterdir()]
    assert files == ["quét 1.jpg"]  # no temporary file left behind
    r = client.post("/upload", data={"csrf_token": client.csrf},
                    files=[("files", ("virus.exe", b"MZ", "application/octet-stream"))])
    assert r.status_code == 422 and "không phải PDF" in r.text and 'role="alert"' in r.text
    assert sorted(p.name for p in settings.inbox.iterdir()) == ["quét 1.jpg"]


def test_quarantine_retry_and_delete(client, settings, db):
    qdir = settings.quarantine_dir
    qdir.mkdir(parents=True, exist_ok=True)
    ids = []
    with db.session() as s:
        for name in ("hong.pdf", "rong.jpg"):
            (qdir / name).write_bytes(b"%PDF-1.4 broken" if name.endswith(".pdf") else b"")
            (qdir / f"{name}.reason.txt").write_text("corrupt or truncated PDF")
            e = IngestEntry(rel_path=name, name=name, sha256="x", state="quarantined", error="corrupt or truncated PDF",
                            final_path=str(qdir / name))
            s.add(e)
            s.flush()
            ids.append(e.id)
    page = client.get("/quarantine").text
    assert "PDF hỏng hoặc bị cắt cụt" in page and "hong.pdf" in page
    r = client.post(f"/quarantine/{ids[0]}/retry", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert (settings.inbox / "hong.pdf").read_bytes() == b"%PDF-1.4 broken" and not (qdir / "hong.pdf").exists()
    assert not (qdir / "hong.pdf.reason.txt").exists()
    client.post(f"/quarantine/{ids[1]}/delete", data={"csrf_token": client.csrf})
    assert not (qdir / "rong.jpg").exists()
    assert client.post(f"/quarantine/{ids[1]}/delete", data={"csrf_token": client.csrf}).status_code == 404
    with db.session() as s:
        acts = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.object_type == "ingest"))]
    assert acts == ["quarantine.retry", "quarantine.delete"]


def test_forms_need_the_csrf_token_and_errors_are_pages(client):
    r = client.post("/dossiers", data={"procedure": "1.001193", "subject": "001088012345"})
    assert r.status_code == 400 and "Biểu mẫu đã hết hạn" in r.text and 'role="alert"' in r.text
    r = client.post("/dossiers", data={"procedure": "1.001193", "subject": "001088012345", "csrf_token": "x"})
    assert r.status_code == 400
    r = client.get("/dossiers/KHONG-CO")
    assert r.status_code == 404 and "<h1>Không tìm thấy trang</h1>" in r.text and "Quay lại" in r.text
    assert "<nav" in r.text  # inside the layout
    r = client.get("/dossiers?page=abc")
    assert r.status_code == 422 and "Dữ liệu không hợp lệ" in r.text
    r = client.get("/api/v1/documents/999999")  # the API keeps JSON errors
    assert r.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in r.headers
    page = client.get("/dossiers")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert not re.search(r"\son\w+=|javascript:|<script>", page.text)  # no inline script anywhere


def test_a_disabled_account_loses_its_session(client, db):
    assert client.get("/dossiers").status_code == 200
    with db.session() as s:
        set_disabled(s, "clerk1", True)
    r = client.get("/dossiers", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_every_audited_action_has_a_name():
    """The history pages show audit actions by name: every action the code audits is in the catalogue."""
    root = Path(__file__).resolve().parents[1]
    literal = re.compile(r'"((?:dossier|document|staff|certify|reuse|component|quarantine|register|indicators|'
                         r'unassigned|upload|backlog|identity|subject)(?:\.[a-z_]+)+)"')
    found = set()
    for pkg in ("registry", "sohoa", "signing"):
        for path in (root / pkg).rglob("*.py"):
            for line in path.read_text("utf-8").splitlines():
                if "audit(" in line or "action=" in line or "AuditEvent(" in line:
                    found |= set(literal.findall(line))
    assert {"document.correct", "dossier.create", "staff.login_failed", "certify.refuse"} <= found
    assert sorted(a for a in found if not i18n.has_label("action", a)) == []


def test_unassigned_suggestions_for_a_whole_page_at_once(db):
    """The unassigned page asks for every row's suggestions in two queries: by any of a document's
    ID numbers (newest open dossier first, three at most), else by its name; closed dossiers never."""
    from registry.queues import suggestions

    with db.session() as s:
        mk = lambda pid, name: service.create_dossier(s, procedure="1.001193", subject=pid, name=name,  # noqa: E731
                                                      agency="000.00.01.H29").code
        a1, a2, a3, a4 = (mk("001088012345", "Nguyễn Văn An") for _ in range(4))
        wife = mk("001190000222", "Trần Thị Bình")
        closed = mk("001075000999", "Lê Văn Cường")
        s.flush()
        from registry.models import Dossier
        s.scalar(select(Dossier).where(Dossier.code == closed)).status = "completed"
        other = mk("001066000111", "Phạm Thị Dung")
        docs = [Document(sha256=f"{i:064d}", size=1, pages=1, doc_type=t, fields=f, created_by="t")
                for i, (t, f) in enumerate([
                    ("cccd", {"so_dinh_danh": "001088012345", "ho_ten": "Nguyễn Văn An"}),
                    ("ket_hon", {"so_dinh_danh_chong": "001999999999", "so_dinh_danh_vo": "001190000222"}),
                    ("cccd", {"so_dinh_danh": "001075000999", "ho_ten": "Lê Văn Cường"}),
                    ("khai_sinh", {"ho_ten": "PHẠM THỊ DUNG"}),
                    ("van_ban", {})])]
        s.add_all(docs)
        s.flush()
        got = suggestions(s, docs)
        assert got[docs[0].id] == [a4, a3, a2]  # newest first, three at most
        assert got[docs[1].id] == [wife]
        assert got[docs[2].id] == []  # his only dossier is closed
        assert got[docs[3].id] == [other]  # by the name, folded
        assert got[docs[4].id] == []
        assert a1 not in got[docs[0].id]
