"""The backlog's review queue in a real browser: two scans whose manifest rows name the wrong person
wait for a clerk, who sees the first page beside what OCR read (ID numbers masked), imports one
with the number printed on the page and rejects the other; a manager may look but not act."""
from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import expect

from sohoa.dev.backlog_samples import make_backlog
from webtest_helpers import new_page, shot, sign_in


def test_clerk_settles_the_backlog_review_queue(office, browser, tmp_path):
    src = tmp_path / "hop-ho-so"
    scans = make_backlog(src, 3, seed=21, wrong=2)
    office.cli.run("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"), "--no-progress")
    wrong = [s for s in scans if s.wrong]
    review = office.cli.json("backlog", "review")
    assert {r["file"] for r in review} == {s.file for s in wrong}
    by_file = {r["file"]: r["id"] for r in review}
    fix, drop = wrong
    fix_id, drop_id = by_file[fix.file], by_file[drop.file]

    clerk = new_page(browser, office)
    sign_in(clerk, office, "clerk")
    clerk.click("nav a:has-text('Tồn đọng')")
    expect(clerk).to_have_url(re.compile(r"/backlog$"))
    expect(clerk.locator("#backlog-run")).to_contain_text("2 cần xem lại")
    item = clerk.locator(f"#item-{fix_id}")
    expect(item).to_contain_text("khác với bảng kê")
    img = item.locator("img")
    expect(img).to_be_visible()
    img.scroll_into_view_if_needed()
    clerk.wait_for_function("(el) => el.complete && el.naturalWidth > 100", arg=img.element_handle(), timeout=30_000)
    body = clerk.inner_text("body")
    for s in scans:  # masked everywhere on the page
        assert s.person.pid not in body and s.manifest_subject not in body
    shot(clerk, "clerk-backlog-review")

    # a wrong correction is refused with the reason, and the item stays
    other = next(s.person.pid for s in scans if s.person.pid != fix.person.pid)
    item.locator("input[name=subject_id]").fill(other)
    item.locator("form.accept button[type=submit]").click()
    expect(clerk.locator("[role=alert]")).to_contain_text("Chưa nhập được mục")
    expect(clerk.locator(f"#item-{fix_id}")).to_be_visible()
    # the number printed on the page is taken
    clerk.locator(f"#item-{fix_id} input[name=subject_id]").fill(fix.person.pid)
    clerk.locator(f"#item-{fix_id} form.accept button[type=submit]").click()
    expect(clerk.locator(".flash")).to_contain_text(f"Đã nhập mục #{fix_id}")
    expect(clerk.locator(f"#item-{fix_id}")).to_have_count(0)

    clerk.locator(f"#item-{drop_id} input[name=reason]").fill("Bản quét của hồ sơ khác")
    clerk.locator(f"#item-{drop_id} form.reject button[type=submit]").click()
    expect(clerk.locator(".flash")).to_contain_text(f"Đã từ chối mục #{drop_id}")
    expect(clerk.locator("#review")).to_contain_text("Không có bản quét nào cần xem lại")

    got = office.cli.json("reuse", "find", "--subject", fix.person.pid)
    held = [s for s in scans if s.person.pid == fix.person.pid and (not s.wrong or s is fix)]
    assert len(got) == len(held) >= 1
    st = office.cli.json("backlog", "status")[0]
    assert (st["imported"], st["review"], st["rejected"]) == (2, 0, 1), st
    con = sqlite3.connect(office.home / "sohoa.db", timeout=30)
    actors = dict(con.execute("select action, actor from audit_events where action in "
                              "('backlog.accept', 'backlog.reject')").fetchall())
    con.close()
    assert actors == {"backlog.accept": f"staff:{office.user('clerk')}",
                      "backlog.reject": f"staff:{office.user('clerk')}"}, actors

    manager = new_page(browser, office)
    sign_in(manager, office, "manager")
    assert manager.goto(office.base + "/backlog").status == 200
    expect(manager.locator("#backlog-run")).to_contain_text("đã xong")
    assert manager.locator("form.accept, form.reject").count() == 0
    resp = manager.request.post(office.base + f"/backlog/items/{drop_id}/reject", form={"reason": "x"})
    assert resp.status in (400, 403)
    clerk.context.close()
    manager.context.close()
