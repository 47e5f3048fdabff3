"""The machine-readable zone on the back of a chip ID card (ICAO 9303 TD1: three lines of 30
characters from ``0-9 A-Z <``), parsed with its check digits.

Vietnamese cards (CCCD 2021, Căn cước 2024) print, per ICAO 9303 part 5::

    IDVNM<doc number 9><check><12-digit personal ID><<<check>   line 1 (optional data: the ID)
    <birth YYMMDD><check><sex M/F><expiry YYMMDD><check>VNM<<<<<<<<<<<composite check>
    SURNAME<<GIVEN<NAMES<<<<<<<<<<                                              (no diacritics)

OCR of the zone confuses letters and digits (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G) and reads the filler
``<`` as K, C or «: digit positions are mapped back to digits, and where a check digit still fails,
single common confusions are tried until it passes. A zone is accepted only when the birth date,
the expiry and the composite check digits pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from vocab.identifiers import is_pid

__all__ = ["Mrz", "check_digit", "parse_td1", "find_td1", "CHARSET"]

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
_W = (7, 3, 1)
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2", "B": "8", "S": "5",
             "G": "6", "A": "4", "<": "0", "K": "0", "C": "0", "E": "3"}
_TO_ALPHA = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A"}
# digits OCR mistakes for each other on OCR-B print (tried when a check digit fails)
_DIGIT_SLIPS = {"0": "86", "8": "0693", "6": "085", "3": "8", "9": "8", "5": "6", "1": "7", "7": "1", "2": "7"}


def _val(c: str) -> int:
    if c.isdigit():
        return int(c)
    if "A" <= c <= "Z":
        return ord(c) - 55
    return 0  # '<'


def check_digit(s: str) -> str:
    return str(sum(_val(c) * _W[i % 3] for i, c in enumerate(s)) % 10)


@dataclass(frozen=True)
class Mrz:
    doc_code: str
    country: str
    doc_number: str  # the 9 characters of the document number field
    personal_id: str  # 12-digit ID from the optional data ('' when absent)
    birth: str  # YYMMDD
    sex: str  # 'Nam' | 'Nữ' | ''
    expiry: str  # YYMMDD
    nationality: str
    surname: str
    given: str
    lines: tuple[str, str, str]
    composite_ok: bool = True  # False: the composite check digit was not read (see parse_td1)

    @property
    def name(self) -> str:
        return " ".join((self.surname + " " + self.given).split())

    def birth_date(self) -> str:
        """dd/mm/yyyy; the century from the personal ID's century digit when there is one."""
        yy, mm, dd = int(self.birth[:2]), self.birth[2:4], self.birth[4:6]
        if is_pid(self.personal_id):
            century = 1900 + 100 * (int(self.personal_id[3]) // 2)
        else:
            import datetime

            century = 2000 if yy <= datetime.date.today().year % 100 else 1900
        return f"{dd}/{mm}/{century + yy:04d}"

    def expiry_date(self) -> str:
        yy, mm, dd = int(self.expiry[:2]), self.expiry[2:4], self.expiry[4:6]
        return f"{dd}/{mm}/{2000 + yy:04d}"


def _clean_line(s: str) -> str:
    s = s.upper().replace(" ", "")
    s = re.sub(r"[«‹<(\[{]", "<", s)
    return "".join(c if c in CHARSET else "<" for c in s)


def _digits(s: str) -> str:
    return "".join(c if c.isdigit() else _TO_DIGIT.get(c, c) for c in s)


def _fix(field: str, check: str) -> str | None:
    """``field`` (digits) so that its check digit is ``check``: as read, or with one common slip."""
    if not check.isdigit():
        return None
    if check_digit(field) == check:
        return field
    hits = []
    for i, c in enumerate(field):
        for alt in _DIGIT_SLIPS.get(c, ""):
            cand = field[:i] + alt + field[i + 1:]
            if check_digit(cand) == check:
                hits.append(cand)
    return hits[0] if len(hits) == 1 else None


def _line1(s: str) -> str:
    """Line 1 to 30 characters: OCR drops or adds fillers at its end (Vietnamese cards end the
    optional data with fillers)."""
    s = _clean_line(s)
    return s[:30] if len(s) >= 30 and not s[30:].strip("<") else s.rstrip("<")[:30].ljust(30, "<")


def _line2(s: str) -> str:
    """Line 2 to 30 characters: dates, sex, nationality (18 characters), the optional data,
    and the composite check digit last; a miscounted run of fillers is recounted."""
    s = _clean_line(s)
    comp = s[-1] if s and (s[-1].isdigit() or s[-1] in _TO_DIGIT and s[-1] != "<") else "<"
    body = s[:-1] if comp != "<" else s
    head = body.rstrip("<")
    if len(head) <= 18:
        return head.ljust(29, "<")[:29] + comp
    return body.ljust(29, "<")[:29] + comp


def _date_ok(yymmdd: str) -> bool:
    return bool(re.fullmatch(r"\d{6}", yymmdd)) and 1 <= int(yymmdd[2:4]) <= 12 and 1 <= int(yymmdd[4:6]) <= 31


def parse_td1(l1: str, l2: str, l3: str) -> Mrz | None:
    """The zone's data when every check digit that guards it passes (after repair), else None."""
    l1, l2, l3 = _line1(l1), _line2(l2), _clean_line(l3)[:30].ljust(30, "<")
    code = ("I" if l1[0] in "I1LT" else l1[0]) + l1[1].replace("0", "D").replace("O", "D")
    country = "".join(_TO_ALPHA.get(c, c) for c in l1[2:5])
    if code[0] not in "IAC":
        return None
    docnum = l1[5:14]
    doc_check = _digits(l1[14])
    opt1 = l1[15:30]
    birth = _fix(_digits(l2[0:6]), _digits(l2[6]))
    expiry = _fix(_digits(l2[8:14]), _digits(l2[14]))
    if birth is None or expiry is None or not (_date_ok(birth) and _date_ok(expiry)):
        return None
    sex = {"M": "Nam", "F": "Nữ"}.get(l2[7], "")
    nat = "".join(_TO_ALPHA.get(c, c) for c in l2[15:18])
    # the document number of Vietnamese cards is digits; the optional data starts with the ID
    if check_digit(docnum) == doc_check:
        dn_fixed: str | None = docnum
    else:
        dn = _digits(docnum) if sum(c.isdigit() for c in docnum) >= 6 else docnum
        dn_fixed = _fix(dn, doc_check) if dn.isdigit() else None
    if dn_fixed is None:
        return None
    m = re.match(r"([0-9OQDIZBSG]{12})", opt1)
    pid = _digits(m.group(1)) if m else ""
    composite = "<" if l2[29] == "<" else _digits(l2[29])
    body = lambda dnv, pv: dnv + doc_check + (pv + opt1[len(pv):] if pv else opt1) + birth + _digits(l2[6]) \
        + expiry + _digits(l2[14]) + l2[18:29]
    ok = partial = False
    for pv in ([pid] if pid else [""]):
        if check_digit(body(dn_fixed, pv)) == composite:
            ok = True
            break
    if not ok and pid:  # one slip in the ID itself, caught by the composite check
        cands = []
        for i, c in enumerate(pid):
            for alt in _DIGIT_SLIPS.get(c, ""):
                pv = pid[:i] + alt + pid[i + 1:]
                if check_digit(body(dn_fixed, pv)) == composite:
                    cands.append(pv)
        if len(cands) == 1:
            pid, ok = cands[0], True
    if not ok and composite == "<" and pid:
        # the composite digit lost (glare, the card's edge): the ID is still bound by the
        # document number's check (its last nine digits) and by the birth year (digits 4-6)
        from vocab.identifiers import province_codes

        yy_ok = pid[4:6] == birth[:2] and pid[:3] in province_codes()
        ok = yy_ok and pid.endswith(dn_fixed)
        partial = True
    if not ok:
        return None
    if pid and dn_fixed.isdigit() and not pid.endswith(dn_fixed):
        return None  # a Vietnamese card's document number is the ID's last nine digits
    names = l3.strip("<").split("<<", 1)
    surname = names[0].replace("<", " ").strip()
    given = names[1].replace("<", " ").strip() if len(names) > 1 else ""
    surname, given = (re.sub(r"[^A-Z ]", "", x) for x in (surname, given))
    return Mrz(doc_code=code, country=country, doc_number=dn_fixed, personal_id=pid, birth=birth, sex=sex,
               expiry=expiry, nationality=nat, surname=surname, given=given, lines=(l1, l2, l3),
               composite_ok=not partial)


def _mrz_like(line: str) -> bool:
    s = _clean_line(line)
    return 12 <= len(s) <= 40 and (s.count("<") >= 2 or bool(re.match(r"[I1T][DO0<]?VNM", s)))


def find_td1(text: str) -> Mrz | None:
    """A TD1 zone in OCR text: consecutive MRZ-like lines are tried as lines 1-2-3 (the name
    line may be missing: the checked data does not need it)."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    cand = [_clean_line(ln) for ln in lines if _mrz_like(ln)]
    for i in range(len(cand) - 1):
        if len(cand[i]) < 24 or len(cand[i + 1]) < 20:
            continue
        m = parse_td1(cand[i], cand[i + 1], cand[i + 2] if i + 2 < len(cand) else "")
        if m is not None:
            return m
    return None
