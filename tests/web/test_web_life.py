"""A dossier's whole life through the web UI only, in Chromium at 1366×768 against ``sohoa run`` (the
real watcher, Tesseract, pyHanko): a marriage registration taken at the counter with the wife as a
person concerned → the receipt → both spouses' ID cards scanned and routed without an override (the
husband's through the dossier's folder, the wife's by her ID number) while a third person's card is
refused → forwarded to an officer → asked to supplement and resumed → a copy of the wife's card
certified from the dossier and signed by the officer → decided → the result returned → done.

Every state's screen offers only its own steps; every page fails the test on a raw code, an ISO
time, an English word or a server path; every page and printed paper is a picture in
build/screenshots.
"""
from __future__ import annotations

import os
import re
import subprocess
import unicodedata

from playwright.sync_api import expect

from registry.flow import HANDOVER
from registry.persons import ROLES
from signing.stamp import CERT_PHRASE
from sohoa.dev import samples
from tests.scanning import card_page
from vocab.text import fold
from test_web_walk import check, raw_codes, visible_text
from webtest_helpers import new_page, screenshot_dir, shot, sign_in

HUSBAND = samples.Person("Trịnh Văn Khôi", "001085013579", "14/02/1985", "Nam")
WIFE = samples.Person("Vương Thị Lan Anh", "001187024680", "23/09/1987", "Nữ")
STRANGER = samples.Person("Cao Văn Thắng", "036070011223", "05/05/1970", "Nam")
ENGLISH = ("the", "and", "error", "invalid", "pending", "signed", "submit", "none", "null", "undefined", "true",
           "false", "dossier", "document", "step", "forward", "decided", "approved", "refused", "counter", "wife",
           "husband", "docmdp", "pades", "traceback", "exception")
PATHS = re.compile(r"(?:/(?:home|tmp|var|work|usr|etc|root)/\S+|\.p12\b|\.pem\b|[A-Z]:\\)")


def _drop(folder, name: str, person: samples.Person, seed: int, tmp_path) -> None:
    """What a network scanner does: write under a temporary name, then rename into place."""
    folder.mkdir(parents=True, exist_ok=True)
    jpg = tmp_path / f"{name}.jpg"
    samples.save_jpeg(card_page(person, seed=seed, angle=0.4), jpg)
    tmp = folder / f".{name}.part"
    tmp.write_bytes(jpg.read_bytes())
    os.rename(tmp, folder / f"{name}.jpg")


def _strict(page, name: str, codes: set[str]) -> list[str]:
    problems = check(page, name, codes)
    text = visible_text(page)
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    english = sorted(words & set(ENGLISH))
    if english:
        problems.append(f"{name}: English words {english}")
    if PATHS.search(text):
        problems.append(f"{name}: a server path {PATHS.search(text).group(0)!r}")
    return problems


def _paper(page, url: str, name: str) -> str:
    """A printed paper: fetched as the browser would, rendered to a picture beside the pages'; its text."""
    resp = page.request.get(url)
    assert resp.status == 200 and resp.body().startswith(b"%PDF"), url
    pdf = screenshot_dir() / f"{name}.pdf"
    pdf.write_bytes(resp.body())
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(screenshot_dir() / name)],
                   check=True, timeout=60)
    text = unicodedata.normalize("NFC", subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                                       check=True, timeout=60).stdout.decode())
    pdf.unlink()
    return text


def _steps(page) -> set[str]:
    return set(page.eval_on_selector_all("form[id^='step-'], #upload-form, #apology-form, #exempt-form",
                                         "els => els.map(e => e.id)"))


def _confirm(page, name: str, problems: list[str], codes: set[str]) -> None:
    page.locator("#confirm-button, div.error[role=alert]").first.wait_for()
    if page.locator("#confirm-button").count() == 0:  # say why the step was refused
        raise AssertionError(f"{name}: no confirmation; the page says: "
                             + " | ".join(page.locator(".flash, .field-error, [role=alert]").all_inner_texts()))
    expect(page.locator("h1")).to_contain_text("Xác nhận")
    problems += _strict(page, name, codes)
    page.click("#confirm-button")
    expect(page.locator(".flash")).to_contain_text("Đã thực hiện")


