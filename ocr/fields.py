"""Key fields of spec §4 per document type, found by their labels (many wordings, bilingual),
matched on a diacritic-free fold; values are cut from the NFC original."""
from __future__ import annotations

import re

from ocr.names import repair_name
from ocr.textutil import fold_keep, nfc, repair_digits, title_case
from ocr.types import Field

# 3-digit province codes of the personal ID number (Decree 137/2015 + Circular 59/2021).
PROVINCE_CODES = {
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024",
    "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
    "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070",
    "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
}

FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "cccd": ("so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_het_han"),
    "khai_sinh": ("ho_ten", "ngay_sinh", "so_dinh_danh", "so"),
    "ket_hon": ("ho_ten_chong", "ho_ten_vo", "so_dinh_danh_chong", "so_dinh_danh_vo", "so"),
    "xac_nhan_hon_nhan": ("ho_ten", "so_dinh_danh", "ngay_sinh"),
    "khai_tu": ("ho_ten", "so_dinh_danh", "ngay_chet"),
    "gcn_qsdd": ("so_phat_hanh", "ho_ten", "so_dinh_danh", "thua_dat_so", "to_ban_do_so"),
    "to_khai": ("ho_ten", "so_dinh_danh"),
    "bang_tot_nghiep": ("ho_ten", "ngay_sinh", "so_hieu"),
    "giay_phep_lai_xe": ("so", "ho_ten", "ngay_sinh", "hang"),
    "dang_ky_ho_kinh_doanh": ("ma_so_ho_kinh_doanh", "ho_ten", "so_dinh_danh"),
    "van_ban": (),
    "khac": (),
}


# --------------------------------------------------------------------------- PID

