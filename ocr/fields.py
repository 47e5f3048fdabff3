"""Key fields per document type (the product spec's document taxonomy), found by their labels (many
wordings, bilingual), matched on a diacritic-free fold; values are cut from the NFC original."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ocr.language import is_syllable
from ocr.names import SURNAMES, is_name_syllable, repair_name
from ocr.phrases import FIXED_LINES
from ocr.textutil import DIGIT_LOOKALIKES, as_digits, fold_keep, nfc, repair_digits, title_case, upper_ratio
from ocr.types import Field
from vocab.identifiers import (NO_EXPIRY, ascii_digits, birth_year_of_pid, card_expiry_dates, is_pid,
                               pid_problems)

FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "cccd": ("so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_het_han", "so_cmnd"),
    "khai_sinh": ("ho_ten", "ngay_sinh", "so_dinh_danh", "so"),
    "ket_hon": ("ho_ten_chong", "ho_ten_vo", "so_dinh_danh_chong", "so_dinh_danh_vo", "so"),
    "xac_nhan_hon_nhan": ("ho_ten", "so_dinh_danh", "ngay_sinh"),
    "khai_tu": ("ho_ten", "so_dinh_danh", "ngay_chet"),
    "gcn_qsdd": ("so_phat_hanh", "ho_ten", "so_dinh_danh", "thua_dat_so", "to_ban_do_so"),
    "to_khai": ("ho_ten", "so_dinh_danh"),
    "bang_tot_nghiep": ("ho_ten", "ngay_sinh", "so_hieu"),
    "giay_phep_lai_xe": ("so", "ho_ten", "ngay_sinh", "hang"),
    "dang_ky_ho_kinh_doanh": ("ma_so_ho_kinh_doanh", "ho_ten", "so_dinh_danh"),
    "van_ban": ("so_ky_hieu", "ngay_ban_hanh", "co_quan_ban_hanh", "trich_yeu"),
    "khac": (),
}


# --------------------------------------------------------------------------- value parsers

_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")
# a month whose two digits the OCR set apart ("06/1 1/1966": wide "1"s): nothing else reads there
_SPLIT_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d \d)\s*[/.\-]\s*(\d{4})(?!\d)")
_DATE_WORDS = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*,?\s*nam\s*(\d{4})")


def _valid_date(d: int, m: int, y: int) -> bool:
    """A day of the calendar (no 31 February) between 1850 and 2100."""
    if not 1850 <= y <= 2100:
        return False
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _date_text(d: int, m: int, y: int) -> str | None:
    """dd/mm/yyyy when the numbers make a day of the calendar (``_valid_date``); else None."""
    return f"{d:02d}/{m:02d}/{y:04d}" if _valid_date(d, m, y) else None


_DATEISH = re.compile(r"(?<![\w|])[\dOoIl|]{1,2}\s*[/.\-]\s*[\dOoIl|]{1,2}\s*[/.\-]\s*[\dOoIl|]{4}(?![\w|])")
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


def _digit_lookalikes(s: str) -> str:
    """``s`` with O, o, I, l and | read as digits inside a date-shaped run ("l2/03/2028",
    "12/O3/2O28", "ll/03/2028"); the same length, so positions still hold."""
    return _DATEISH.sub(lambda m: m.group(0).translate(_LOOKALIKE), s)


def parse_date(s: str) -> tuple[str, int] | None:
    """First date in ``s`` as dd/mm/yyyy, and its position."""
    best = None
    f = fold_keep(s)
    fixed = _digit_lookalikes(s)
    # the date as printed, and as read with its look-alike letters made digits: the earlier wins
    # ("l2/03/2028" is the 12th, not "2/03/2028"; a table rule "|" beside a date changes nothing)
    for rx, src in ((_DATE_NUM, fixed), (_DATE_NUM, s), (_DATE_WORDS, f), (_SPLIT_MONTH, fixed)):
        for m in rx.finditer(src):
            d, mo, y = int(m.group(1)), int(m.group(2).replace(" ", "")), int(m.group(3))
            if _valid_date(d, mo, y):
                if best is None or m.start() < best[1]:
                    best = (f"{d:02d}/{mo:02d}/{y:04d}", m.start())
                break
    return best


_PID_RUN = re.compile(r"(?<![\dA-Za-z])([0-9OoIlSB|][0-9OoIlSB| .]{10,18}[0-9OoIlSB|])(?![\dA-Za-z])")


def find_pids(s: str) -> list[tuple[str, int]]:
    out = []
    # (a run glued to more digits by a slash is a read of noise or of another number, not an ID)
    for m in re.finditer(r"(?<!\d)(?<!\d/)(\d[\d .]{10,17}\d)(?!\d|/\d)", s):
        raw = m.group(1)
        d = re.sub(r"[ .]", "", raw)
        if len(d) == 12 and (" " not in raw or all(len(g) in (3, 4, 6) for g in re.split(r"[ .]", raw))):
            out.append((d, m.start()))
    if out:
        return out
    for m in re.finditer(r"(?<![\w])(?<!\d/)([0-9OoIlSB|]{12})(?![\w]|/\d)", s):
        d = repair_digits(m.group(1))
        if is_pid(d) and sum(c.isdigit() for c in m.group(1)) >= 9:
            out.append((d, m.start()))
    return out


# --------------------------------------------------------------------------- labels

NAME_LABEL = re.compile(
    r"(?<![a-z])(ho[,.;]?\s*(?:va\s*)?chu\s*dem[,.;]?\s*(?:va\s*)?ten|ho\s*va\s*ten|ho\s*,?\s*ten|ho\s*ten|"
    r"full\s*name|surname\s*and\s*given\s*name|ten\s*day\s*du)(?![a-z])")
STOP_AFTER_NAME = re.compile(
    r"\s(nam sinh|sinh nam|ngay sinh|sinh ngay|ngay, thang|gioi tinh|dan toc|quoc tich|so dinh danh|cccd|cmnd|"
    r"date of|sex|nationality|noi sinh|noi cu tru|que quan)\b|[,;(]|\s{3,}| - | / ")
_ENG_QUAL = re.compile(r"^[\s/()]*(?:full\s*name|name|ho ten)?[\s/()]*$")


def _lines(text: str) -> list[str]:
    return [nfc(ln).strip() for ln in (text or "").splitlines() if ln.strip()]


def _clean_name(raw: str) -> str | None:
    s = raw.strip(" :;.,-_|\t")
    fs = fold_keep(s)
    m = re.match(r"(ong\s*/\s*ba|ông\s*/\s*bà|ong|ba)\s+", fs)
    if m:
        s = s[m.end():]
    fs = fold_keep(s)
    m = STOP_AFTER_NAME.search(" " + fs)
    if m:
        s = s[: max(0, m.start() - 1)]
    words = s.split()
    # an upper-case name followed by a mixed-case label: cut at the first non-upper word
    if len(words) >= 2 and sum(w.isupper() for w in words[:2]) == 2:
        keep = []
        for w in words:
            if w.isupper() or not any(c.isalpha() for c in w):
                keep.append(w)
            else:
                break
        words = keep
    words = [w.strip(".,:;_|") for w in words if re.search(r"\w", w)]  # OCR glues '_' or '|' to a word
    words = [w for w in words if not re.search(r"\d", w)]
    if not (2 <= len(words) <= 7):
        return None
    if not all(re.fullmatch(r"[^\W\d_]+(?:[-'][^\W\d_]+)?", w) for w in words):
        return None
    return repair_name(title_case(" ".join(words)))[0]


# Role words that say whose name a label introduces, wherever they stand: after the label
# ("Họ và tên chồng", "Họ, chữ đệm, tên (vợ)"), before it ("Chồng - Họ và tên:", "Mẹ: Họ tên:") or
# as a section heading over it ("THÔNG TIN NGƯỜI VỢ", "BÊN CHỒNG", "Thông tin về người mẹ").
ROLES: list[tuple[str, str]] = [
    ("nguoi_chet", r"nguoi (da )?(chet|mat|tu)|deceased"),
    ("nguoi_yeu_cau", r"nguoi (yeu cau|khai|di dang ky|de nghi|lam don|nop)|applicant"),
    ("chu_ho", r"chu ho|dai dien|owner"),
    ("nguoi_su_dung", r"nguoi su dung|chu su dung|chu so huu"),
    ("chong", r"chong|husband"),
    ("vo", r"vo|wife"),
    ("cha", r"cha|bo|father"),
    ("me", r"me|mother"),
    ("con", r"nguoi duoc (khai sinh|dang ky)|tre|con"),
]
_ROLE_RE = [(r, re.compile(r"(?<![a-z])(?:" + p + r")(?![a-z])")) for r, p in ROLES]
_SECTION = re.compile(r"^(?:[ivx\d]+\s*[.)/-]\s*)?(?:thong tin\s*(?:cua|ve)?\s*|ben\s*|phan\s*(?:khai ve)?\s*)?"
                      r"(?:nguoi\s*)?(?P<role>[a-z ]{2,24}?)\s*[:.]?\s*$")


def role_of(text_folded: str) -> str | None:
    """The role a (folded) qualifier or heading names, or None."""
    for role, rx in _ROLE_RE:
        if rx.search(text_folded):
            return role
    return None


def _section_role(line: str) -> str | None:
    """A line that is only a role heading ("BÊN VỢ", "Thông tin người chồng", "Mẹ:") → its role."""
    f = re.sub(r"\s+", " ", fold_keep(line)).strip(" -:.")
    if not f or len(f) > 40 or NAME_LABEL.search(f):
        return None
    m = _SECTION.match(f)
    if not m:
        return None
    return role_of(f) if len(f.split()) <= 5 else None


def split_names(words: list[str]) -> list[list[str]]:
    """'NGUYỄN VĂN AN TRẦN THỊ BÌNH' (two columns read as one line) → two names, cut before a
    surname that follows two to five words and leaves two to five (not right after "Thị" or
    "Văn"); of several such cuts, the one nearest to two names of three words."""
    known = {w.lower() for w in SURNAMES}
    # "Thị" and "Văn" always lead to a given name: "Nguyễn Thị Mai Hương" is one name ("Mai" is
    # also a surname)
    cuts = [i for i in range(2, len(words) - 1)
            if words[i].lower() in known and 2 <= i <= 5 and 2 <= len(words) - i <= 5
            and unicodedata.normalize("NFC", words[i - 1]).lower() not in ("thị", "văn")]
    if not cuts:
        return [words]
    i = min(cuts, key=lambda k: (abs(k - 3) + abs(len(words) - k - 3), -k))
    return [words[:i], words[i:]]


def _unglued(words: list[str]) -> list[str]:
    """Two columns' names read with the gap between them lost ("NGÔ CÔNG HƯNGHÀ THU NHÀN"): a
    capitals word that is no syllable but is one syllable followed by a surname, in exactly one
    way, is read as the two words."""
    known = {w.lower() for w in SURNAMES}
    out = []
    for w in words:
        if len(w) >= 4 and w.isalpha() and w.isupper() and not is_syllable(w):
            cuts = [k for k in range(1, len(w)) if is_syllable(w[:k]) and w[k:].lower() in known]
            if len(cuts) == 1:
                out += [w[:cuts[0]], w[cuts[0]:]]
                continue
        out.append(w)
    return out


def _names_in(raw: str) -> list[str]:
    """One name, or two side by side (two-column forms)."""
    words = [w for w in raw.strip(" :;.,-_|\t").split()]
    head = []
    for w in words:  # the value up to whatever label follows it on the line
        if STOP_AFTER_NAME.search(" " + fold_keep(w) + " ") or re.search(r"\d", w):
            break
        head.append(w)
    head = _unglued(head)
    if len(head) >= 4:
        parts = split_names(head)
        if len(parts) == 2:
            two = [_clean_name(" ".join(p)) for p in parts]
            if all(two):
                return two
    one = _clean_name(raw)
    return [one] if one else []


_HONORIFIC = re.compile(r"^(ong|ba|anh|chi)\s*[:.]\s*(?=\S)")


class _At:
    """A match-like position (start, end) of a value's beginning."""

    def __init__(self, start: int, end: int) -> None:
        self._s, self._e = start, end

    def start(self) -> int:
        return self._s

    def end(self) -> int:
        return self._e


