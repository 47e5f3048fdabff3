"""Cases 6 and 7 of issue 13: valid files are not refused for their shape (data after %%EOF, a
.jfif/.jpe JPEG, attachments-only encryption); what is refused is named for what it is
(certificate encryption is not "corrupt") in words a clerk can act on."""
from __future__ import annotations

import io
import os

import numpy as np
import pikepdf
import pytest
from PIL import Image

import ocr
from ingest.files import looks_complete
from ingest.watcher import StabilityTracker, scan_ready
from ocr import OcrInputError
from tests.robustness.robust_fixtures import attachments_only_encrypted, certificate_encrypted, text_pdf


def _scan_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def test_pdf_with_kilobytes_after_eof_is_complete_and_readable(tmp_path):
    data = text_pdf(["Ket qua giai quyet thu tuc hanh chinh nam 2023 tai Bo phan Mot cua"])
    padded = tmp_path / "padded.pdf"
    padded.write_bytes(data + b"\x00" * 5000 + b"\r\n-- sent from the scanner's mail service --\r\n" * 40)
    assert looks_complete(padded)
    assert ocr.count_pages(str(padded)) == 1
    (page,) = ocr.read_pages(str(padded))
    assert "Bo phan Mot cua" in page.text
    # a PDF really cut short is still refused, by its own code
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert not looks_complete(cut)
    with pytest.raises(OcrInputError) as exc:
        ocr.count_pages(str(cut))
    assert exc.value.code == "pdf_truncated"


def _jpeg(path) -> None:
    Image.fromarray(np.full((300, 200), 235, np.uint8)).save(path, format="JPEG")


@pytest.mark.parametrize("name", ["scan.jfif", "scan.JPE", "anh-chup"])
def test_jpeg_is_taken_by_its_bytes_whatever_the_name(tmp_path, name):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _jpeg(inbox / name)
    tr = StabilityTracker(quiet=1.0)
    assert scan_ready(inbox, tr, now=0.0) == []
    (batch,) = scan_ready(inbox, tr, now=2.0)
    assert [c.rel for c in batch] == [name] and batch[0].problem is None
    assert ocr.sniff(str(inbox / name)) == "JPEG" and ocr.count_pages(str(inbox / name)) == 1


def test_attachments_only_encryption_is_not_a_password(tmp_path):
    p = tmp_path / "phuluc.pdf"
    attachments_only_encrypted(p)
    with pytest.raises(pikepdf.PasswordError):  # qpdf alone refuses it ...
        pikepdf.open(p)
    assert ocr.count_pages(str(p)) == 1  # ... poppler reads it: so does sohoa
    (page,) = ocr.read_pages(str(p))
    assert "Bo phan Mot cua" in page.text


def test_certificate_encryption_is_named_as_such(tmp_path):
    p = tmp_path / "cert.pdf"
    certificate_encrypted(p)
    with pytest.raises(OcrInputError) as exc:
        ocr.count_pages(str(p))
    assert exc.value.code == "pdf_certificate"
    from ingest import reasons

    why = reasons.for_exception(exc.value)
    assert "chứng thư số" in why.message and "hỏng" not in why.message


def test_password_pdf_reason_is_for_a_clerk(tmp_path):
    p = tmp_path / "khoa.pdf"
    with pikepdf.open(io.BytesIO(_scan_pdf())) as pdf:
        pdf.save(p, encryption=pikepdf.Encryption(user="secret", owner="o", R=6))
    with pytest.raises(OcrInputError) as exc:
        ocr.count_pages(str(p))
    from ingest import reasons

    why = reasons.for_exception(exc.value)
    assert why.code == "pdf_password"
    assert why.message == "PDF có mật khẩu: mở khóa rồi quét lại."
    text = why.text()
    assert text.startswith(why.message)
    assert str(tmp_path) not in text and "khoa.pdf" in text  # no server path, the file's own name


JARGON = ("qpdf", "pikepdf", "poppler", "opencv", "cv2", "tesseract", "traceback", "errno", "exception",
          "rasterize", "xref", "/", "error")


def test_every_code_has_an_actionable_vietnamese_message():
    from ingest import reasons
    from ocr import Problem

    codes = {p.value for p in Problem} | {"symlink", "not_regular", "bad_name", "unsupported_type", "permission",
                                         "io_error", "vanished", "duplicate_of_quarantined", "gave_up"}
    assert codes <= set(reasons.CATALOGUE), codes - set(reasons.CATALOGUE)
    for code in codes:
        msg = reasons.explain(code, "cv2.error: (-215) in /srv/sohoa/work/12/a.pdf", page=3, attempts=5).message
        low = msg.lower()
        assert ":" in msg, msg  # what is wrong: what to do
        assert any(c in msg for c in "ăâđêôơưáàảãạ"), msg  # Vietnamese
        assert not any(j in low for j in JARGON), (code, msg)
    # an unknown code still reads as Vietnamese, keeping the code in the detail
    odd = reasons.explain("no_such_code", "boom")
    assert odd.code == "unreadable" and "no_such_code" in odd.detail


def test_watcher_problems_read_vietnamese_first(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ghichu.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (inbox / "lienket.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    tr = StabilityTracker(quiet=1.0)
    scan_ready(inbox, tr, now=0.0)
    got = {b[0].rel: b[0] for b in scan_ready(inbox, tr, now=2.0)}
    assert got["ghichu.docx"].problem_code == "unsupported_type"
    assert got["ghichu.docx"].problem.startswith("Loại tệp không được hỗ trợ")
    assert got["lienket.pdf"].problem_code == "symlink"
    assert got["lienket.pdf"].problem.startswith("Đây là lối tắt")
    assert "symbolic link" in got["lienket.pdf"].problem  # the technical detail follows
    assert os.fspath(tmp_path) not in got["lienket.pdf"].problem