def check_pid(pid: str, dob: str | None = None) -> list[str]:
    """Problems with a 12-digit personal ID number (empty list = fine)."""
    problems: list[str] = []
    p = (pid or "").strip()
    if not re.fullmatch(r"\d{12}", p):
        return ["pid_format"]
    if p[:3] not in PROVINCE_CODES:
        problems.append("pid_province")
    if dob:
        m = re.search(r"(\d{4})\s*$", dob.strip())
        if m:
            year = int(m.group(1))
            century_digit = int(p[3])
            century = 1900 + 100 * (century_digit // 2)
            born = century + int(p[4:6])
            if born != year:
                problems.append("pid_dob_mismatch")
    return problems


# --------------------------------------------------------------------------- value parsers

_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")
_DATE_WORDS = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*,?\s*nam\s*(\d{4})")


def _valid_date(d: int, m: int, y: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12 and 1850 <= y <= 2100


def parse_date(s: str) -> tuple[str, int] | None:
    """First date in ``s`` as dd/mm/yyyy, and its position."""
    best = None
    f = fold_keep(s)
    fixed = "".join(repair_digits(ch) if ch in "OoIl|" else ch for ch in s)
    for rx, src in ((_DATE_NUM, fixed), (_DATE_WORDS, f)):
        for m in rx.finditer(src):
            d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if _valid_date(d, mo, y):
                if best is None or m.start() < best[1]:
                    best = (f"{d:02d}/{mo:02d}/{y:04d}", m.start())
                break
    return best


_PID_RUN = re.compile(r"(?<![\dA-Za-z])([0-9OoIlSB|][0-9OoIlSB| .]{10,18}[0-9OoIlSB|])(?![\dA-Za-z])")


def find_pids(s: str) -> list[tuple[str, int]]:
    out = []
    for m in re.finditer(r"(?<!\d)(\d[\d .]{10,17}\d)(?!\d)", s):
        raw = m.group(1)
        d = re.sub(r"[ .]", "", raw)
        if len(d) == 12 and (" " not in raw or all(len(g) in (3, 4, 6) for g in re.split(r"[ .]", raw))):
            out.append((d, m.start()))
    if out:
        return out
    for m in re.finditer(r"(?<![\w])([0-9OoIlSB|]{12})(?![\w])", s):
        d = repair_digits(m.group(1))
        if re.fullmatch(r"\d{12}", d) and sum(c.isdigit() for c in m.group(1)) >= 9:
            out.append((d, m.start()))
    return out


# --------------------------------------------------------------------------- labels

NAME_LABEL = re.compile(
    r"(?<![a-z])(ho,?\s*(?:va\s*)?chu\s*dem,?\s*(?:va\s*)?ten|ho\s*va\s*ten|ho\s*,?\s*ten|ho\s*ten|"
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
    words = [w.strip(".,:;") for w in words if re.search(r"\w", w)]
    words = [w for w in words if not re.search(r"\d", w)]
    if not (2 <= len(words) <= 7):
        return None
    if not all(re.fullmatch(r"[^\W\d_]+(?:[-'][^\W\d_]+)?", w) for w in words):
        return None
    return repair_name(title_case(" ".join(words)))[0]


def find_names(lines: list[str]) -> list[dict]:
    """Every 'name label [qualifier]: value' in the text."""
    out = []
    for i, ln in enumerate(lines):
        f = fold_keep(ln)
        for m in NAME_LABEL.finditer(f):
            rest = f[m.end():]
            c = re.search(r"[:;]", rest[:60])
            if not c:
                continue
            qual = rest[: c.start()]
            qual_s = re.sub(r"\s*/\s*[a-z' ]*$", "", qual).strip(" /()")
            qual_s = "" if _ENG_QUAL.match(qual) else qual_s
            if qual_s and len(qual_s) > 40:
                continue
            start = m.end() + c.end()
            val = ln[start:]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            name = _clean_name(val)
            conf = 0.95
            if name is None and not val.strip() and nxt:
                name = _clean_name(nxt)
                conf = 0.8
            if name:
                out.append({"name": name, "qual": qual_s, "line": i, "conf": conf})
    return out


def _name_where(names: list[dict], want: str | None, avoid: str = r"\b(me|cha|nguoi me|nguoi cha|vo|chong)\b") -> dict | None:
    if want:
        for n in names:
            if re.search(want, n["qual"]):
                return n
    for n in names:
        if not n["qual"]:
            return n
    for n in names:
        if not re.search(avoid, n["qual"]):
            return n
    return None


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
            if next_line and i + 1 < end and not lines[i][m.end():].strip(" :.;/"):
                v = parse(lines[i + 1])
                if v:
                    return v, i + 1, 0.85
    return None


def _date_value(s: str) -> str | None:
    r = parse_date(s[:60])
    return r[0] if r else None


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


DOB_LABEL = r"ngay,?\s*thang,?\s*nam\s*sinh|ngay\s*sinh|sinh\s*ngay|date\s*of\s*birth|ngay/thang/nam\s*sinh"
PID_LABEL = (r"so\s*dinh\s*danh(\s*ca\s*nhan)?|so\s*(the\s*)?can\s*cuoc(\s*cong\s*dan)?|can\s*cuoc(\s*cong\s*dan)?\s*so|"
             r"\bcccd(\s*so)?|so\s*cccd|\bcmnd(\s*so)?|so\s*cmnd|chung\s*minh\s*nhan\s*dan\s*so|"
             r"personal\s*id(entification)?\s*(number|no\.?)|\bid\s*no\.?|giay\s*to\s*tuy\s*than")
EXPIRY_LABEL = r"co\s*gia\s*tri\s*(den|toi)|date\s*of\s*expiry|ngay\s*het\s*han|het\s*han|expir(es|y)|gia\s*tri\s*den"
DEATH_LABEL = (r"ngay,?\s*thang,?\s*nam\s*chet|ngay\s*chet|ngay\s*mat|chet\s*vao\s*luc|da\s*chet|date\s*of\s*death|"
               r"ngay\s*tu\s*tran|tu\s*tran|\bd\w\s*ch\w{1,3}t\b|vao\s*luc|\bgio\b.{0,12}\bphut\b|"
               r"qua\s*doi|chet\s*ngay|mat\s*ngay")


def _field(v, conf=0.95, flags=()) -> Field:
    return Field(value=nfc(v), confidence=round(conf, 4), flags=tuple(flags))


def _pid_field(pid_hit, dob: str | None) -> Field | None:
    if not pid_hit:
        return None
    pid, _line, conf = pid_hit
    problems = [p for p in check_pid(pid, dob) if p != "pid_format"]
    if problems:
        conf = min(conf, 0.7)
    return _field(pid, conf, problems)


def extract_fields(doc_type: str, text: str) -> dict[str, Field]:
    """Key fields (spec §4) of a document of ``doc_type`` read from its text."""
    lines = _lines(text)
    out: dict[str, Field] = {}
    if doc_type not in FIELDS_BY_TYPE or not lines:
        return out
    names = find_names(lines)
    dob_hit = _after_label(lines, DOB_LABEL, _date_value)
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

    if doc_type == "ket_hon":
        husband = _name_where(names, r"chong|husband", avoid=r"\bvo\b|wife")
        wife = next((n for n in names if re.search(r"\bvo\b|wife", n["qual"])), None)
        if husband and re.search(r"\bvo\b", husband["qual"]):
            husband = None
        if husband:
            out["ho_ten_chong"] = _field(husband["name"], husband["conf"])
        if wife:
            out["ho_ten_vo"] = _field(wife["name"], wife["conf"])
        split = wife["line"] if wife else None
        if split is None:
            pids = [(p, i) for i, ln in enumerate(lines) for p, _ in find_pids(ln)]
            if len(pids) >= 2:
                out["so_dinh_danh_chong"] = _field(pids[0][0], 0.75)
                out["so_dinh_danh_vo"] = _field(pids[1][0], 0.75)
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
        put("so", _after_label(lines, r"^so\s*(dang\s*ky)?\s*(?=[:.;,])", _token_value, 0, min(len(lines), 12),
                               next_line=False))
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
        for i, ln in enumerate(lines):
            f = fold_keep(ln)
            m = re.search(r"(" + labels + r")\s*[:;]?\s*", f)
            if m:
                tail = ln[m.end():]
                ft = fold_keep(tail)
                mm = re.match(r"(ong\s*/\s*ba|ong|ba)\s*[:;]?\s*", ft)
                if mm:
                    tail = tail[mm.end():]
                v = _clean_name(tail)
                if v:
                    name_val, name_conf = v, 0.85
                    break
    if name_val and "ho_ten" in FIELDS_BY_TYPE[doc_type]:
        out["ho_ten"] = _field(name_val, name_conf)

    # ---- dates
    if "ngay_sinh" in FIELDS_BY_TYPE[doc_type] and dob_hit:
        put("ngay_sinh", dob_hit)
    if doc_type == "cccd":
        put("ngay_het_han", _after_label(lines, EXPIRY_LABEL, _date_value))
    if doc_type == "khai_tu":
        hit = _after_label(lines, DEATH_LABEL, lambda s: _date_value(s) if True else None)
        put("ngay_chet", hit)

    # ---- numbers
    if "so_dinh_danh" in FIELDS_BY_TYPE[doc_type]:
        hit = None
        if doc_type == "cccd":
            hit = _after_label(lines, r"^so\b|\bso\s*/\s*no\b|\bno\.?\s*:|" + PID_LABEL, _pid_value)
        hit = hit or pid_any()
        f = _pid_field(hit, dob)
        if f:
            out["so_dinh_danh"] = f
    if doc_type == "khai_sinh":
        put("so", _after_label(lines, r"^so\s*(dang\s*ky)?\s*(?=[:.;,])", _token_value, 0, min(len(lines), 12),
                               next_line=False))
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
                   r"ma\s*so\s*ho|ma\s*so",
            lambda s: (lambda t: repair_digits(t) if t and re.search(r"\d", t) else None)(_token_value(s))))
    return out