def _bare_value(rest: str) -> _At | None:
    """'Họ và tên chồng NGUYỄN VĂN AN' (no colon): where the capitals name begins after the label
    and its qualifier words."""
    words = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", rest[:80])]
    for k in range(len(words) - 1):
        a, b = words[k][1].strip(".,;"), words[k + 1][1].strip(".,;")
        if a.isalpha() and b.isalpha() and a.isupper() and b.isupper() and len(a) > 1:
            return _At(words[k][0], words[k][0])
    return None


def find_names(lines: list[str]) -> list[dict]:
    """Every 'name label [qualifier]: value' in the text, with the role it is given (by a
    qualifier after the label, a role word before it, or the section it stands in)."""
    out = []
    section: str | None = None
    for i, ln in enumerate(lines):
        f = fold_keep(ln)
        heading = _section_role(ln)
        if heading:
            section = heading
            continue
        hm = _HONORIFIC.match(f)
        if hm and not NAME_LABEL.search(f):
            name = _clean_name(ln[hm.end():])
            if name:
                out.append({"name": name, "qual": "", "role": "nam" if hm.group(1) in ("ong", "anh") else "nu",
                            "line": i, "conf": 0.85, "column": 0, "columns": 1})
            continue
        for m in NAME_LABEL.finditer(f):
            rest = f[m.end():]
            c = re.search(r"[:;]", rest[:60])
            if not c:
                c = _bare_value(ln[m.end():])  # the colon lost: the value is the capitals run
                if not c:
                    continue
            qual = rest[: c.start()]
            qual_s = re.sub(r"\s*/\s*[a-z' ,]*$", "", qual).strip(" /()")
            qual_s = "" if _ENG_QUAL.match(qual) else qual_s
            if qual_s and len(qual_s) > 40:
                continue
            before = f[: m.start()]
            role = role_of(qual_s) or role_of(before[-30:]) or section
            start = m.end() + c.end()
            val = ln[start:]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            names = _names_in(val)
            conf = 0.95
            if not names and not val.strip(" .:;_-") and nxt and not NAME_LABEL.search(fold_keep(nxt)):
                names = _names_in(nxt)
                conf = 0.8
            for k, name in enumerate(names):
                out.append({"name": name, "qual": qual_s, "role": role, "line": i, "conf": conf,
                            "column": k, "columns": len(names)})
    return out


