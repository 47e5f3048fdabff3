"""Vietnamese text: NFC everywhere, one diacritic fold for search and matching, PID masking."""
from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

_WS = re.compile(r"\s+")


def nfc(s: str | None) -> str:
    return unicodedata.normalize("NFC", s or "")


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    if c in "đĐ":
        return "d"
    d = unicodedata.normalize("NFD", c)
    base = "".join(ch for ch in d if unicodedata.category(ch) != "Mn")
    if not base:
        return " "
    b = base[0].lower()
    if b in "\u2010\u2011\u2012\u2013\u2014\u2212":
        return "-"
    if b in "\u2018\u2019\u201b\u2032`":
        return "'"
    if b in "\u00a0\u2007\u202f\t":
        return " "
    return b


def fold_keep(s: str) -> str:
    """Lower-case and strip diacritics character by character: the result has the same length as
    the NFC input, so a match position in the fold is a position in the original."""
    return "".join(_fold_char(c) for c in s)


def fold(s: str | None) -> str:
    """The search key: 'Nguyễn  Văn Đức' → 'nguyen van duc' (lower case, no diacritics, đ → d,
    dashes and quotes unified, whitespace folded)."""
    return _WS.sub(" ", fold_keep(nfc(s))).strip()


def mask_pid(pid: str | None) -> str:
    """A personal ID number safe for logs and screens: only the last three digits are kept."""
    if not pid:
        return ""
    digits = str(pid)
    return "*" * max(0, len(digits) - 3) + digits[-3:]


_PID_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6}(?:[0-9]{3})?)([0-9]{3})(?![0-9])")


def redact_pids(text: str) -> str:
    """Mask every 12-digit run (citizen ID) and 9-digit run (old ID card) in free text (log lines,
    error messages), keeping the last three digits."""
    return _PID_IN_TEXT.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text or "")


class RedactPids(logging.Filter):
    """Mask every ID number (12 or 9 digits) in a log record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.msg, str):
                record.msg = redact_pids(record.msg)
            if isinstance(record.args, tuple):  # keep the shape: formatters (uvicorn's) unpack args
                record.args = tuple(redact_pids(a) if isinstance(a, str) else a for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: redact_pids(v) if isinstance(v, str) else v for k, v in record.args.items()}
        except Exception:  # noqa: BLE001 - never break logging
            pass
        return True
