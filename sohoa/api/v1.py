"""The registry HTTP API for other systems (``/api/v1``): bearer tokens with scopes, every read of
a subject's data audited, personal ID numbers only in request bodies (never in URLs or logs)."""
import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Header, HTTPException, Path, Query, Security, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from registry import indicators, reuse, service, shapes
from registry.auth import ClientInfo, authenticate
from registry.db import read_audit_session, read_engine
from registry.integrity import ext_for
from registry.models import CertifiedCopy, Document, Result
from registry.service import audit, get_dossier
from registry.store import Store
from sohoa.papers.verification import verify_upload
from vocab.errors import NotFound
from vocab.identifiers import PID_PATTERN, SUBJECT_PATTERN, clean_identifier
from vocab.text import mask_pid

log = logging.getLogger("sohoa.api.v1")
PREFIX = "/api/v1"
MAX_ID = 2**31 - 1
_SUBJECT_RE = SUBJECT_PATTERN
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
    doc_type: str | None = Field(default=None, pattern=_TYPE_RE, description="Document type, e.g. khai_sinh",
                                 validation_alias=AliasChoices("doc_type", "type"))
    valid_on: dt.date | None = Field(default=None, description="Only documents valid on this day (default today)")

    @field_validator("subject_id", mode="before")
    @classmethod
    def _ascii(cls, v):
        return clean_identifier(v) if isinstance(v, str) else v

    @field_validator("valid_on")
    @classmethod
    def _d(cls, v):
        return _sane_date(v)


class ReuseRequest(BaseModel):
    document_id: int = Field(ge=1, le=MAX_ID)
    purpose: str = Field(default="", max_length=2000)
    override_reason: str | None = Field(
        default=None, max_length=2000,
        description="Reuse although the document is another person's or of a type the procedure does not ask "
                    "for (409 without it); kept in the audit log")

    @field_validator("purpose", "override_reason")
    @classmethod
    def _n(cls, v):
        return _no_nul(v)


class PersonIn(BaseModel):
    role: str = Field(max_length=40, description="wife, husband, child, father, mother, deceased, principal, "
                                                 "guardian, ward, other (or the Vietnamese name)")
    subject: str = Field(pattern=rf"^{PID_PATTERN}$", description="The person's personal ID number")
    name: str = Field(default="", max_length=200)

    @field_validator("role", "name")
    @classmethod
    def _n(cls, v):
        return _no_nul(v)


class DossierIn(BaseModel):
    procedure: str = Field(max_length=32, examples=["1.000894"])
    subject: str = Field(pattern=_SUBJECT_RE, description="The applicant: personal ID number or tax code")
    name: str = Field(default="", max_length=200)
    birth_date: str | None = Field(default=None, max_length=10, description="dd/mm/yyyy, for the identity check")
    channel: str = Field(default="online", pattern=r"^(counter|postal|online)$")
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)
    sets: int = Field(default=1, ge=1, le=50)
    fee: int = Field(default=0, ge=0, le=100_000_000)
    persons: list[PersonIn] = Field(default_factory=list, max_length=20,
                                    description="Persons the dossier concerns besides the applicant")

    @field_validator("procedure", "name", "birth_date", "phone", "address")
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


class _Stale(Exception):
    """A pooled connection turned out dead (database restarted): retry once on a fresh one."""


LOOKUP_THREADS = 2


def document_link(doc_id: int) -> str:
    return f"{PREFIX}/documents/{doc_id}/file"


