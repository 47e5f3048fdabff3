"""An officer whose key is in a remote signing service (CSC) certifies a batch from the queue in
a real browser (Debian's Chromium, Playwright) against ``sohoa serve``: the form asks for the OTP
instead of a passphrase; a wrong OTP and an approval that never comes (a countdown the officer
sees) leave the queue and the register as they were; the right OTP certifies the whole batch on
ONE authorization of the local CSC service (``sohoa dev csc``'s service, in this process)."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess

import pytest
from playwright.sync_api import expect

from tests.conftest import SohoaCLI
from webtest_helpers import ACCOUNTS, PASSWORD, free_port, new_page, shot, sign_in, wait_until_serving

SECRET = "csc-client-secret-browser"


@pytest.fixture(scope="module")
def csc_office(tmp_path_factory):
    from registry.db import Database
    from registry.models import CertificationRequest, Document
    from registry.store import Store
    from sohoa.config import load_settings
    from sohoa.dev.csc import DevCSC
    from sohoa.dev.scans import scanned_pdf

    root = tmp_path_factory.mktemp("cscoffice")
    home = root / "home"
    home.mkdir()
    cli = SohoaCLI(home)
    port = free_port()
    cli.env.update(SOHOA_WEB_PORT=str(port), SOHOA_STAFF_PASSWORD=PASSWORD)
    cli.run("init")
    with open(home / "sohoa.toml", "a", encoding="utf-8") as fh:
        fh.write('\nunit_name = "Ủy ban nhân dân xã Tân Phú"\n')
    cli.run("pki", "dev", "--officer-name", ACCOUNTS["officer"][1], "--officer-title", "Phó Chủ tịch UBND xã")
    cli.run("staff", "add", ACCOUNTS["officer"][0], "--name", ACCOUNTS["officer"][1], "--role", "officer")
    # the officer's key now lives in the remote signing service
    csc = DevCSC(client_secret=SECRET, echo=lambda _line: None)
    csc.add_p12("officer", home / "pki" / "officer.p12", mode="otp")
    csc.start()
    secret_file = root / "csc.secret"
    secret_file.write_text(SECRET + "\n")
    (row,) = cli.json("officer", "add", "--csc", csc.url, "--credential", "officer", "--csc-client-id", "sohoa",
                      "--csc-secret-file", str(secret_file), "--approval-timeout", "4",
                      "--title", "Phó Chủ tịch UBND xã")
    assert row["key_ref"].startswith("csc:") and SECRET not in json.dumps(row)
    # three originals in the queue, one of them asked in two copies: four signatures
    settings = load_settings(home)
    db, store = Database(settings.db_url), Store(settings.store_dir)
    docs = []
    with db.session() as s:
        for i, copies in enumerate((1, 2, 1)):
            data = scanned_pdf(dpi=100, noise=False, seed=i + 1)
            sha, _ = store.put_bytes(data)
            d = Document(sha256=sha, size=len(data), pages=1, text="GIẤY KHAI SINH", doc_type="khai_sinh")
            s.add(d)
            s.flush()
            s.add(CertificationRequest(document_id=d.id, copies=copies, status="pending", requested_by="canbo1"))
            docs.append(d.id)
    db.dispose()
    log = home / "serve.log"
    with open(log, "w") as out:
        proc = cli.popen("serve", "--port", str(port), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, proc, log, "sohoa serve")
    office = type("CSCOffice", (), {})()
    office.home, office.cli, office.base, office.csc, office.docs, office.log = home, cli, base, csc, docs, log
    office.user = lambda role: ACCOUNTS[role][0]
    yield office
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
    csc.stop()


def _state(home):
    con = sqlite3.connect(home / "sohoa.db", timeout=30)
    try:
        return (con.execute("select status, count(*) from certification_requests group by status").fetchall(),
                con.execute("select count(*) from certified_copies").fetchone()[0],
                con.execute("select value from counters where key like 'certify:%'").fetchall())
    finally:
        con.close()


def test_officer_certifies_a_batch_through_csc(csc_office, browser, tmp_path):
    office, csc = csc_office, csc_office.csc
    officer = new_page(browser, office)
    sign_in(officer, office, "officer")
    expect(officer).to_have_url(re.compile(r"/certify$"))
    expect(officer.locator("#certify-officer")).to_contain_text("(ký số từ xa)")
    expect(officer.locator("#secret-label")).to_have_text("Mã OTP của dịch vụ ký số từ xa")
    expect(officer.locator("#secret-hint")).to_contain_text("để trống nếu phê duyệt trên điện thoại")
    rows = officer.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    before = _state(office.home)
    assert before == ([("pending", 3)], 0, [])
    shot(officer, "officer-queue-csc")

    def pick_all():
        for d in office.docs:
            officer.locator(f"#queue tr:has-text('Văn bản #{d}') input[type=checkbox]").check()

    # a wrong OTP: refused by the service, nothing signed, the queue as it was
    pick_all()
    wrong = "000000" if csc.current_otp("officer") != "000000" else "111111"
    officer.fill("#certify-secret", wrong)
    officer.click("#certify-button")
    alert = officer.locator("[role=alert]")
    expect(alert).to_contain_text("mã OTP không đúng", timeout=60_000)  # the form is sent in the background
    expect(alert).to_contain_text("vẫn ở trong hàng chờ")
    expect(rows).to_have_count(3)
    assert _state(office.home)[:2] == before[:2] and _state(office.home)[2] in ([], [(0,)])

    # the officer approves on the phone instead, but the approval never comes: a countdown, then a timeout
    csc.credentials["officer"].mode = "approval"
    csc.set(approve="never")
    pick_all()
    officer.fill("#certify-secret", "")
    officer.click("#certify-button")
    wait = officer.locator("#remote-wait")  # the page stays while the service waits for the phone
    expect(wait).to_be_visible()
    expect(wait).to_contain_text(re.compile(r"phê duyệt yêu cầu ký trên điện thoại: còn [34] giây"))
    expect(wait).to_contain_text(re.compile(r"còn [12] giây"), timeout=4_000)  # it counts down
    expect(officer.locator("#certify-button")).to_be_disabled()
    shot(officer, "officer-csc-waiting-approval")
    expect(officer.locator("[role=alert]")).to_contain_text("không nhận được phê duyệt trên điện thoại sau 4 giây",
                                                            timeout=60_000)
    expect(rows).to_have_count(3)
    assert _state(office.home)[:2] == before[:2]

    # the OTP, once for the whole batch: three originals, four copies, one authorization
    csc.credentials["officer"].mode = "otp"
    csc.reset_stats()
    pick_all()
    officer.fill("#certify-secret", csc.current_otp("officer"))
    officer.click("#certify-button")
    expect(officer.locator(".flash")).to_contain_text("Đã chứng thực 3 văn bản", timeout=120_000)
    stats = csc.stats()
    assert stats["calls"]["credentials/authorize"] == 1 and stats["hashes_signed"] == 4
    expect(officer.locator("#queue")).to_have_count(0)
    recent = officer.locator("#recent")
    expect(recent.locator("a.download")).to_have_count(4)
    assert _state(office.home) == ([("certified", 3)], 3, [(3,)])
    shot(officer, "officer-csc-certified")
    with officer.expect_download() as dl:
        recent.locator("a.download").first.click()
    copy = tmp_path / "ban-sao.pdf"
    dl.value.save_as(copy)
    p = office.cli.run("verify", str(copy), "--json", check=False)
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0 and report["valid"] is True, p.stdout + p.stderr
    assert officer.script_errors == []
