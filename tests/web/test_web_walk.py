"""Every page, as each role, in Chromium at 1366×768: the visible text holds no raw vocabulary code
(document type, field, status, origin or journal-state key) and no ISO timestamp; each page is
written as a full-page screenshot to $SOHOA_SCREENSHOTS (default build/screenshots)."""
from __future__ import annotations

import datetime as dt
import functools
import re
import time

import pytest
from playwright.sync_api import expect

from registry import lifecycle, service
from registry.db import Database
from registry.models import CertificationRequest, Document, Result
from registry.store import Store
from sohoa import i18n
from sohoa.dev import samples
from sohoa.config import load_settings
from sohoa.papers.slips import apology_pdf
from vocab.kinds import DOC_TYPES, DossierStatus, EntryState, Origin
from vocab.text import fold
from webtest_helpers import new_page, shot, sign_in

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")


def raw_codes() -> set[str]:
    fields = {code for kind, code in _catalogue_keys() if kind == "field"}
    return (set(DOC_TYPES) | {"certified_copy"} | fields | {s.value for s in DossierStatus} | {o.value for o in Origin}
            | {e.value for e in EntryState})


def _catalogue_keys():
    t = i18n.translations("vi")
    for key in t._catalog:  # "kind\x04code"
        if isinstance(key, str) and "\x04" in key:
            yield tuple(key.split("\x04", 1))


def _pdf(lines: list[str]) -> bytes:
    return samples.images_to_pdf([samples.render_page(lines, dpi=100)])


