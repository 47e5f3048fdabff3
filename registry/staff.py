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

from registry.models import Staff
from vocab.clock import as_utc, utcnow
from vocab.errors import Conflict, Invalid, NotFound

__all__ = ["ROLES", "hash_password", "check_password", "add_staff", "authenticate", "LoginResult",
           "LoginPolicy", "get_staff", "set_disabled", "reset_password", "unlock", "set_role", "list_staff"]

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


def _check_password_rules(password: str) -> None:
    if len(password or "") < 8:
        raise Invalid("Mật khẩu phải có ít nhất 8 ký tự.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"Vai trò phải là một trong: {', '.join(ROLES)}.")


def add_staff(s: Session, username: str, password: str, *, name: str = "", role: str = "clerk",
              replace: bool = True) -> Staff:
    """Create an account (or, with ``replace``, reset an existing one's name, role and password)."""
    username = _check_username(username)
    _check_role(role)
    _check_password_rules(password)
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
    st.disabled = disabled
    st.session_epoch = (st.session_epoch or 0) + 1
    s.flush()
    return st


def reset_password(s: Session, username: str, password: str) -> Staff:
    _check_password_rules(password)
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


def set_role(s: Session, username: str, role: str) -> Staff:
    _check_role(role)
    st = get_staff(s, username)
    if st.role != role:
        st.role = role
        st.session_epoch = (st.session_epoch or 0) + 1
    s.flush()
    return st