def build_router(settings, db) -> APIRouter:
    """All /api/v1 routes, bound to ``settings`` and ``db`` (no globals)."""
    router = APIRouter(prefix=PREFIX, tags=["registry"])
    bearer = HTTPBearer(auto_error=False, description="Client token from `sohoa client add`")
    store = Store(settings.store_dir)
    relaxed = str((getattr(settings, "extra", None) or {}).get("audit_read_durability", "relaxed")).lower() != "full"

    def check(client: ClientInfo | None, scope: str) -> ClientInfo:
        if client is None:
            raise HTTPException(401, "invalid or revoked token",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if scope not in client.scopes:
            raise HTTPException(403, f"this client lacks the scope {scope}", headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        return client

    def token_of(cred: HTTPAuthorizationCredentials | None) -> str:
        if cred is None or not cred.credentials:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        return cred.credentials

    def require(scope: str):
        # a plain function: FastAPI runs it in the threadpool, so the token lookup's database round
        # trip never holds the event loop (a blocked loop holds every other request with it)
        def dependency(cred: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> ClientInfo:
            token = token_of(cred)
            with read_engine(db).connect() as conn:  # autocommit, no write lock for a read
                return check(authenticate(conn, token), scope)
        dependency.__name__ = f"require_{scope.replace(':', '_')}"
        return dependency

    link = document_link

    def in_read_session(scope: str, token: str, work: Callable[[ClientInfo, Any], Any]) -> tuple[ClientInfo, Any]:
        """Authenticate ``token`` and run ``work(client, session)`` in the request's own unit of work
        (one database connection; the audit row committed before the answer). Called in a worker
        thread: the round trips to the database wait there, side by side, instead of one after the
        other on the event loop."""
        for attempt in (1, 2):
            try:
                with read_audit_session(db, relaxed) as s:
                    try:
                        client = authenticate(s, token)
                    except DBAPIError as exc:  # no pre-ping on the read engine: recover here
                        if attempt == 1 and exc.connection_invalidated:
                            raise _Stale from exc
                        raise
                    return client, work(check(client, scope), s)
            except _Stale:
                continue
        raise AssertionError("unreachable")  # the second attempt returns or raises

    # The lookups' own few worker threads (at most LOOKUP_THREADS at once; the other routes keep
    # the shared pool of 40): a lookup is a millisecond of Python between round trips, and forty
    # threads taking turns at the interpreter lock left each one waiting behind the others
    # (bench/load.py, API apart: p99 under load 19-28 ms with the shared pool, 13-15 ms with four
    # threads, 10-15 ms with two).
    lookup_threads = anyio.CapacityLimiter(LOOKUP_THREADS)  # bound to the event loop at its first use

    async def in_lookup_thread(func, *args):
        return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=lookup_threads)

    @router.post("/subjects/documents", summary="Reusable digitized documents of a subject")
    async def subject_documents(q: SubjectQuery, cred: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]):
        """Reusable, valid digitized results and components of a subject (personal ID or tax code in
        the body, never in the URL): type, fields, validity, seal, certified copies, download links."""
        # The once-only hot path: the token, a handful of indexed queries and one audit insert in
        # one worker-thread hand-off. Run inline on the event loop instead, each lookup held the
        # loop for all its round trips: at 50 clients the lookups queued one behind the other and
        # the server stalled at ~70 lookups/s with 0.15 of a core busy (bench/load.py).
        client, out = await in_lookup_thread(
            in_read_session, "reuse:read", token_of(cred),
            lambda client, s: reuse.lookup_subject_documents(s, client.actor, q.subject_id, doc_type=q.doc_type,
                                                            valid_on=q.valid_on, link=link))
        log.info("subject documents for %s by %s: %d", mask_pid(q.subject_id), client.name, len(out["documents"]))
        return JSONResponse(out)  # already JSON-ready: skip response-model validation on the hot path

    subject_header = Header(alias="X-Subject-Id", pattern=_SUBJECT_RE,
                            description="The subject the read is for (personal ID or tax code; never in the URL). "
                                        "Without it, only documents of a subject this client looked up "
                                        "(POST /subjects/documents) in the last 24 hours are found.")

    def _load_for(s, doc_id: int, client: ClientInfo, named: str | None) -> Document:
        doc = s.get(Document, doc_id)
        if doc is None or not reuse.client_may_read(s, client.actor, doc, named):
            raise NotFound(f"không có tài liệu số {doc_id} của người đã nêu")
        return doc

    @router.get("/documents/{doc_id}", summary="One document's metadata (for a subject the caller names)")
    def get_document(doc_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                     client: Annotated[ClientInfo, Depends(require("documents:read"))],
                     subject: Annotated[str | None, subject_header] = None) -> dict:
        with read_audit_session(db, relaxed) as s:
            doc = _load_for(s, doc_id, client, subject)
            sid = reuse.document_subject_id(s, doc)
            results = list(s.scalars(select(Result).where(Result.document_id == doc.id)))
            copies = list(s.scalars(select(CertifiedCopy).where(CertifiedCopy.source_document_id == doc.id,
                                                                CertifiedCopy.status == "signed")))
            audit(s, client.actor, "document.read", subject_id=sid, object_type="document", object_id=str(doc.id))
            out = shapes.document_json(doc)
            if "pid:read" not in client.scopes:
                out["fields"] = shapes.masked_fields(out["fields"])
            return out | {
                "mime": doc.mime, "size": doc.size,
                "results": [shapes.result_json(r) for r in results],
                "certified_copies": [shapes.certified_copy_json(c, link) for c in copies],
                "download": link(doc.id),
            }

    @router.get("/documents/{doc_id}/file", summary="The stored (sealed) PDF",
                response_class=FileResponse, responses={200: {"content": {"application/pdf": {}}}})
    def get_document_file(doc_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                          client: Annotated[ClientInfo, Depends(require("documents:read"))],
                          subject: Annotated[str | None, subject_header] = None):
        with read_audit_session(db, relaxed) as s:
            doc = _load_for(s, doc_id, client, subject)
            path = store.path_for(doc.sha256, ext_for(doc.mime))
            if not path.is_file():
                path = store.path_for(doc.sha256)
            if not path.is_file():
                raise NotFound(f"tệp của tài liệu số {doc_id} không còn trong kho lưu trữ (chạy `sohoa check`)")
            audit(s, client.actor, "document.download", subject_id=reuse.document_subject_id(s, doc),
                  object_type="document", object_id=str(doc.id))
            name = f"{doc.digitization_code or 'document-%d' % doc.id}.{ext_for(doc.mime)}"
            mime = doc.mime or "application/pdf"
        return FileResponse(path, media_type=mime, filename=name)

    @router.post("/verify", summary="Verify a sohoa PDF (signatures, integrity, trust)")
    def verify(file: Annotated[UploadFile, File(description="The PDF to verify")],
               client: Annotated[ClientInfo, Depends(require("documents:read"))]) -> dict:
        return verify_upload(settings, db, file.file.read(), actor=client.actor, relaxed=relaxed)

    @router.post("/dossiers/{code}/reuse", summary="Satisfy a dossier component with an existing document")
    def dossier_reuse(code: Annotated[str, Path(pattern=_CODE_RE, max_length=64)], body: ReuseRequest,
                      client: Annotated[ClientInfo, Depends(require("reuse:write"))]) -> dict:
        with db.session() as s:
            d = get_dossier(s, code)
            comp = reuse.reuse_into_dossier(s, d, body.document_id, actor=client.actor,
                                            purpose=body.purpose, client_id=client.id,
                                            override_reason=body.override_reason)
            return {"dossier": d.code, "component": {"id": comp.id, "doc_type": comp.doc_type,
                                                     "document_id": comp.document_id, "origin": comp.origin,
                                                     "state": comp.state},
                    "reusable": reuse.reusable_for_dossier(s, d)}

    @router.post("/dossiers", status_code=201, summary="Open a dossier with the persons it concerns")
    def dossier_create(body: DossierIn, client: Annotated[ClientInfo, Depends(require("dossiers:write"))]) -> dict:
        from registry.errors import FormErrors
        from registry.persons import PersonIn as Person, parse_role, persons
        from sohoa.jobs.population import verifier_for

        people = []
        for n, p in enumerate(body.persons, 1):
            role = parse_role(p.role)
            if role is None or role == "applicant":
                raise FormErrors({f"person-{n}-role": f"Vai trò «{p.role}» không có."})
            people.append(Person(role, p.subject, p.name))
        with db.session() as s:
            d = service.open_dossier(s, procedure=body.procedure, subject=body.subject, name=body.name or None,
                                     birth_date=body.birth_date, agency=settings.agency_code, channel=body.channel,
                                     actor=client.actor, verifier=verifier_for(settings), persons=people,
                                     phone=body.phone, address=body.address, sets=body.sets, fee=body.fee)
            return {**shapes.dossier_json(d),
                    "persons": [{"role": p.role, "subject": mask_pid(p.identifier), "name": p.name}
                                for p in persons(s, d)[1:]],
                    "reusable": reuse.reusable_for_dossier(s, d)}

    @router.post("/reuse-events", status_code=201, summary="Record that another system reused a document")
    def reuse_event(body: ReuseEventIn, client: Annotated[ClientInfo, Depends(require("reuse:write"))]) -> dict:
        with db.session() as s:
            ev = reuse.record_external_reuse(s, body.document_id, actor=client.actor,
                                             system=body.system or client.name, purpose=body.purpose,
                                             client_id=client.id, dossier_code=body.dossier_code)
            return shapes.reuse_event_json(ev)

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
