"""One message catalogue for everything a person reads: the web UI and the CLI's human output.

The catalogue is gettext (``sohoa/locale/<lang>/LC_MESSAGES/sohoa.po``, edited with Babel's
tools); it is compiled to ``.mo`` on first use when the ``.mo`` is missing or older than the
``.po``, in memory if the package directory is read-only — so a fresh ``pip install -e .`` works
without a build step.

- vocabulary codes (document types, statuses, journal states, origins, fields, reasons, error
  kinds, roles, audit actions) are looked up with their kind as the gettext context:
  ``label("doc_type", "ket_hon")`` → ``"Giấy chứng nhận kết hôn"``;
- UI strings have the Vietnamese text as msgid: ``gettext("Hồ sơ", "en")`` → ``"Dossiers"``;
- dates are ``dd/mm/yyyy``, times are Vietnam time (+07:00): :func:`fmt_date`, :func:`fmt_time`.
"""
from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import re
import threading
from pathlib import Path

from vocab.clock import local
from vocab.errors import Invalid

__all__ = ["LOCALES", "DEFAULT_LOCALE", "translations", "label", "has_label", "gettext", "fmt_date", "parse_date",
           "fmt_time", "fmt_datetime", "reason_code", "reason_label", "KINDS"]

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
KINDS = ("doc_type", "status", "state", "origin", "routed_by", "channel", "quality", "role", "field", "flag",
         "component_state", "exempt_reason", "identity",
         "refusal", "cert_status", "reason", "error", "action")
_DIR = Path(__file__).with_name("locale")
_lock = threading.Lock()
_cache: dict[str, _gettext.NullTranslations] = {}


def _compile(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po, "rb") as fh:
        catalog = read_po(fh)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _load(locale: str) -> _gettext.GNUTranslations:
    po = _DIR / locale / "LC_MESSAGES" / "sohoa.po"
    mo = po.with_suffix(".mo")
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        return _gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    data = _compile(po)
    try:  # keep it next to the .po for the next process; fine if the package is read-only
        tmp = mo.with_suffix(".mo.part")
        tmp.write_bytes(data)
        tmp.replace(mo)
    except OSError:
        pass
    return _gettext.GNUTranslations(io.BytesIO(data))


def translations(locale: str = DEFAULT_LOCALE) -> _gettext.NullTranslations:
    """The compiled catalogue of ``locale``; other locales fall back to Vietnamese."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    with _lock:
        if not _cache:
            _cache[DEFAULT_LOCALE] = _load(DEFAULT_LOCALE)
        t = _cache.get(locale)
        if t is None:
            t = _cache[locale] = _load(locale)
            t.add_fallback(_cache[DEFAULT_LOCALE])
        return t


def _raw(t, kind: str, code: str) -> str | None:
    v = getattr(t, "_catalog", {}).get(f"{kind}\x04{code}")
    if v is None and getattr(t, "_fallback", None) is not None:
        return _raw(t._fallback, kind, code)
    return v or None


def has_label(kind: str, code: str, locale: str = DEFAULT_LOCALE) -> bool:
    return _raw(translations(locale), kind, str(code)) is not None


def label(kind: str, code: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """The name people read for a vocabulary code; an unknown code is shown readably, never raw
    (``ho_ten_cha`` → ``Ho ten cha``), so a new field OCR reads is still presentable."""
    if code is None or code == "":
        return "—"
    code = str(code)
    v = _raw(translations(locale), kind, code)
    if v is not None:
        return v
    return code.replace("_", " ").strip().capitalize()


def gettext(message: str, locale: str = DEFAULT_LOCALE) -> str:
    return translations(locale).gettext(message)


def fmt_date(d: dt.date | dt.datetime | str | None) -> str:
    """``dd/mm/yyyy`` (a datetime is first put on Vietnam time)."""
    if d is None or d == "":
        return "—"
    if isinstance(d, str):
        d = dt.datetime.fromisoformat(d) if "T" in d or " " in d else dt.date.fromisoformat(d)
    if isinstance(d, dt.datetime):
        d = local(d)
    return d.strftime("%d/%m/%Y")


def parse_date(text: str | None) -> dt.date | None:
    """A date people type, ``dd/mm/yyyy`` (or ``yyyy-mm-dd``); None when empty."""
    v = (text or "").strip()
    if not v:
        return None
    for f in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(v, f).date()
        except ValueError:
            pass
    raise Invalid(f"Ngày «{v}» không đúng dạng dd/mm/yyyy.")


def fmt_time(t: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """``dd/mm/yyyy HH:MM (+07:00)``: Vietnam time, with its offset said once."""
    if t is None or t == "":
        return "—"
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    t = local(t)
    return t.strftime("%d/%m/%Y %H:%M" + (":%S" if seconds else "")) + " (+07:00)"


def fmt_datetime(t: dt.datetime | str | None) -> str:
    """Like :func:`fmt_time` without the offset, for dense tables whose heading states it."""
    if t is None or t == "":
        return "—"
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return local(t).strftime("%d/%m/%Y %H:%M")


# -- quarantine reasons: the journal keeps the technical text; people read a reason by its code --
_REASONS = [
    ("symlink", r"symbolic link"), ("not_regular", r"not a regular file"),
    ("bad_name", r"not valid UTF-8|control characters"), ("unsupported_type", r"unsupported file type"),
    ("empty", r"empty file|has no pixels"), ("encrypted", r"encrypted"),
    ("type_mismatch", r"content is .* but the extension|does not match"),
    ("too_large", r"too large|decompression bomb"), ("no_pages", r"has no pages"),
    ("corrupt_pdf", r"PDF"), ("bad_image", r"image|PNG|frame"),
    ("duplicate", r"same content as"), ("gave_up", r"gave up after"), ("vanished", r"vanished"),
    ("bad_page", r"^page \d+:|cannot decode page"), ("unreadable", r"cannot read file"),
]
_REASON_RES = [(code, re.compile(p, re.I)) for code, p in _REASONS]


def reason_code(text: str | None) -> str:
    """The reason code of a journal error text (``"empty file (0 bytes)"`` → ``"empty"``)."""
    t = text or ""
    if t.startswith("gave up after"):
        return "gave_up"
    for code, rx in _REASON_RES:
        if rx.search(t):
            return code
    return "other"


def reason_label(text: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """What a clerk reads for a quarantine reason. The journal keeps the ingest catalogue's sentence
    first (Vietnamese, with what to do) and the technical detail after a blank line: the sentence is
    shown as it is; an older, technical-only text is named by its code."""
    first = (text or "").split("\n\n", 1)[0].strip()
    if locale == DEFAULT_LOCALE and first and not first.isascii():
        return first
    return label("reason", reason_code(text), locale)
