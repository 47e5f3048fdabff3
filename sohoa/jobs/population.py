"""The population-database check at intake, as the office configured it (``registry.population``
holds the protocol, the stub and the audited check itself): the HTTP gateway client lives here,
above the registry, and :func:`verifier_for` builds the verifier the settings name."""
from __future__ import annotations

from registry.population import IdentityAnswer, IdentityQuery, IdentityVerifier, NoVerifier, StubVerifier
from sohoa.config import Settings
from vocab.text import nfc

__all__ = ["HttpVerifier", "build_verifier", "verifier_for"]


class HttpVerifier:
    """A population-database gateway over HTTPS (see the module docstring for the exchange)."""

    name = "http"

    def __init__(self, url: str, token: str = "", *, timeout: float = 5.0, client=None) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        self._client = client

    def verify(self, query: IdentityQuery) -> IdentityAnswer:
        import httpx

        body = {"so_dinh_danh": query.identifier, "ho_ten": query.name, "ngay_sinh": query.birth_date,
                "can_bo": query.officer, "ma_thu_tuc": query.procedure}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            client = self._client or httpx
            r = client.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return IdentityAnswer("unavailable", f"Không kết nối được CSDL dân cư: {type(exc).__name__}.")
        if r.status_code != 200:
            return IdentityAnswer("unavailable", f"CSDL dân cư trả lời mã {r.status_code}.")
        try:
            data = r.json()
        except ValueError:
            return IdentityAnswer("unavailable", "CSDL dân cư trả lời không đọc được.")
        raw = str(data.get("ket_qua") or data.get("status") or "").strip().lower()
        status = {"khop": "match", "match": "match", "khong_khop": "no_match", "no_match": "no_match"}.get(raw)
        if status is None:
            return IdentityAnswer("unavailable", "CSDL dân cư trả lời không đọc được.")
        return IdentityAnswer(status, nfc(str(data.get("ghi_chu") or ""))[:300], str(data.get("ma_tra_cuu") or "")[:100],
                              tuple(str(x) for x in data.get("khong_khop", []) or [])[:5])


def build_verifier(*, url: str = "", token: str = "", stub_file: str = "", kind: str = "") -> IdentityVerifier:
    """The verifier the configuration names: ``kind`` "stub" (with ``stub_file``), "http" (with
    ``url``), "none"; by default http when a URL is set, else none."""
    kind = (kind or ("http" if url else "none")).lower()
    if kind == "stub":
        return StubVerifier.from_file(stub_file) if stub_file else StubVerifier()
    if kind == "http":
        if not url:
            raise ValueError("identity verifier http needs SOHOA_IDENTITY_URL")
        return HttpVerifier(url, token)
    return NoVerifier()


def verifier_for(settings: Settings) -> IdentityVerifier:
    return build_verifier(url=settings.identity_url, token=settings.identity_token,
                          stub_file=settings.identity_stub_file, kind=settings.identity_verifier)
