"""Helpers shared by the registry API tests (server thread, PDFs, fixtures data)."""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from tests.conftest import pg_test_url

PG_URL = pg_test_url(sqlalchemy=True)


def _pg_reachable(url: str) -> str | None:
    """None when a PostgreSQL server answers at ``url``, else the reason."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    from sqlalchemy.engine import make_url

    u = make_url(url)
    try:
        with psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                             password=u.password, dbname=u.database or "postgres", connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return f"no PostgreSQL reachable at {u.render_as_string(hide_password=True)}: {exc}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving ``app`` on loopback in a background thread."""

    def __init__(self, app, port: int | None = None, **kw) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level=kw.pop("log_level", "warning"), **kw))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def pdf_bytes(label: str) -> bytes:
    """A small valid PDF whose bytes are unique to ``label``."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Title"] = label
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


_used_pids: set[str] = set()


def new_pid() -> str:
    while True:
        pid = f"0012{random.randint(0, 10**8 - 1):08d}"
        if pid not in _used_pids:
            _used_pids.add(pid)
            return pid


@dataclass
class Env:
    settings: object
    db: object
    store: object
    url: str
    tokens: dict = field(default_factory=dict)  # scope set name -> token

    def client(self, token: str | None = "all") -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def document(self, s, *, subject=None, doc_type="khac", fields=None, sealed=False,
                 valid_until: dt.date | None = None, label: str | None = None):
        """Insert a Document (and its bytes in the store)."""
        from registry.models import Document

        data = pdf_bytes(label or uuid.uuid4().hex)
        sha, path = self.store.put_bytes(data)
        doc = Document(sha256=sha, size=len(data), doc_type=doc_type, type_confidence=0.9,
                       fields=fields or {}, sealed=sealed, valid_until=valid_until,
                       subject_id=subject.id if subject is not None else None,
                       digitization_code=f"SH-{uuid.uuid4().hex[:12]}")
        s.add(doc)
        s.flush()
        return doc

    def dossier(self, s, subject: str, procedure: str = "1.001022", *, now=None, name="Nguyễn Văn An"):
        from registry.service import create_dossier

        return create_dossier(s, procedure=procedure, subject=subject, name=name, agency="000.00.01.H29",
                              created_by="test", now=now)

    def audits(self, action: str | None = None):
        from sqlalchemy import select

        from registry.models import AuditEvent

        with self.db.session() as s:
            q = select(AuditEvent).order_by(AuditEvent.id)
            if action:
                q = q.where(AuditEvent.action == action)
            return list(s.scalars(q))


SCOPE_SETS = {
    "all": "reuse:read,reuse:write,documents:read",
    "reuse_read": "reuse:read",
    "reuse_write": "reuse:write",
    "documents_read": "documents:read",
    "dossiers_write": "dossiers:write",
}


