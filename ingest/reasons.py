"""The quarantine reasons a clerk reads: a small catalogue of codes, each with one Vietnamese
sentence saying what is wrong and what to do. The technical detail (library messages, byte
offsets, exception names) is kept apart: in the log and in the second part of the reason file.

    >>> explain("pdf_password", "qpdf: invalid password").message
    'PDF có mật khẩu: mở khóa rồi quét lại.'

The first part never holds a server path or a library's jargon; :func:`scrub` takes paths out of
the detail too, leaving the file's own name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# code -> what is wrong : what the clerk should do. Placeholders: {page}, {attempts}, {other}.
CATALOGUE: dict[str, str] = {
    # what the file is
    "empty_file": "Tệp rỗng (0 byte), máy quét không ghi được nội dung: quét lại.",
    "not_a_scan": "Không phải ảnh quét hay PDF (chỉ nhận PDF, JPEG, PNG, TIFF): lưu đúng định dạng rồi chép lại.",
    "unsupported_type": "Loại tệp không được hỗ trợ (chỉ nhận PDF, JPEG, PNG, TIFF): lưu đúng định dạng rồi chép lại.",
    "symlink": "Đây là lối tắt (liên kết), không phải tệp: chép chính tệp vào thư mục quét.",
    "not_regular": "Đây không phải tệp thông thường: chép tệp ảnh quét hoặc PDF vào thư mục quét.",
    "bad_name": "Tên tệp có ký tự lạ không đọc được: đổi tên tệp (chữ và số) rồi chép lại.",
    # PDF
    "pdf_password": "PDF có mật khẩu: mở khóa rồi quét lại.",
    "pdf_certificate": "PDF được mã hóa cho người giữ chứng thư số: nhờ người gửi gửi bản không mã hóa, "
                       "hoặc in ra rồi quét lại.",
    "pdf_truncated": "PDF bị cắt cụt (chép hoặc quét chưa xong): chép lại tệp đầy đủ hoặc quét lại.",
    "pdf_corrupt": "PDF bị hỏng, không mở được: quét lại từ bản giấy.",
    "pdf_no_pages": "PDF không có trang nào: quét lại.",
    # images and pages
    "image_corrupt": "Ảnh bị hỏng hoặc cắt cụt: quét lại.",
    "too_large": "Trang quá lớn để xử lý: quét lại ở 300 dpi, khổ giấy thật.",
    "page_failed": "Trang {page} không xử lý được: xem trang đó, quét lại rồi chép vào thư mục quét.",
    "unreadable": "Không đọc được tệp như một văn bản: quét lại.",
    # the file on disk
    "permission": "Không có quyền đọc hoặc di chuyển tệp: nhờ quản trị cấp quyền cho tài khoản sohoa "
                  "rồi chép lại tệp.",
    "io_error": "Không đọc được tệp từ ổ đĩa: kiểm tra ổ đĩa hoặc thư mục mạng rồi chép lại tệp.",
    "vanished": "Tệp đã bị xóa hoặc di chuyển trong lúc xử lý: chép lại tệp nếu vẫn cần.",
    # the job
    "duplicate_of_quarantined": "Trùng nội dung với tệp {other} đã bị cách ly: xem lý do của tệp đó.",
    "gave_up": "Lỗi hệ thống, đã thử {attempts} lần không được: báo quản trị; tệp được giữ nguyên ở đây.",
}

_PATH = re.compile(r"(?:(?<=[\s'\"(=:\[])|^)(?:/[^\s/'\"():,\]]+){2,}/?")


@dataclass(frozen=True)
class Explained:
    code: str
    message: str  # Vietnamese, for the clerk: what is wrong, what to do
    detail: str  # technical, for the log and the reason file's second part

    def text(self) -> str:
        """The reason file's body: the message, then the detail under its own heading."""
        out = self.message
        if self.detail:
            out += f"\n\nChi tiết kỹ thuật ({self.code}):\n{self.detail}"
        return out

    def __str__(self) -> str:
        return self.text()


def scrub(detail: str, names: dict[str, str] | None = None) -> str:
    """Technical detail without server paths: known paths become their names, other absolute
    paths their last component."""
    s = detail or ""
    for path, name in (names or {}).items():
        if path:
            s = s.replace(path, name)
    return _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], s)


def explain(code: str, detail: str = "", **params) -> Explained:
    """The catalogue entry for ``code`` (``unreadable`` for an unknown code) with its detail."""
    template = CATALOGUE.get(code)
    if template is None:
        detail = f"[{code}] {detail}".strip()
        code, template = "unreadable", CATALOGUE["unreadable"]
    params = {"page": "?", "attempts": "nhiều", "other": "khác", **params}
    return Explained(code, template.format(**params), scrub(detail))


def for_exception(exc: BaseException, **params) -> Explained:
    """A reason for an exception: its own code when it carries one (``ocr.OcrInputError``),
    ``permission`` / ``vanished`` / ``io_error`` for the OS errors a file can raise."""
    code = getattr(exc, "code", None)
    detail = getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"
    page = getattr(exc, "page", None)
    if page is not None:
        params.setdefault("page", page + 1)
        if not detail.startswith("page "):
            detail = f"page {page + 1}: {detail}"
    if code:
        return explain(str(code), detail, **params)
    if isinstance(exc, PermissionError):
        return explain("permission", detail, **params)
    if isinstance(exc, FileNotFoundError):
        return explain("vanished", detail, **params)
    if isinstance(exc, OSError):
        return explain("io_error", detail, **params)
    return explain("unreadable", detail, **params)


__all__ = ["CATALOGUE", "Explained", "explain", "for_exception", "scrub"]
