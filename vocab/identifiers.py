"""Structure checks of the identifiers a document carries, and the dates it prints.

Personal ID number (số định danh cá nhân, Decree 137/2015 Art. 7; the product spec's document taxonomy): 12 digits =
3-digit province code of the birth registration (the official list in
``vocab/data/province_codes.json``) + 1 digit for century and sex (0/1 male/female born
1900–1999, 2/3 2000–2099, 4/5 2100–2199, 6/7 2200–2299, 8/9 2300–2399) + the last 2 digits of the
birth year + 6 digits.

Tax code (mã số thuế): 10 digits, or 10 digits and a 3-digit branch ``-NNN`` (also written as 13
digits without the dash).

Dates are written ``dd/mm/yyyy`` and must be real calendar days.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from importlib import resources

from vocab.text import fold

__all__ = ["ascii_digits", "clean_identifier", "province_codes", "province_name", "pid_problems", "is_pid",
           "subject_kind", "birth_year_of_pid", "sex_of_pid",
           "tax_code_problems", "date_problems", "parse_date", "field_problems", "PROBLEM_MESSAGES",
           "PID_FIELDS", "TAX_FIELDS", "EXPIRY_FIELDS", "PERMANENT_WORDS", "PID_PATTERN", "SUBJECT_PATTERN",
           "card_expiry_dates", "card_expiry_by_law", "NO_EXPIRY"]

# field names (the product spec's document taxonomy and the document metadata) and the check each one gets
PID_FIELDS = ("so_dinh_danh", "so_dinh_danh_chong", "so_dinh_danh_vo")
TAX_FIELDS = ("ma_so_thue", "ma_so_doanh_nghiep")
DATE_SUFFIXES = ("ngay_",)  # ngay_sinh, ngay_het_han, ngay_chet, ngay_cap, ngay_ban_hanh, …
DATE_FIELDS = ("hieu_luc_den", "co_gia_tri_den")
EXPIRY_FIELDS = ("ngay_het_han", "co_gia_tri_den", "hieu_luc_den")  # a date, or "không thời hạn" / "vĩnh viễn"

PID_PATTERN = r"[0-9]{12}"  # the one rule of a personal ID number's shape: ASCII digits (never \d)
# a subject's identifier: a personal ID number, or a tax code (a branch with its dash)
SUBJECT_PATTERN = rf"^(?:{PID_PATTERN}|[0-9]{{10}}(?:-[0-9]{{3}})?)$"
_PID = re.compile(rf"^{PID_PATTERN}$")
_SUBJECT_TAX = re.compile(r"^[0-9]{10}(?:-[0-9]{3})?$")
_TAX = re.compile(r"^[0-9]{10}(?:-?[0-9]{3})?$")  # as printed on a document: the branch's dash may be left out
_DATE = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")
_ANY_DIGIT = re.compile(r"\d")  # every Unicode decimal digit (full-width, Arabic-Indic, Devanagari, …)


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script written as its ASCII digit: ``００１`` and
    ``٠٠١`` become ``001``. Identifiers are ASCII digits; this is the one place other digits are
    turned into them (web, API, CLI and OCR all pass through it)."""
    if not text or text.isascii():
        return text or ""
    import unicodedata

    return _ANY_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), unicodedata.normalize("NFKC", text))


def clean_identifier(value: str | None) -> str:
    """A personal ID number or tax code as typed, scanned or sent: stripped, with look-alike digits
    normalised to ASCII (then checked by the ``[0-9]`` rules here, never by ``\\d``)."""
    return ascii_digits((value or "").strip()).strip()

PROBLEM_MESSAGES = {
    "pid_format": "số định danh cá nhân phải gồm đúng 12 chữ số",
    "pid_province": "3 chữ số đầu không phải mã tỉnh, thành phố nào trong danh mục chính thức",
    "pid_dob_mismatch": "chữ số thế kỷ và năm sinh trong số định danh không khớp với ngày sinh",
    "pid_sex_mismatch": "chữ số giới tính trong số định danh không khớp với giới tính",
    "pid_future": "năm sinh suy ra từ số định danh ở tương lai",
    "tax_format": "mã số thuế gồm 10 chữ số, hoặc 10 chữ số và mã chi nhánh -NNN (13 chữ số)",
    "date_format": "ngày phải viết dạng dd/mm/yyyy",
    "date_invalid": "không có ngày này trong lịch",
}


@lru_cache(maxsize=1)
def _provinces() -> dict[str, str]:
    data = json.loads(resources.files("vocab").joinpath("data/province_codes.json").read_text("utf-8"))
    return dict(data["codes"])


def province_codes() -> frozenset[str]:
    """The official 3-digit province codes of personal ID numbers."""
    return frozenset(_provinces())


def province_name(pid: str) -> str | None:
    return _provinces().get((pid or "")[:3])


def is_pid(value: str) -> bool:
    """Has ``value`` the shape of a personal ID number (12 digits)? (:func:`pid_problems` checks it.)"""
    return bool(_PID.match(value or ""))


def subject_kind(identifier: str) -> str | None:
    """``citizen`` for a personal ID number, ``organisation`` for a tax code (10 digits, a branch
    as ``-NNN``), None for anything else."""
    if _PID.match(identifier or ""):
        return "citizen"
    if _SUBJECT_TAX.match(identifier or ""):
        return "organisation"
    return None


