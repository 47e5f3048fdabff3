"""Which signing keys a staff account may use: each officer's key (``Officer``) belongs to one
staff account (``Officer.staff_username``), linked by an administrator; an officer signed in is
offered only their own keys. A key not linked to any account is its certificate holder's: it is
offered to the account of the same name until it is linked."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Officer, Staff
from vocab.errors import Invalid, NotFound
from vocab.text import fold

__all__ = ["link_key", "keys_of"]


def link_key(s: Session, officer_id: int, username: str | None) -> Officer:
    """Give the key of officer ``officer_id`` to the staff account ``username`` (None: to nobody)."""
    o = s.get(Officer, officer_id)
    if o is None or o.kind != "officer":
        raise NotFound(f"Không có người ký số {officer_id}.")
    if username:
        st = s.scalar(select(Staff).where(Staff.username == username))
        if st is None:
            raise NotFound(f"Không có tài khoản {username}.")
        if st.role != "officer":
            raise Invalid(f"Tài khoản {username} không phải người có thẩm quyền chứng thực.")
    o.staff_username = username or None
    s.flush()
    return o


def keys_of(s: Session, username: str, name: str) -> list[Officer]:
    """The active keys the account may sign with: those linked to it, else the unlinked keys whose
    certificate holder has the account's name."""
    active = select(Officer).where(Officer.kind == "officer", Officer.status == "active").order_by(Officer.id)
    mine = list(s.scalars(active.where(Officer.staff_username == username)))
    if mine:
        return mine
    return [o for o in s.scalars(active.where(Officer.staff_username.is_(None))) if fold(o.name) == fold(name)]
