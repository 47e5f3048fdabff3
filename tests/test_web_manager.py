"""The manager's screen without a browser (the app in-process, real SQLite): units by name, zero
rates visible with value labels, a bad date said beside its field on the same page, the late list
with days overdue and who holds the dossier, and the XLSX export read back with openpyxl."""
from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import load_workbook

from registry import flow, service
from registry.staff import add_staff
from registry.units import add_unit
from tests.test_webui_actions import PW, _app, _sign_in


def test_dashboard_late_list_and_export(settings, db):
    now = dt.datetime.now(dt.timezone.utc)
    with db.session() as s:
        add_unit(s, settings.agency_code, "UBND xã Tân Phú")
        add_staff(s, "lanhdao", PW, name="Trần Thị Mai", role="manager")
        add_staff(s, "tuphap", PW, name="Đỗ Văn Hùng", role="officer")
        d = service.create_dossier(s, procedure="1.001193", subject="001092044556", name="Lý Thị Thanh",
                                   agency=settings.agency_code, now=now - dt.timedelta(days=12))
        flow.forward(s, d, unit_code=settings.agency_code, officer="tuphap", due=None, actor="staff:x",
                     default_unit=settings.agency_code, now=now - dt.timedelta(days=11))
        code = d.code
    with _app(settings, db) as c:
        _sign_in(c, "lanhdao")
        page = c.get("/dashboard").text
        assert "UBND xã Tân Phú" in page and f">{settings.agency_code}<" not in page
        bars = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)".*?class="bar-value">([^<]+)<',
                          page, re.S)
        zeros = [float(h) for h, v in bars if v == "0%"]
        assert zeros and min(zeros) >= 2  # a 0% bar is still a visible line, with its value written
        assert all(float(h) == 0 for h, v in bars if v == "—")  # no data: no bar, a dash
        r = c.get("/dashboard", params={"date_from": "31/02/2026", "date_to": "hôm qua"})
        assert r.status_code == 422 and 'id="err-period-date_from"' in r.text and 'id="err-period-date_to"' in r.text
        assert 'value="hôm qua"' in r.text and "Mã lỗi" not in r.text and 'id="indicators"' in r.text
        page = c.get("/late").text
        row = re.search(rf'<tr class="late">.*?{re.escape(code)}.*?</tr>', page, re.S).group(0)
        days = int(re.search(r'class="days-overdue">(\d+) ngày', row).group(1))
        assert days >= 5 and "Đỗ Văn Hùng — UBND xã Tân Phú" in row
        x = c.get("/dashboard.xlsx")
        assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(x.content))
        assert wb.sheetnames == ["Chỉ số", "Theo tháng", "Hồ sơ trễ hạn"]
        late = [r for r in wb["Hồ sơ trễ hạn"].iter_rows(values_only=True)]
        assert late[0][6] == "Số ngày trễ" and late[1][0] == code and late[1][6] == days
        assert wb["Chỉ số"]["A3"].value == "UBND xã Tân Phú"
