"""What every ``/api/`` request passes before a route sees it: a body size cap, strict JSON, and one
error shape.

- **Size**: every API body is capped (``Content-Length`` checked first, then the bytes actually
  read); the PDF verification route takes up to the web form's 50 MB, the JSON routes 1 MB.
  Too large answers 413.
- **Strict JSON**: the constants ``NaN``, ``Infinity``, ``-Infinity``, numbers that overflow to
  infinity, lone UTF-16 surrogates (``"\\ud800"``) and bytes that are not UTF-8 are refused with
  422 before the body reaches pydantic (Python's ``json`` accepts all of them).
- **Errors**: ``{"error": kind, "detail": message}`` for every status, 401 and 403 included
  (:func:`api_error`).

Plain ASGI: the body is read once, checked, and handed on unchanged.
"""
from __future__ import annotations

import json
import math

from fastapi.responses import JSONResponse

__all__ = ["ApiGuard", "api_error", "KIND_OF_STATUS", "strict_json", "JSON_CAP", "UPLOAD_CAP"]

JSON_CAP = 1024 * 1024
UPLOAD_CAP = 50 * 1024 * 1024
KIND_OF_STATUS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed",
                  409: "conflict", 413: "too_large", 415: "invalid", 422: "invalid", 429: "busy",
                  503: "unavailable"}


def api_error(status: int, detail: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    """The API's one error shape."""
    return JSONResponse({"error": KIND_OF_STATUS.get(status, "error"), "detail": detail, **extra},
                        status_code=status, headers=headers)


def _no_constant(name: str):
    raise ValueError(f"JSON constant {name} is not allowed")


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError("number out of range")
    return v


def strict_json(body: bytes):
    """The parsed body, or ValueError: no NaN/Infinity, no overflowing numbers, valid UTF-8 without
    lone surrogates (every string must encode back to UTF-8)."""
    obj = json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    json.dumps(obj, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError (a ValueError) on a surrogate
    return obj


class ApiGuard:
    def __init__(self, app, prefix: str, caps: dict[str, int] | None = None, default_cap: int = JSON_CAP) -> None:
        self.app = app
        self.prefix = prefix
        self.caps = caps or {}
        self.default_cap = default_cap

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix) \
                or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send)
        cap = self.caps.get(scope["path"], self.default_cap)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        too_large = api_error(413, f"Nội dung gửi lên quá lớn (tối đa {cap // (1024 * 1024)} MB).")
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            return await api_error(400, "Content-Length không hợp lệ.")(scope, receive, send)
        if declared > cap:
            return await too_large(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                return await too_large(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if body and headers.get("content-type", "").split(";")[0].strip().lower().endswith("json"):
            try:
                strict_json(body)
            except (ValueError, RecursionError) as exc:
                detail = "Nội dung JSON không hợp lệ (không nhận NaN, Infinity, số quá lớn hay ký tự UTF-16 lẻ)."
                return await api_error(422, detail, reason=type(exc).__name__)(scope, receive, send)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