_LEAD = r"ong\s*/\s*ba|ong|ba|chu so huu|chu su dung|nguoi su dung dat|ho va ten|ho ten"


def _name_after_role(lines: list[str], labels: str) -> tuple[str, float] | None:
    """'Người sử dụng đất, chủ sở hữu: Ông: NÔNG CÔNG TRUNG' → the name after the role label
    and whatever other role words or honorifics follow it (or on the next line)."""
    rx = re.compile(r"(" + labels + r")")
    lead = re.compile(r"^[\s:;,.\-]*(?:(?:" + _LEAD + "|" + labels + r")(?![a-z]))?[\s:;,.\-]*")
    for i, ln in enumerate(lines):
        m = rx.search(fold_keep(ln))
        if not m:
            continue
        tail = ln[m.end():]
        for _ in range(6):
            mm = lead.match(fold_keep(tail))
            if not mm or mm.end() == 0:
                break
            tail = tail[mm.end():]
        v = _clean_name(tail)
        if v:
            return v, 0.85
        if not tail.strip() and i + 1 < len(lines):
            v = _clean_name(lines[i + 1])
            if v:
                return v, 0.8
    return None


def _name_where(names: list[dict], want: str | None,
                avoid: tuple[str, ...] = ("me", "cha", "vo", "chong", "nam", "nu")) -> dict | None:
    """The holder's name: the one with the wanted role, else one with no role, else one whose
    role is not a relative's."""
    if want:
        for n in names:
            if n["role"] == want:
                return n
    for n in names:
        if n["role"] is None:
            return n
    for n in names:
        if n["role"] not in avoid:
            return n
    return None


def _spouses(names: list[dict]) -> tuple[dict | None, dict | None]:
    """Husband and wife: by role; in a two-column row, the husband's column comes first (the
    official form); two names without roles: the first is the husband's."""
    h = next((n for n in names if n["role"] == "chong"), None) or next((n for n in names if n["role"] == "nam"), None)
    w = next((n for n in names if n["role"] == "vo"), None) or next((n for n in names if n["role"] == "nu"), None)
    row = next((n for n in names if n["columns"] == 2 and n["role"] not in ("cha", "me")), None)
    if row is not None and (h is None or w is None):
        pair = [n for n in names if n["line"] == row["line"]]
        h, w = h or pair[0], w or pair[1]
    free = [n for n in names if n["role"] is None and n is not h and n is not w]
    if h is None and free:
        h = free.pop(0)
    if w is None and free:
        w = free.pop(0)
    return h, w


def _after_label(lines: list[str], label: str, parse, start: int = 0, end: int | None = None,
                 next_line: bool = True) -> tuple[str, int, float] | None:
    rx = re.compile(label)
    end = len(lines) if end is None else end
    for i in range(start, end):
        f = fold_keep(lines[i])
        for m in rx.finditer(f):
            v = parse(lines[i][m.end():])
            if v:
                return v, i, 0.95
            rest = lines[i][m.end():]
            # the value on the next line: nothing after the label, or only its English half (a
            # bilingual card's "/ Date of birth:", read or garbled); a line of mere signs between
            # (a rule read as "—") is passed over
            if next_line and i + 1 < end and (not rest.strip(" :.;/") or (
                    rest.lstrip(" :.;").startswith("/") and not re.search(r"\d", rest) and len(rest) < 40)):
                j = i + 2 if i + 2 < end and not any(c.isalnum() for c in lines[i + 1]) else i + 1
                v = parse(lines[j])
                if v:
                    return v, j, 0.85
    return None


def _date_value(s: str) -> str | None:
    r = parse_date(s[:60])
    return r[0] if r else None


# a card's date printed dd-mm-yyyy whose separators the OCR lost or misread ("20:09-1998",
# "20091998"): read only right after the date's label, and with a confidence that asks for review
_SPLIT_DAY = re.compile(r"(?<!\d)(\d) (\d)\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")  # "1 2/05/1990"
# a stray digit before the day (a frame's edge read as "1": "112/05/1990")
_STRAY_DAY = re.compile(r"(?<!\d)\d(\d)(\d)\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")
_DATE_LOOSE = re.compile(r"(?<!\d)(\d{2})\s*[/.\-:,;_~'\u2013\u2014]?\s*(\d{2})\s*[/.\-:,;_~'\u2013\u2014]?\s*"
                         r"((?:19|20)\d{2})(?!\d)")
