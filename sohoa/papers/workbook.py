"""The manager's figures as an XLSX workbook (openpyxl, MIT licence): the indicators per unit and
per month, and the late dossiers with days overdue and who holds them. Rates are numbers with a
percentage format (a spreadsheet can compute with them); headings are Vietnamese."""
from __future__ import annotations

import io
from typing import Any


def indicators_workbook(*, period: str, series: tuple, extra: tuple, per_unit: list[tuple[str, dict]],
                        total: dict, per_month: list[tuple[str, dict]], late: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Chỉ số"
    ws.append([f"Chỉ số số hóa và giải quyết hồ sơ, kỳ {period}"])
    ws["A1"].font = Font(bold=True, size=13)
    head = ["Đơn vị", "Hồ sơ tiếp nhận", *(t for _, t, _ in series), *(t for _, t in extra), "Đang trễ hạn"]
    ws.append(head)

    def row(name: str, ind: dict) -> list:
        return [name, ind.get("received", 0), *(ind.get(k) for k, _, _ in series), *(ind.get(k) for k, _ in extra),
                ind.get("overdue_open", 0)]

    for name, ind in per_unit:
        ws.append(row(name, ind))
    ws.append(row("Tổng", total))
    for r in ws.iter_rows(min_row=3, min_col=3, max_col=2 + len(series) + len(extra)):
        for c in r:
            c.number_format = "0%"
    ms = wb.create_sheet("Theo tháng")
    ms.append(["Tháng", "Hồ sơ tiếp nhận", *(t for _, t, _ in series)])
    for name, ind in per_month:
        ms.append([name, ind.get("received", 0), *(ind.get(k) for k, _, _ in series)])
    for r in ms.iter_rows(min_row=2, min_col=3):
        for c in r:
            c.number_format = "0%"
    ls = wb.create_sheet("Hồ sơ trễ hạn")
    ls.append(["Mã hồ sơ", "Công dân", "Thủ tục", "Trạng thái", "Ngày nhận", "Hẹn trả", "Số ngày trễ",
               "Đang giữ hồ sơ", "Phiếu xin lỗi"])
    for d in late:
        ls.append([d["code"], d["subject_name"], d["procedure_name"], d["status_name"], d["received"], d["due"],
                   d["days_overdue"], d["holder"], "Đã lập" if d["apology"] else "Chưa"])
    for sheet in wb.worksheets:
        for cell in sheet[2 if sheet.title == "Chỉ số" else 1]:
            cell.font = Font(bold=True)
        for col in sheet.columns:
            width = max(len(str(c.value or "")) for c in col)
            sheet.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
