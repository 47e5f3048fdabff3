"""What changed in a PDF after a signature, said in Vietnamese.

pyHanko's difference analysis decides whether the revisions after a signature are permitted
(``ModificationLevel``, DocMDP, or a ``SuspiciousModification``); this module walks the same
revisions (pyHanko's historical resolvers) to say what they did: pages added or removed, page
content changed, annotations added or changed, form fields filled, a signature appearance moved,
signatures, validation data and document timestamps added.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

BENIGN = {"signature_added", "validation_data_added", "document_timestamp_added"}
ANNOT_NAMES = {"/Text": "ghi chú", "/FreeText": "chữ viết thêm", "/Highlight": "tô sáng", "/Underline": "gạch chân",
               "/StrikeOut": "gạch xóa", "/Ink": "nét vẽ tay", "/Square": "hình chữ nhật", "/Circle": "hình tròn",
               "/Line": "đường kẻ", "/Stamp": "con dấu hình ảnh", "/Link": "liên kết", "/FileAttachment": "tệp đính kèm",
               "/Polygon": "đa giác", "/PolyLine": "đường gấp khúc", "/Caret": "dấu chèn", "/Popup": "cửa sổ ghi chú"}
_SKIP = {"/Parent", "/P", "/Annots", "/StructParents", "/Kids"}


@dataclass
class Change:
    kind: str  # page_added | page_removed | page_content_changed | annotation_added | annotation_removed |
    #            annotation_changed | form_field_changed | signature_added | signature_appearance_moved |
    #            signature_appearance_changed | validation_data_added | document_timestamp_added | other
    text: str
    allowed: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def _obj(x):
    return x.get_object() if hasattr(x, "get_object") else x


def _ref(x):
    return getattr(x, "reference", None)


def _same(a, b, depth: int = 0) -> bool:
    """Deep equality of two PDF objects from different revisions (streams by their bytes)."""
    from pyhanko.pdf_utils import generic

    if depth > 12:
        return True
    ra, rb = _ref(a), _ref(b)
    a, b = _obj(a), _obj(b)
    if isinstance(a, generic.StreamObject) or isinstance(b, generic.StreamObject):
        if not (isinstance(a, generic.StreamObject) and isinstance(b, generic.StreamObject)):
            return False
        if a.encoded_data != b.encoded_data:
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - _SKIP
        return all(k in a and k in b and _same(a.raw_get(k), b.raw_get(k), depth + 1) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if ra is not None and rb is not None and ra == rb and a is b:
        return True
    return a == b


def _pages(root) -> list:
    """Page dictionaries (with their references) in order."""
    out = []

    def walk(node_ref, depth=0):
        node = _obj(node_ref)
        if depth > 50 or node is None:
            return
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in _obj(node.raw_get("/Kids")) if "/Kids" in node else []:
                walk(kid, depth + 1)
        else:
            out.append((_ref(node_ref), node))

    walk(root.raw_get("/Pages"))
    return out


def _annots(page) -> list:
    try:
        arr = page["/Annots"]
    except KeyError:
        return []
    return [(_ref(a), _obj(a)) for a in arr]


def _is_sig(annot) -> bool:
    node = annot
    for _ in range(10):
        if node is None:
            return False
        if node.get("/FT") == "/Sig":
            return True
        node = _obj(node.raw_get("/Parent")) if "/Parent" in node else None
    return False


def _field_name(annot) -> str:
    parts, node = [], annot
    for _ in range(10):
        if node is None:
            break
        if "/T" in node:
            parts.append(str(node["/T"]))
        node = _obj(node.raw_get("/Parent")) if "/Parent" in node else None
    return ".".join(reversed(parts))


def _fields(root) -> dict:
    """Terminal form fields by fully qualified name: ``{name: field dict}``."""
    out = {}
    try:
        top = root["/AcroForm"]["/Fields"]
    except KeyError:
        return out

    def walk(f, prefix, depth=0):
        f = _obj(f)
        if depth > 20 or f is None:
            return
        name = prefix + ("." if prefix and "/T" in f else "") + (str(f["/T"]) if "/T" in f else "")
        kids = [k for k in (_obj(f.raw_get("/Kids")) if "/Kids" in f else []) if "/T" in _obj(k)]
        if kids:
            for k in kids:
                walk(k, name, depth + 1)
        else:
            out[name] = f

    for f in _obj(top):
        walk(f, "")
    return out


def _value(v) -> str:
    v = _obj(v)
    s = str(v) if v is not None else ""
    return s if len(s) <= 60 else s[:57] + "…"


def describe_changes(reader, revision: int) -> list[Change]:
    """What revisions after ``revision`` did (``allowed`` is filled in by the caller's verdict
    for the kinds that are not benign)."""
    total = reader.xrefs.total_revisions
    if revision >= total - 1:
        return []
    old = reader.get_historical_resolver(revision)
    new = reader.get_historical_resolver(total - 1)
    changes: list[Change] = []
    old_root, new_root = old.root, new.root
    old_pages, new_pages = _pages(old_root), _pages(new_root)
    old_refs = [r for r, _ in old_pages]
    new_refs = [r for r, _ in new_pages]
    for i, (ref, _page) in enumerate(new_pages):
        if ref not in old_refs:
            changes.append(Change("page_added", f"thêm trang {i + 1}"))
    for i, (ref, _page) in enumerate(old_pages):
        if ref not in new_refs:
            changes.append(Change("page_removed", f"xóa trang {i + 1} của bản đã ký"))
    old_by_ref = dict(old_pages)
    for i, (ref, page) in enumerate(new_pages):
        before = old_by_ref.get(ref)
        if before is None:
            continue
        for key, what in (("/Contents", "nội dung"), ("/Resources", "tài nguyên (ảnh, phông chữ)"),
                          ("/MediaBox", "khổ trang"), ("/CropBox", "vùng hiển thị"), ("/Rotate", "hướng xoay")):
            if (key in page) != (key in before) or (key in page and not _same(before.raw_get(key), page.raw_get(key))):
                changes.append(Change("page_content_changed", f"thay đổi {what} của trang {i + 1}"))
        _annot_changes(before, page, i, changes)
    old_fields, new_fields = _fields(old_root), _fields(new_root)
    for name, f in new_fields.items():
        if f.get("/FT") == "/Sig":
            continue
        o = old_fields.get(name)
        if o is None:
            changes.append(Change("form_field_changed", f"thêm trường biểu mẫu “{name}”"))
        elif not _same(o.raw_get("/V") if "/V" in o else None, f.raw_get("/V") if "/V" in f else None):
            changes.append(Change("form_field_changed", f"trường biểu mẫu “{name}”: “{_value(o.get('/V'))}” → "
                                                        f"“{_value(f.get('/V'))}”"))
    for name, f in new_fields.items():
        if f.get("/FT") != "/Sig" or "/V" not in f:
            continue
        o = old_fields.get(name)
        if o is None or "/V" not in o:
            is_ts = _obj(f.raw_get("/V")).get("/Type") == "/DocTimeStamp"
            changes.append(Change("document_timestamp_added", "thêm dấu thời gian tài liệu (lưu trữ dài hạn)")
                           if is_ts else Change("signature_added", f"thêm chữ ký “{name}”"))
    if "/DSS" in new_root and ("/DSS" not in old_root or not _same(old_root.raw_get("/DSS"), new_root.raw_get("/DSS"))):
        changes.append(Change("validation_data_added", "bổ sung dữ liệu xác minh dài hạn (chứng thư, CRL/OCSP)"))
    for key in sorted((set(old_root) | set(new_root)) - {"/Pages", "/AcroForm", "/DSS", "/Extensions", "/Metadata",
                                                          "/Perms", "/Type"}):
        if (key in old_root) != (key in new_root) or not _same(old_root.raw_get(key), new_root.raw_get(key)):
            changes.append(Change("other", f"thay đổi cấu trúc tài liệu ({key[1:]})"))
    return changes


def _annot_changes(before, page, i: int, changes: list[Change]) -> None:
    old = dict(_annots(before))
    new = _annots(page)
    new_refs = {r for r, _ in new}
    for ref, a in new:
        if ref in old:
            o = old[ref]
            if _is_sig(a):
                name = _field_name(a)
                if not _same(o.raw_get("/Rect"), a.raw_get("/Rect")):
                    changes.append(Change("signature_appearance_moved", f"di chuyển hình chữ ký “{name}” trên trang {i + 1}"))
                elif "/V" in o and not _same(o.raw_get("/AP") if "/AP" in o else None,
                                             a.raw_get("/AP") if "/AP" in a else None):
                    changes.append(Change("signature_appearance_changed", f"thay hình chữ ký “{name}” trên trang {i + 1}"))
            elif a.get("/Subtype") == "/Widget":  # a form field's widget: its value is reported with the fields
                if not _same(o.raw_get("/Rect"), a.raw_get("/Rect")):
                    changes.append(Change("annotation_changed",
                                          f"di chuyển ô biểu mẫu “{_field_name(a)}” trên trang {i + 1}"))
            elif not _same(o, a):
                changes.append(Change("annotation_changed", f"sửa {_annot_name(a)} trên trang {i + 1}"))
            continue
        if _is_sig(a):
            continue  # reported with the signature fields
        if a.get("/Subtype") == "/Widget":
            changes.append(Change("form_field_changed", f"thêm ô biểu mẫu “{_field_name(a)}” trên trang {i + 1}"))
        else:
            changes.append(Change("annotation_added", f"thêm {_annot_name(a)} trên trang {i + 1}"))
    for ref, a in old.items():
        if ref not in new_refs:
            changes.append(Change("annotation_removed", f"xóa {_annot_name(a)} trên trang {i + 1}"))


def _annot_name(a) -> str:
    sub = str(a.get("/Subtype") or "")
    return ANNOT_NAMES.get(sub, f"chú thích {sub[1:] or ''}".strip())
