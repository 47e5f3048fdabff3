"""The web application: the registry API for other systems and the staff UI, in one FastAPI app."""
from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from registry.db import dispose_read_engine
from sohoa import web as staff_ui
from sohoa.api.v1 import PREFIX, build_router
from sohoa.ops.metrics import mount_health
from vocab.errors import SohoaError
from vocab.text import redact_pids

log = logging.getLogger("sohoa.web.app")


class RedactPids(logging.Filter):
    """Mask every 12-digit run (personal ID numbers) in a log record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.msg, str):
                record.msg = redact_pids(record.msg)
            if isinstance(record.args, tuple):  # keep the shape: formatters (uvicorn's) unpack args
                record.args = tuple(redact_pids(a) if isinstance(a, str) else a for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: redact_pids(v) if isinstance(v, str) else v for k, v in record.args.items()}
        except Exception:  # noqa: BLE001 - never break logging
            pass
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "sohoa", "fastapi"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactPids) for f in lg.filters):
            lg.addFilter(RedactPids())
        for h in lg.handlers:
            if not any(isinstance(f, RedactPids) for f in h.filters):
                h.addFilter(RedactPids())


def create_app(settings, db) -> FastAPI:
    """The FastAPI app bound to ``settings`` and an opened, migrated ``db`` (registry.db.Database):
    the API for other systems under ``/api/v1`` and the staff UI at ``/``."""

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # uvicorn configures its log handlers before startup: filter them too
        install_log_redaction()
        yield
        dispose_read_engine(db)

    app = FastAPI(lifespan=lifespan, title="sohoa registry API", version="1",
                  description="Once-only reuse of digitized documents for one-stop counters. "
                              "Bearer tokens per client system with scopes reuse:read, reuse:write, documents:read. "
                              'Errors answer {"error": kind, "detail": message} with kind one of not_found, '
                              "conflict, invalid, forbidden, unavailable.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    app.include_router(build_router(settings, db))
    mount_health(app, settings, db)  # /healthz, /readyz, /metrics (sohoa.ops.metrics)
    staff_ui.mount(app, settings, db)  # the staff UI: server-rendered pages at /

    @app.exception_handler(SohoaError)
    async def _expected_failure(request: Request, exc: SohoaError):
        """Typed errors, mapped once: JSON for the API, an error page in the layout for people."""
        if exc.detail:
            log.info("%s %s: %s (%s)", request.method, request.url.path, exc.message, redact_pids(exc.detail))
        if request.url.path.startswith(PREFIX):
            return JSONResponse({"error": exc.kind, "detail": exc.message}, status_code=exc.http_status)
        return staff_ui.error_page(request, exc.http_status, exc.message)

    if settings.dev_mode:
        _publish_dev_pki(app, settings)
    install_log_redaction()
    return app


def _publish_dev_pki(app: FastAPI, settings) -> None:
    """Dev mode: the dev PKI's CRLs and CA certificates at the addresses written in its
    certificates (``<base>/pki/<ca>.crl|.crt``)."""
    from fastapi import Response

    from sohoa.dev.servers import pki_file

    @app.get("/pki/{name}", include_in_schema=False)
    def dev_pki(name: str) -> Response:
        found = pki_file(settings.pki_dir, f"/pki/{name}")
        if found is None:
            return Response(status_code=404)
        return Response(content=found[0], media_type=found[1])
