"""Vietnamese text helpers: NFC everywhere, and a diacritic-free fold for search."""
from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")


def nfc(s: str | None) -> str:
    return unicodedata.normalize("NFC", s or "")


def fold(s: str | None) -> str:
    """Lower-case, strip diacritics (đ → d), fold whitespace: 'Nguyễn  Văn Đức' → 'nguyen van duc'."""
    s = unicodedata.normalize("NFD", s or "").replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    return _WS.sub(" ", s).strip().lower()


def mask_pid(pid: str | None) -> str:
    """A personal ID number safe for logs: only the last three digits are kept ('*********789')."""
    if not pid:
        return ""
    digits = str(pid)
    return "*" * max(0, len(digits) - 3) + digits[-3:]


_PID_IN_TEXT = re.compile(r"(?<!\d)(\d{9})(\d{3})(?!\d)")


def redact_pids(text: str) -> str:
    """Mask every 12-digit run in free text (log lines, error messages)."""
    return _PID_IN_TEXT.sub(lambda m: "*" * 9 + m.group(2), text or "")
