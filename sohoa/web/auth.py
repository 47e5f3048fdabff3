"""Sign-in and sign-out. Wrong passwords are audited and counted; after the policy's number in a
row the account is locked for a while (even the right password is refused until it ends)."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from registry import service
from registry.staff import authenticate
from sohoa import i18n
from sohoa.web.base import HOME_OF, Web, safe_next


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])

    @r.get("/login")
    def login_form(request: Request, next: str = "/"):
        expired = request.session.pop("expired", False)
        return web.page(request, "login.html", next=safe_next(next),
                        notice="Phiên làm việc đã hết hạn. Hãy đăng nhập lại." if expired else None)

    @r.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")):
        ip = request.client.host if request.client else ""
        with web.db.session() as s:
            res = authenticate(s, username, password, policy=web.policy)
            if not res.ok:
                service.audit(s, f"login:{(username or '').strip().lower()[:64]}", "staff.login_failed",
                              object_type="staff", object_id=(username or "").strip().lower()[:64],
                              detail={"reason": res.reason, "ip": ip,
                                      "locked_until": res.locked_until.isoformat() if res.locked_until else None})
            else:
                st = res.staff
                user = {"username": st.username, "name": st.name or st.username, "role": st.role,
                        "epoch": st.session_epoch or 0, "since": time.time(), "seen": time.time()}
                service.audit(s, f"staff:{st.username}", "staff.login", object_type="staff", object_id=st.username,
                              detail={"ip": ip})
        if not res.ok:
            if res.reason == "locked" or res.locked_until is not None:
                msg = (f"Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Hãy thử lại sau "
                       f"{i18n.fmt_time(res.locked_until)} hoặc nhờ quản trị viên mở khóa.")
            else:
                msg = "Sai tên đăng nhập hoặc mật khẩu."
            return web.page(request, "login.html", status=401, next=safe_next(next), error=msg,
                            username=(username or "")[:64])
        csrf = request.session.get("csrf")
        request.session.clear()  # nothing of a previous user's session survives a sign-in …
        if csrf:  # … but the form token (bound to this signed cookie) may: forms opened before still post
            request.session["csrf"] = csrf
        request.session["user"] = user
        dest = safe_next(next, "/")
        return RedirectResponse(dest if dest != "/" else HOME_OF.get(user["role"], "/"), status_code=303)

    @r.post("/logout")
    def logout(request: Request):
        u = request.session.get("user")
        if u:
            with web.db.session() as s:
                service.audit(s, f"staff:{u['username']}", "staff.logout", object_type="staff", object_id=u["username"])
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @r.get("/")
    def home(request: Request):
        p = web.principal(request)
        if p is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(HOME_OF.get(p.role, "/login"), status_code=303)

    return r
