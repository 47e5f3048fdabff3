"""The web application: the registry API for other systems and the staff UI, in one FastAPI app."""
from __future__ import annotations

import contextlib
import gc
import logging
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from registry.db import dispose_read_engine
from sohoa import web as staff_ui
from sohoa.api.guard import UPLOAD_CAP, ApiGuard
from sohoa.api.v1 import PREFIX, build_router
from sohoa.ops.metrics import mount_health
from vocab.errors import SohoaError
from vocab.text import RedactPids, redact_pids

log = logging.getLogger("sohoa.web.app")


def install_log_redaction() -> None:
    for name in ("", "uvicorn.access", "uvicorn.error", "uvicorn", "sohoa", "fastapi"):  # "": the root's handlers
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactPids) for f in lg.filters):
            lg.addFilter(RedactPids())
        for h in lg.handlers:
            if not any(isinstance(f, RedactPids) for f in h.filters):
                h.addFilter(RedactPids())


PARTS = ("api", "web")


def create_app(settings, db, parts: tuple[str, ...] = PARTS, *, freeze_gc: bool = False) -> FastAPI:
    """The FastAPI app bound to ``settings`` and an opened, migrated ``db`` (registry.db.Database):
    the API for other systems under ``/api/v1`` and the staff UI at ``/`` (``parts``: both, or
    one of them for a server process of its own; /healthz, /readyz and /metrics in every one)."""
    unknown = set(parts) - set(PARTS)
    if unknown or not parts:
        raise ValueError(f"parts: {sorted(unknown) or 'none'} (known: {', '.join(PARTS)})")

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # uvicorn configures its log handlers before startup: filter them too
        install_log_redaction()
        if freeze_gc:  # a server process (`sohoa serve`, `sohoa run`), not an app built by a test
            # everything built so far (modules, routes, templates, mappers) lives as long as the
            # process: out of the collector's reach, a full collection no longer walks it while a
            # request waits
            gc.collect()
            gc.freeze()
        yield
        dispose_read_engine(db)

    app = FastAPI(lifespan=lifespan, title="sohoa registry API", version="1",
                  description="Once-only reuse of digitized documents for one-stop counters. "
                              "Bearer tokens per client system with scopes reuse:read, reuse:write, documents:read. "
                              'Errors answer {"error": kind, "detail": message} with kind one of not_found, '
                              "conflict, invalid, forbidden, unavailable.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    app.state.parts = tuple(parts)
    if "api" in parts:
        app.include_router(build_router(settings, db))
    mount_health(app, settings, db)  # /healthz, /readyz, /metrics (sohoa.ops.metrics)
    staff_ui.install_error_handlers(app)  # JSON for the API, pages for people, in every server
    if "web" in parts:
        staff_ui.mount(app, settings, db)  # the staff UI: server-rendered pages at /
    if "api" in parts:
        app.add_middleware(ApiGuard, prefix=PREFIX, caps={f"{PREFIX}/verify": UPLOAD_CAP})
        _local_docs(app)

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


def _local_docs(app: FastAPI) -> None:
    """The API's interactive documentation at ``/api/v1/docs`` from files served here (the
    swagger-ui-bundle package's Swagger UI, Apache-2.0): nothing is loaded from a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    assets = f"{PREFIX}/docs/assets"
    app.mount(assets, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")

    @app.get(f"{PREFIX}/docs", include_in_schema=False)
    def api_docs():
        return get_swagger_ui_html(openapi_url=f"{PREFIX}/openapi.json", title="sohoa registry API",
                                   swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{assets}/swagger-ui.css",
                                   swagger_favicon_url=f"{assets}/favicon-32x32.png")


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


def app_from_environment() -> FastAPI:
    """The app for one of several server processes (``sohoa serve --processes N``): the settings
    of ``$SOHOA_HOME`` (and ``SOHOA_*``), the registry opened in this process, the parts named in
    ``SOHOA_SERVE_PARTS`` (``sohoa serve --only``; default both)."""
    from registry.db import Database
    from sohoa.config import load_settings

    settings = load_settings()
    db = Database(settings.db_url)
    if not db.is_initialised():
        raise RuntimeError(f"sổ đăng ký tại {db.safe_url} chưa được khởi tạo: chạy `sohoa init` trước")
    parts = tuple(p for p in os.environ.get("SOHOA_SERVE_PARTS", ",".join(PARTS)).split(",") if p)
    return create_app(settings, db, parts, freeze_gc=True)
