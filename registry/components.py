"""The state of each required component of a dossier (what the law adds, in the product spec:
Circular 03/2025/TT-VPCP Art. 5).

A required component is, in order of preference:

- ``scanned``          a paper scanned here;
- ``reused_component`` reused from a component of an earlier dossier;
- ``reused_result``    reused from a result (including an electronic certified copy);
- ``reused_national``  reused from the national store (Kho dữ liệu của công dân trên Cổng DVC quốc gia);
- ``national_data``    replaced by data from a national database (Resolution 66.7/2025/NQ-CP);
- ``exempt``           not scanned for a reason the law allows (``EXEMPT_REASONS``);
- ``missing``          none of the above: completing the dossier needs an explicit override.

A dossier received online has every component already in electronic form: its components are
exempt (reason ``online``) unless something else was recorded for them.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Component, Document, Dossier, Result

__all__ = ["ComponentState", "STATES", "DIGITIZED_STATES", "REUSED_STATES", "EXEMPT_REASONS", "STATE_LABELS",
           "component_states", "state_of_component", "reuse_state_of"]

STATES = ("scanned", "reused_component", "reused_result", "reused_national", "national_data", "exempt", "missing")
REUSED_STATES = ("reused_component", "reused_result", "reused_national")
DIGITIZED_STATES = ("scanned", *REUSED_STATES)
# Circular 03/2025/TT-VPCP Art. 5: what need not be scanned
EXEMPT_REASONS = {
    "online": "Hồ sơ nộp trực tuyến (thành phần đã ở dạng điện tử)",
    "comparison": "Giấy tờ chỉ xuất trình để đối chiếu",
    "internal": "Kết quả xác minh nội bộ",
    "confidential": "Giấy tờ có nội dung thuộc bí mật nhà nước",
}
STATE_LABELS = {
    "scanned": "Đã số hóa (quét tại bộ phận một cửa)",
    "reused_component": "Tái sử dụng từ thành phần hồ sơ trước",
    "reused_result": "Tái sử dụng từ kết quả giải quyết",
    "reused_national": "Tái sử dụng từ Kho dữ liệu quốc gia",
    "national_data": "Thay bằng dữ liệu từ cơ sở dữ liệu quốc gia",
    "exempt": "Không phải số hóa",
    "missing": "Còn thiếu",
}
_ORIGIN_STATE = {"scanned": "scanned", "reused": "reused_component", "online": "exempt"}


@dataclass(frozen=True)
class ComponentState:
    doc_type: str
    state: str  # one of STATES
    exempt_reason: str | None
    document_id: int | None


def state_of_component(c: Component) -> str:
    """A stored component's state (rows from before 0006_once have only an origin)."""
    if c.state:
        return c.state
    return _ORIGIN_STATE.get(c.origin, "scanned" if c.document_id else "missing")


def reuse_state_of(s: Session, doc: Document) -> str:
    """Where a reused document comes from: the national store, a result (a certified copy is a
    certified result), or an earlier component."""
    if doc.kind == "national_store":
        return "reused_national"
    if doc.kind == "certified_copy" or doc.certified_from_id is not None:
        return "reused_result"
    if s.scalar(select(Result.id).where(Result.document_id == doc.id).limit(1)) is not None:
        return "reused_result"
    return "reused_component"


def component_states(s: Session, dossier: Dossier) -> list[ComponentState]:
    """One state per component type the dossier's procedure requires, in the procedure's order."""
    by_type: dict[str, list[Component]] = {}
    for c in dossier.components:
        by_type.setdefault(c.doc_type, []).append(c)
    out = []
    for t in dict.fromkeys(dossier.procedure.required_types or []):
        comps = by_type.get(t, [])
        best = min(comps, key=lambda c: STATES.index(state_of_component(c)), default=None)
        if best is not None:
            st = state_of_component(best)
            out.append(ComponentState(t, st, best.exempt_reason if st == "exempt" else None, best.document_id))
        elif dossier.channel == "online":
            out.append(ComponentState(t, "exempt", "online", None))
        else:
            out.append(ComponentState(t, "missing", None, None))
    return out
