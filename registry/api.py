"""The registry HTTP API for other systems (``/api/v1``): bearer tokens with scopes, every read of
a subject's data audited, personal ID numbers only in request bodies (never in URLs or logs)."""
import contextlib
import datetime as dt
import hashlib
import logging
import threading
import weakref
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Security, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import String, cast, create_engine, event, func, insert, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry import indicators, reuse
from registry.auth import ClientInfo, authenticate
from registry.integrity import ext_for
from registry.models import AuditEvent, CertifiedCopy, Document, Result
from registry.service import RegistryError, audit, get_dossier
from registry.store import Store
from registry.text import mask_pid

log = logging.getLogger("sohoa.api")
PREFIX = "/api/v1"
MAX_ID = 2**31 - 1
_SUBJECT_RE = r"^(\d{12}|\d{10}(-\d{3})?)$"
_TYPE_RE = r"^[a-z_]{1,40}$"
_CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9.]{1,39}-\d{6}-\d{4,6}$"


def _no_nul(v: Any) -> Any:
    if isinstance(v, str) and "\x00" in v:
        raise ValueError("text must not contain NUL characters")
    return v


def _sane_date(v: dt.date | None) -> dt.date | None:
    if v is not None and not (1900 <= v.year <= 9998):
        raise ValueError("date out of range (1900-9998)")
    return v


class SubjectQuery(BaseModel):
    subject_id: str = Field(pattern=_SUBJECT_RE, description="Personal ID number (12 digits) or tax code",
                            examples=["001203004567"])
    type: str | None = Field(default=None, pattern=_TYPE_RE, description="Document type, e.g. khai_sinh")
    valid_on: dt.date | None = Field(default=None, description="Only documents valid on this day (default today)")

    @field_validator("valid_on")
    @classmethod
    def _d(cls, v):
        return _sane_date(v)


class ReuseRequest(BaseModel):
    document_id: int = Field(ge=1, le=MAX_ID)
    purpose: str = Field(default="", max_length=2000)

    @field_validator("purpose")
    @classmethod
    def _n(cls, v):
        return _no_nul(v)


class ReuseEventIn(BaseModel):
    document_id: int = Field(ge=1, le=MAX_ID)
    system: str | None = Field(default=None, max_length=200, description="Reusing system (default: the client name)")
    purpose: str = Field(default="", max_length=2000)
    dossier_code: str | None = Field(default=None, max_length=64, description="A dossier of ours it was reused for")

    @field_validator("system", "purpose", "dossier_code")
    @classmethod
    def _n(cls, v):
        return _no_nul(v)


# the hot path's audit row, without ORM unit-of-work overhead; the subject is resolved in the same
# statement (NULL when no subject has that identifier)
_AUDIT_INSERT = insert(AuditEvent.__table__).values(
    subject_id=reuse.SUBJECT_BY_IDENTIFIER,
    object_id=func.coalesce(cast(reuse.SUBJECT_BY_IDENTIFIER, String), ""))


_read_engines: "weakref.WeakKeyDictionary[Any, Engine]" = weakref.WeakKeyDictionary()
_read_engines_lock = threading.Lock()


def read_engine(db) -> Engine:
    """A second, small engine on the same database for reads whose only write is their audit row.

    Autocommit (no BEGIN/COMMIT round trips, and on SQLite no write lock taken for a read), no
    pre-ping (a stale connection is retried once, see ``read_audit_session``), and commits that do
    not wait for the disk flush: SQLite ``synchronous=NORMAL`` (WAL: survives a process kill; an OS
    crash or power cut may drop the last audit rows), PostgreSQL ``synchronous_commit=off`` (same
    trade-off, never corruption). The flush is what dominates tail latency (fsync p99 ~5 ms on a
    shared disk). ``audit_read_durability = "full"`` in sohoa.toml turns this off.
    """
    with _read_engines_lock:
        eng = _read_engines.get(db)
        if eng is not None:
            return eng
        url = make_url(db.url)
        if url.get_backend_name() == "sqlite":
            eng = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                                connect_args={"timeout": 60, "check_same_thread": False})

            @event.listens_for(eng, "connect")
            def _pragmas(dbapi_conn, _rec):
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
                    dbapi_conn.execute(f"PRAGMA {pragma}")
        else:
            kw: dict[str, Any] = {}
            if url.get_backend_name() == "postgresql":
                opts = str(url.query.get("options", "") or "")
                url = url.difference_update_query(["options"])
                kw["connect_args"] = {"options": f"{opts} -c synchronous_commit=off".strip()}
            eng = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=5, **kw)
        _read_engines[db] = eng
        return eng


