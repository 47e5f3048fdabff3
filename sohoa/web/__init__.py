"""The staff web UI: server-rendered pages for a whole one-stop office (Jinja2 over FastAPI).

Areas, one module each: :mod:`.auth` (sign-in, lockout); the counter clerk's :mod:`.dossiers`
(list, search, open, actions), :mod:`.documents` (pages, corrections, page operations, history),
:mod:`.inbox` (live journal, upload, quarantine), :mod:`.unassigned` (the queue and its suggestions);
:mod:`.officer` (certification queue, register),
:mod:`.manager` (indicators, late dossiers), :mod:`.backlog` (the backlog's review queue), :mod:`.admin` (staff accounts), :mod:`.live`
(server-sent events), :mod:`.public` (the verification page behind a certified copy's QR).

``mount(app, settings, db)`` adds it to the web app: the session middleware, the routers, the
static files and one mapping of errors to error pages (``/api/…`` keeps its JSON errors).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from sohoa.api.guard import api_error
from sohoa.web.base import HOME_OF, STATIC_DIR, LoginRequired, Web

__all__ = ["mount", "session_secret", "error_page"]

log = logging.getLogger("sohoa.web.app")

_TITLES = {400: "Yêu cầu không hợp lệ", 401: "Cần đăng nhập", 403: "Không có quyền truy cập",
           404: "Không tìm thấy trang", 405: "Thao tác không được phép", 409: "Xung đột dữ liệu",
           422: "Dữ liệu không hợp lệ", 503: "Dịch vụ tạm thời không dùng được"}
_MESSAGES = {404: "Trang hoặc hồ sơ bạn tìm không có, hoặc đã bị chuyển đi.",
             405: "Trang này không nhận thao tác đó.",
             422: "Một số thông tin gửi lên không đúng định dạng. Hãy kiểm tra lại."}


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
                               "form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """Plain ASGI (streams such as the live events pass straight through): the staff pages load
    nothing from elsewhere and run no inline script, and nobody frames them. ``/api/`` is left alone."""

    def __init__(self, app) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in self.headers if h[0] not in have]
            await send(message)

        return await self.app(scope, receive, with_headers)


def session_secret(home) -> str:
    """A per-installation secret for signing session cookies, created on first use."""
    import secrets

    p = home / "session.key"
    if not p.exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".part")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(p)
    return p.read_text().strip()


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _sentence(message: str) -> str:
    m = (message or "").strip()
    if not m:
        return "Yêu cầu không thực hiện được."
    m = m[0].upper() + m[1:]
    return m if m[-1] in ".!?…" else m + "."


def error_page(request: Request, status: int, message: str, kind: str = "error"):
    """An error as a page inside the layout, in Vietnamese, with a way back (role="alert")."""
    if _is_api(request) or request.headers.get("accept", "").startswith("text/event-stream") or \
            getattr(request.app.state, "web", None) is None:  # (a server of the API alone)
        return JSONResponse({"error": kind, "detail": message}, status_code=status)
    web: Web = request.app.state.web
    user = web.principal(request) if "user" in request.session else None
    back = HOME_OF.get(user.role, "/") if user else "/login"
    return web.page(request, "error.html", status=status, code=status, title=_TITLES.get(status, "Có lỗi xảy ra"),
                    message=_sentence(message), back=back, kind=kind, user=user)


def install_error_handlers(app: FastAPI) -> None:
    """HTTP errors, invalid input and values past what the database holds, answered as JSON for
    ``/api/…`` (and in a server without the staff pages) and as a page for people: every server
    gets these, whichever parts it serves (``sohoa serve --only``)."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if _is_api(request):
            detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Có lỗi xảy ra")
            return api_error(exc.status_code, detail, headers=getattr(exc, "headers", None))
        msg = _MESSAGES.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) and exc.status_code < 500
                                                 and not exc.detail.isascii() else "Yêu cầu không thực hiện được.")
        return error_page(request, exc.status_code, msg)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if _is_api(request):
            return api_error(422, _MESSAGES[422], errors=jsonable_encoder(exc.errors(), custom_encoder={
                Exception: str, bytes: lambda b: b.decode("utf-8", "replace")}))
        log.info("invalid form on %s: %s", request.url.path, exc.errors())
        return error_page(request, 422, _MESSAGES[422], "invalid")

    @app.exception_handler(OverflowError)
    async def _too_big(request: Request, _exc: OverflowError):
        """A number past what the database holds (an id > 2**63, a day past 9999): no such row."""
        return error_page(request, 404, _MESSAGES[404], "not_found")

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, _exc: DataError):
        """A value the database refuses (PostgreSQL: a number out of range): the input, not the server."""
        return error_page(request, 422, _MESSAGES[422], "invalid")


def mount(app: FastAPI, settings, db) -> None:
    """Add the staff UI to ``app``. Typed errors (vocab.errors) reach :func:`error_page` through the
    app's one SohoaError mapping (sohoa.web.app); this adds the web's own: sign-in redirects, HTTP
    errors and invalid forms as pages (``/api/…`` keeps FastAPI's JSON)."""
    web = Web(settings, db)
    app.state.web = web
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.home), same_site="strict",
                       session_cookie="sohoa_session", max_age=int(web.max_age),
                       https_only=bool(settings.extra.get("session_https_only", False)))

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired):
        if request.method == "GET":
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        return RedirectResponse("/login", status_code=303)

    from sohoa.web import (admin, auth, backlog, documents, dossiers, inbox, live, manager, officer, public, steps,
                           unassigned)

    for mod in (auth, dossiers, steps, inbox, unassigned, documents, backlog, officer, manager, admin, live, public):
        app.include_router(mod.router(web))
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
