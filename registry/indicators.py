"""The indicators a province is judged by (spec §1), per unit and period.

Period = dossiers *received* on local (UTC+7) days ``from``..``to`` inclusive.

- received: dossiers received in the period
- digitized_rate: dossiers with at least one digitized component (scanned here or reused) / received
- electronic_result_rate: completed dossiers with a result issued electronically / completed
- reuse_rate: required components satisfied by reuse / required components
- on_time_rate: dossiers completed no later than their due date / completed
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from registry.models import Component, Dossier, Procedure, Result
from vocab.clock import VN_TZ


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def compute(s: Session, date_from: dt.date | None = None, date_to: dt.date | None = None,
            unit: str | None = None) -> dict[str, Any]:
    conds = []
    if date_from:
        conds.append(Dossier.received_at >= dt.datetime.combine(date_from, dt.time(), tzinfo=VN_TZ))
    if date_to:
        conds.append(Dossier.received_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=VN_TZ))
    if unit:
        conds.append(Dossier.unit == unit)
    where = and_(*conds) if conds else True

    per_proc = dict(s.execute(select(Dossier.procedure_code, func.count()).where(where)
                              .group_by(Dossier.procedure_code)).all())
    received = sum(per_proc.values())
    required_of = {p.code: list(dict.fromkeys(p.required_types or []))
                   for p in s.scalars(select(Procedure).where(Procedure.code.in_(list(per_proc))))} if per_proc else {}
    required = sum(n * len(required_of.get(code, [])) for code, n in per_proc.items())

    digitized = s.scalar(select(func.count()).select_from(Dossier).where(where, exists().where(
        Component.dossier_id == Dossier.id, Component.document_id.is_not(None),
        Component.origin.in_(("scanned", "reused"))))) or 0

    reused = 0
    reused_total = 0
    for code, doc_type, n in s.execute(
            select(Dossier.procedure_code, Component.doc_type, func.count(func.distinct(Dossier.id)))
            .join(Component, Component.dossier_id == Dossier.id)
            .where(where, Component.origin == "reused").group_by(Dossier.procedure_code, Component.doc_type)):
        reused_total += n
        if doc_type in required_of.get(code, []):
            reused += n

    done = and_(where, Dossier.status == "completed")
    completed = s.scalar(select(func.count()).select_from(Dossier).where(done)) or 0
    electronic = s.scalar(select(func.count()).select_from(Dossier).where(done, exists().where(
        Result.dossier_id == Dossier.id, Result.electronic.is_(True)))) or 0
    on_time = s.scalar(select(func.count()).select_from(Dossier).where(
        done, (Dossier.due_at.is_(None)) | (Dossier.completed_at <= Dossier.due_at))) or 0
    now = dt.datetime.now(dt.timezone.utc)
    overdue_open = s.scalar(select(func.count()).select_from(Dossier).where(
        where, Dossier.status.in_(("received", "processing", "paused")), Dossier.due_at < now)) or 0

    return {
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "unit": unit or None,
        "received": received,
        "digitized": digitized,
        "digitized_rate": _rate(digitized, received),
        "completed": completed,
        "results_electronic": electronic,
        "electronic_result_rate": _rate(electronic, completed),
        "required_components": required,
        "reused_components": reused,
        "reuse_rate": _rate(reused, required),
        "reused_components_all": reused_total,
        "completed_on_time": on_time,
        "on_time_rate": _rate(on_time, completed),
        "overdue_open": overdue_open,
    }


def human(ind: dict[str, Any]) -> str:
    def pct(x):
        return "—" if x is None else f"{100 * x:.1f}%"

    period = f"{ind['from'] or '…'} → {ind['to'] or '…'}" + (f", unit {ind['unit']}" if ind["unit"] else "")
    return "\n".join([
        f"period                 {period}",
        f"dossiers received      {ind['received']}",
        f"digitized              {pct(ind['digitized_rate'])} ({ind['digitized']}/{ind['received']})",
        f"results electronic     {pct(ind['electronic_result_rate'])} ({ind['results_electronic']}/{ind['completed']})",
        f"reuse rate             {pct(ind['reuse_rate'])} ({ind['reused_components']}/{ind['required_components']} required components)",
        f"on time                {pct(ind['on_time_rate'])} ({ind['completed_on_time']}/{ind['completed']}); open and overdue: {ind['overdue_open']}",
    ])
