"""The national public service portal, as the sync worker sees it: an interface with one call.

``PortalClient.send(events)`` delivers a batch of outbox events and returns the idempotency keys
the portal acknowledged; anything else (a timeout, an HTTP error, a dropped connection, an
acknowledgement for a key that was not sent) is simply "not acknowledged" and is sent again
later with the same key. :class:`HttpPortalClient` posts JSON to ``SOHOA_PORTAL_URL`` with the
bearer token ``SOHOA_PORTAL_TOKEN``.

The real portal cannot be reached from here, so the field mapping below (:func:`to_portal`) is
ours, following the public integration codes of provincial systems: dates ``yyyyMMddHHmmss`` in
Vietnam time, dossier status codes 1–10 (README, "Portal sync").
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from registry.outbox import Pending
from vocab.clock import VN_TZ
from vocab.errors import Unavailable

__all__ = ["PortalClient", "PortalError", "HttpPortalClient", "to_portal", "STATUS_CODES", "portal_time",
           "client_from_settings"]

# TrangThaiHoSo, the status codes 1–10 of the provincial integrations:
# 1 mới đăng ký, 2 được tiếp nhận, 3 không được tiếp nhận, 4 đang xử lý, 5 yêu cầu bổ sung giấy tờ,
# 6 yêu cầu thực hiện nghĩa vụ tài chính, 7 công dân yêu cầu rút hồ sơ, 8 dừng xử lý,
# 9 đã xử lý xong, 10 đã trả kết quả.
STATUS_CODES = {"received": 2, "processing": 4, "paused": 5, "returned": 8, "decided": 9, "completed": 9}
HANDOVER_CODES = {"counter": 1, "postal": 2, "online": 3}  # HinhThucTraKetQua
CHANNELS = {"counter": 1, "online": 2, "postal": 3}  # KenhThucHien
STEP_NAMES = {"dossier.received": "Tiếp nhận hồ sơ", "dossier.step": "Xử lý hồ sơ", "dossier.paused": "Tạm dừng xử lý",
              "dossier.resumed": "Tiếp tục xử lý", "dossier.completed": "Hoàn thành xử lý",
              "dossier.returned": "Trả lại hồ sơ", "dossier.apology": "Xin lỗi và hẹn lại ngày trả kết quả",
              "component.digitized": "Số hóa thành phần hồ sơ", "component.reused": "Tái sử dụng dữ liệu đã số hóa"}
REUSE_SOURCES = {"component": 1, "result": 2, "national_store": 3}  # NguonTaiSuDung


class PortalError(Unavailable):
    """The portal did not acknowledge a request (timeout, HTTP error, dropped connection, bad answer)."""


class PortalClient(Protocol):
    def send(self, events: Sequence[Pending]) -> set[str]:
        """Deliver ``events``; return the keys the portal acknowledged. Raise PortalError when the
        request as a whole failed."""


def portal_time(value: str | None) -> str | None:
    """An ISO 8601 time (or date) → ``yyyyMMddHHmmss`` in Vietnam time."""
    if not value:
        return None
    if len(value) == 10:
        return dt.date.fromisoformat(value).strftime("%Y%m%d") + "000000"
    t = dt.datetime.fromisoformat(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def _document(p: dict[str, Any]) -> dict[str, Any]:
    reused = p.get("origin") == "reused"
    return {"LoaiGiayTo": p.get("doc_type"), "MaSoHoa": p.get("digitization_code"), "SoTrang": p.get("pages"),
            "DaSoHoa": 1, "KyLuuKho": 1 if p.get("sealed") else 0, "TaiSuDung": 1 if reused else 0,
            "NguonTaiSuDung": REUSE_SOURCES.get(p.get("reuse_origin")) if reused else None,
            "MaHash": p.get("sha256")}


def to_portal(e: Pending) -> dict[str, Any]:
    """One outbox event in the portal's fields."""
    p = e.payload
    st = p.get("step") or {}
    out: dict[str, Any] = {
        "IdempotencyKey": e.key, "MaHoSo": e.dossier_code, "ThuTu": e.seq, "LoaiSuKien": e.kind,
        "TrangThaiHoSo": STATUS_CODES.get(p.get("status", ""), 4),
        "QuaTrinhXuLy": {"NguoiXuLy": st.get("officer"), "ChucDanh": st.get("title"),
                         "DonViXuLy": st.get("unit"), "ThoiDiemXuLy": portal_time(st.get("at")),
                         "HanXuLy": portal_time(st.get("due_at")),
                         "NoiDungXuLy": p.get("name") or STEP_NAMES.get(e.kind, e.kind)
                         + (f": {p['reason']}" if p.get("reason") else "")},
    }
    if e.kind == "dossier.received":
        out.update(MaTTHC=p.get("procedure"), TenTTHC=p.get("procedure_name"), MaDoiTuong=p.get("subject"),
                   LoaiDoiTuong=1 if p.get("subject_kind") == "citizen" else 2, ChuHoSo=p.get("subject_name"),
                   KenhThucHien=CHANNELS.get(p.get("channel"), 1), NgayTiepNhan=portal_time(p.get("received_at")),
                   NgayHenTra=portal_time(st.get("due_at")),
                   NguoiLienQuan=[{"VaiTro": x.get("role"), "MaDoiTuong": x.get("subject"), "HoTen": x.get("name")}
                                  for x in p.get("persons") or []])
    elif e.kind in ("dossier.paused", "dossier.returned"):
        out["LyDo"] = p.get("reason")
        if e.kind == "dossier.returned":
            out["NgayTra"] = portal_time(p.get("returned_at"))
    elif e.kind == "dossier.resumed":
        out["NgayHenTra"] = portal_time(st.get("due_at"))
    elif e.kind == "dossier.apology":
        out.update(LyDo=p.get("reason"), NgayHenTraMoi=portal_time(p.get("new_date")), PhieuXinLoi=p.get("apology_ref"))
    elif e.kind == "dossier.completed":
        r = p.get("result")
        out.update(NgayKetThucXuLy=portal_time(p.get("completed_at")), TreHan=1 if p.get("late") else 0,
                   KetQua=None if not r else {"LoaiGiayTo": r.get("doc_type"), "MaSoHoa": r.get("digitization_code"),
                                              "BanDienTu": 1 if r.get("electronic") else 0,
                                              "HieuLucTu": portal_time(r.get("valid_from")),
                                              "HieuLucDen": portal_time(r.get("valid_until"))})
        h = p.get("handover")
        if h:  # the result handed over (trả kết quả): status 10
            out["TrangThaiHoSo"] = 10
            out["TraKetQua"] = {"HinhThuc": HANDOVER_CODES.get(h.get("method"), 1), "NguoiNhan": h.get("recipient"),
                                "ThoiDiem": portal_time(h.get("at"))}
    elif e.kind.startswith("component."):
        out["TaiLieu"] = _document(p)
    return out


