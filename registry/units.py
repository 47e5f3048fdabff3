"""The office's units (đơn vị) and who sees what (need-to-know, in the spec's "units" rule).

A unit is a commune's one-stop counter, a district or a province office, with a parent. Staff
belong to one unit (``Staff.unit_code``; none means the office's own unit, the settings'
``agency_code``); a dossier is held by one (``Dossier.unit``). Clerks and managers see the
dossiers of their unit and of the units below it, so a province-level account sees all by choice
of where it is placed. Nothing here knows of HTTP: the web layer asks :func:`visible_units`.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Staff, Unit
from vocab.errors import Invalid, NotFound
from vocab.text import nfc

LEVELS = ("commune", "district", "province")
LEVEL_NAMES = {"commune": "cấp xã", "district": "cấp huyện", "province": "cấp tỉnh"}

__all__ = ["LEVELS", "LEVEL_NAMES", "UnitView", "add_unit", "ensure_unit", "list_units", "unit_name",
           "unit_names", "display_name", "below", "visible_units", "set_staff_unit", "staff_unit"]


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    level: str
    parent_code: str | None


def _view(u: Unit) -> UnitView:
    return UnitView(u.code, u.name, u.level, u.parent_code)


def add_unit(s: Session, code: str, name: str, *, level: str = "commune", parent_code: str | None = None) -> UnitView:
    """Create or rename a unit. The parent must exist and no unit may be its own ancestor."""
    code, name = (code or "").strip(), nfc((name or "").strip())
    if not code or len(code) > 64 or not code.isascii() or any(c.isspace() for c in code):
        raise Invalid("Mã đơn vị phải là chuỗi ký tự không dấu, không khoảng trắng, tối đa 64 ký tự.")
    if not name:
        raise Invalid("Tên đơn vị không được để trống.")
    if level not in LEVELS:
        raise Invalid("Cấp đơn vị phải là một trong: " + ", ".join(f"{k} ({v})" for k, v in LEVEL_NAMES.items()) + ".")
    if parent_code:
        if s.get(Unit, parent_code) is None:
            raise NotFound(f"Không có đơn vị cấp trên {parent_code}.")
        p: str | None = parent_code
        while p:
            if p == code:
                raise Invalid("Một đơn vị không thể là cấp trên của chính nó.")
            parent = s.get(Unit, p)
            p = parent.parent_code if parent else None
    u = s.get(Unit, code) or Unit(code=code)
    u.name, u.level, u.parent_code = name, level, parent_code or None
    s.add(u)
    s.flush()
    return _view(u)


def ensure_unit(s: Session, code: str, name: str) -> None:
    """The office's own unit exists (``sohoa init``): created once, never renamed here."""
    if code and s.get(Unit, code) is None:
        s.add(Unit(code=code, name=nfc(name or code), level="commune"))
        s.flush()


def list_units(s: Session) -> list[UnitView]:
    return [_view(u) for u in s.scalars(select(Unit).order_by(Unit.code))]


def unit_names(s: Session) -> dict[str, str]:
    """Every unit's name by code, for pages and papers that show units (never a bare code)."""
    return {u.code: u.name for u in s.scalars(select(Unit))}


def unit_name(s: Session, code: str | None) -> str:
    if not code:
        return ""
    u = s.get(Unit, code)
    return u.name if u else code


def display_name(s: Session, code: str | None, own_code: str, own_name: str) -> str:
    """The name to print for a unit: its name, or for the office's own unit the configured name
    when it completes the unit's (``sohoa init`` may have created the unit before the commune's
    name was configured: "Ủy ban nhân dân xã" → "Ủy ban nhân dân xã Tân Phú")."""
    name = unit_name(s, code or own_code)
    if (code or own_code) == own_code and own_name and own_name != name and own_name.startswith(name or "\0"):
        return own_name
    return name


def below(s: Session, code: str) -> set[str]:
    """``code`` and every unit under it."""
    children: dict[str, list[str]] = {}
    for c, p in s.execute(select(Unit.code, Unit.parent_code)):
        if p:
            children.setdefault(p, []).append(c)
    out, todo = set(), [code]
    while todo:
        c = todo.pop()
        if c not in out:
            out.add(c)
            todo += children.get(c, [])
    return out


def staff_unit(st: Staff, default_unit: str) -> str:
    return st.unit_code or default_unit


def visible_units(s: Session, st: Staff, default_unit: str) -> set[str]:
    """The units whose dossiers this account may see: its own and those below it."""
    return below(s, staff_unit(st, default_unit))


def set_staff_unit(s: Session, username: str, code: str | None) -> Staff:
    st = s.scalar(select(Staff).where(Staff.username == username))
    if st is None:
        raise NotFound(f"Không có tài khoản {username}.")
    if code and s.get(Unit, code) is None:
        raise NotFound(f"Không có đơn vị {code}.")
    st.unit_code = code or None
    st.session_epoch = (st.session_epoch or 0) + 1  # what it may see changed: sign in again
    s.flush()
    return st
