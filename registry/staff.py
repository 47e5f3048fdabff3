"""Staff accounts: roles, scrypt password hashes (never the password), sign-in with lockout.

- Roles: ``clerk`` (counter), ``officer`` (certifying officer), ``manager``, ``admin`` (accounts).
- Lockout: after ``max_failures`` wrong passwords in a row the account is locked for
  ``lockout`` — the next attempt is refused even with the right password until the lock ends.
- Every attempt costs one scrypt hash, whether the user exists, is disabled or locked, so the
  response time does not tell which user names exist.
- ``session_epoch`` is bumped when an account is disabled, reset or changes role: sessions carry
  the epoch they were opened with and end when it no longer matches.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Staff, StaffSession
from vocab.clock import as_utc, utcnow
from vocab.errors import Conflict, Invalid, NotFound

__all__ = ["ROLES", "hash_password", "check_password", "add_staff", "authenticate", "LoginResult",
           "LoginPolicy", "get_staff", "set_disabled", "reset_password", "unlock", "set_role", "list_staff",
           "open_session", "session_user", "end_session", "check_password_rules"]

ROLES = ("clerk", "officer", "manager", "admin")
_N, _R, _P = 2 ** 14, 8, 1
_DUMMY = None  # a hash to check against when there is no account, computed once


class LoginPolicy:
    def __init__(self, max_failures: int = 5, lockout: dt.timedelta = dt.timedelta(minutes=15)) -> None:
        self.max_failures = max_failures
        self.lockout = lockout


@dataclass(frozen=True)
class LoginResult:
    staff: Staff | None
    reason: str  # ok | bad | locked | disabled
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${h.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        alg, n, r, p, salt, h = stored.split("$")
        if alg != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(h)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), h)


def _check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9._-]{2,64}", username):
        raise Invalid("Tên đăng nhập gồm 2–64 ký tự a-z, 0-9, '.', '_' hoặc '-'.")
    return username


_COMMON = {"12345678", "123456789", "1234567890", "87654321", "password", "password1", "matkhau", "matkhau1",
           "qwertyui", "qwerty123", "abcd1234", "1qaz2wsx", "admin123", "iloveyou", "11111111", "00000000",
           "abc12345", "12341234", "88888888", "66666666", "sohoa123"}


def check_password_rules(password: str) -> None:
    """At least 8 characters that are not spaces, at least 4 different ones, not a run of digits
    or letters (``12345678``, ``abcdefgh``) and not one of the passwords everyone tries first."""
    pw = password or ""
    if len(pw.strip()) < 8 or len("".join(pw.split())) < 8:
        raise Invalid("Mật khẩu phải có ít nhất 8 ký tự (không tính khoảng trắng).")
    low = pw.lower()
    steps = {ord(b) - ord(a) for a, b in zip(low, low[1:])}
    if len(set(low)) < 4 or low in _COMMON or (len(steps) == 1 and steps <= {1, -1}):
        raise Invalid("Mật khẩu quá dễ đoán: hãy dùng một cụm từ dài hơn, có chữ và số.")



def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"Vai trò phải là một trong: {', '.join(ROLES)}.")


def add_staff(s: Session, username: str, password: str, *, name: str = "", role: str = "clerk",
              replace: bool = True) -> Staff:
    """Create an account (or, with ``replace``, reset an existing one's name, role and password)."""
    username = _check_username(username)
    _check_role(role)
    check_password_rules(password)
    st = s.scalar(select(Staff).where(Staff.username == username))
    if st is not None and not replace:
        raise Conflict(f"Đã có tài khoản {username}.")
    if st is None:
        st = Staff(username=username, failed_logins=0, session_epoch=0)
    else:
        st.session_epoch = (st.session_epoch or 0) + 1
    st.name, st.role, st.password_hash, st.disabled = name, role, hash_password(password), False
    st.failed_logins, st.locked_until = 0, None
    s.add(st)
    s.flush()
    return st


def get_staff(s: Session, username: str) -> Staff:
    st = s.scalar(select(Staff).where(Staff.username == (username or "").strip().lower()))
    if st is None:
        raise NotFound(f"Không có tài khoản {username}.")
    return st


def list_staff(s: Session) -> list[Staff]:
    return list(s.scalars(select(Staff).order_by(Staff.username)))


def authenticate(s: Session, username: str, password: str, *, policy: LoginPolicy | None = None,
                 now: dt.datetime | None = None) -> LoginResult:
    """Check a sign-in. Updates the failure count and lock in the caller's transaction."""
    global _DUMMY
    policy = policy or LoginPolicy()
    now = now or utcnow()
    uname = (username or "").strip().lower()
    st = s.scalar(select(Staff).where(Staff.username == uname)) if uname else None
    if st is None:
        if _DUMMY is None:
            _DUMMY = hash_password("timing-equaliser")
        check_password(password, _DUMMY)  # the same work as for a real account
        return LoginResult(None, "bad")
    good = check_password(password, st.password_hash)  # always, also when disabled or locked
    if st.disabled:
        return LoginResult(st, "disabled")
    locked = as_utc(st.locked_until)
    if locked is not None and locked > now:
        return LoginResult(st, "locked", locked)
    if locked is not None:  # the lock ended: a fresh count
        st.locked_until, st.failed_logins = None, 0
    if not good:
        st.failed_logins = (st.failed_logins or 0) + 1
        if st.failed_logins >= policy.max_failures:
            st.locked_until = now + policy.lockout
            return LoginResult(st, "bad", st.locked_until)
        return LoginResult(st, "bad")
    st.failed_logins, st.last_login_at = 0, now
    return LoginResult(st, "ok")


def set_disabled(s: Session, username: str, disabled: bool) -> Staff:
    st = get_staff(s, username)
    if disabled and _last_admin(s, st):
        raise Conflict("Đây là quản trị viên duy nhất: không khóa được.")
    st.disabled = disabled
    st.session_epoch = (st.session_epoch or 0) + 1
    s.flush()
    return st


def reset_password(s: Session, username: str, password: str) -> Staff:
    check_password_rules(password)
    st = get_staff(s, username)
    st.password_hash = hash_password(password)
    st.failed_logins, st.locked_until = 0, None
    st.session_epoch = (st.session_epoch or 0) + 1
    s.flush()
    return st


def unlock(s: Session, username: str) -> Staff:
    st = get_staff(s, username)
    st.failed_logins, st.locked_until = 0, None
    s.flush()
    return st


def _last_admin(s: Session, st: Staff) -> bool:
    others = s.scalar(select(Staff.id).where(Staff.role == "admin", Staff.disabled.is_(False),
                                            Staff.id != st.id).limit(1))
    return st.role == "admin" and not st.disabled and others is None


def set_role(s: Session, username: str, role: str) -> Staff:
    _check_role(role)
    st = get_staff(s, username)
    if role != "admin" and _last_admin(s, st):
        raise Conflict("Đây là quản trị viên duy nhất: hãy chỉ định một quản trị viên khác trước khi đổi vai trò.")
    if st.role != role:
        st.role = role
        st.session_epoch = (st.session_epoch or 0) + 1
    s.flush()
    return st


# -- sessions of the staff UI, held here (the cookie carries a random token only) ----------------------

def _sid(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def open_session(s: Session, username: str, *, now: dt.datetime | None = None) -> str:
    """A new session for ``username``; returns the token for the cookie (only its hash is kept)."""
    import secrets

    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    s.add(StaffSession(id=_sid(token), username=username, created_at=now, seen_at=now))
    s.flush()
    return token


def session_user(s: Session, token: str | None, *, idle: dt.timedelta, max_age: dt.timedelta,
                 now: dt.datetime | None = None, touch_every: dt.timedelta | None = None) -> str | None:
    """The user name of a live session, or None. A session idle longer than ``idle`` or older than
    ``max_age`` is ended here (for every copy of its cookie); a live one's last use is noted."""
    if not token:
        return None
    now = now or utcnow()
    row = s.get(StaffSession, _sid(token))
    if row is None or row.ended_at is not None:
        return None
    why = ("idle" if now - as_utc(row.seen_at) > idle else
           "age" if now - as_utc(row.created_at) > max_age else None)
    if why:
        row.ended_at, row.ended_why = now, why
        return None
    if now - as_utc(row.seen_at) > (touch_every or min(dt.timedelta(seconds=20), idle / 4)):  # a write now and then
        row.seen_at = now
    return row.username


def end_session(s: Session, token: str | None, why: str = "logout") -> bool:
    row = s.get(StaffSession, _sid(token)) if token else None
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.ended_why = utcnow(), why
    return True
