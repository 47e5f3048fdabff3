"""Dossier codes (mã hồ sơ): ``<agency code>-<YYMMDD>-<NNNN>`` (spec §5).

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