def seed(office) -> dict:
    """Dossiers in every status, documents of several types, a paused, a late, a completed one."""
    if "seeded" in office.data:
        return office.data["seeded"]
    settings = load_settings(office.home, env={})
    db = Database(settings.db_url)
    store = Store(settings.store_dir)
    out: dict = {"codes": [], "docs": []}
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with db.session() as s:
            def doc(doc_type, fields, lines, conf=0.9, quality="ok"):
                data = _pdf(lines)
                digest, _ = store.put_bytes(data)
                text = "\n".join(lines).replace("#", "")
                d = Document(sha256=digest, size=len(data), pages=1, doc_type=doc_type, type_confidence=conf,
                             fields=fields, quality=quality, text=text, text_folded=fold(text),
                             field_confidences={k: {"confidence": 0.62 if quality == "review" else 0.93,
                                                    "flags": ["pid_dob_mismatch"] if k == "so_dinh_danh_chong" else []}
                                                for k in fields},
                             source_name=f"scan-{doc_type}.pdf", created_by="test")
                s.add(d)
                s.flush()
                out["docs"].append(d.id)
                return d

            couple = doc("ket_hon", {"ho_ten_chong": "Hoàng Văn Tùng", "ho_ten_vo": "Mai Thị Ngọc",
                                     "so_dinh_danh_chong": "001090011223", "so_dinh_danh_vo": "001192033445",
                                     "so": "45"},
                         ["#GIẤY CHỨNG NHẬN KẾT HÔN", "Họ tên chồng: Hoàng Văn Tùng", "Họ tên vợ: Mai Thị Ngọc"],
                         quality="review")
            land = doc("gcn_qsdd", {"so_phat_hanh": "CS 123456", "ho_ten": "Hoàng Văn Tùng", "thua_dat_so": "12",
                                    "to_ban_do_so": "7"}, ["#GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "Thửa đất số: 12"])
            doc("khai_tu", {"ho_ten": "Hoàng Văn Sơn", "ngay_chet": "02/02/2020"}, ["#TRÍCH LỤC KHAI TỬ"])  # unassigned
            doc("van_ban", {}, ["#QUYẾT ĐỊNH", "Về việc phê duyệt kế hoạch"])  # unassigned, no fields

            d1 = service.create_dossier(s, procedure="1.000894", subject="001090011223", name="Hoàng Văn Tùng",
                                        agency=settings.agency_code, created_by="test")
            service.attach(s, d1, couple, routed_by="pid")
            lifecycle.pause(s, d1, "Chờ bổ sung giấy xác nhận tình trạng hôn nhân", actor="staff:test")
            d2 = service.create_dossier(s, procedure="1.001193", subject="001092044556", name="Lý Thị Thanh",
                                        agency=settings.agency_code, created_by="test",
                                        now=now - dt.timedelta(days=20))
            service.attach(s, d2, land, routed_by="qr")
            d3 = service.create_dossier(s, procedure="1.001193", subject="001092044556", name="Lý Thị Thanh",
                                        agency=settings.agency_code, created_by="test",
                                        now=now - dt.timedelta(days=3), channel="online")
            result = doc("khai_sinh", {"ho_ten": "Lý Minh Khang", "ngay_sinh": "01/06/2026", "so": "88"},
                         ["#GIẤY KHAI SINH", "Họ, chữ đệm, tên: Lý Minh Khang"])
            service.attach(s, d3, result, routed_by="manual")
            lifecycle.complete(s, d3, actor="staff:test", result_document_id=result.id)
            s.add(CertificationRequest(document_id=land.id, dossier_id=d2.id, copies=3, status="pending",
                                       requested_by="canbo1"))
            s.flush()
            out["codes"] = [d1.code, d2.code, d3.code]
            out["result"] = result.id
            assert s.query(Result).count() >= 1
        with db.session() as s:
            d2 = service.get_dossier(s, out["codes"][1])
            lifecycle.apology(s, d2, reason="Chờ xác minh nguồn gốc đất", new_date=dt.date.today() + dt.timedelta(days=5),
                              out=office.home / "apology" / f"phieu-xin-loi-{d2.code}.pdf", actor="staff:test",
                              render=functools.partial(apology_pdf, unit_name=settings.unit_name))
    finally:
        db.dispose()
    # and two files the inbox must quarantine (through the real watcher)
    (office.home / "inbox" / "ghi-chu.docx").write_bytes(b"PK\x03\x04 not a scan")  # quarantined at once
    (office.home / "inbox" / "empty-scan.jpg").write_bytes(b"")  # waited for: a scanner may still fill it
    office.data["seeded"] = out
    return out


def visible_text(page) -> str:
    """What a person reads: the body's rendered text, minus OCR text and technical details."""
    return page.evaluate("""() => {
        let text = document.body.innerText;
        for (const el of document.querySelectorAll('pre, .mono, #search-documents td:nth-child(3)')) {
            const t = el.innerText; if (t) text = text.split(t).join(' ');
        }
        return text; }""")


def check(page, name: str, codes: set[str]) -> list[str]:
    text = visible_text(page)
    found = sorted(c for c in codes if re.search(rf"(?<![\w.\-/]){re.escape(c)}(?![\w.\-/])", text))
    iso = ISO.findall(text)
    shot(page, name)
    problems = []
    if found:
        problems.append(f"{name}: raw codes {found}")
    if iso:
        problems.append(f"{name}: ISO timestamps {iso[:3]}")
    if page.locator("h1").count() < 1:
        problems.append(f"{name}: no h1")
    if page.script_errors:
        problems.append(f"{name}: script errors {page.script_errors[:2]}")
        page.script_errors.clear()
    return problems


def test_every_page_as_every_role(office, browser):
    data = seed(office)
    codes = raw_codes()
    assert {"ket_hon", "so_dinh_danh_chong", "processing", "scanned", "quarantined"} <= codes
    time.sleep(3)  # the watcher quarantines the file that is no scan
    problems: list[str] = []
    d_paused, d_late, d_done = data["codes"]

    clerk = new_page(browser, office)
    sign_in(clerk, office, "clerk")
    expect(clerk).to_have_url(re.compile(r"/dossiers$"))
    pages = ["/dossiers", "/dossiers?status=paused", "/dossiers?q=hoang+van+tung", "/dossiers?q=Quyết+định",
             "/dossiers?late=1&sort=due&dir=asc", "/inbox", "/unassigned", "/quarantine", "/backlog"]
    pages += [f"/dossiers/{c}" for c in data["codes"]] + [f"/documents/{i}" for i in data["docs"]]
    if office.data.get("code"):
        pages += [f"/dossiers/{office.data['code']}", f"/documents/{office.data['doc_id']}"]
    for path in pages:
        resp = clerk.goto(office.base + path)
        assert resp.status == 200, path
        problems += check(clerk, f"clerk{path}", codes)
    clerk.goto(office.base + "/quarantine")
    expect(clerk.locator("#quarantine")).to_contain_text("ghi-chu.docx")
    expect(clerk.locator("#quarantine")).to_contain_text("chỉ nhận PDF, JPEG, PNG, TIFF")
    clerk.goto(office.base + "/dossiers?q=hoang+van+tung")
    expect(clerk.locator("#dossiers")).to_contain_text(d_paused)  # without diacritics
    clerk.goto(office.base + "/dossiers?q=Hoàng+Văn+Tùng")
    expect(clerk.locator("#dossiers")).to_contain_text(d_paused)  # with them
    clerk.goto(office.base + "/dossiers?q=phe+duyet+ke+hoach")
    expect(clerk.locator("#search-documents")).to_contain_text("phê duyệt kế hoạch")  # document text, snippet with marks
    for path, status in (("/dossiers/000.00.01.H29-010101-9999", 404), ("/khong-co-trang-nay", 404),
                         ("/dossiers?page=mot", 422), ("/certify", 403), ("/dashboard", 403)):
        resp = clerk.goto(office.base + path)
        assert resp.status == status, path
        expect(clerk.locator("[role=alert]")).to_be_visible()
        expect(clerk.locator("a:has-text('Quay lại')")).to_be_visible()
        problems += check(clerk, f"clerk-error-{status}{path}", codes)
    # an expired form (the session's CSRF token changed under it)
    clerk.goto(office.base + f"/dossiers/{d_paused}")
    clerk.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'stale')")
    clerk.click("form[action$='/resume'] button")
    expect(clerk.locator("[role=alert]")).to_contain_text("Biểu mẫu đã hết hạn")
    problems += check(clerk, "clerk-error-csrf", codes)

    officer = new_page(browser, office)
    sign_in(officer, office, "officer")
    for path in ("/certify", "/register", f"/documents/{data['docs'][1]}"):
        assert officer.goto(office.base + path).status == 200, path
        problems += check(officer, f"officer{path}", codes)
    officer.goto(office.base + "/certify")
    expect(officer.locator("#queue")).to_contain_text("Giấy chứng nhận quyền sử dụng đất")

    manager = new_page(browser, office)
    sign_in(manager, office, "manager")
    for path in ("/dashboard", "/late", "/dossiers", f"/dossiers/{d_late}", f"/dossiers/{d_done}", "/backlog"):
        assert manager.goto(office.base + path).status == 200, path
        problems += check(manager, f"manager{path}", codes)
    manager.goto(office.base + "/late")
    expect(manager.locator("#late")).to_contain_text(d_late)

    admin = new_page(browser, office)
    sign_in(admin, office, "admin")
    assert admin.goto(office.base + "/admin/staff").status == 200
    problems += check(admin, "admin/admin/staff", codes)

    anon = new_page(browser, office)
    for path in ("/login", "/verify", "/verify?quyen=01%2F2026-SCT%C4%90T%2FBS&nam=2026&so=999"):
        anon.goto(office.base + path)
        problems += check(anon, f"anonymous{path}", codes)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role,path", [("clerk", "/admin/staff"), ("officer", "/dossiers"), ("officer", "/inbox"),
                                       ("manager", "/certify"), ("manager", "/unassigned"), ("admin", "/dossiers"),
                                       ("officer", "/backlog"),
                                       ("admin", "/dashboard")])
def test_roles_are_enforced(office, browser, role, path):
    page = new_page(browser, office)
    sign_in(page, office, role)
    assert page.goto(office.base + path).status == 403
    expect(page.locator("[role=alert]")).to_contain_text("không có quyền")
    page.context.close()
