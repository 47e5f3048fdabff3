"""A day at a one-stop office in a real browser (Debian's Chromium, Playwright) against ``sohoa run``
— the real inbox watcher, Tesseract and the web server:

clerk opens a dossier → a scan dropped into the inbox appears on the open page without a reload →
the clerk corrects a field beside the page image and marks the original for certification →
the officer certifies it from the queue with the key's passphrase and downloads the copy, which
``sohoa verify`` accepts → the manager sees the indicators chart; a clerk gets 403 on officer and
manager pages; the 6th wrong password in a row is refused even with the right one until the lock ends.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time

from playwright.sync_api import expect

from sohoa.dev import samples
from tests.scanning import card_page
from webtest_helpers import LOCKOUT_SECONDS, PASSWORD, new_page, shot, sign_in

CITIZEN = samples.Person("Đặng Thị Thu Hằng", "001188012345", "12/03/1988", "Nữ")


def _drop(inbox_folder, name: str, data: bytes) -> None:
    """What a network scanner does: write under a temporary name, then rename into place."""
    inbox_folder.mkdir(parents=True, exist_ok=True)
    tmp = inbox_folder / f".{name}.part"
    tmp.write_bytes(data)
    os.rename(tmp, inbox_folder / name)


def _audit(home, action: str) -> list[tuple]:
    con = sqlite3.connect(home / "sohoa.db", timeout=30)
    try:
        return con.execute("select actor, object_id, detail from audit_events where action = ?", (action,)).fetchall()
    finally:
        con.close()


def test_clerk_officer_manager_day(office, browser, tmp_path):
    clerk = new_page(browser, office)
    sign_in(clerk, office, "clerk")
    expect(clerk).to_have_url(re.compile(r"/dossiers$"))
    expect(clerk.locator("header")).to_contain_text("Lò Thị Hạnh")

    # the clerk opens a dossier at the counter
    clerk.select_option("#new-dossier select[name=procedure]", "1.001193")
    clerk.fill("#new-dossier input[name=subject]", CITIZEN.pid)
    clerk.fill("#new-dossier input[name=name]", CITIZEN.name)
    clerk.click("#new-dossier button[type=submit]")
    expect(clerk.locator(".flash")).to_contain_text("Đã tiếp nhận hồ sơ")
    code = re.search(r"/dossiers/([^/?#]+)$", clerk.url).group(1)
    office.data["code"] = code
    expect(clerk.locator("h1")).to_contain_text(code)
    assert CITIZEN.pid not in clerk.inner_text("body")  # the ID is shown masked
    expect(clerk.locator("#live-badge")).to_be_visible()  # the page's event stream is connected
    clerk.evaluate("window.__sameDocument = 'yes'")  # gone if the page reloads

    # a scan arrives through the inbox (the dossier's folder) while the page stays open
    misprinted = samples.Person("Dang Thi Thu Hang", CITIZEN.pid, CITIZEN.dob, CITIZEN.sex)  # read without marks
    card = card_page(misprinted, seed=3, angle=0.6)
    jpg = tmp_path / "card.jpg"
    samples.save_jpeg(card, jpg)
    _drop(office.home / "inbox" / code, "the-card.jpg", jpg.read_bytes())
    expect(clerk.locator("#components")).to_contain_text("Căn cước công dân", timeout=300_000)
    assert clerk.evaluate("window.__sameDocument") == "yes", "the page reloaded instead of updating itself"
    expect(clerk.locator("#components")).to_contain_text("Quét tại quầy")
    expect(clerk.locator("#components")).to_contain_text("theo thư mục hồ sơ")
    expect(clerk.locator("#status")).to_have_text("Đang xử lý")
    shot(clerk, "clerk-dossier-after-scan")

    # the document: page image beside the fields with their confidences; correct a field
    clerk.click("#components a:has-text('Văn bản #')")
    doc_id = int(re.search(r"/documents/(\d+)", clerk.url).group(1))
    office.data["doc_id"] = doc_id
    img = clerk.locator(".pageimg img").first
    expect(img).to_be_visible()
    clerk.wait_for_function("() => { const i = document.querySelector('.pageimg img'); "
                            "return i && i.complete && i.naturalWidth > 300; }")
    form = clerk.locator("#correct")
    ib, fb = img.bounding_box(), form.bounding_box()
    assert ib["x"] + ib["width"] <= fb["x"] + 1, "the page image is not beside the fields"
    assert ib["y"] < fb["y"] + fb["height"] and fb["y"] < ib["y"] + ib["height"], "image and fields do not overlap vertically"
    expect(form).to_contain_text("Họ và tên")
    expect(form.locator(".conf").first).to_contain_text("%")
    expect(clerk.locator("input[name='field:ho_ten']")).not_to_have_value(CITIZEN.name)
    clerk.fill("input[name='field:ho_ten']", CITIZEN.name)
    clerk.click("#correct button[type=submit]")
    expect(clerk.locator(".flash")).to_contain_text("Đã lưu chỉnh sửa")
    expect(clerk.locator("#correct")).to_contain_text("đã sửa")
    expect(clerk.locator("input[name='field:ho_ten']")).to_have_value(CITIZEN.name)
    expect(clerk.locator(".history")).to_contain_text("Sửa thông tin")

    # mark the original for certification, two copies
    clerk.fill("#cert-request input[name=copies]", "2")
    clerk.click("#cert-request button[type=submit]")
    expect(clerk.locator(".flash")).to_contain_text("chứng thực (2 bản)")
    shot(clerk, "clerk-document")

    # a clerk may not open the officer's, the manager's or the admin's pages
    for path in ("/certify", "/register", "/dashboard", "/late", "/admin/staff"):
        resp = clerk.goto(office.base + path)
        assert resp.status == 403, path
        expect(clerk.locator("[role=alert]")).to_contain_text("không có quyền")
        expect(clerk.locator("h1")).to_have_text("Không có quyền truy cập")
        expect(clerk.locator("nav")).to_contain_text("Hồ sơ")  # inside the layout, with a way back
    shot(clerk, "clerk-403")
    # a form without its CSRF token is refused
    resp = clerk.request.post(office.base + f"/documents/{doc_id}/certification", form={"copies": "1"})
    assert resp.status == 400 and "Biểu mẫu đã hết hạn" in resp.text()

    # the certifying officer: queue → wrong passphrase refused → certify with the right one
    officer = new_page(browser, office)
    sign_in(officer, office, "officer")
    expect(officer).to_have_url(re.compile(r"/certify$"))
    row = officer.locator(f"#queue tr:has-text('Văn bản #{doc_id}')")
    expect(row).to_contain_text("Căn cước công dân")
    expect(row).to_contain_text(code)
    shot(officer, "officer-queue")
    row.locator("input[type=checkbox]").check()
    officer.fill("input[name=passphrase]", "not the passphrase")
    officer.click("#certify-button")
    expect(officer.locator("[role=alert]")).to_contain_text("Không chứng thực được")
    officer.locator(f"#queue tr:has-text('Văn bản #{doc_id}') input[type=checkbox]").check()
    officer.fill("input[name=passphrase]", office.officer_passphrase)
    officer.click("#certify-button")
    expect(officer.locator(".flash")).to_contain_text("Đã chứng thực 1 văn bản", timeout=120_000)
    recent = officer.locator("#recent")
    expect(recent).to_contain_text("Đã chứng thực")
    expect(recent.locator("a.download")).to_have_count(2)
    with officer.expect_download() as dl:
        recent.locator("a.download").first.click()
    copy = tmp_path / "ban-sao.pdf"
    dl.value.save_as(copy)
    p = office.cli.run("verify", str(copy), "--offline", "--json", check=False)
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0 and report["valid"] is True, p.stdout + p.stderr
    officer.goto(office.base + "/register")
    expect(officer.locator("#register")).to_contain_text("Căn cước công dân")
    shot(officer, "officer-register")

    # the manager: indicators as a table and a chart
    manager = new_page(browser, office)
    sign_in(manager, office, "manager")
    expect(manager).to_have_url(re.compile(r"/dashboard$"))
    expect(manager.locator("#indicators")).to_contain_text("Hồ sơ được số hóa")
    bars = manager.locator("#indicators-chart rect")
    assert bars.count() >= 4
    assert any(float(bars.nth(i).get_attribute("height")) > 0 for i in range(bars.count()))
    expect(manager.locator("#indicators")).to_contain_text("100%")  # the one dossier has a scanned component
    shot(manager, "manager-dashboard")

    actions = {a for a, in sqlite3.connect(office.home / "sohoa.db").execute("select action from audit_events")}
    assert {"staff.login", "dossier.create", "dossier.show", "document.show", "document.page", "document.correct",
            "certify.request", "certify", "certify.download", "indicators.read"} <= actions


def test_sixth_wrong_password_is_refused_even_when_right(office, browser):
    admin = new_page(browser, office)
    sign_in(admin, office, "admin")
    expect(admin).to_have_url(re.compile(r"/admin/staff$"))
    admin.fill("#add-staff input[name=username]", "tiepnhan2")
    admin.fill("#add-staff input[name=name]", "Vũ Minh Châu")
    admin.select_option("#add-staff select[name=role]", "clerk")
    admin.fill("#add-staff input[name=password]", PASSWORD)
    admin.click("#add-staff button[type=submit]")
    expect(admin.locator(".flash")).to_contain_text("Đã tạo tài khoản tiepnhan2")

    page = new_page(browser, office)
    for i in range(5):
        page.goto(office.base + "/login")
        page.fill("#username", "tiepnhan2")
        page.fill("#password", f"sai-mat-khau-{i}")
        page.click("form[action='/login'] button[type=submit]")
        expect(page.locator("#login-error")).to_be_visible()
    page.goto(office.base + "/login")
    page.fill("#username", "tiepnhan2")
    page.fill("#password", PASSWORD)  # the right password, 6th attempt in a row
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("tạm khóa")
    expect(page).to_have_url(re.compile(r"/login"))
    locked_at = time.monotonic()
    shot(page, "login-locked")

    admin.reload()
    expect(admin.locator("#staff-tiepnhan2")).to_contain_text("Tạm khóa")
    shot(admin, "admin-staff")
    failed = [r for r in _audit(office.home, "staff.login_failed") if r[1] == "tiepnhan2"]
    assert len(failed) == 6 and json.loads(failed[-1][2])["reason"] == "locked"

    time.sleep(max(0.0, LOCKOUT_SECONDS + 0.5 - (time.monotonic() - locked_at)))
    page.goto(office.base + "/login")
    page.fill("#username", "tiepnhan2")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dossiers$"))
    expect(page.locator("header")).to_contain_text("Vũ Minh Châu")


def test_upload_live_inbox_and_page_operations(office, browser, tmp_path):
    """A scan uploaded from the browser enters through the inbox and its journal, shows up in the live
    inbox without a reload, and a document the scanner glued together is split and a page rotated."""
    from tests.scanning import birth_pages

    stranger = samples.Person("Phùng Thị Ngọc Ánh", "036195004321", "21/07/1995", "Nữ")
    child = samples.Person("Phùng Gia Bảo", "036225004322", "02/02/2025", "Nam")
    card = card_page(stranger, seed=5, angle=0.3)
    continuation = birth_pages(child, seed=6)[1]  # a page without a title: OCR glues it to the card
    pdf = tmp_path / "may-quet-gop.pdf"
    pdf.write_bytes(samples.images_to_pdf([card, continuation]))

    clerk = new_page(browser, office)
    sign_in(clerk, office, "clerk")
    clerk.goto(office.base + "/inbox")
    clerk.set_input_files("#upload-form input[type=file]", str(pdf))
    expect(clerk.locator("#upload-form .filenames")).to_have_text("may-quet-gop.pdf")
    clerk.click("#upload-form button[type=submit]")
    expect(clerk.locator(".flash")).to_contain_text("Đã nhận 1 tệp")
    expect(clerk).to_have_url(re.compile(r"/inbox$"))
    clerk.evaluate("window.__sameDocument = 'yes'")
    row = clerk.locator("#inbox tr:has-text('may-quet-gop.pdf')")
    expect(row).to_contain_text("Đã xong", timeout=300_000)
    assert clerk.evaluate("window.__sameDocument") == "yes", "the inbox reloaded instead of updating itself"
    expect(row).to_contain_text("Căn cước công dân")
    shot(clerk, "clerk-inbox-after-upload")

    row.locator("a").first.click()
    expect(clerk.locator(".pageimg")).to_have_count(2)
    doc_id = int(re.search(r"/documents/(\d+)", clerk.url).group(1))
    clerk.locator("#page-1 button:has-text('Tách sau trang này')").click()
    expect(clerk.locator(".flash")).to_contain_text("Đã tách các trang sau trang 1")
    new_id = int(re.search(r"/documents/(\d+)", clerk.url).group(1))
    assert new_id != doc_id
    expect(clerk.locator(".pageimg")).to_have_count(1)
    expect(clerk.locator("#ocr-text")).to_contain_text("tên người mẹ")  # the glued page's own text
    expect(clerk.locator("#ocr-text")).not_to_contain_text("CĂN CƯỚC")
    before = clerk.locator("#page-1 img").get_attribute("src")
    png_before = clerk.request.get(office.base + before).body()
    clerk.locator("#page-1 button:has-text('Xoay phải')").click()
    expect(clerk.locator(".flash")).to_contain_text("Đã xoay trang 1")
    png_after = clerk.request.get(office.base + before).body()
    assert png_after != png_before  # the stored file changed; the page image follows
    clerk.goto(f"{office.base}/documents/{doc_id}")
    expect(clerk.locator(".pageimg")).to_have_count(1)
    expect(clerk.locator(".history")).to_contain_text("Tách văn bản")
    shot(clerk, "clerk-document-after-split")
