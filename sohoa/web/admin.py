"""The administrator's page: staff accounts (add, change role, disable/enable, reset password,
unlock after a lockout). Every change is audited; disabling or resetting ends the account's sessions."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from registry import staff as accounts
from sohoa.web.base import ADMIN, Principal, Web
from vocab.clock import as_utc, utcnow
from vocab.errors import Invalid, SohoaError


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    admin = Depends(web.require(ADMIN))

    def done(request: Request, msg: str) -> RedirectResponse:
        web.flash(request, msg)
        return RedirectResponse("/admin/staff", status_code=303)

    @r.get("/admin/staff")
    def staff_list(request: Request, u: Principal = admin):
        now = utcnow()
        with web.db.session() as s:
            rows = [{"username": x.username, "name": x.name, "role": x.role, "disabled": x.disabled,
                     "locked": bool(x.locked_until and as_utc(x.locked_until) > now), "locked_until": x.locked_until,
                     "failed": x.failed_logins or 0, "last_login_at": x.last_login_at, "created_at": x.created_at}
                    for x in accounts.list_staff(s)]
        return web.page(request, "admin_staff.html", rows=rows, roles=accounts.ROLES)

    @r.post("/admin/staff")
    def staff_add(request: Request, username: str = Form(""), name: str = Form(""), role: str = Form("clerk"),
                  password: str = Form(""), u: Principal = admin):
        try:
            with web.db.session() as s:
                st = accounts.add_staff(s, username, password, name=name.strip(), role=role, replace=False)
                web.audit(s, u, "staff.add", object_type="staff", object_id=st.username, detail={"role": role})
        except SohoaError as exc:  # the form again as typed (never the password), the message beside its field
            field = "password" if "mật khẩu" in exc.message.lower() else "role" if "vai trò" in exc.message.lower() \
                else "username"
            web.keep_form(request, "add-staff", {"username": username, "name": name, "role": role},
                          {field: exc.message[:1].upper() + exc.message[1:]})
            web.flash(request, f"Chưa tạo được tài khoản: {exc.message}", error=True)
            return RedirectResponse("/admin/staff#add-staff", status_code=303)
        return done(request, f"Đã tạo tài khoản {st.username}.")

    def change(request: Request, u: Principal, username: str, action: str, fn, msg: str, **detail):
        """One audited change of an account, then back to the list with ``msg``."""
        with web.db.session() as s:
            fn(s)
            web.audit(s, u, action, object_type="staff", object_id=username, detail=detail)
        return done(request, msg)

    @r.post("/admin/staff/{username}/role")
    def staff_role(request: Request, username: str, role: str = Form(...), u: Principal = admin):
        return change(request, u, username, "staff.role", lambda s: accounts.set_role(s, username, role),
                      f"Đã đổi vai trò của {username}.", role=role)

    @r.post("/admin/staff/{username}/disable")
    def staff_disable(request: Request, username: str, u: Principal = admin):
        if username == u.username:
            raise Invalid("Không tự khóa tài khoản của chính mình.")
        return change(request, u, username, "staff.disable", lambda s: accounts.set_disabled(s, username, True),
                      f"Đã khóa tài khoản {username}; các phiên đang mở đã kết thúc.")

    @r.post("/admin/staff/{username}/enable")
    def staff_enable(request: Request, username: str, u: Principal = admin):
        return change(request, u, username, "staff.enable", lambda s: accounts.set_disabled(s, username, False),
                      f"Đã mở lại tài khoản {username}.")

    @r.post("/admin/staff/{username}/reset")
    def staff_reset(request: Request, username: str, password: str = Form(""), u: Principal = admin):
        return change(request, u, username, "staff.reset", lambda s: accounts.reset_password(s, username, password),
                      f"Đã đặt lại mật khẩu cho {username}.")

    @r.post("/admin/staff/{username}/unlock")
    def staff_unlock(request: Request, username: str, u: Principal = admin):
        return change(request, u, username, "staff.unlock", lambda s: accounts.unlock(s, username),
                      f"Đã mở khóa đăng nhập cho {username}.")

    return r
