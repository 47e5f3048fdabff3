"""The web application: the registry API for other systems (and, later, the staff UI)."""
from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI

from registry.text import redact_pids


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
    """The FastAPI app bound to ``settings`` and an opened, migrated ``db`` (registry.db.Database)."""
    from registry.api import PREFIX, build_router

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # uvicorn configures its log handlers before startup: filter them too
        install_log_redaction()
        yield
        from registry.api import dispose_read_engine

        dispose_read_engine(db)

    app = FastAPI(lifespan=lifespan, title="sohoa registry API", version="1",
                  description="Once-only reuse of digitized documents for one-stop counters. "
                              "Bearer tokens per client system with scopes reuse:read, reuse:write, documents:read.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    app.include_router(build_router(settings, db))
    from sohoa.webui import mount

    mount(app, settings, db)  # the staff UI: server-rendered pages at /
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
