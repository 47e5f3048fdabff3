"""Issue 19 §8 (accounts): weak passwords refused, the only administrator cannot demote or lock
themself out, and the sign-in answer is the same for a locked account and an unknown name."""
from __future__ import annotations

import pytest

from registry.staff import add_staff, reset_password, set_role
from tests.security.conftest import PW, login, post
from vocab.errors import Conflict, Invalid


@pytest.mark.parametrize("pw", ["        ", "12345678", "abcdefgh", "aaaaaaaa", "password", " 1234567 "])
def test_weak_passwords_are_refused(db, pw):
    with db.session() as s, pytest.raises(Invalid):
        add_staff(s, "someone", pw)
    with db.session() as s:
        add_staff(s, "other", PW)
    with db.session() as s, pytest.raises(Invalid):
        reset_password(s, "other", pw)


def test_the_only_admin_cannot_demote_themself(office):
    c = office.signed_in("admin")
    with office.db.session() as s:  # leave one administrator
        set_role(s, office.user("admin", "XB"), "clerk")
    c = office.signed_in("admin")
    r = post(c, f"/admin/staff/{office.user('admin')}/role", {"role": "clerk"})
    assert r.status_code == 409 and "quản trị viên duy nhất" in r.text
    with office.db.session() as s, pytest.raises(Conflict):
        set_role(s, office.user("admin"), "manager")
    assert c.get("/admin/staff").status_code == 200  # still the administrator


def test_lockout_answer_does_not_tell_which_accounts_exist(office):
    c = office.client()
    known, unknown = [], []
    for _ in range(7):
        known.append(login(c, office.user("clerk"), "sai-mật-khẩu-99"))
        unknown.append(login(c, "khong-co-ai", "sai-mật-khẩu-99"))
    assert {r.status_code for r in known + unknown} == {401}
    import re

    def msg(r):
        return re.search(r'id="login-error"[^>]*>(.*?)<', r.text, re.S).group(1).strip()
    assert msg(known[-1]) == msg(unknown[-1]) == msg(known[0])
    # the right password while locked: the same words again
    assert msg(login(c, office.user("clerk"), PW)) == msg(unknown[-1])