def test_a_dossier_from_intake_to_the_result_returned(office, browser, tmp_path):
    codes = raw_codes() | set(ROLES) | set(HANDOVER) | {"decided", "approved"}
    problems: list[str] = []
    clerk = new_page(browser, office)
    sign_in(clerk, office, "clerk")

    # intake: the procedure found by its name without diacritics; the wife as a person concerned
    clerk.fill("#procedure-search", "dang ky ket hon")
    expect(clerk.locator("#procedure-select")).to_have_value("1.000894")
    clerk.fill("#new-dossier input[name=subject]", HUSBAND.pid)
    clerk.fill("#new-dossier input[name=name]", HUSBAND.name)
    clerk.fill("#new-dossier input[name=birth_date]", HUSBAND.dob)
    clerk.fill("#new-dossier input[name=phone]", "0912 345 678")
    clerk.fill("#new-dossier input[name=address]", "Thôn Đông, xã Tân Phú")
    clerk.select_option("#new-dossier select[name='person-1-role']", "wife")
    clerk.fill("#new-dossier input[name='person-1-id']", WIFE.pid)
    clerk.fill("#new-dossier input[name='person-1-name']", WIFE.name)
    problems += _strict(clerk, "life-01-intake-form", codes)
    clerk.click("#new-dossier button[type=submit]")
    expect(clerk.locator(".flash")).to_contain_text("Đã tiếp nhận hồ sơ")
    code = re.search(r"/dossiers/([^/?#]+)$", clerk.url).group(1)
    url = f"{office.base}/dossiers/{code}"
    expect(clerk.locator("#persons")).to_contain_text("Vợ")
    expect(clerk.locator("#persons")).to_contain_text(WIFE.name)
    expect(clerk.locator("#status")).to_have_text("Mới tiếp nhận")
    assert _steps(clerk) == {"upload-form", "step-forward", "step-pause", "step-supplement", "step-return",
                             "apology-form", "exempt-form"}
    problems += _strict(clerk, "life-02-received", codes)
    receipt = _paper(clerk, f"{url}/receipt.pdf", "life-paper-receipt")
    assert code in receipt and "Đăng ký kết hôn" in receipt

    # scans: the husband's card in the dossier's folder, the wife's in the inbox (found by her ID
    # number), a stranger's in the dossier's folder (refused: left for staff)
    inbox = office.home / "inbox"
    _drop(inbox / code, "chong-cccd", HUSBAND, 11, tmp_path)
    _drop(inbox, "vo-cccd", WIFE, 12, tmp_path)
    _drop(inbox / code, "nguoi-la-cccd", STRANGER, 13, tmp_path)
    expect(clerk.locator("#components tr:has-text('Căn cước công dân')")).to_have_count(2, timeout=600_000)
    expect(clerk.locator("#components")).to_contain_text("theo thư mục hồ sơ")
    expect(clerk.locator("#components")).to_contain_text("theo số định danh")
    clerk.goto(office.base + "/inbox")
    expect(clerk.locator("#inbox tr:has-text('nguoi-la-cccd.jpg')")).to_contain_text("Đã xong", timeout=600_000)
    clerk.goto(office.base + "/unassigned")
    stranger_row = clerk.locator("tr:has-text('nguoi-la-cccd')")
    expect(stranger_row).to_have_count(1)
    problems += _strict(clerk, "life-03-stranger-unassigned", codes)
    clerk.goto(url)
    expect(clerk.locator("#components tr:has-text('Căn cước công dân')")).to_have_count(2)
    expect(clerk.locator("#status")).to_have_text("Đang xử lý")
    problems += _strict(clerk, "life-04-scanned", codes)
    wife_doc = None
    for link in clerk.locator("#components a:has-text('Văn bản #')").all():
        doc_page = new_page(browser, office)
        sign_in(doc_page, office, "clerk")
        doc_page.goto(office.base + link.get_attribute("href"))
        if WIFE.pid[-4:] in doc_page.inner_text("body") or "Vương" in doc_page.inner_text("body"):
            wife_doc = int(link.get_attribute("href").rsplit("/", 1)[1])
        doc_page.context.close()
    assert wife_doc is not None, "the wife's card is not in the dossier"

    # forward to the officer, with this step's due date
    clerk.select_option("#step-forward select[name=unit]", index=1)
    officer_value = clerk.locator("#step-forward select[name=officer] option", has_text="Nguyễn Văn Bình").get_attribute("value")
    clerk.select_option("#step-forward select[name=officer]", officer_value)
    clerk.fill("#step-forward input[name=note]", "Thẩm định điều kiện kết hôn")
    clerk.click("#step-forward button[type=submit]")
    _confirm(clerk, "life-05-confirm-forward", problems, codes)
    expect(clerk.locator("#holder")).to_contain_text("Nguyễn Văn Bình")
    assert "step-decide" in _steps(clerk)
    problems += _strict(clerk, "life-06-forwarded", codes)

    # asked to supplement, then resumed
    clerk.fill("#step-supplement input[name=reason]", "Giấy xác nhận tình trạng hôn nhân của người vợ")
    clerk.click("#step-supplement button[type=submit]")
    _confirm(clerk, "life-07-confirm-supplement", problems, codes)
    expect(clerk.locator("#status")).to_have_text("Tạm dừng")
    assert _steps(clerk) == {"upload-form", "step-resume", "step-return"}
    problems += _strict(clerk, "life-08-paused", codes)
    clerk.click("#step-resume button[type=submit]")
    _confirm(clerk, "life-09-confirm-resume", problems, codes)
    expect(clerk.locator("#status")).to_have_text("Đang xử lý")

    # a certified copy of the wife's card asked for from the dossier; the officer signs it
    clerk.check(f"#step-certify input[name=document][value='{wife_doc}']")
    clerk.fill("#step-certify input[name=copies]", "2")
    clerk.click("#step-certify button[type=submit]")
    _confirm(clerk, "life-10-confirm-certify", problems, codes)
    expect(clerk.locator("#cert-list")).to_contain_text("Chờ chứng thực")
    officer = new_page(browser, office)
    sign_in(officer, office, "officer")
    row = officer.locator(f"#queue tr:has-text('Văn bản #{wife_doc}')")
    expect(row).to_contain_text(code)
    problems += _strict(officer, "life-11-officer-queue", codes)
    row.locator("input[type=checkbox]").check()
    officer.fill("input[name=passphrase]", office.officer_passphrase)
    officer.click("#certify-button")
    expect(officer.locator(".flash")).to_contain_text("Đã chứng thực 1 văn bản", timeout=120_000)
    officer.goto(office.base + "/register")
    entry = officer.locator("#register tr", has_text=code)
    expect(entry).to_contain_text(HUSBAND.name)  # the requester: the dossier's applicant
    expect(entry).to_contain_text("Căn cước công dân")
    expect(entry.locator(".fee")).to_have_text("4.000 đồng")  # 1 page, 2 copies
    expect(entry).to_contain_text("Nguyễn Văn Bình")
    problems += _strict(officer, "life-12a-register", codes)
    register_pdf = screenshot_dir() / "life-paper-register.pdf"
    officer.pdf(path=str(register_pdf), format="A4", landscape=True)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-singlefile", str(register_pdf),
                    str(screenshot_dir() / "life-paper-register")], check=True, timeout=60)
    printed = " ".join(unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", str(register_pdf), "-"], capture_output=True, check=True, timeout=60).stdout.decode()).split())
    register_pdf.unlink()
    for want in (HUSBAND.name, "4.000 đồng", "Người yêu cầu chứng thực", "Căn cước công dân", "Nguyễn Văn Bình"):
        assert want in printed, want
    clerk.goto(url)
    expect(clerk.locator("#cert-list")).to_contain_text("Đã chứng thực")
    expect(clerk.locator("#cert-list a.download")).to_have_count(2)
    copy_url = office.base + clerk.locator("#cert-list a.download").first.get_attribute("href")
    copy_text = _paper(clerk, copy_url, "life-paper-certified-copy")
    flat = " ".join(copy_text.split())
    assert CERT_PHRASE in flat, "the copy's stamp is not in its text layer"
    assert "CAN CUOC" in fold(flat).upper(), "the card's own words are not in the copy's text layer"
    expect(clerk.locator(".history")).to_contain_text("Chứng thực")
    problems += _strict(clerk, "life-12-certified", codes)

    # decided: the result picked from the dossier's documents
    clerk.select_option("#step-decide select[name=outcome]", "approved")
    clerk.select_option("#step-decide select[name=result_document_id]", index=1)
    clerk.fill("#step-decide input[name=override_reason]", "Tờ khai và giấy xác nhận nộp bản giấy")
    clerk.click("#step-decide button[type=submit]")
    _confirm(clerk, "life-13-confirm-decide", problems, codes)
    expect(clerk.locator("#status")).to_have_text("Chờ trả kết quả")
    assert _steps(clerk) == {"step-return_result", "apology-form", "step-certify"}
    problems += _strict(clerk, "life-14-decided", codes)

    # the result returned at the counter to the husband: done, nothing more offered
    clerk.select_option("#step-return_result select[name=method]", "counter")
    clerk.click("#step-return_result button[type=submit]")
    _confirm(clerk, "life-15-confirm-return", problems, codes)
    expect(clerk.locator("#status")).to_have_text("Đã giải quyết")
    expect(clerk.locator("#handover")).to_contain_text(HUSBAND.name)
    assert _steps(clerk) == set()
    assert clerk.locator("text=Gỡ thành phần").count() == 0
    for what in ("Chuyển xử lý", "Yêu cầu bổ sung", "Tiếp tục xử lý", "Quyết định giải quyết", "Trả kết quả",
                 "Đề nghị chứng thực"):
        expect(clerk.locator(".history")).to_contain_text(what)
    problems += _strict(clerk, "life-16-done", codes)
    shot(clerk, "life-16-done")

    # a citizen checks the copy on the public page: one plain verdict, then the detail folded
    copy = tmp_path / "ban-sao.pdf"
    copy.write_bytes(clerk.request.get(copy_url).body())
    tampered = bytearray(copy.read_bytes())
    i = tampered.index(b"stream", 200) + 40  # a byte of signed page content
    tampered[i] = (tampered[i] + 1) % 256
    (tmp_path / "sua.pdf").write_bytes(bytes(tampered))
    citizen = new_page(browser, office)
    for name, path, verdict in (("life-17-verify-genuine", copy, "genuine"),
                                ("life-18-verify-modified", tmp_path / "sua.pdf", "modified")):
        citizen.goto(office.base + "/verify")
        citizen.set_input_files("#verify-form input[type=file]", str(path))
        citizen.click("#verify-form button[type=submit]")
        expect(citizen.locator("#verdict")).to_have_attribute("data-verdict", verdict, timeout=60_000)
        expect(citizen.locator("#verify-details")).not_to_have_attribute("open", "")
        problems += _strict(citizen, name, codes)
    assert not problems, "\n".join(problems)
