"""Dossier codes (mã hồ sơ): ``<agency code>-<YYMMDD>-<NNNN>``, the format the product spec gives
(older local forms accepted).

The date and sequence are validated strictly; the agency part is lenient because older local forms
(``38.98.H29-210519-0013``) exist beside the national one (``000.00.01.H29-260310-0420``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_CODE = re.compile(r"^(?P<agency>[A-Za-z0-9][A-Za-z0-9.]{1,39})-(?P<date>\d{6})-(?P<seq>\d{4,6})$")
# the same, found anywhere in a text (a QR payload may be a URL or carry a label)
_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9.])([A-Za-z0-9][A-Za-z0-9.]{1,39}-\d{6}-\d{4,6})(?![\d])")


@dataclass(frozen=True)
class DossierCode:
    agency: str
    date: dt.date
    seq: int

    def __str__(self) -> str:
        return f"{self.agency}-{self.date:%y%m%d}-{self.seq:04d}"


def parse_dossier_code(s: str) -> DossierCode | None:
    """The parsed code, or None when ``s`` is not a valid dossier code."""
    m = _CODE.match((s or "").strip())
    if not m:
        return None
    d = m.group("date")
    try:
        date = dt.date(2000 + int(d[:2]), int(d[2:4]), int(d[4:6]))
    except ValueError:
        return None
    seq = int(m.group("seq"))
    if seq == 0:
        return None
    return DossierCode(m.group("agency"), date, seq)


def find_dossier_code(text: str) -> str | None:
    """The first valid dossier code in a text (QR payload, folder name), or None."""
    for m in _CODE_IN_TEXT.finditer(text or ""):
        if parse_dossier_code(m.group(1)):
            return m.group(1)
    return None


def format_dossier_code(agency: str, date: dt.date, seq: int) -> str:
    return str(DossierCode(agency, date, seq))


# -- the receipt's QR code (Circular 01/2023/TT-VPCP) ------------------------------------------------
#
# Compact structured payload, UTF-8, fields separated by "|", each "key=value":
#
#   TNHS1|ma=<dossier code>|tt=<procedure code>|dd=<subject identifier>|gt=<paper's name>
#        |ht=<issuing system>|tg=<issued, yyyyMMddHHmmss Vietnam time>|hen=<appointment, yyyyMMddHHmmss>
#
# "TNHS1" (tiếp nhận hồ sơ, version 1) names the layout; unknown keys are ignored so fields can be
# added; "%" and "|" inside a value are written %25 and %7C. The router accepts this payload and,
# for receipts printed before it, a payload that is exactly a dossier code — nothing else: a page
# with a foreign QR (a VietQR payment code "000201…", a chip ID card's "ID|old ID|name|…") never
# routes a scan.

RECEIPT_QR_PREFIX = "TNHS1"
RECEIPT_QR_KEYS = ("ma", "tt", "dd", "gt", "ht", "tg", "hen")


def _qr_escape(v: str) -> str:
    return str(v).replace("%", "%25").replace("|", "%7C")


def _qr_unescape(v: str) -> str:
    return v.replace("%7C", "|").replace("%7c", "|").replace("%25", "%")


def _qr_time(t: dt.datetime | None) -> str:
    return t.strftime("%Y%m%d%H%M%S") if t else ""


def receipt_qr_payload(*, code: str, procedure: str, subject: str, paper: str, system: str,
                       issued_at: dt.datetime, appointment: dt.datetime | None) -> str:
    """The receipt's QR payload. Times are Vietnam local time (pass them converted)."""
    if parse_dossier_code(code) is None:
        raise ValueError(f"not a dossier code: {code!r}")
    values = {"ma": code, "tt": procedure, "dd": subject, "gt": paper, "ht": system,
              "tg": _qr_time(issued_at), "hen": _qr_time(appointment)}
    return "|".join([RECEIPT_QR_PREFIX, *(f"{k}={_qr_escape(values[k])}" for k in RECEIPT_QR_KEYS)])


def read_receipt_qr(payload: str) -> dict[str, str] | None:
    """The fields of a structured receipt QR payload (None when it is not one, or names no valid dossier code)."""
    parts = (payload or "").strip().split("|")
    if not parts or parts[0] != RECEIPT_QR_PREFIX:
        return None
    out = {}
    for p in parts[1:]:
        k, sep, v = p.partition("=")
        if sep and k in RECEIPT_QR_KEYS:
            out[k] = _qr_unescape(v)
    return out if parse_dossier_code(out.get("ma", "")) else None


def parse_receipt_qr(payload: str) -> str | None:
    """The dossier code a receipt's QR names: from the structured payload, or a payload that is a
    plain dossier code (receipts printed before the structured one). Anything else — payment QR,
    ID card QR, a URL, free text — gives None."""
    fields = read_receipt_qr(payload)
    if fields is not None:
        return fields["ma"]
    plain = (payload or "").strip()
    return plain if parse_dossier_code(plain) else None
