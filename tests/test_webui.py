"""The staff web UI in a real browser (Debian's chromium driven by Playwright) against a real
server on loopback: sign in, open a dossier, resolve the unassigned queue, correct a field."""
from __future__ import annotations

import re
import shutil
import socket
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from registry.models import AuditEvent, Document
from registry.staff import add_staff
from registry.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")  # (imported by test_sync_web)



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, db):
    import uvicorn

    from sohoa.web.app import create_app

    app = create_app(settings, db)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(timeout=10)


@pytest.fixture
def seeded(settings, db):
    with db.session() as s:
        add_staff(s, "clerk1", "mật-khẩu-dài", name="Lò Thị Hạnh", role="clerk")
        digest, _ = Store(settings.store_dir).put_bytes(b"%PDF-1.4\n%%EOF\n")
        doc = Document(sha256=digest, doc_type="cccd", type_confidence=0.93, source_name="scan_0007.jpg",
                       fields={"so_dinh_danh": "001088012345", "ho_ten": "Nguyen Van An"})
        s.add(doc)
        s.flush()
        return doc.id


def test_pages_need_a_session(server, seeded):
    r = httpx.get(server + "/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert httpx.get(server + "/unassigned", follow_redirects=False).status_code == 303
    r = httpx.post(server + "/dossiers", data={"procedure": "1.001193", "subject": "001088012345"},
                   follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]


def test_unassigned_queue_and_search_in_a_browser(server, seeded, db, browser):
    """The unassigned queue suggests the dossier of the ID number the document carries; one click
    attaches it; the search box finds the dossier with and without diacritics."""
    from playwright.sync_api import expect

    doc_id = seeded
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#username", "clerk1")
    page.fill("#password", "wrong password")
    page.click("form[action='/login'] button")
    expect(page.locator(".error[role=alert]")).to_contain_text("Sai tên đăng nhập")
    page.fill("#username", "clerk1")
    page.fill("#password", "mật-khẩu-dài")
    page.click("form[action='/login'] button")
    expect(page.locator("header")).to_contain_text("Lò Thị Hạnh")
    expect(page.locator("#n-unassigned")).to_have_text("1")

    page.select_option("#new-dossier select[name=procedure]", "1.001193")
    page.fill("#new-dossier input[name=subject]", "001088012345")
    page.fill("#new-dossier input[name=name]", "Nguyễn Văn An")
    page.click("#new-dossier button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Đã tiếp nhận hồ sơ")
    code = re.search(r"/dossiers/([^/]+)$", page.url).group(1)
    assert re.fullmatch(r"000\.00\.01\.H29-\d{6}-0001", code)
    assert "001088012345" not in page.inner_text("body")  # the ID is shown masked
    href = page.get_attribute("a:has-text('In giấy tiếp nhận')", "href")
    pdf = page.request.get(server + href)  # same session cookie as the page
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    page.click("header >> text=Chưa gắn hồ sơ")
    row = page.locator(f"#doc-{doc_id}")
    expect(row).to_contain_text("scan_0007.jpg")
    expect(row).to_contain_text("Căn cước công dân")
    expect(row).to_contain_text("Nguyễn Văn An · Đăng ký khai sinh")  # the suggestion names citizen and procedure
    row.locator(f"button.suggest:has-text('{code}')").click()  # suggested from the ID number read
    expect(page.locator("h1")).to_contain_text("Xác nhận gắn")  # nothing attached on one click
    page.click("#confirm-button")
    expect(page.locator(".flash")).to_contain_text(f"Đã gắn văn bản {doc_id} vào hồ sơ {code}")
    expect(page.locator(f"#doc-{doc_id}")).to_have_count(0)
    page.click("#undo-button")  # attached to the wrong dossier? undo at once
    expect(page.locator(".flash")).to_contain_text("Đã hoàn tác")
    expect(page.locator(f"#doc-{doc_id}")).to_have_count(1)
    page.locator(f"#doc-{doc_id} button.suggest:has-text('{code}')").click()
    page.click("#confirm-button")
    expect(page.locator(f"#doc-{doc_id}")).to_have_count(0)

    page.goto(f"{server}/dossiers/{code}")
    expect(page.locator("#components")).to_contain_text("Căn cước công dân")
    expect(page.locator("#components")).to_contain_text("cán bộ gắn tay")
    for q in ("Nguyễn Văn", "nguyen van", "H29"):
        page.goto(f"{server}/dossiers?q={q}")
        expect(page.locator("#dossiers")).to_contain_text(code)
    page.goto(f"{server}/dossiers?q=khong+co+ai")
    expect(page.locator("#dossiers")).to_contain_text("Không có hồ sơ nào khớp")
    page.context.close()

    with db.session() as s:
        actions = {a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.actor == "staff:clerk1"))}
    assert {"staff.login", "dossier.create", "dossier.show", "document.assign", "dossier.search"} <= actions


