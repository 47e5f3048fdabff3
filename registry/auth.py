"""API clients (other systems) and their bearer tokens with scopes.

A token is 32 random bytes (URL-safe base64), shown once at creation; the registry keeps only its
SHA-256 (enough for a high-entropy secret: no salt or slow hash needed).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry.models import ApiClient, utcnow
from vocab.errors import Conflict, Invalid, NotFound

# pid:read: full personal ID numbers in document reads (without it they are masked)
SCOPES = ("reuse:read", "reuse:write", "documents:read", "pid:read", "dossiers:write")
TOKEN_PREFIX = "sohoa_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ClientInfo:
    id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"client:{self.name}"


def parse_scopes(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else re.split(r"[,\s]+", text or "")
    scopes = sorted({s.strip() for s in items if s.strip()})
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise Invalid(f"phạm vi quyền không hợp lệ: {', '.join(bad)} (có: {', '.join(SCOPES)})")
    if not scopes:
        raise Invalid(f"cần ít nhất một phạm vi quyền trong {', '.join(SCOPES)}")
    return scopes


def add_client(s: Session, name: str, scopes: str | list[str]) -> tuple[ApiClient, str]:
    """Create a client; returns (client, token). The token is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise Invalid("hệ thống khách cần có tên")
    if s.scalar(select(ApiClient).where(ApiClient.name == name)) is not None:
        raise Conflict(f"đã có hệ thống khách tên {name!r} (thu hồi nó trước, hoặc chọn tên khác)")
    token = new_token()
    client = ApiClient(name=name, token_hash=hash_token(token), scopes=parse_scopes(scopes))
    s.add(client)
    s.flush()
    return client, token


def revoke_client(s: Session, name: str) -> ApiClient:
    client = s.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound(f"không có hệ thống khách {name!r}")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
    # free the name for a replacement, keep the row for the audit trail
    client.name = f"{client.name}#revoked-{client.id}"
    s.flush()
    return client


def list_clients(s: Session) -> list[ApiClient]:
    return list(s.scalars(select(ApiClient).order_by(ApiClient.id)))


_t = ApiClient.__table__
_BY_HASH = select(_t.c.id, _t.c.name, _t.c.scopes, _t.c.token_hash, _t.c.revoked_at).where(
    _t.c.token_hash == bindparam("h"))


def authenticate(s: Session | Connection, token: str | None) -> ClientInfo | None:
    """The active client owning ``token``, or None (a Session or a Core Connection will do)."""
    if not token:
        return None
    digest = hash_token(token.strip())
    conn = s.connection() if isinstance(s, Session) else s
    row = conn.execute(_BY_HASH, {"h": digest}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return ClientInfo(row.id, row.name, frozenset(row.scopes or []))
