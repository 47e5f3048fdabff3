"""The manager's pages: the indicators a province is judged by, per unit and period, as a table and
a chart (server-side SVG: no script, prints as it shows), and the late dossiers."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from registry import access, backlog, indicators, lifecycle
from registry.models import Dossier, Staff
from registry.units import display_name, unit_names
from registry.search import DossierFilter, list_dossiers
from sohoa.i18n import fmt_date, fmt_datetime, parse_date
from sohoa.web.base import MANAGER, Principal, Web
from vocab.clock import utcnow, vn_today
from vocab.errors import Invalid
from vocab.kinds import status_name

# the rates shown, in order: (key in indicators.compute, label, colour)
SERIES = (("digitized_rate", "Hồ sơ được số hóa", "#1f6fb2"),
          ("reuse_rate", "Thành phần được dùng lại", "#2e7d32"),
          ("electronic_result_rate", "Kết quả điện tử", "#8e44ad"),
          ("on_time_rate", "Giải quyết đúng hạn", "#c0392b"))


# Decision 766/QĐ-TTg figures shown in the table besides the charted rates: (key, label)
TABLE_EXTRA = (("with_national_store_components_rate", "Thành phần lấy từ Kho dữ liệu quốc gia"),
               ("resolved_rate", "Đã giải quyết"),
               ("resolved_with_digitized_result_rate", "Giải quyết có kết quả số hóa"))


def clamp_day(d: dt.date) -> dt.date:
    """Days a period may start or end on (0001 and 9999 would overflow the month arithmetic)."""
    return min(max(d, dt.date(1900, 1, 1)), dt.date(9998, 12, 31))


def months(d1: dt.date, d2: dt.date, limit: int = 12) -> list[tuple[dt.date, dt.date]]:
    out = []
    cur = d1.replace(day=1)
    while cur <= d2 and len(out) < limit:
        nxt = (cur.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append((max(cur, d1), min(nxt - dt.timedelta(days=1), d2)))
        cur = nxt
    return out


def chart(groups: list[tuple[str, dict]], width: int = 880, height: int = 260) -> dict:
    """Geometry of a grouped bar chart of the four rates (0–100%) per group."""
    left, bottom, top = 44, 34, 22
    plot_h = height - bottom - top
    gw = (width - left - 10) / max(1, len(groups))
    bw = min(26.0, gw * 0.8 / len(SERIES))
    bars, labels = [], []
    for gi, (name, ind) in enumerate(groups):
        x0 = left + gi * gw + (gw - bw * len(SERIES)) / 2
        labels.append({"x": left + gi * gw + gw / 2, "text": name})
        for si, (key, title, colour) in enumerate(SERIES):
            v = ind.get(key)
            h = 0 if v is None else max(2.0, plot_h * float(v))  # a zero is a visible line on the axis
            x = round(x0 + si * bw, 1)
            bars.append({"x": x, "y": round(top + plot_h - h, 1), "w": round(bw - 2, 1),
                         "h": round(h, 1), "colour": colour, "value": "—" if v is None else f"{100 * v:.0f}%",
                         "lx": round(x + (bw - 2) / 2, 1), "ly": round(top + plot_h - h - 3, 1),
                         "title": f"{name} — {title}: " + ("không có dữ liệu" if v is None else f"{100 * v:.0f}%")})
    grid = [{"y": round(top + plot_h * (1 - p / 100), 1), "text": f"{p}%"} for p in (0, 25, 50, 75, 100)]
    return {"width": width, "height": height, "bars": bars, "labels": labels, "grid": grid, "left": left,
            "base": top + plot_h, "series": SERIES}


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    manager = Depends(web.require(MANAGER))

    def period(date_from: str, date_to: str) -> tuple[dt.date, dt.date, dict[str, str]]:
        """The period asked for; a date that cannot be read is said beside its field (the default kept)."""
        errors: dict[str, str] = {}
        today = vn_today()

        def read(text: str, key: str) -> dt.date | None:
            try:
                return parse_date(text)
            except Invalid:
                errors[key] = "Ngày viết dạng ngày/tháng/năm, ví dụ 05/12/2026."
                return None

        d2 = clamp_day(read(date_to, "date_to") or today)
        d1 = clamp_day(read(date_from, "date_from") or (d2.replace(day=1) - dt.timedelta(days=150)).replace(day=1))
        if d1 > d2:
            errors["date_from"] = "Ngày bắt đầu phải trước ngày kết thúc."
            d1 = (d2.replace(day=1) - dt.timedelta(days=150)).replace(day=1)
        return d1, d2, errors

    def names_of(s) -> dict[str, str]:
        names = unit_names(s)
        own = web.settings.agency_code
        names[own] = display_name(s, own, own, web.settings.unit_name)
        return names

    def figures(s, d1: dt.date, d2: dt.date, unit: str, mine: frozenset[str]) -> dict:
        """The indicators of the manager's units (``mine``: need-to-know), per unit and per month."""
        names = names_of(s)
        units = [x for x, in s.execute(select(Dossier.unit).distinct().order_by(Dossier.unit)) if x in mine]
        unit = unit if unit in mine else ""
        return {"total": indicators.compute(s, d1, d2, unit or None, units=mine),
                "per_unit": [(names.get(x, x), indicators.compute(s, d1, d2, x)) for x in units] if not unit else [],
                "per_month": [(f"{a:%m/%Y}", indicators.compute(s, a, b, unit or None, units=mine))
                              for a, b in months(d1, d2)],
                "units": [(x, names.get(x, x)) for x in units], "unit_name": names.get(unit, unit)}

    def late_rows(s, unit: str, page: int = 1, per_page: int = 50, *, units: frozenset[str]):
        names = {x: n for x, n in s.execute(select(Staff.username, Staff.name))}
        units = names_of(s)
        pg = list_dossiers(s, DossierFilter(late=True, unit=unit or None, units=units), sort="due", desc=False, page=page,
                           per_page=per_page)
        now = utcnow()
        rows = []
        for d in pg.items:
            holder = (f"{names.get(d.holder) or d.holder} — {units.get(d.holder_unit, d.holder_unit)}" if d.holder
                      else f"Bộ phận Một cửa — {units.get(d.unit, d.unit)}")
            rows.append({"code": d.code, "subject_name": d.subject.name, "subject": d.subject.identifier,
                         "procedure": d.procedure_code, "procedure_name": d.procedure.name, "status": d.status,
                         "status_name": status_name(d.status), "received_at": d.received_at, "due_at": d.due_at,
                         "received": fmt_datetime(d.received_at), "due": fmt_date(d.due_at),
                         "unit": units.get(d.unit, d.unit), "apology": bool(d.apology_ref),
                         "days_overdue": lifecycle.days_overdue(d, now), "holder": holder})
        return pg, rows

    @r.get("/dashboard")
    def dashboard(request: Request, date_from: str = "", date_to: str = "", unit: str = "", u: Principal = manager):
        d1, d2, errors = period(date_from, date_to)
        with web.db.session() as s:
            lifecycle.refresh_late(s)
            f = figures(s, d1, d2, unit, access.units_of(s, u))
            backlog_status = backlog.status(s)
            web.audit(s, u, "indicators.read", detail={"from": d1.isoformat(), "to": d2.isoformat(), "unit": unit})
        return web.page(request, "dashboard.html", status=422 if errors else 200, total=f["total"],
                        per_unit=f["per_unit"], per_month=f["per_month"], chart=chart(f["per_month"]),
                        units=f["units"], unit=unit, unit_name=f["unit_name"], date_from=d1, date_to=d2,
                        series=SERIES, extra=TABLE_EXTRA, backlog=backlog_status, form_id="period" if errors else None,
                        form={"date_from": date_from, "date_to": date_to} if errors else {}, errors=errors)

    @r.get("/dashboard.xlsx")
    def dashboard_xlsx(request: Request, date_from: str = "", date_to: str = "", unit: str = "",
                       u: Principal = manager):
        from sohoa.papers.workbook import indicators_workbook

        d1, d2, _ = period(date_from, date_to)
        with web.db.session() as s:
            lifecycle.refresh_late(s)
            mine = access.units_of(s, u)
            f = figures(s, d1, d2, unit, mine)
            _, late = late_rows(s, unit, per_page=5000, units=mine)
            web.audit(s, u, "indicators.export", detail={"from": d1.isoformat(), "to": d2.isoformat(), "unit": unit})
        data = indicators_workbook(period=f"{d1:%d/%m/%Y} – {d2:%d/%m/%Y}", series=SERIES, extra=TABLE_EXTRA,
                                   per_unit=f["per_unit"], total=f["total"], per_month=f["per_month"], late=late)
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="chi-so-{d1:%Y%m%d}-{d2:%Y%m%d}.xlsx"'})

    @r.get("/late")
    def late(request: Request, page: int = 1, unit: str = "", u: Principal = manager):
        with web.db.session() as s:
            lifecycle.refresh_late(s)
            pg, rows = late_rows(s, unit, page, units=access.units_of(s, u))
            access.audit_shown(s, u.actor, "dossier.list", [d.subject_id for d in pg.items], late=True, page=pg.page)
        return web.page(request, "late.html", rows=rows, pg=pg, unit=unit)

    return r
