"""The indicators a province is scored on (Decision 766/QĐ-TTg, digitization group), per unit and
period. Period = dossiers *received* on Vietnam-time days ``from``..``to`` inclusive.

Of the dossiers received in the period:

- ``received``
- ``digitization_base``: dossiers with at least one required component that had to be digitized —
  components exempt under Circular 03/2025/TT-VPCP Art. 5 (submitted online, presented for
  comparison only, internal verification results, confidential) are left out, so a dossier whose
  every component is exempt is not in the denominator;
- ``with_digitized_components``: dossiers of the base with a component scanned here or reused
  (from an earlier component, a result or the national store);
- ``with_reused_components``: dossiers of the base with a component reused (any of the three origins);
- ``with_national_store_components``: dossiers of the base with a component taken from the national store;
- ``with_national_data``: dossiers of the base with a component replaced by national database data;
- ``resolved``: dossiers completed;
- ``resolved_with_digitized_result``: completed dossiers whose result was recorded as a digitized
  document (a Result with its PDF in the store); ``results_electronic`` of those were issued
  electronically.

Rates divide by ``digitization_base`` (component indicators), ``received`` (resolved) and
``resolved`` (digitized results, electronic results, on time). Component counts (``components``)
are over required components; ``reuse_rate`` = reused / non-exempt required components. On time =
completed no later than the original due date (an apology slip does not move it).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from registry.components import DIGITIZED_STATES, REUSED_STATES, STATES
from registry.models import Component, Dossier, Procedure, Result
from vocab.clock import VN_TZ, utcnow

__all__ = ["compute", "human"]

_ORIGIN_STATE = {"scanned": "scanned", "reused": "reused_component", "online": "exempt"}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def compute(s: Session, date_from: dt.date | None = None, date_to: dt.date | None = None,
            unit: str | None = None, now: dt.datetime | None = None,
            units: frozenset[str] | None = None) -> dict[str, Any]:
    """The indicators of the dossiers received in [date_from, date_to] (days outside 1900–9998 are
    clamped), of ``unit`` or, with ``units``, of those units only (need-to-know)."""
    conds = []
    lo, hi = dt.date(1900, 1, 1), dt.date(9998, 12, 30)
    if date_from:
        conds.append(Dossier.received_at >= dt.datetime.combine(min(max(date_from, lo), hi), dt.time(), tzinfo=VN_TZ))
    if date_to and date_to < hi:
        conds.append(Dossier.received_at < dt.datetime.combine(max(date_to, lo) + dt.timedelta(days=1), dt.time(),
                                                               tzinfo=VN_TZ))
    if unit:
        conds.append(Dossier.unit == unit)
    if units is not None:
        conds.append(Dossier.unit.in_(sorted(units)))
    where = and_(*conds) if conds else True
    now = now or utcnow()

    rows = s.execute(select(Dossier.id, Dossier.procedure_code, Dossier.channel, Dossier.status).where(where)).all()
    required_of = {p.code: list(dict.fromkeys(p.required_types or []))
                   for p in s.scalars(select(Procedure).where(Procedure.code.in_({r.procedure_code for r in rows})))}
    # the best state per (dossier, type), as registry.components.component_states does
    best: dict[tuple[int, str], int] = {}
    comp_rows = s.execute(select(Component.dossier_id, Component.doc_type, Component.state, Component.origin,
                                 Component.document_id)
                          .join(Dossier, Dossier.id == Component.dossier_id).where(where)).all()
    for c in comp_rows:
        st = c.state or _ORIGIN_STATE.get(c.origin, "scanned" if c.document_id else "missing")
        k = (c.dossier_id, c.doc_type)
        best[k] = min(best.get(k, len(STATES)), STATES.index(st))
    with_result = set(s.scalars(select(Result.dossier_id).join(Dossier, Dossier.id == Result.dossier_id)
                                .where(where, Dossier.status == "completed")))
    counts = dict.fromkeys(STATES, 0)
    base = digitized = reused = national_store = national_data = 0
    for r in rows:
        states = []
        for t in required_of.get(r.procedure_code, []):
            i = best.get((r.id, t))
            st = STATES[i] if i is not None else ("exempt" if r.channel == "online" else "missing")
            states.append(st)
            counts[st] += 1
        if not any(st != "exempt" for st in states):
            continue
        base += 1
        digitized += any(st in DIGITIZED_STATES for st in states)
        reused += any(st in REUSED_STATES for st in states)
        national_store += "reused_national" in states
        national_data += "national_data" in states
    received = len(rows)

    done = and_(where, Dossier.status == "completed")
    resolved = sum(1 for r in rows if r.status == "completed")
    resolved_digitized = len(with_result)
    electronic = s.scalar(select(func.count()).select_from(Dossier).where(done, exists().where(
        Result.dossier_id == Dossier.id, Result.electronic.is_(True)))) or 0
    due = func.coalesce(Dossier.original_due_at, Dossier.due_at)
    on_time = s.scalar(select(func.count()).select_from(Dossier).where(
        done, due.is_(None) | (Dossier.completed_at <= due))) or 0
    overdue_open = s.scalar(select(func.count()).select_from(Dossier).where(
        where, Dossier.status.in_(("received", "processing", "paused", "decided")), due < now)) or 0
    required_non_exempt = sum(n for st, n in counts.items() if st != "exempt")
    reused_components = sum(counts[st] for st in REUSED_STATES)

    return {
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "unit": unit or None,
        "received": received,
        "digitization_base": base,
        "with_digitized_components": digitized,
        "with_digitized_components_rate": _rate(digitized, base),
        "with_reused_components": reused,
        "with_reused_components_rate": _rate(reused, base),
        "with_national_store_components": national_store,
        "with_national_store_components_rate": _rate(national_store, base),
        "with_national_data": national_data,
        "with_national_data_rate": _rate(national_data, base),
        "resolved": resolved,
        "resolved_rate": _rate(resolved, received),
        "resolved_with_digitized_result": resolved_digitized,
        "resolved_with_digitized_result_rate": _rate(resolved_digitized, resolved),
        "components": {**counts, "required": sum(counts.values()), "required_non_exempt": required_non_exempt},
        # earlier names, same meaning
        "digitized": digitized,
        "digitized_rate": _rate(digitized, base),
        "completed": resolved,
        "results_electronic": electronic,
        "electronic_result_rate": _rate(electronic, resolved),
        "required_components": required_non_exempt,
        "reused_components": reused_components,
        "reuse_rate": _rate(reused_components, required_non_exempt),
        "completed_on_time": on_time,
        "on_time_rate": _rate(on_time, resolved),
        "overdue_open": overdue_open,
    }


def human(ind: dict[str, Any]) -> str:
    def pct(x):
        return "—" if x is None else f"{100 * x:.1f}%"

    b = ind["digitization_base"]
    c = ind["components"]
    period = f"{ind['from'] or '…'} → {ind['to'] or '…'}" + (f", đơn vị {ind['unit']}" if ind["unit"] else "")
    return "\n".join([
        f"kỳ báo cáo                          {period}",
        f"hồ sơ tiếp nhận                     {ind['received']}",
        f"  phải số hóa (trừ miễn số hóa)     {b}",
        f"  có thành phần được số hóa         {pct(ind['with_digitized_components_rate'])} ({ind['with_digitized_components']}/{b})",
        f"  có thành phần tái sử dụng         {pct(ind['with_reused_components_rate'])} ({ind['with_reused_components']}/{b})",
        f"  có thành phần từ Kho quốc gia     {pct(ind['with_national_store_components_rate'])} ({ind['with_national_store_components']}/{b})",
        f"  có dữ liệu từ CSDL quốc gia       {pct(ind['with_national_data_rate'])} ({ind['with_national_data']}/{b})",
        f"đã giải quyết                       {pct(ind['resolved_rate'])} ({ind['resolved']}/{ind['received']})",
        f"  kết quả được số hóa               {pct(ind['resolved_with_digitized_result_rate'])} ({ind['resolved_with_digitized_result']}/{ind['resolved']})",
        f"  kết quả điện tử                   {pct(ind['electronic_result_rate'])} ({ind['results_electronic']}/{ind['resolved']})",
        f"  đúng hạn (theo hạn ban đầu)       {pct(ind['on_time_rate'])} ({ind['completed_on_time']}/{ind['resolved']})",
        f"đang mở, quá hạn                    {ind['overdue_open']}",
        f"thành phần bắt buộc                 {c['required']} (miễn số hóa {c['exempt']}, còn thiếu {c['missing']}); "
        f"tái sử dụng {pct(ind['reuse_rate'])} ({ind['reused_components']}/{ind['required_components']})",
    ])