def test_public_verify_page_for_a_certified_copy(tmp_path):
    """The QR on a certified copy leads to /verify: the register entry, and an upload that checks
    the file's signatures and that it is the copy the register recorded."""
    import subprocess

    from registry.db import Database
    from sohoa.dev import samples
    from sohoa.config import load_settings
    from tests.conftest import SohoaCLI

    home = tmp_path / "h"
    home.mkdir()
    cli = SohoaCLI(home)
    cli.run("init")
    cli.run("pki", "dev")
    settings = load_settings(home, env={})
    db = Database(settings.db_url)
    pdf = samples.images_to_pdf([samples.render_page(["#GIẤY KHAI SINH", "Số: 12"])])
    with db.session() as s:
        digest, _ = Store(settings.store_dir).put_bytes(pdf)
        doc = Document(sha256=digest, doc_type="khai_sinh", source_name="ks.pdf")
        s.add(doc)
        s.flush()
        doc_id = doc.id
    made = cli.json("certify", str(doc_id), "--officer", "1", "--out", str(tmp_path / "out"))[0]
    signed = (tmp_path / "out").glob("*.pdf").__next__().read_bytes()
    stamp = subprocess.run(["pdftotext", "-", "-"], input=signed, capture_output=True).stdout
    assert "Chứng thực bản sao đúng với bản chính".encode() in stamp

    import uvicorn

    from sohoa.web.app import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    while not srv.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    web = httpx.Client(base_url=base)
    try:
        q = {"quyen": made["book"], "nam": made["year"], "so": made["number"]}
        r = web.get("/verify", params=q)
        assert r.status_code == 200
        q["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        assert f"<td>{made['number']}</td>" in r.text and made["book"] in r.text
        assert "not-found" not in r.text
        r = web.post("/verify", data=q, files={"file": ("copy.pdf", signed, "application/pdf")})
        assert r.status_code == 200 and 'data-verdict="genuine"' in r.text and "khớp với bản đã ghi trong sổ" in r.text
        assert not any(w in r.text for w in ("DocMDP", "PAdES", "B-B", "B-T", "untrusted"))
        tampered = bytearray(signed)
        i = signed.index(b"/Contents") - 200
        tampered[i] = ord("x") if tampered[i] != ord("x") else ord("y")
        r = web.post("/verify", data=q, files={"file": ("copy.pdf", bytes(tampered), "application/pdf")})
        assert "KHÔNG HỢP LỆ" in r.text and 'data-verdict="modified"' in r.text  # not called "untrusted"
        assert "đã bị sửa đổi sau khi ký" in r.text
        r = web.get("/verify", params={"quyen": made["book"], "nam": made["year"], "so": 999})
        assert "not-found" in r.text
        # the same check for other systems, over the API
        token = cli.json("client", "add", "portal", "--scopes", "documents:read")[0]["token"]
        r = httpx.post(base + "/api/v1/verify", files={"file": ("copy.pdf", signed, "application/pdf")},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["document_id"] == made["copies"][0]["document_id"]
        assert body["report"]["valid"] is True and body["report"]["signatures"][0]["trusted"] is True
        assert httpx.post(base + "/api/v1/verify", files={"file": ("c.pdf", signed, "application/pdf")}).status_code == 401
    finally:
        srv.should_exit = True
        t.join(timeout=10)
        db.dispose()