LOOSE_DATE_CONF = 0.7
_DIGITISH_CLASS = "\\d" + re.escape("".join(DIGIT_LOOKALIKES))
_DIGITISH_RUN = re.compile(f"[{_DIGITISH_CLASS}][{_DIGITISH_CLASS}/.\\-:,;_~'\u2010-\u2014 ]{{6,14}}")


def _loose_date_value(s: str) -> str | None:
    """A card's date after its label read through slips: separators lost or misread, the day's
    two digits come apart ("1 2/05/1990" is the 12th), a stray digit before the day ("112/05/1990":
    a frame's edge), a digit read as a look-alike letter ("12-0l1990")."""
    for m in (_SPLIT_DAY.search(s[:40]), _STRAY_DAY.search(s[:40])):
        date = _date_text(int(m.group(1) + m.group(2)), int(m.group(3)), int(m.group(4))) if m else None
        if date:
            return date
    m = _DATE_LOOSE.search(s[:40])
    if m:
        return _date_text(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    # a digit read as a look-alike letter as well ("12-0l1990"): inside a run of six digits or
    # more, the letters read as digits; when that makes no day of the calendar, a letter that
    # looks like a second digit too ("Z": 2 or 7) is read as the one that does, if only one does
    run = next((r for r in _DIGITISH_RUN.findall(s[:40]) if sum(c.isdigit() for c in r) >= 6), None)
    if run is None:
        return None
    readings = _lookalike_readings(run)
    for group in (readings[:1], readings[1:]):
        found = {_date_text(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                 for m in map(_DATE_LOOSE.search, group) if m} - {None}
        if found:
            return found.pop() if len(found) == 1 else None
    return None


_TWO_DIGIT_LOOKALIKES = {"Z": "7", "z": "7", "S": "8", "B": "3"}  # besides DIGIT_LOOKALIKES' 2, 2, 5, 8


def _lookalike_readings(run: str) -> list[str]:
    """``run`` with its look-alike letters read as digits: the first reading (DIGIT_LOOKALIKES),
    then the others when at most two letters have a second one."""
    out = [""]
    for c in run:
        alts = [as_digits(c)] + ([_TWO_DIGIT_LOOKALIKES[c]] if c in _TWO_DIGIT_LOOKALIKES else [])
        out = [o + a for o in out for a in alts]
        if len(out) > 4:
            return [as_digits(run)]
    return out


# words of a card's headings and labels, which a capitals run that is the holder's name is not
_CARD_WORDS = frozenset("""cong hoa xa hoi chu nghia viet nam doc lap tu do hanh phuc giay chung minh nhan dan can cuoc
socialist republic of vietnam independence freedom happiness citizen identity card so no ho ten va full name
sinh ngay nguyen quan noi dkhk thuong tru que quoc tich gioi tinh""".split())
CARD_NAME_CONF = 0.6
CARD_DOB_CONF = 0.6
_CARD_TITLES = ("giay chung minh nhan dan", "can cuoc cong dan", "cong hoa xa hoi chu nghia")


def _namelike(name: str) -> bool:
    """Words of a personal name: all of them known name syllables but one at most (an OCR slip),
    and two at least."""
    known = sum(is_name_syllable(w) for w in name.split())
    return known >= 2 and known >= len(name.split()) - 1


def _words_only(line: str) -> str:
    """``line`` folded, its signs dropped: its words, one space apart."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", fold_keep(line)).split())


_MOTTO = _words_only(FIXED_LINES[1][0])  # "doc lap tu do hanh phuc"


def _is_motto(line: str) -> bool:
    """The national motto, a letter or a word read wrong (a whole line of it, not one word)."""
    f = _words_only(line)
    return len(f) >= 0.7 * len(_MOTTO) and fuzz.partial_ratio(_MOTTO, f) >= 80


_CARD_BACK = re.compile(r"dau\s*vet|di\s*hinh|dac\s*diem|giam\s*doc|cuc\s*truong|canh\s*sat|ngon\s*tro|i[dl]vnm")


def card_name(lines: list[str]) -> tuple[str, int, float] | None:
    """An ID card's holder named without a readable label: the first run of two to six capitals
    words that are Vietnamese syllables, below the card's title and not its heading words. The
    label lost, the place is the only evidence: the confidence asks for review."""
    # below the front's title, however garbled: a card's back (fingerprints, features, the
    # issuer) has none
    start = None
    for i, ln in enumerate(lines[:8]):
        f = fold_keep(ln)
        if re.search(r"chung\s*minh|can\s*cuoc|identity|citizen", f) or (
                upper_ratio(ln) >= 0.6 and any(fuzz.ratio(t, " ".join(f.split())) >= 78 for t in _CARD_TITLES[:2])):
            start = i + 1
            break
    by_motto = start is None
    if by_motto:
        # the red title lost (faint in the luminance, under glare): the national motto printed
        # above it on every model's front, which no card back carries, starts the search; with
        # no title to say it is a card, the run must read as a name (a paper's own capitals
        # title, "BẢN CAM KẾT", does not)
        start = next((i + 1 for i, ln in enumerate(lines[:4]) if _is_motto(ln)), None)
    if start is None:
        return None
    for i in range(start, min(len(lines), start + 8)):
        if _CARD_BACK.search(fold_keep(lines[i])):
            return None
        if any(fuzz.partial_ratio(t, fold_keep(lines[i])) >= 80 for t in _CARD_TITLES):
            continue  # the title itself, however garbled
        run: list[str] = []
        # a comma ends a run: no name holds one (a speck read as a word before the name does)
        for tok in re.sub(r"[,;]", " , ", lines[i]).split() + [""]:
            w = tok.strip(".:_|'\"“”")
            if w and w.isalpha() and w.isupper() and len(w) >= 2 and is_syllable(w):
                run.append(w)
                continue
            if 2 <= len(run) <= 6 and not all(fold_keep(w) in _CARD_WORDS for w in run):
                name = _clean_name(" ".join(run))
                if name and (not by_motto or _namelike(name)):
                    return name, i, CARD_NAME_CONF
            run = []
    return None


_NOT_BIRTH = re.compile(r"co\s*gia\s*tri|gia\s*tri|expir|ngay\s*cap|date\s*of\s*issue|het\s*han")


def _this_year() -> int:
    import datetime as dt

    return dt.date.today().year


def card_dob(lines: list[str], name_line: int) -> tuple[str, int, float] | None:
    """An ID card's birth date whose label is unreadable: on every model's front the first date
    below the holder's name is the birth date (the expiry and issue dates carry their own
    labels, which are left alone). The place is the evidence: the confidence asks for review."""
    for i in range(name_line, min(len(lines), name_line + 4)):
        if _NOT_BIRTH.search(fold_keep(lines[i])):
            continue
        v = _date_value(lines[i]) or _loose_date_value(lines[i])
        if v and 1900 <= int(v[-4:]) <= _this_year():
            return v, i, CARD_DOB_CONF
    return None


def _pid_value(s: str) -> str | None:
    p = find_pids(s[:80])
    if p:
        return p[0][0]
    # after a PID label: tolerate OCR spaces and letter/digit slips inside the number
    m = re.search(r"[0-9OoIl|SB][0-9OoIl|SB ]{10,20}", s[:80])
    if m:
        raw = m.group(0).strip()
        d = repair_digits(raw.replace(" ", ""))
        m2 = re.match(r"\d{12}(?!\d)", d)
        if m2 and sum(c.isdigit() for c in raw) >= 9:
            return m2.group(0)
    return None


_NATIONAL = re.compile(r"cong\s*hoa\s*xa\s*hoi|doc\s*lap|tu\s*do\s*-?\s*hanh\s*phuc")
# a letter's number and symbol: "1906/SGDĐT-CTrTT", "12/2024/QĐ-UBND", "45/TTr-UBND" (a symbol's
# part may hold lower case after its capital: "CTrTT", "TTr")
_SYMBOL = re.compile(r"\s*[:.]?\s*(\d{1,6}\s*/\s*(?:\d{4}\s*/\s*)?[A-ZĐ][A-ZĐa-zđ0-9]*"
                     r"(?:\s*[-/]\s*[A-ZĐ0-9][A-ZĐa-zđ0-9]*)*)")
_PLACE_DATE = re.compile(r"ngay\s*\d{1,2}\s*thang\s*\d{1,2}\s*,?\s*nam\s*\d{4}")


def letter_fields(lines: list[str]) -> dict[str, Field]:
    """An official letter's number/symbol ("Số: 1906/SGDĐT-CTrTT"), date of issue (the place-
    and-date line), issuing body (the capitals at the top left, above the number) and summary
    ("V/v …", or the "Về việc …" line under a decision's title)."""
    out: dict[str, Field] = {}
    head = lines[:14]
    num_line = None
    for i, ln in enumerate(head):
        f = fold_keep(ln)
        m = re.search(r"(?<![a-z])so\s*(?=[:.]|\s*\d)", f)
        if m and not re.sub(r"[\W_]", "", f[:m.start()]):  # a speck before it ("#) Số:") aside
            v = _SYMBOL.match(ln[m.end():])
            if v:
                out["so_ky_hieu"] = _field(re.sub(r"\s+", "", v.group(1)), 0.9)
                num_line = i
                break
    for ln in head:
        m = _PLACE_DATE.search(fold_keep(ln))
        if m:
            d = parse_date(ln[m.start():])
            if d:
                out["ngay_ban_hanh"] = _field(d[0], 0.9)
                break
    body = []
    for ln in head[: num_line if num_line is not None else 4]:
        f = fold_keep(ln)
        cut = _NATIONAL.search(f)
        part = ln[: cut.start()].strip(" -|") if cut else ln.strip(" -|")
        if part and upper_ratio(part) >= 0.7 and len(part) >= 4:
            body.append(part)
    if body:
        out["co_quan_ban_hanh"] = _field(" ".join(body[-1].split()), 0.8)
    for i, ln in enumerate(lines[:25]):
        f = fold_keep(ln)
        m = re.search(r"(?<![a-z])(v\s*/\s*v|ve\s*viec)\s*[:.]?\s*", f)
        if m and m.start() <= 2:
            text = ln[m.end():].strip()
            if i + 1 < len(lines) and text and not re.search(r"[.;:]$", text) and len(lines[i + 1]) < 70 \
                    and not _NATIONAL.search(fold_keep(lines[i + 1])) and lines[i + 1][:1].islower():
                text += " " + lines[i + 1].strip()
            if len(text) >= 5:
                out["trich_yeu"] = _field(text, 0.8)
                break
    return out


_CMND_TITLE = re.compile(r"chung\s*minh\s*nhan\s*dan|\bcmnd\b")
# the old card's front by its own labels (on a folded text), when its red title did not come
# through: the one list the classifier counts too
CMND_FRONT_LABELS = (r"\bsinh\s*ngay\b", r"nguyen\s*quan", r"\bnoi\s*\S{2,6}\s*thuong\s*tru\b|\bdkhk\b")
_CMND_FRONT = re.compile("|".join(CMND_FRONT_LABELS))


def _cmnd_value(s: str) -> str | None:
    """The old ID card's 9-digit number (OCR slips inside it repaired)."""
    m = re.search(r"(?<![\dA-Za-z])([0-9OoIl|SB][0-9OoIl|SB ]{7,11})", s[:40])
    if not m:
        return None
    d = repair_digits(m.group(1).replace(" ", ""))
    m2 = re.fullmatch(r"\d{9}", d)
    return m2.group(0) if m2 and sum(c.isdigit() for c in m.group(1)) >= 7 else None


def _int_value(s: str) -> str | None:
    m = re.match(r"\s*[:.;]?\s*([0-9OoIl]{1,6})(?![\d])", s)
    if not m:
        return None
    v = repair_digits(m.group(1))
    return str(int(v)) if v.isdigit() else None


def _token_value(s: str) -> str | None:
    m = re.match(r"\s*(?:/\s*no\.?\s*)?[:.;,\-]?\s*([0-9A-Za-zĐđ§][0-9A-Za-zĐđ§/\-.]*)", s)
    if not m:
        return None
    return m.group(1).rstrip(".-/")


DOB_LABEL = (r"ngay[,.;]?\s*thang[,.;]?\s*nam\s*sinh|ngay\s*sinh|sinh\s*ngay|date\s*of\s*birth|ngay/thang/nam\s*sinh|"
             r"(?<![a-z0-9])[s5$3][il1!]n[hbk]\s*ng[a4][yv]\b|"  # the CMND's "Sinh ngày" read with slips
             r"\bnam\s*sinh(?=\s*/)")  # the 2024 card's "Ngày, tháng, năm sinh / Date of birth", its start lost
PID_LABEL = (r"so\s*dinh\s*danh(\s*ca\s*nhan)?|so\s*(the\s*)?can\s*cuoc(\s*cong\s*dan)?|can\s*cuoc(\s*cong\s*dan)?\s*so|"
             r"\bcccd(\s*so)?|so\s*cccd|\bcmnd(\s*so)?|so\s*cmnd|chung\s*minh\s*nhan\s*dan\s*so|"
             r"personal\s*id(entification)?\s*(number|no\.?)|\bid\s*no\.?|giay\s*to\s*tuy\s*than")
# the card's small print read by OCR slips letters: "cé gid tri dén", "có giá trj đến", "date of
# expity" / "dateofexplry" are the same label (the date after it still has to parse)
EXPIRY_LABEL = (r"co\s*gia\s*tri\s*(den|toi)|date\s*of\s*expiry|ngay\s*het\s*han|het\s*han|expir(es|y)|gia\s*tri\s*den|"
                r"\bc[o0e6]?\s*g[il1][a4od]\s*tr[il1j!]\s*d[e3c]n\b|\bdate\s*[o0]f\s*ex[a-z]{2,4}\b")
DEATH_LABEL = (r"ngay[,.;]?\s*thang[,.;]?\s*nam\s*chet|ngay\s*chet|ngay\s*mat|chet\s*vao\s*luc|da\s*chet|date\s*of\s*death|"
               r"ngay\s*tu\s*tran|tu\s*tran|\bd\w\s*ch\w{1,3}t\b|vao\s*luc|\bgio\b.{0,12}\bphut\b|"
               r"qua\s*doi|chet\s*ngay|mat\s*ngay")


# an ID card's expiry is, by law, the holder's birthday at a renewal age
# (vocab.identifiers.card_expiry_dates): a date that parses after the label is taken as printed;
# a garbled one, or one whose label is lost, is read as the only allowed date it can be
EXPIRY_NEAR_CONF = 0.7  # the one allowed date a garbled read is close to: a person checks it
EXPIRY_PLACE_CONF = 0.6  # an allowed date's month and year below the birth date, its label unread
_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*((?:19|20)\d{2})(?!\d)")
_EXPIRY_LOOSE_LABEL = re.compile(EXPIRY_LABEL + r"|(?<![a-z])(?:c\S{0,2}\s*)?g[il1][a4o]\s*tr[il1j!]\b")
_EXPIRY_TAIL = re.compile(f"[{_DIGITISH_CLASS}][{_DIGITISH_CLASS}/.\\-:,;)(~'+ ]{{5,16}}")


def card_expiry(lines: list[str], birth: str | None, birth_line: int | None = None) -> tuple[str, int, float] | None:
    """An ID card's expiry after its label: a date that parses is taken as printed. When none
    does, and the holder's birth date is known, a garbled one close to exactly one date the law
    allows (two digits' slips at most, and nearer than any other) is read as that date, at a
    confidence that asks for review. "Không thời hạn" is read as such. With the label itself
    unreadable, a date below the birth date's line (``birth_line``) whose month and year are
    those of exactly one allowed date is that date, by its place (the card front's only other
    date), at a lower confidence still."""
    read = _after_label(lines, EXPIRY_LABEL, _date_value)
    if read:
        # as printed, even where the law would not give it: a card misprinted, another model's
        # rule, a form's own date (a QR's law checks it, and flags a difference)
        return read
    allowed = card_expiry_dates(birth) if birth else []
    for i, ln in enumerate(lines):
        for m in _EXPIRY_LOOSE_LABEL.finditer(fold_keep(ln)):
            tail = ln[m.end():m.end() + 30]
            if not re.search(r"\d", tail) and i + 1 < len(lines):
                tail = lines[i + 1][:30]
            none = re.match(r"\s*[:.;]?\s*(kh[o0]ng\s*th[o0][il1]\s*h[a4]n)", fold_keep(tail))
            if none:
                return NO_EXPIRY, i, 0.9 if none.group(1) == "khong thoi han" else EXPIRY_NEAR_CONF
            t = _EXPIRY_TAIL.search(tail)
            if not allowed or t is None:
                continue
            digits = re.sub(r"\D", "", as_digits(t.group(0)))
            if len(digits) < 6:
                continue
            near = _nearest_allowed(digits, allowed)
            if near:
                return near, i, EXPIRY_NEAR_CONF
    if allowed and birth_line is not None:
        for i in range(birth_line + 1, len(lines)):
            if re.search(r"sinh|birth|\bcap\b|issue", fold_keep(lines[i])):
                continue
            for m in _MONTH_YEAR.finditer(as_digits(lines[i])):
                month_year = f"{int(m.group(1)):02d}/{m.group(2)}"
                fit = [a for a in allowed if a[3:] == month_year]
                if len(fit) == 1:
                    return fit[0], i, EXPIRY_PLACE_CONF
    return None


def _nearest_allowed(digits: str, allowed: list[str]) -> str | None:
    """The one allowed date (dd/mm/yyyy) within two digit slips of ``digits`` (a date's digits as
    read, a stray one or two after it) and nearer than any other; else None."""
    dist = sorted((min(Levenshtein.distance(digits[:n], a.replace("/", "")) for n in (7, 8, 9)), a)
                  for a in allowed)
    if dist and dist[0][0] <= 2 and (len(dist) == 1 or dist[1][0] > dist[0][0]):
        return dist[0][1]
    return None


def _dates_after(line: str, label: str) -> list[str]:
    """Every date after ``label`` on one line (a row of a two-column form holds two)."""
    m = re.search(label, fold_keep(line))
    if not m:
        return []
    rest, out = line[m.end():], []
    while True:
        hit = parse_date(rest)
        if not hit:
            return out
        out.append(hit[0])
        rest = rest[hit[1] + 6:]


def _number_hit(lines: list[str]):
    """The register number near the top: "Số: 215", "Số 12", "Số: 45/TLKS" (not "Số định danh")."""
    return _after_label(lines, r"^so\s*(dang\s*ky)?\s*(?=[:.;,]|\s+\d)", _token_value, 0, min(len(lines), 12),
                        next_line=False)


def _business_code(s: str) -> str | None:
    """A household-business code: digits, or a province code, one letter and digits ('12A8001234');
    OCR letter/digit slips repaired outside that letter."""
    t = _token_value(s)
    if not t or not re.search(r"\d", t):
        return None
    m = re.fullmatch(r"([0-9OoIl]{2,3})([A-ZĐ])([0-9OoIlSB]{5,})", t) or re.fullmatch(
        r"([0-9OoIl]{2,3})[§|]([A-ZĐ])([0-9OoIlSB]{5,})", t)  # a stray mark before the letter
    if m:
        return repair_digits(m.group(1)) + m.group(2) + repair_digits(m.group(3))
    return repair_digits(t)


def _field(v, conf=0.95, flags=()) -> Field:
    return Field(value=nfc(v), confidence=round(conf, 4), flags=tuple(flags))


_SEX = re.compile(r"gioi\s*tinh\s*(?:/\s*sex)?\s*[:.;]?\s*(nam|nu|male|female)\b")
# documents of one person, whose sex printed there is the one the ID number encodes
_ONE_PERSON = ("cccd", "khai_sinh", "xac_nhan_hon_nhan", "khai_tu")


def _sex(text: str) -> str | None:
    """The sex printed after the first "Giới tính" label, if it reads as one."""
    m = _SEX.search(fold_keep(text))
    return m.group(1) if m else None


_HALF_YEAR = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2})(?![\d/])")


