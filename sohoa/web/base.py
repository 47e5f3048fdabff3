"""What every page of the staff UI shares: templates with the message catalogue, the signed-in
principal and role checks, CSRF, flash messages, the audit helper, error pages."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import select

from registry import access, outbox, service
from registry.models import Staff
from registry.staff import LoginPolicy, session_user
from registry.store import Store
from sohoa import i18n
from vocab.errors import Forbidden, NotFound, SohoaError
from vocab.text import mask_pid

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# which roles may open which area (admin manages accounts only: least privilege)
CLERK, OFFICER, MANAGER, ADMIN = "clerk", "officer", "manager", "admin"
HOME_OF = {CLERK: "/dossiers", OFFICER: "/certify", MANAGER: "/dashboard", ADMIN: "/admin/staff"}
PUBLIC_FORMS = ("/login", "/verify")  # forms a visitor without a session may send


class LoginRequired(Exception):
    """No (or an expired) session: go to the sign-in page and come back."""


class CsrfError(SohoaError):
    kind, http_status = "csrf", 400


@dataclass(frozen=True)
class Principal:
    username: str
    name: str
    role: str
    unit: str = ""  # the account's unit code (the office's own when it has none)

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.0f}%"


def make_templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATE_DIR))
    env = t.env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(i18n.translations("vi"), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(mask=mask_pid, pct=_pct, date=i18n.fmt_date, time=i18n.fmt_time, dtime=i18n.fmt_datetime,
                       reason=i18n.reason_label)
    env.globals.update(label=i18n.label, HOME_OF=HOME_OF)
    return t


class Web:
    """The shared state of the staff UI, built once per app."""

    def __init__(self, settings, db) -> None:
        self.settings = settings
        self.db = db
        self.store = Store(settings.store_dir)
        self.templates = make_templates()
        extra = settings.extra or {}
        self.policy = LoginPolicy(int(extra.get("login_max_failures", 5)),
                                  dt.timedelta(seconds=float(extra.get("login_lockout_seconds", 15 * 60))))
        self.idle = float(extra.get("session_idle_minutes", 30)) * 60
        self.max_age = float(extra.get("session_max_hours", 12)) * 3600
        self.cache_dir = settings.home / "cache" / "pages"

    # -- sessions and roles -----------------------------------------------------------------------
    def principal(self, request: Request) -> Principal | None:
        """The signed-in staff member, checked against the registry on every request (a disabled
        account, a reset password or a role change ends existing sessions); None when signed out."""
        u = request.session.get("user")
        if not u:
            return None
        cached = getattr(request.state, "principal", None)
        if cached is not None:
            return cached
        with self.db.session() as s:  # the server's session row decides: a copied cookie ends with it
            who = session_user(s, u.get("sid"), idle=dt.timedelta(seconds=self.idle),
                               max_age=dt.timedelta(seconds=self.max_age))
            st = s.scalar(select(Staff).where(Staff.username == u.get("username"))) if who == u.get("username") else None
            if st is None or st.disabled or (st.session_epoch or 0) != u.get("epoch", 0):
                request.session.pop("user", None)
                request.session["expired"] = who is None
                return None
            p = Principal(st.username, st.name or st.username, st.role, st.unit_code or self.settings.agency_code)
        return p

    def require(self, *roles: str) -> Callable[[Request], Principal]:
        """A FastAPI dependency: the principal, if their role is one of ``roles``."""
        def dep(request: Request) -> Principal:
            p = self.principal(request)
            if p is None:
                raise LoginRequired()
            if roles and p.role not in roles:
                raise Forbidden("Tài khoản của bạn không có quyền mở trang này.")
            request.state.principal = p
            return p
        return dep

    # -- CSRF ---------------------------------------------------------------------------------------
    @staticmethod
    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return tok

    @staticmethod
    async def csrf_guard(request: Request) -> None:
        """Router dependency: every POST carries the session's token (form field or header)."""
        if request.method != "POST":
            return
        token = request.headers.get("x-csrf-token", "")
        if not token:
            form = await request.form()  # cached on the request: Form() parameters still work
            token = str(form.get("csrf_token", ""))
        expected = request.session.get("csrf", "")
        if not expected and request.url.path not in PUBLIC_FORMS:
            raise LoginRequired()  # no session at all (expired, or never signed in): sign in first
        if not token or not expected or not secrets.compare_digest(token, expected):
            raise CsrfError("Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và làm lại.")

    # -- rendering ------------------------------------------------------------------------------------
    def page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        p = getattr(request.state, "principal", None)
        if p is None and "user" in request.session:
            p = self.principal(request)
        kept = request.session.pop("kept", None) or {}  # a form re-shown after an error: what was typed
        ctx.setdefault("form", kept.get("values") or {})
        ctx.setdefault("errors", kept.get("errors") or {})
        ctx.setdefault("form_id", kept.get("form"))
        ctx.update(request=request, user=p, csrf=self.csrf_token(request), unit=self.settings.unit_name,
                   flash=request.session.pop("flash", None), flash_error=request.session.pop("flash_error", None))
        if p is not None:  # portal sync alerts (dead letters, events waiting too long) on every page
            with self.db.session() as s:
                ctx["sync_alerts"] = outbox.alerts(s)
        return self.templates.TemplateResponse(request, name, ctx, status_code=status)

    @staticmethod
    def keep_form(request: Request, form_id: str, values: dict[str, Any], errors: dict[str, str]) -> None:
        """Show form ``form_id`` again on the next page with what was typed and each message next to
        its field (the CSRF token and secrets are never kept)."""
        keep = {k: v for k, v in values.items() if k not in ("csrf_token", "passphrase", "password")}
        request.session["kept"] = {"form": form_id, "values": keep, "errors": dict(errors)}

    def fragment(self, name: str, **ctx: Any) -> str:
        return self.templates.get_template(name).render(**ctx)

    @staticmethod
    def flash(request: Request, msg: str, *, error: bool = False) -> None:
        request.session["flash_error" if error else "flash"] = msg

    def audit(self, s, who: Principal, action: str, **kw: Any) -> None:
        service.audit(s, who.actor, action, **kw)


def safe_next(url: str | None, default: str = "/") -> str:
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def html(text: str) -> Markup:
    return Markup(text)


def see_other(url: str) -> RedirectResponse:
    """After a form: go to ``url`` (303, so a reload does not send the form again)."""
    return RedirectResponse(url, status_code=303)


MAX_ID = 2 ** 63 - 1  # ids past this are no row's: answered as absent, never an overflow


def load_dossier(s, code: str, who: Principal | None = None):
    """The dossier of that code, if ``who`` may see it (registry.access), or a page saying there is
    none (another unit's dossier is answered as absent)."""
    try:
        d = service.get_dossier(s, code)
    except NotFound:
        d = None
    if d is None or (who is not None and not access.may_see_dossier(s, who, d)):
        raise NotFound(f"Không có hồ sơ mã {code}.")
    return d


def load_document(s, doc_id: int, who: Principal | None = None):
    """The document of that number, if ``who`` may see it, or a page saying there is none."""
    doc = None
    if 0 < doc_id <= MAX_ID:
        try:
            doc = service.get_document(s, doc_id)
        except NotFound:
            pass
    if doc is None or (who is not None and not access.may_see_document(s, who, doc)):
        raise NotFound(f"Không có văn bản #{doc_id}.")
    return doc
