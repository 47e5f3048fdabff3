"""Staff accounts: scrypt password hashes, never the password itself."""
from __future__ import annotations

import hashlib
import hmac
import os
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Staff
from vocab.errors import Invalid

ROLES = ("clerk", "officer", "manager")
_N, _R, _P = 2 ** 14, 8, 1


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


def add_staff(s: Session, username: str, password: str, *, name: str = "", role: str = "clerk") -> Staff:
    if not re.fullmatch(r"[a-z0-9._-]{2,64}", username):
        raise Invalid("tên đăng nhập gồm 2-64 ký tự a-z, 0-9, '.', '_' hoặc '-'")
    if role not in ROLES:
        raise Invalid(f"vai trò là một trong {', '.join(ROLES)}")
    if len(password) < 8:
        raise Invalid("mật khẩu cần ít nhất 8 ký tự")
    st = s.scalar(select(Staff).where(Staff.username == username)) or Staff(username=username)
    st.name, st.role, st.password_hash, st.disabled = name, role, hash_password(password), False
    s.add(st)
    s.flush()
    return st


def authenticate(s: Session, username: str, password: str) -> Staff | None:
    st = s.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    if st is None or st.disabled:
        check_password(password, hash_password("timing-equaliser"))  # same work either way
        return None
    return st if check_password(password, st.password_hash) else None