def _dob_by_number(lines: list[str], pid: str) -> tuple[str, int, float] | None:
    """A card's birth date whose year was read by half after its label ("12/04/19", "12/04/90":
    the small print's last digits lost) completed by the card's own number, whose century and
    year digits give the year, when the half read is one of the year's halves. For review."""
    year = birth_year_of_pid(pid)
    for i, ln in enumerate(lines):
        m = re.search(DOB_LABEL, fold_keep(ln))
        hm = _HALF_YEAR.search(ln[m.end():][:40]) if m else None
        date = _date_text(int(hm.group(1)), int(hm.group(2)), year) \
            if hm and hm.group(3) in (f"{year % 100:02d}", f"{year // 100:02d}") else None
        if date:
            return date, i, LOOSE_DATE_CONF
    return None


def _pid_field(pid_hit, dob: str | None, sex: str | None = None) -> Field | None:
    if not pid_hit:
        return None
    pid, _line, conf = pid_hit
    problems = [p for p in pid_problems(pid, birth_date=dob, sex=sex) if p != "pid_format"]
    if problems:
        conf = min(conf, 0.7)
    return _field(pid, conf, problems)


def extract_fields(doc_type: str, text: str, known: dict[str, Field] | None = None) -> dict[str, Field]:
    """Key fields (the product spec's document taxonomy) of a document of ``doc_type`` read from its
    text (digits of any script read as ASCII digits first: an identifier is made of ASCII digits).
    ``known``: fields another read of the same document gave, which may complete this one's (a
    card's number completes a birth year read by half)."""
    lines = _lines(ascii_digits(text))
    out: dict[str, Field] = {}
    if doc_type not in FIELDS_BY_TYPE or not lines:
        return out
    names = find_names(lines)
    dob_hit = _after_label(lines, DOB_LABEL, _date_value)
    if dob_hit is not None and doc_type == "cccd" and _SPLIT_DAY.search(lines[dob_hit[1]]):
        dob_hit = None  # "1 2/05/1990" parses as the 2nd: the loose read below makes it the 12th
    if dob_hit is None and doc_type == "cccd":
        hit = _after_label(lines, DOB_LABEL, _loose_date_value)
        dob_hit = (hit[0], hit[1], LOOSE_DATE_CONF) if hit else None
    dob = dob_hit[0] if dob_hit else None

    def put(key: str, hit) -> None:
        if hit:
            out[key] = _field(hit[0], hit[2] if len(hit) > 2 else 0.9)

    def pid_any(start=0, end=None):
        hit = _after_label(lines, PID_LABEL, _pid_value, start, end)
        if hit:
            return hit
        for i in range(start, len(lines) if end is None else end):
            p = find_pids(lines[i])
            if p:
                return p[0][0], i, 0.75
        return None

    if doc_type == "van_ban":
        return letter_fields(lines)
    if doc_type == "ket_hon":
        husband, wife = _spouses(names)
        if husband:
            out["ho_ten_chong"] = _field(husband["name"], husband["conf"])
        if wife:
            out["ho_ten_vo"] = _field(wife["name"], wife["conf"])
        same_row = husband is not None and wife is not None and husband["line"] == wife["line"]
        split = wife["line"] if wife and not same_row and wife["line"] > (husband or wife)["line"] else None
        if split is None:
            # one row per item (two columns) or no structure: numbers in reading order, husband first
            pids = [(p, i) for i, ln in enumerate(lines) for p, _ in find_pids(ln)]
            if len(pids) >= 2:
                row = [d for ln in lines for d in _dates_after(ln, DOB_LABEL)]
                h_dob, w_dob = (row[0], row[1]) if len(row) >= 2 else (None, None)
                out["so_dinh_danh_chong"] = _pid_field((pids[0][0], pids[0][1], 0.8), h_dob)
                out["so_dinh_danh_vo"] = _pid_field((pids[1][0], pids[1][1], 0.8), w_dob)
        else:
            h_dob = _after_label(lines, DOB_LABEL, _date_value, 0, split)
            w_dob = _after_label(lines, DOB_LABEL, _date_value, split)
            hp = pid_any(0, split)
            wp = pid_any(split)
            f = _pid_field(hp, h_dob[0] if h_dob else None)
            if f:
                out["so_dinh_danh_chong"] = f
            f = _pid_field(wp, w_dob[0] if w_dob else None)
            if f:
                out["so_dinh_danh_vo"] = f
        put("so", _number_hit(lines))
        return out

    # ---- the holder's name
    want = {
        "khai_tu": r"nguoi chet|nguoi da chet|nguoi mat|nguoi tu|deceased",
        "to_khai": r"nguoi yeu cau|nguoi khai|nguoi di|nguoi de nghi|nguoi lam don|applicant",
        "dang_ky_ho_kinh_doanh": r"chu ho|dai dien|nguoi dai dien|owner",
        "gcn_qsdd": r"nguoi su dung|chu su dung|chu so huu",
        "khai_sinh": r"nguoi duoc|tre|con\b",
    }.get(doc_type)
    n = _name_where(names, want)
    if doc_type == "khai_sinh" and n is None:
        n = None
    name_val = n["name"] if n else None
    name_conf = n["conf"] if n else 0.0
    if doc_type in ("gcn_qsdd", "dang_ky_ho_kinh_doanh", "xac_nhan_hon_nhan", "khai_tu", "to_khai") and not name_val:
        labels = {
            "gcn_qsdd": r"nguoi su dung dat|chu su dung|chu so huu|ong\s*/\s*ba|\bong\b|\bba\b",
            "dang_ky_ho_kinh_doanh": r"chu ho kinh doanh|chu ho|nguoi dai dien|dai dien ho kinh doanh",
            "xac_nhan_hon_nhan": r"ong\s*/\s*ba|de nghi cua",
            "khai_tu": r"nguoi chet|nguoi da chet",
            "to_khai": r"nguoi yeu cau",
        }[doc_type]
        hit = _name_after_role(lines, labels)
        if hit:
            name_val, name_conf = hit
    name_line = n["line"] if n else None
    if doc_type == "cccd" and not name_val:
        hit = card_name(lines)
        if hit:
            name_val, name_conf, name_line = hit[0], hit[2], hit[1]
    if name_val and "ho_ten" in FIELDS_BY_TYPE[doc_type]:
        out["ho_ten"] = _field(name_val, name_conf)

    # ---- dates
    if "ngay_sinh" in FIELDS_BY_TYPE[doc_type] and dob_hit:
        put("ngay_sinh", dob_hit)
    placed_dob = None
    if doc_type == "cccd" and not dob_hit and name_line is not None:
        placed_dob = card_dob(lines, name_line)
        put("ngay_sinh", placed_dob)
    if doc_type == "cccd":
        birth_hit = dob_hit or placed_dob
        put("ngay_het_han", card_expiry(lines, *(birth_hit[:2] if birth_hit else (None, None))))
    if doc_type == "khai_tu":
        hit = _after_label(lines, DEATH_LABEL, lambda s: _date_value(s) if True else None)
        put("ngay_chet", hit)

    # ---- numbers
    if "so_dinh_danh" in FIELDS_BY_TYPE[doc_type]:
        hit = None
        if doc_type == "cccd":
            hit = _after_label(lines, r"^so\b|\bso\s*/\s*no\b|\bno\.?\s*:|" + PID_LABEL, _pid_value)
        hit = hit or pid_any()
        # a digit slip in the century-and-sex digit (2 for 3) shows against the printed sex
        f = _pid_field(hit, dob, _sex(text) if doc_type in _ONE_PERSON else None)
        if f:
            out["so_dinh_danh"] = f
        elif doc_type == "cccd" and (_CMND_TITLE.search(fold_keep(text)) or _CMND_FRONT.search(fold_keep(text))):
            hit = _after_label(lines, r"^so\b|\bso\s*[:.]", _cmnd_value)
            if hit is None:  # the label lost: a lone nine-digit number near the title
                # (a band of hatching after the number reads as "/" or "//")
                nine = [m.group(1) for ln in lines[:8]
                        for m in re.finditer(r"(?<![\d/.-])(\d{9})(?![\d.-])(?!\s*/+\s*\d)", ln)]
                hit = (nine[0], 0, 0.7) if len(nine) == 1 else None
            put("so_cmnd", hit)
        if doc_type == "cccd" and "ngay_sinh" not in out:
            # a birth year read by half, completed by the card's number (this read's or another's)
            number = f if f is not None else (known or {}).get("so_dinh_danh")
            if number is not None and not number.flags and is_pid(number.value):
                put("ngay_sinh", _dob_by_number(lines, number.value))
    if doc_type == "khai_sinh":
        put("so", _number_hit(lines))
    if doc_type == "giay_phep_lai_xe":
        hit = _after_label(lines, r"^so\s*(/\s*no\.?)?\s*(?=[:.;])|\bso\s*/\s*no\b|^no\.?\s*(?=:)",
                           lambda s: (lambda t: repair_digits(t) if t else None)(_token_value(s)))
        if hit:
            v = re.sub(r"\D", "", hit[0]) if re.fullmatch(r"[\d ]+", hit[0]) else hit[0]
            out["so"] = _field(v, hit[2])
        hit = _after_label(lines, r"\bhang\s*(/\s*class)?\s*(?=[:.;])|\bclass\s*(?=:)",
                           lambda s: (lambda m: m.group(1).upper() if m else None)(
                               re.match(r"\s*[:.;]?\s*([A-FĐa-f][1-3]?E?|FB2|FC|FD|FE)(?![\w])", s)))
        put("hang", hit)
    if doc_type == "gcn_qsdd":
        hit = _after_label(lines, r"so\s*phat\s*hanh|so\s*seri|\bseri(al)?\b|so\s*hieu",
                           lambda s: (lambda m: f"{m.group(1).upper()} {repair_digits(m.group(2))}" if m else None)(
                               re.match(r"\s*(?:so)?\s*[:.;]?\s*([A-Za-zĐđ]{1,3})\s*[-. ]?\s*([0-9OoIl]{5,8})(?!\d)", s)))
        put("so_phat_hanh", hit)
        put("thua_dat_so", _after_label(lines, r"thua\s*dat\s*so|thua\s*so|so\s*thua", _int_value))
        put("to_ban_do_so", _after_label(lines, r"to\s*ban\s*do\s*so|to\s*ban\s*do|so\s*to\s*ban\s*do", _int_value))
    if doc_type == "bang_tot_nghiep":
        put("so_hieu", _after_label(lines, r"so\s*hieu(\s*van\s*bang|\s*bang)?\s*(?=[:.;])|so\s*hieu",
                                    lambda s: (lambda t: repair_digits(t) if t else None)(_token_value(s))))
    if doc_type == "dang_ky_ho_kinh_doanh":
        put("ma_so_ho_kinh_doanh", _after_label(
            lines, r"ma\s*so\s*ho\s*kinh\s*doanh|so\s*dang\s*ky\s*ho\s*kinh\s*doanh|ma\s*so\s*dang\s*ky|"
                   r"ma\s*so\s*ho|ma\s*so", _business_code))
    if placed_dob and "so_dinh_danh" in out and \
            "pid_dob_mismatch" in pid_problems(out["so_dinh_danh"].value, birth_date=placed_dob[0]):
        del out["ngay_sinh"]  # the card's own number says another birth year: the place misled
    return out