@contextlib.contextmanager
def read_audit_session(db, relaxed: bool = True) -> Iterator[Session]:
    """A unit of work for a *read* whose only write is its audit row (see ``read_engine``).

    With ``relaxed=False`` it is an ordinary ``db.session()`` (one transaction, flushed commit).
    """
    if not relaxed:
        with db.session() as s:
            yield s
        return
    with read_engine(db).connect() as conn, Session(bind=conn, expire_on_commit=False) as s:
        yield s
        s.commit()


def dispose_read_engine(db) -> None:
    with _read_engines_lock:
        eng = _read_engines.pop(db, None)
    if eng is not None:
        eng.dispose()


class _Stale(Exception):
    """A pooled connection turned out dead (database restarted): retry once on a fresh one."""


def document_link(doc_id: int) -> str:
    return f"{PREFIX}/documents/{doc_id}/file"


def lookup_subject_documents(s, actor: str, identifier: str, *, doc_type: str | None = None,
                             valid_on: dt.date | None = None, link=document_link) -> dict:
    """What POST /subjects/documents answers, as a function (also used by the benchmark): the
    subject's reusable documents, and the audit event of the read."""
    valid_on = valid_on or reuse.vn_today()
    identifier = identifier.strip()
    docs = reuse.subject_documents(s, None, identifier=identifier, doc_type=doc_type, valid_on=valid_on, link=link)
    detail = {"type": doc_type, "valid_on": valid_on.isoformat(), "count": len(docs), "subject": mask_pid(identifier)}
    s.connection().execute(_AUDIT_INSERT, {"actor": actor, "action": "subject.documents", "identifier": identifier,
                                           "object_type": "subject", "detail": detail})
    return {"subject_id": identifier, "valid_on": valid_on.isoformat(), "documents": docs}


def _error(exc: RegistryError) -> HTTPException:
    msg = str(exc)
    return HTTPException(status_code=404 if msg.startswith("no ") else 409, detail=msg)


