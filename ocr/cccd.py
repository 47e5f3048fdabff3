"""The QR code on the front of a chip ID card (căn cước công dân gắn chip / căn cước), read as
ground truth for the card's fields.

Payload layout (fields separated by ``|``)::

    <ID number>|<old ID number, may be empty>|<full name>|<ddmmyyyy birth>|<sex>|<residence>|<ddmmyyyy issue>

Cards issued later may append fields; they are ignored. The QR holds no expiry: the card's
expiry follows by law from its birth and issue dates (``vocab.identifiers.card_expiry_by_law``)
and is given with the QR's fields, at full confidence when the text read the same date, else at
``EXPIRY_BY_LAW_CONF``. :func:`apply_cccd_qr` puts the fields
the QR holds over what OCR read (confidence 1): a field OCR read differently is flagged
``qr_mismatch`` (an OCR misread, or a card whose print and QR disagree: a person should look),
and the document is typed ``cccd``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from ocr.types import FIELD_REVIEW_BELOW, DocumentResult, Field
from vocab.identifiers import card_expiry_by_law, is_pid

__all__ = ["CccdQr", "parse_cccd_qr", "find_cccd_qr", "apply_cccd_qr", "QR_MISMATCH"]

QR_MISMATCH = "qr_mismatch"
ZONE_MISMATCH = "zone_mismatch"  # the QR and the MRZ disagree
EXPIRY_BY_LAW_CONF = 0.9  # the expiry the QR's checked dates give by law, which no read confirmed
_OLD_ID = re.compile(r"^(\d{9}|\d{12})?$")
_DDMMYYYY = re.compile(r"^(\d{2})(\d{2})(\d{4})$")


@dataclass(frozen=True)
class CccdQr:
    so_dinh_danh: str
    so_cmnd: str  # old ID number (9 or 12 digits), "" when the card has none
    ho_ten: str
    ngay_sinh: str  # dd/mm/yyyy
    gioi_tinh: str  # Nam | Nữ
    noi_thuong_tru: str
    ngay_cap: str  # dd/mm/yyyy

    def fields(self) -> dict[str, str]:
        """The card's fields under the names of the product spec's document taxonomy (empty ones left out)."""
        return {k: v for k, v in vars(self).items() if v}


def _date(s: str) -> str | None:
    m = _DDMMYYYY.match(s.strip())
    if not m:
        return None
    d, mo, y = (int(x) for x in m.groups())
    if not (1 <= d <= 31 and 1 <= mo <= 12 and 1900 <= y <= 2100):
        return None
    return f"{d:02d}/{mo:02d}/{y:04d}"


def _sex(s: str) -> str | None:
    t = unicodedata.normalize("NFC", s.strip()).lower()
    return {"nam": "Nam", "nữ": "Nữ", "nu": "Nữ", "male": "Nam", "female": "Nữ"}.get(t)


def parse_cccd_qr(payload: str) -> CccdQr | None:
    """The card's fields, or None when ``payload`` is not a chip ID card's QR."""
    parts = unicodedata.normalize("NFC", payload or "").strip().split("|")
    if len(parts) < 7:
        return None
    pid, old, name, birth, sex, residence, issue = (p.strip() for p in parts[:7])
    birth_d, issue_d, sex_n = _date(birth), _date(issue), _sex(sex)
    if not (is_pid(pid) and _OLD_ID.match(old) and name and birth_d and issue_d and sex_n):
        return None
    return CccdQr(so_dinh_danh=pid, so_cmnd=old, ho_ten=" ".join(name.split()), ngay_sinh=birth_d,
                  gioi_tinh=sex_n, noi_thuong_tru=" ".join(residence.split()), ngay_cap=issue_d)


def find_cccd_qr(payloads: list[str]) -> CccdQr | None:
    for p in payloads:
        card = parse_cccd_qr(p)
        if card is not None:
            return card
    return None


def _key(name: str, value: str) -> str:
    v = unicodedata.normalize("NFD", value or "")
    v = "".join(ch for ch in v if unicodedata.category(ch) != "Mn").replace("đ", "d").replace("Đ", "D")
    if name in ("so_dinh_danh", "so_cmnd", "ngay_sinh", "ngay_cap", "ngay_het_han") and re.search(r"\d", v):
        return re.sub(r"\D", "", v)
    return " ".join(v.lower().split())


def _overlay(fields: dict[str, Field], values: dict[str, tuple[str, float]], source: str) -> bool:
    """Put ``values`` over ``fields`` (in place) with their source; a field read differently
    before is flagged. Returns whether any was."""
    mismatch = False
    for name, (value, conf) in values.items():
        read = fields.get(name)
        if read is not None and read.source in ("qr", "mrz") and _key(name, read.value) == _key(name, value):
            continue  # the other zone said the same
        # (a value the text only guessed, below the review line, is replaced without a mismatch)
        differs = read is not None and _key(name, read.value) != _key(name, value) and \
            (read.source in ("qr", "mrz") or read.confidence >= FIELD_REVIEW_BELOW)
        mismatch |= differs
        if differs and read.source in ("qr", "mrz"):
            fields[name] = replace(read, flags=tuple(dict.fromkeys(read.flags + (ZONE_MISMATCH,))))
            continue
        fields[name] = Field(value=value, confidence=conf, flags=(QR_MISMATCH,) if differs else (), source=source)
    return mismatch


def mrz_values(zone_text: str, fields: dict[str, Field]) -> dict[str, tuple[str, float]]:
    """A checked TD1 zone as card fields. The zone spells the name without diacritics: the name
    read from the front is kept (at full confidence) when it is the same letters, else the zone's
    spelling is given at lower confidence."""
    from ocr.mrz import parse_td1

    zone = parse_td1(*zone_text.splitlines()[:3])
    if zone is None:
        return {}
    out: dict[str, tuple[str, float]] = {"ngay_sinh": (zone.birth_date(), 1.0),
                                         "ngay_het_han": (zone.expiry_date(), 1.0)}
    if zone.personal_id:
        out["so_dinh_danh"] = (zone.personal_id, 1.0 if zone.composite_ok else 0.95)
    if zone.sex:
        out["gioi_tinh"] = (zone.sex, 1.0)
    if zone.name:
        read = fields.get("ho_ten")
        if read is not None and _key("ho_ten", read.value) == _key("ho_ten", zone.name):
            out["ho_ten"] = (read.value, 1.0)
        else:
            out["ho_ten"] = (zone.name, 0.8)
    return out


def apply_cccd_qr(result: DocumentResult) -> DocumentResult:
    """``result`` with the fields of the card's machine-readable zones put over the OCR fields:
    a chip card's QR (front) and an ICAO TD1 MRZ (back) whose check digits pass. Unchanged when
    no page carries either."""
    card = find_cccd_qr([q for p in result.pages for q in p.qr])
    zones = [p.mrz for p in result.pages if getattr(p, "mrz", "")]
    if card is None and not zones:
        return result
    fields = dict(result.fields)
    mismatch = False
    qr_names: set[str] = set()
    if card is not None:
        vals = {k: (v, 1.0) for k, v in card.fields().items()}
        due = card_expiry_by_law(card.ngay_sinh, card.ngay_cap)
        if due and not zones:  # the back's zone prints the expiry itself
            read = fields.get("ngay_het_han")
            same = read is not None and _key("ngay_het_han", read.value) == _key("ngay_het_han", due)
            vals["ngay_het_han"] = (due, 1.0 if same else EXPIRY_BY_LAW_CONF)
        qr_names = set(vals)
        mismatch |= _overlay(fields, vals, "qr")
    for z in zones:
        vals = mrz_values(z, fields)
        qr_names |= set(vals)
        mismatch |= _overlay(fields, vals, "mrz")
    others = any(f.flags for k, f in fields.items() if k not in qr_names)
    # the checked zone gives the card's key fields: a weak read of the rest of the page does not
    # make them doubtful
    pages_ok = all(p.quality != "review" for p in result.pages) or {"so_dinh_danh", "ngay_sinh"} <= qr_names
    quality = "review" if (mismatch or others or not pages_ok) else "ok"
    return replace(result, doc_type="cccd", confidence=max(result.confidence, 0.99), fields=fields, quality=quality)