def birth_year_of_pid(pid: str) -> int:
    """The birth year a well-formed personal ID number encodes (century digit + two year digits)."""
    return 1900 + 100 * (int(pid[3]) // 2) + int(pid[4:6])


def sex_of_pid(pid: str) -> str:
    """'Nam' or 'Nữ', from the century/sex digit (even = male, odd = female)."""
    return "Nam" if int(pid[3]) % 2 == 0 else "Nữ"


def parse_date(value: str | None) -> dt.date | None:
    """A ``dd/mm/yyyy`` date, or None when the text is not one (or not a real day)."""
    m = _DATE.match((value or "").strip())
    if not m:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def date_problems(value: str) -> list[str]:
    v = (value or "").strip()
    m = _DATE.match(v)
    if not m:
        return ["date_format"]
    return [] if parse_date(v) else ["date_invalid"]


def _sex_key(sex: str | None) -> str | None:
    f = fold(sex or "")
    if f in ("nam", "male", "m"):
        return "Nam"
    if f in ("nu", "female", "f"):
        return "Nữ"
    return None


def pid_problems(pid: str, *, birth_date: str | dt.date | None = None, sex: str | None = None,
                 today: dt.date | None = None) -> list[str]:
    """Problems with a personal ID number (empty list = well formed and consistent)."""
    p = (pid or "").strip()
    if not _PID.match(p):  # ASCII digits only: callers normalise with clean_identifier first
        return ["pid_format"]
    problems = []
    if p[:3] not in _provinces():
        problems.append("pid_province")
    year = birth_year_of_pid(p)
    if year > (today or dt.date.today()).year:
        problems.append("pid_future")
    born = birth_date if isinstance(birth_date, dt.date) else parse_date(birth_date) if birth_date else None
    if born is None and isinstance(birth_date, str):  # a year alone ("Năm sinh: 1988")
        m = re.search(r"([0-9]{4})\s*$", birth_date.strip())
        born_year = int(m.group(1)) if m else None
    else:
        born_year = born.year if born else None
    if born_year is not None and born_year != year:
        problems.append("pid_dob_mismatch")
    s = _sex_key(sex)
    if s is not None and s != sex_of_pid(p):
        problems.append("pid_sex_mismatch")
    return problems


def tax_code_problems(code: str) -> list[str]:
    return [] if _TAX.match((code or "").strip()) else ["tax_format"]


def is_date_field(name: str) -> bool:
    return name.startswith(DATE_SUFFIXES) or name in DATE_FIELDS


def field_problems(fields: dict[str, str], names: list[str] | None = None) -> dict[str, list[str]]:
    """Problems per field for ``names`` (default: every field) of a document's fields, each checked
    by its kind: personal ID numbers (structure, and against ``ngay_sinh`` / ``gioi_tinh`` of the
    same document), tax codes, dates. Fields of other kinds are free text."""
    out: dict[str, list[str]] = {}
    for name in names if names is not None else list(fields):
        value = (fields.get(name) or "").strip()
        if not value:
            continue
        if name in PID_FIELDS:
            own = name == "so_dinh_danh"
            probs = pid_problems(value, birth_date=fields.get("ngay_sinh") if own else None,
                                 sex=fields.get("gioi_tinh") if own else None)
        elif name in TAX_FIELDS:
            probs = tax_code_problems(value)
        elif is_date_field(name) and not (name in EXPIRY_FIELDS and fold(value) in PERMANENT_WORDS):
            probs = date_problems(value)
        else:
            probs = []
        if probs:
            out[name] = probs
    return out


PERMANENT_WORDS = ("vinh vien", "khong thoi han", "lau dai")


# ---- an ID card's expiry, by law
# Luật Căn cước công dân 2014 Art. 21 and Luật Căn cước 2023 Art. 21: a card is renewed when its
# holder turns 25, 40 and 60 (and, for cards issued from 1 July 2024, 14); a card issued in the two
# years before one of those ages stays valid until the next; one issued from 58 on has no expiry.
# So the expiry printed on a card is the holder's birthday at one of those ages, or "Không thời hạn".
CARD_RENEWAL_AGES = (25, 40, 60)
CARD_RENEWAL_AGES_2024 = (14, 25, 40, 60)
CARD_LAW_2024 = dt.date(2024, 7, 1)
NO_EXPIRY = "Không thời hạn"


def _birthday(born: dt.date, age: int) -> dt.date | None:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # born on 29 February: the card's printed day is not certain
        return None


def card_expiry_dates(birth_date: str) -> list[str]:
    """Every expiry an ID card of a holder born on ``birth_date`` (dd/mm/yyyy) can print: the
    birthdays at the renewal ages of either law, youngest first. Empty when the date is no date."""
    born = parse_date(birth_date)
    if born is None:
        return []
    days = (_birthday(born, a) for a in CARD_RENEWAL_AGES_2024)
    return [d.strftime("%d/%m/%Y") for d in days if d is not None]


def card_expiry_by_law(birth_date: str, issued: str) -> str | None:
    """The expiry of an ID card issued on ``issued`` to a holder born on ``birth_date`` (both
    dd/mm/yyyy): a date, ``NO_EXPIRY``, or None when either date is no date or the birthday is
    29 February."""
    born, on = parse_date(birth_date), parse_date(issued)
    if born is None or on is None or on < born:
        return None
    for age in CARD_RENEWAL_AGES_2024 if on >= CARD_LAW_2024 else CARD_RENEWAL_AGES:
        day = _birthday(born, age)
        if day is None:
            return None
        two_before = _birthday(born, age - 2)
        if two_before is None:
            return None
        if on < two_before:
            return day.strftime("%d/%m/%Y")
    return NO_EXPIRY
