"""Document-level metadata of results and official papers, and the validity a document carries.

Metadata keys (what the law adds, in the product spec; Decree 30/2020 for the parts of an official
paper), stored per document and editable by staff:

- ``so_ky_hieu``       number/symbol, e.g. ``125/QĐ-UBND``
- ``ngay_ban_hanh``    issue date, dd/mm/yyyy
- ``co_quan_ban_hanh`` issuing body, e.g. ``ỦY BAN NHÂN DÂN XÃ BẢN BO``
- ``nguoi_ky``         signer
- ``trich_yeu``        summary ("Về việc …", "V/v …")
- ``hieu_luc_den``     valid until (dd/mm/yyyy) or ``vĩnh viễn`` (permanent)
- ``pham_vi``          scope (e.g. ``toàn quốc``)
- ``ma_ket_qua``       national result-type code of a result, e.g. ``KQ.G15.000031``

:func:`extract_metadata` finds what is printed (on a diacritic-free fold of the text, values cut
from the NFC original); :func:`valid_until` derives a document's expiry from its fields and
metadata (an ID card's ``ngay_het_han``, a driving licence's ``co_gia_tri_den``, a paper's
``hieu_luc_den``).
"""
from __future__ import annotations

import datetime as dt
import re

from vocab.identifiers import EXPIRY_FIELDS, PERMANENT_WORDS, parse_date
from vocab.text import fold, fold_keep, nfc

__all__ = ["METADATA_KEYS", "METADATA_LABELS", "EXPIRY_FIELDS", "PERMANENT", "extract_metadata", "valid_until",
           "metadata_problems", "has_metadata"]

METADATA_KEYS = ("so_ky_hieu", "ngay_ban_hanh", "co_quan_ban_hanh", "nguoi_ky", "trich_yeu", "hieu_luc_den",
                 "pham_vi", "ma_ket_qua")
METADATA_LABELS = {
    "so_ky_hieu": "Số, ký hiệu", "ngay_ban_hanh": "Ngày ban hành", "co_quan_ban_hanh": "Cơ quan ban hành",
    "nguoi_ky": "Người ký", "trich_yeu": "Trích yếu", "hieu_luc_den": "Hiệu lực đến",
    "pham_vi": "Phạm vi", "ma_ket_qua": "Mã loại kết quả",
}
PERMANENT = "vĩnh viễn"

# personal papers carry their facts as fields (an ID card, an application form): no paper metadata
_NO_METADATA = ("cccd", "to_khai")


def has_metadata(doc_type: str) -> bool:
    """Whether documents of this type are results or official papers that carry document metadata."""
    return doc_type not in _NO_METADATA


_RESULT_CODE = re.compile(r"\bKQ\.[A-Z]\d{2}\.\d{6}\b")
_NUMBER = re.compile(r"(?m)^\s*(?:so|s0)\s*[:.]\s*([0-9][0-9A-Za-z./\-]*\s*/\s*[A-Za-z0-9][A-Za-z0-9./\-]*)")
_DATE_WORDS = re.compile(r"ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")
_ISSUERS = ("uy ban nhan dan", "ubnd", "so ", "bo ", "cuc ", "phong ", "cong an", "toa an", "vien kiem sat",
            "chi cuc", "van phong", "ban quan ly", "truong ", "benh vien", "trung tam")
_NATIONAL_HEADER = ("cong hoa xa hoi chu nghia viet nam", "doc lap - tu do - hanh phuc")
_SIGNER_TITLES = ("chu tich", "giam doc", "truong phong", "truong ban", "chanh van phong", "cuc truong",
                  "vu truong", "thu truong", "bo truong", "nguoi ky", "chanh an", "hieu truong", "truong cong an")
_VALID_UNTIL = re.compile(r"(?:co\s+)?(?:gia\s+tri|hieu\s+luc)\s+(?:su\s+dung\s+)?(?:den|toi)\s+(?:het\s+)?(?:ngay\s+)?")
_SCOPE = re.compile(r"pham\s+vi(?:\s+(?:ap\s+dung|su\s+dung|hoat\s+dong))?\s*:\s*")


def _lines(text: str) -> list[tuple[str, str]]:
    """(original, fold) per non-empty line; fold_keep keeps positions so values are cut from the original."""
    out = []
    for ln in nfc(text).splitlines():
        if ln.strip():
            out.append((ln, fold_keep(ln)))
    return out


def _date_after(orig: str, folded: str, start: int = 0) -> str | None:
    m = _DATE_WORDS.search(folded, start) or _DATE_NUM.search(folded, start)
    if not m:
        return None
    d, mo, y = (int(x) for x in m.groups())
    try:
        return dt.date(y, mo, d).strftime("%d/%m/%Y")
    except ValueError:
        return None


def _strip_header(orig: str, folded: str) -> str:
    """Drop the national motto printed beside the issuer on the same OCR line."""
    for h in _NATIONAL_HEADER:
        i = folded.find(h)
        if i >= 0:
            orig, folded = orig[:i], folded[:i]
    return orig.strip(" -–")


