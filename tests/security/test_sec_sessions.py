"""Issue 19 §2: sessions that end. Sign-out, idle expiry and a password change end every copy of
the cookie (the session is held on the server; the cookie carries a random token only)."""
from __future__ import annotations

import time

from registry.staff import reset_password
from tests.security.conftest import PW, login, make_office, post


def _copy(office, c):
    other = office.client()
    for k, v in c.cookies.items():
        other.cookies.set(k, v)
    return other


def test_a_cookie_copied_before_logout_is_refused_after_it(office):
    c = office.signed_in("clerk")
    assert c.get("/dossiers").status_code == 200
    stolen = _copy(office, c)
    assert stolen.get("/dossiers").status_code == 200
    r = post(c, "/logout")
    assert r.status_code == 303
    r = stolen.get("/dossiers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
    # and a POST with the copied cookie does nothing either
    r = stolen.post("/dossiers", data={"procedure": "1.001193", "subject": "001088012345"})
    assert r.status_code in (303, 400) and "/dossiers/" not in r.headers.get("location", "")


def test_a_password_reset_ends_every_copy(office):
    c = office.signed_in("manager")
    stolen = _copy(office, c)
    with office.db.session() as s:
        reset_password(s, office.user("manager"), "một-mật-khẩu-khác-2026")
    assert stolen.get("/dashboard").status_code == 303
    assert c.get("/dashboard").status_code == 303


def test_idle_expiry_ends_the_session_on_the_server(settings, db):
    office = make_office(settings, db, session_idle_minutes=2 / 60)  # 2 s
    try:
        c = office.signed_in("clerk")
        stolen = _copy(office, c)
        assert c.get("/dossiers").status_code == 200
        time.sleep(2.5)
        assert c.get("/dossiers").status_code == 303  # idle: ended …
        assert stolen.get("/dossiers").status_code == 303  # … for every copy
        assert login(office.client(), office.user("clerk"), PW).status_code == 303
    finally:
        for x in office.clients:
            x.__exit__(None, None, None)
