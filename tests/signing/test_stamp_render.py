"""The lời chứng stamp is really visible: render the last page with pdftoppm and read it back."""
from __future__ import annotations

import shutil
import subprocess
import unicodedata

from tests.conftest import need


def _norm(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def test_stamp_renders_on_last_page(make_settings, sign_db, put_doc, officer_id, tmp_path):
    need(shutil.which("pdftoppm"), "poppler-utils (pdftoppm)")
    from signing import Certifier
    from sohoa.dev.scans import scanned_pdf

    data = scanned_pdf(dpi=100, noise=False, pages=2)
    with Certifier(make_settings(), sign_db, officer_id, workers=1, seal=False) as c:
        (res,) = c.certify([put_doc(sign_db, data)], out_dir=tmp_path)
    signed = res.copies[0].path
    txt = subprocess.run(["pdftotext", "-f", "2", "-l", "2", signed, "-"], capture_output=True, text=True,
                         check=True).stdout
    assert "Chứng thực bản sao đúng với bản chính" in txt
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", signed, "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "Chứng thực bản sao" not in first  # the stamp is on the LAST page only
    subprocess.run(["pdftoppm", "-f", "2", "-l", "2", "-r", "300", "-png", signed, str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p*.png"))
    from PIL import Image

    with Image.open(png) as im:
        img = im.convert("L")
    w, h = img.size
    crop = img.crop((w // 3, int(h * 0.8), w, h))  # bottom-right: the stamp
    assert crop.getextrema()[0] < 80  # something dark is drawn there
    import cv2
    import numpy as np

    # the QR code leads to the verification endpoint
    url, _pts, _ = cv2.QRCodeDetector().detectAndDecode(np.array(img)[int(h * 0.75):, w // 3:])
    assert url.startswith("http://127.0.0.1:8080/verify?") and f"so={res.number}" in url, url
    # Tesseract with Vietnamese is a hard requirement of sohoa (scripts/install.sh): no skipping here
    assert shutil.which("tesseract"), "tesseract is not installed"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    assert "vie" in langs, "tesseract's 'vie' data is not installed"
    crop = crop.resize((crop.width * 2, crop.height * 2))
    crop.save(tmp_path / "stamp.png")
    ocr = _norm(subprocess.run(["tesseract", str(tmp_path / "stamp.png"), "-", "-l", "vie", "--psm", "6"],
                               capture_output=True, text=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}
                               ).stdout)
    assert "Chứng thực bản sao" in ocr, ocr
    assert "bản chính" in ocr and "Quyển số" in ocr, ocr
    assert "Nguyễn Văn An" in ocr, ocr