def extract_metadata(text: str) -> dict[str, str]:
    """The metadata printed on an official paper or result (only what was found)."""
    lines = _lines(text)
    out: dict[str, str] = {}
    whole = nfc(text)
    m = _RESULT_CODE.search(whole)
    if m:
        out["ma_ket_qua"] = m.group(0)
    head = lines[:12]
    for orig, f in head:
        m = _NUMBER.search(f)
        if m:
            out["so_ky_hieu"] = re.sub(r"\s+", "", orig[m.start(1):m.end(1)])
            break
    for orig, f in head:
        # "Bản Bo, ngày 12 tháng 3 năm 2024" or "Ngày ban hành: 12/03/2024" — never "Ngày sinh: …"
        if re.search(r",\s*ngay\s+\d{1,2}\s+thang", f) or re.match(r"\s*ngay\s+(\d|ban hanh|ky)", f):
            d = _date_after(orig, f)
            if d:
                out["ngay_ban_hanh"] = d
                break
    issuer = []
    for orig, f in head[:6]:
        ff = f.strip().lower()
        if any(ff.startswith(h) for h in _NATIONAL_HEADER):
            continue
        part = _strip_header(orig.strip(), ff)
        if (any(ff.startswith(i) for i in _ISSUERS) or (issuer and not _NUMBER.search(f))) and part.isupper():
            issuer.append(part)
            continue
        if issuer:
            break
    if issuer:
        out["co_quan_ban_hanh"] = " ".join(issuer)
    for i, (orig, f) in enumerate(lines):
        s = f.strip()
        if s.startswith(("v/v", "ve viec")):
            out["trich_yeu"] = orig.strip()
            break
        if s in ("quyet dinh", "thong bao", "giay phep", "giay chung nhan") and i + 1 < len(lines):
            nxt_o, nxt_f = lines[i + 1]
            if nxt_f.strip().startswith(("ve ", "v/v")):
                out["trich_yeu"] = nxt_o.strip()
                break
    for orig, f in lines:
        m = _VALID_UNTIL.search(f)
        if m:
            rest = f[m.end():]
            if any(w in rest for w in PERMANENT_WORDS):
                out["hieu_luc_den"] = PERMANENT
                break
            d = _date_after(orig, f, m.end())
            if d:
                out["hieu_luc_den"] = d
                break
        if "vinh vien" in f and ("hieu luc" in f or "gia tri" in f):
            out["hieu_luc_den"] = PERMANENT
            break
    for orig, f in lines:
        m = _SCOPE.search(f)
        if m:
            out["pham_vi"] = orig[m.end():].strip(" .")
            break
        if "tren toan quoc" in f or "pham vi ca nuoc" in f:
            out["pham_vi"] = "toàn quốc"
            break
    signer = _signer(lines)
    if signer:
        out["nguoi_ky"] = signer
    return out


def _signer(lines: list[tuple[str, str]]) -> str | None:
    """The name under the signer's title at the end of the paper."""
    tail = lines[-10:]
    for i, (_orig, f) in enumerate(tail):
        ff = re.sub(r"^(kt|tm|tl|tuq|q)\.\s*", "", f.strip())
        if any(ff.startswith(t) or ff.startswith("pho " + t) for t in _SIGNER_TITLES):
            for orig2, f2 in tail[i + 1:]:
                o = orig2.strip()
                words = o.split()
                if 2 <= len(words) <= 6 and not any(ch.isdigit() for ch in o) and all(w[:1].isupper() for w in words):
                    ff2 = re.sub(r"^(kt|tm|tl|tuq|q)\.\s*", "", f2.strip())
                    if any(ff2.startswith(t) or ff2.startswith("pho " + t) for t in _SIGNER_TITLES):
                        continue
                    if "(da ky)" in f2 or "ky ten" in f2:
                        continue
                    return o.title() if o.isupper() else o
    return None


def valid_until(fields: dict[str, str] | None, metadata: dict[str, str] | None = None) -> dt.date | None:
    """The last day a document is valid, from the expiry it carries; None when it carries none or
    says it is permanent. The document's own expiry field (an ID card's ``ngay_het_han``, a
    licence's ``co_gia_tri_den``) comes first, then the paper's ``hieu_luc_den`` metadata."""
    for src in (fields or {}, metadata or {}):
        for name in EXPIRY_FIELDS:
            v = (src.get(name) or "").strip()
            if not v:
                continue
            if fold(v) in PERMANENT_WORDS:
                return None
            d = parse_date(v)
            if d is not None:
                return d
    return None


def metadata_problems(meta: dict[str, str]) -> dict[str, str]:
    """Vietnamese problems per metadata key (unknown keys, malformed dates / result codes)."""
    probs: dict[str, str] = {}
    for k, v in meta.items():
        v = (v or "").strip()
        if k not in METADATA_KEYS:
            probs[k] = f"không có trường siêu dữ liệu {k!r} (có: {', '.join(METADATA_KEYS)})"
        elif not v:
            continue
        elif k == "ngay_ban_hanh" and parse_date(v) is None:
            probs[k] = "ngày ban hành viết dạng ngày/tháng/năm, ví dụ 05/12/2026"
        elif k == "hieu_luc_den" and fold(v) not in PERMANENT_WORDS and parse_date(v) is None:
            probs[k] = "hiệu lực đến một ngày (ngày/tháng/năm, ví dụ 31/12/2030) hoặc ghi “vĩnh viễn”"
        elif k == "ma_ket_qua" and not _RESULT_CODE.fullmatch(v):
            probs[k] = "mã loại kết quả có dạng KQ.G15.000031"
    return probs
