"""The web UI shows portal-sync alerts (dead letters) on every page and the backlog import's
progress on the dashboard and, live, on the inbox view; checked in Debian's chromium."""
from __future__ import annotations

import datetime as dt
import re

from test_webui import CHROMIUM, server  # noqa: F401  (the uvicorn fixture)
from tests.conftest import need


def test_dead_letters_and_backlog_progress_are_shown(server, settings, db):  # noqa: F811
    need(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    from registry import backlog, outbox, service
    from registry.staff import add_staff

    with db.session() as s:
        add_staff(s, "clerk1", "mật-khẩu-dài", name="Lò Thị Hạnh", role="clerk")
        d = service.create_dossier(s, procedure="1.001193", subject="001088012345", agency="000.00.01.H29")
        heads = outbox.heads(s)
        outbox.fail(s, [h.id for h in heads], "Cổng trả lỗi HTTP 500", max_attempts=1, backoff=1, backoff_max=1)
        run, _ = backlog.open_run(s, "/srv/hop-ho-so", None)
        backlog.add_items(s, run.id, [backlog.PlannedItem(f"kq-{i}.pdf", f"{i:064x}", 1, None, {}) for i in range(4)])
        backlog.mark_ready(s, run)
        code, run_id = d.code, run.id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(server + "/")
        expect(page.locator(".sync-alert")).to_have_count(0)  # nothing shown before signing in
        page.fill("input[name=username]", "clerk1")
        page.fill("input[name=password]", "mật-khẩu-dài")
        page.click("button[type=submit]")
        expect(page.locator(".sync-alert")).to_contain_text("1 sự kiện không gửi được lên Cổng Dịch vụ công quốc gia")
        expect(page.locator("#backlog")).to_contain_text(re.compile(r"0/4\s+bản quét xong"))
        # the inbox view shows it too, and follows the import without a reload
        page.goto(server + "/inbox")
        expect(page.locator("#backlog")).to_contain_text(re.compile(r"0/4\s+bản quét xong"))
        expect(page.locator("#live-badge")).to_be_visible()
        page.evaluate("window.__sameDocument = 'yes'")
        with db.session() as s:
            ids = backlog.pending_ids(s, run_id)
            backlog.claim(s, ids[:1], "test:1", lease=dt.timedelta(minutes=5), alive=lambda _o: True)
            backlog.finish(s, ids[0], "test:1", "review", "không đọc được số định danh", {}, 1)
        expect(page.locator("#backlog")).to_contain_text(re.compile(r"1/4\s+bản quét xong"))
        expect(page.locator("#backlog a[href='/backlog']")).to_be_visible()
        assert page.evaluate("window.__sameDocument") == "yes"
        page.goto(server + f"/dossiers/{code}")
        expect(page.locator(".sync-alert")).to_contain_text("sohoa sync retry")
        with db.session() as s:
            outbox.retry_failed(s)
        page.reload()
        expect(page.locator(".sync-alert")).to_have_count(0)
        browser.close()
