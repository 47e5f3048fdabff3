"""Issue 19, closing: the log scan. Files named with ID numbers go through the inbox (one good, one
bad), staff and other systems look people up; every log line written meanwhile — by ``sohoa run``
and by the app in process — is scanned: no 12- or 9-digit ID number outside the audit trail."""
from __future__ import annotations

import logging
import re

from PIL import Image

from sohoa.dev import samples
from tests.security.conftest import PIDS, post, seed_world

ID_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{12}|[0-9]{9})(?![0-9])")


def test_the_inbox_log_holds_no_id_number(sohoa):
    inbox = sohoa.home / "inbox"
    (inbox / "cccd-036085004322.pdf").write_text("not a scan\n", encoding="utf-8")  # quarantined
    (inbox / "036085004321.pdf").write_bytes(samples.images_to_pdf([Image.new("L", (600, 800), 255)]))
    (inbox / "cmnd-123456789.pdf").write_text("not a scan either\n", encoding="utf-8")
    p = sohoa.run("run", "--once", "-v", timeout=240)
    log = p.stdout + p.stderr
    assert "quarantined #" in log and "document #" in log, log[-2000:]  # the lines are there …
    assert not ID_NUMBER.findall(log), ID_NUMBER.findall(log)  # … without the numbers


def test_the_app_log_holds_no_id_number(office, caplog):
    caplog.set_level(logging.DEBUG)
    w = seed_world(office)
    c = office.signed_in("clerk", "XA")
    post(c, "/dossiers", {"procedure": "1.001193", "subject": PIDS["XA"], "name": "An"})
    post(c, "/dossiers", {"procedure": "1.001193", "subject": "123456789", "name": "Sai"})  # refused: said, not logged
    c.get("/dossiers", params={"q": PIDS["XB"]})
    c.get(f"/dossiers/{w['XA']['code']}")
    c.get(f"/documents/{w['XA']['doc']}")
    post(c, "/login", {"username": PIDS["XA"], "password": "x"})
    ours = ("sohoa", "registry", "ingest", "signing", "ocr", "vocab", "uvicorn", "fastapi", "root")
    lines = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in ours]
    found = [x for x in lines if ID_NUMBER.search(x)]
    assert not found, found