def build_router(settings, db) -> APIRouter:
    """All /api/v1 routes, bound to ``settings`` and ``db`` (no globals)."""
    router = APIRouter(prefix=PREFIX, tags=["registry"])
    bearer = HTTPBearer(auto_error=False, description="Client token from `sohoa client add`")
    store = Store(settings.store_dir)
    relaxed = str((getattr(settings, "extra", None) or {}).get("audit_read_durability", "relaxed")).lower() != "full"

    def require(scope: str):
        # async on purpose: one indexed lookup by token hash runs inline on the event loop instead of
        # paying a thread hand-off per request (hand-offs dominate tail latency on a busy machine)
        async def dependency(cred: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> ClientInfo:
            if cred is None or not cred.credentials:
                raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
            with read_engine(db).connect() as conn:  # autocommit, no write lock for a read
                client = authenticate(conn, cred.credentials)
            if client is None:
                raise HTTPException(401, "invalid or revoked token",
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if scope not in client.scopes:
                raise HTTPException(403, f"this client lacks the scope {scope}",
                                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
            return client
        dependency.__name__ = f"require_{scope.replace(':', '_')}"
        return dependency

    link = document_link

    def read_session(scope: str):
        """Like ``require`` but authenticates inside the request's own unit of work (one database
        connection and transaction per request; committed before the response is sent)."""
        async def dependency(cred: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]):
            if cred is None or not cred.credentials:
                raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
            for attempt in (1, 2):
                try:
                    with read_audit_session(db, relaxed) as s:
                        try:
                            client = authenticate(s, cred.credentials)
                        except DBAPIError as exc:  # no pre-ping on the read engine: recover here
                            if attempt == 1 and exc.connection_invalidated:
                                raise _Stale from exc
                            raise
                        check(client)
                        yield client, s
                        return
                except _Stale:
                    continue

        def check(client: ClientInfo | None) -> None:
            if client is None:
                raise HTTPException(401, "invalid or revoked token",
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if scope not in client.scopes:
                raise HTTPException(403, f"this client lacks the scope {scope}", headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        dependency.__name__ = f"session_{scope.replace(':', '_')}"
        return Depends(dependency, scope="function")

    @router.post("/subjects/documents", summary="Reusable digitized documents of a subject")
    async def subject_documents(q: SubjectQuery, auth: Annotated[tuple, read_session("reuse:read")]):
        """Reusable, valid digitized results and components of a subject (personal ID or tax code in
        the body, never in the URL): type, fields, validity, seal, certified copies, download links."""
        # The once-only hot path: a handful of indexed queries and one audit insert (about a
        # millisecond), run inline on the event loop; every other endpoint runs in the threadpool.
        client, s = auth
        out = lookup_subject_documents(s, client.actor, q.subject_id, doc_type=q.type, valid_on=q.valid_on, link=link)
        log.info("subject documents for %s by %s: %d", mask_pid(q.subject_id), client.name, len(out["documents"]))
        return JSONResponse(out)  # already JSON-ready: skip response-model validation on the hot path

    def _load(s, doc_id: int) -> Document:
        doc = s.get(Document, doc_id)
        if doc is None:
            raise HTTPException(404, f"no document {doc_id}")
        return doc

    @router.get("/documents/{doc_id}", summary="One document's metadata")
    def get_document(doc_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                     client: Annotated[ClientInfo, Depends(require("documents:read"))]) -> dict:
        with read_audit_session(db, relaxed) as s:
            doc = _load(s, doc_id)
            sid = reuse.document_subject_id(s, doc)
            results = list(s.scalars(select(Result).where(Result.document_id == doc.id)))
            copies = list(s.scalars(select(CertifiedCopy).where(CertifiedCopy.source_document_id == doc.id,
                                                                CertifiedCopy.status == "signed")))
            audit(s, client.actor, "document.read", subject_id=sid, object_type="document", object_id=str(doc.id))
            return {
                "id": doc.id, "type": doc.doc_type, "confidence": round(doc.type_confidence or 0.0, 4),
                "fields": doc.fields or {}, "pages": doc.pages, "mime": doc.mime, "sha256": doc.sha256,
                "size": doc.size, "sealed": bool(doc.sealed), "digitization_code": doc.digitization_code,
                "quality": doc.quality, "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
                "created_at": doc.created_at.isoformat() if doc.created_at else None,
                "results": [{"dossier_id": r.dossier_id, "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                             "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                             "reusable": r.reusable, "electronic": r.electronic} for r in results],
                "certified_copies": [{"id": c.id, "number": c.number, "book": c.book, "year": c.year,
                                      "document_id": c.signed_document_id,
                                      "download": link(c.signed_document_id) if c.signed_document_id else None}
                                     for c in copies],
                "download": link(doc.id),
            }

    @router.get("/documents/{doc_id}/file", summary="The stored (sealed) PDF",
                response_class=FileResponse, responses={200: {"content": {"application/pdf": {}}}})
    def get_document_file(doc_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                          client: Annotated[ClientInfo, Depends(require("documents:read"))]):
        with read_audit_session(db, relaxed) as s:
            doc = _load(s, doc_id)
            path = store.path_for(doc.sha256, ext_for(doc.mime))
            if not path.is_file():
                path = store.path_for(doc.sha256)
            if not path.is_file():
                raise HTTPException(404, f"the file of document {doc_id} is missing from the store (run `sohoa check`)")
            audit(s, client.actor, "document.download", subject_id=reuse.document_subject_id(s, doc),
                  object_type="document", object_id=str(doc.id))
            name = f"{doc.digitization_code or 'document-%d' % doc.id}.{ext_for(doc.mime)}"
            mime = doc.mime or "application/pdf"
        return FileResponse(path, media_type=mime, filename=name)

    @router.post("/verify", summary="Verify a sohoa PDF (signatures, integrity, trust)")
    def verify(file: Annotated[UploadFile, File(description="The PDF to verify")],
               client: Annotated[ClientInfo, Depends(require("documents:read"))]) -> dict:
        from signing import Trust, verify_pdf

        data = file.file.read()
        try:
            report = verify_pdf(data, Trust.from_settings(settings)).to_dict()
        except Exception as exc:  # not a PDF, unreadable signature dictionary, …
            raise HTTPException(422, f"cannot verify this file: {type(exc).__name__}: {exc}"[:500]) from None
        digest = hashlib.sha256(data).hexdigest()
        with read_audit_session(db, relaxed) as s:
            doc = s.scalar(select(Document).where(Document.sha256 == digest))
            audit(s, client.actor, "document.verify", subject_id=reuse.document_subject_id(s, doc) if doc else None,
                  object_type="document", object_id=str(doc.id) if doc else "", detail={"sha256": digest})
        return {"sha256": digest, "document_id": doc.id if doc else None, "report": report}

    @router.post("/dossiers/{code}/reuse", summary="Satisfy a dossier component with an existing document")
    def dossier_reuse(code: Annotated[str, Path(pattern=_CODE_RE, max_length=64)], body: ReuseRequest,
                      client: Annotated[ClientInfo, Depends(require("reuse:write"))]) -> dict:
        with db.session() as s:
            try:
                d = get_dossier(s, code)
                comp = reuse.reuse_into_dossier(s, d, body.document_id, actor=client.actor,
                                                purpose=body.purpose, client_id=client.id)
            except RegistryError as exc:
                raise _error(exc) from None
            return {"dossier": d.code, "component": {"id": comp.id, "doc_type": comp.doc_type,
                                                     "document_id": comp.document_id, "origin": comp.origin},
                    "reusable": reuse.reusable_for_dossier(s, d)}

    @router.post("/reuse-events", status_code=201, summary="Record that another system reused a document")
    def reuse_event(body: ReuseEventIn, client: Annotated[ClientInfo, Depends(require("reuse:write"))]) -> dict:
        with db.session() as s:
            try:
                ev = reuse.record_external_reuse(s, body.document_id, actor=client.actor,
                                                 system=body.system or client.name, purpose=body.purpose,
                                                 client_id=client.id, dossier_code=body.dossier_code)
            except RegistryError as exc:
                raise _error(exc) from None
            return {"id": ev.id, "document_id": ev.document_id, "dossier_id": ev.dossier_id, "system": ev.system,
                    "purpose": ev.purpose, "created_at": ev.created_at.isoformat()}

    @router.get("/indicators", summary="Digitization, electronic results, reuse and on-time rates")
    def get_indicators(client: Annotated[ClientInfo, Depends(require("reuse:read"))],
                       date_from: Annotated[dt.date | None, Query(alias="from")] = None,
                       date_to: Annotated[dt.date | None, Query(alias="to")] = None,
                       unit: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None) -> dict:
        for v in (date_from, date_to):
            try:
                _sane_date(v)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
        with read_audit_session(db, relaxed) as s:
            out = indicators.compute(s, date_from, date_to, unit)
            audit(s, client.actor, "indicators.read", object_type="indicators",
                  detail={"from": out["from"], "to": out["to"], "unit": out["unit"]})
        return out

    return router
