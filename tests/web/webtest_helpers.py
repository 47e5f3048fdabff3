"""Helpers for the browser tests: the accounts, signing in, full-page screenshots."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import ROOT, SohoaCLI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "mật-khẩu-dài-2026"
ACCOUNTS = {"clerk": ("canbo1", "Lò Thị Hạnh"), "officer": ("chungthuc1", "Nguyễn Văn Bình"),
            "manager": ("lanhdao1", "Trần Thị Mai"), "admin": ("quantri1", "Phạm Quốc Khánh")}
LOCKOUT_SECONDS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot_dir() -> Path:
    d = Path(os.environ.get("SOHOA_SCREENSHOTS") or ROOT / "build" / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class Office:
    home: Path
    cli: SohoaCLI
    base: str
    proc: subprocess.Popen
    officer_passphrase: str
    log: Path
    data: dict = field(default_factory=dict)

    def user(self, role: str) -> str:
        return ACCOUNTS[role][0]


def new_page(browser, office: Office):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN", accept_downloads=True,
                              timezone_id="Asia/Ho_Chi_Minh")
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    page.script_errors = []  # CSP violations, script errors: the walk test fails on any
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and page.script_errors.append(m.text))
    page.on("pageerror", lambda e: page.script_errors.append(str(e)))
    return page


def sign_in(page, office: Office, role: str, password: str = PASSWORD):
    page.goto(office.base + "/login")
    page.fill("#username", office.user(role))
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    return page


def shot(page, name: str) -> Path:
    path = screenshot_dir() / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower()).strip('-')}.png"
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # start lazy images below the fold
    try:
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=15_000)
    except Exception:  # noqa: BLE001 - a broken image must show in the picture, not stop the test
        pass
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until_serving(base: str, proc, log, what: str, timeout: float = 120) -> None:
    """Wait for the web app at ``base`` to answer its sign-in page; fail with its log if the process
    ended or the time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start:\n{log.read_text()}")
        time.sleep(0.3)