class HttpPortalClient:
    """``POST <url>`` with ``{"events": [...]}`` and ``Authorization: Bearer <token>``; the answer
    is ``{"acks": [{"key": K, "status": "accepted" | "duplicate"}, ...]}`` in any order, possibly
    with repeats. Only the keys of this batch count."""

    def __init__(self, url: str, token: str = "", *, timeout: float = 10.0) -> None:
        import httpx

        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self._errors = (httpx.HTTPError, ValueError)

    def send(self, events: Sequence[Pending]) -> set[str]:
        sent = {e.key for e in events}
        try:
            r = self._http.post(self.url, json={"events": [to_portal(e) for e in events]})
            if r.status_code in (401, 403):
                raise PortalError(f"Cổng từ chối mã truy cập (HTTP {r.status_code}): kiểm tra SOHOA_PORTAL_TOKEN")
            if r.status_code >= 300:
                said = " ".join(r.text.split())[:200] if 400 <= r.status_code < 500 else ""
                raise PortalError(f"Cổng trả lỗi HTTP {r.status_code}" + (f": {said}" if said else ""))
            acks = r.json().get("acks")
            if not isinstance(acks, list):
                raise PortalError("Cổng trả lời không có danh sách xác nhận (acks)")
        except self._errors as exc:
            raise PortalError(f"Không gửi được lên Cổng: {type(exc).__name__}: {exc}") from exc
        return {a.get("key") for a in acks if isinstance(a, dict) and a.get("status") in ("accepted", "duplicate")
                and a.get("key") in sent}

    def close(self) -> None:
        self._http.close()


def client_from_settings(settings) -> HttpPortalClient | None:
    """The configured portal, or None when SOHOA_PORTAL_URL is empty (events wait in the outbox)."""
    if not settings.portal_url:
        return None
    return HttpPortalClient(settings.portal_url, settings.portal_token, timeout=settings.portal_timeout)
