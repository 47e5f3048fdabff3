"""Real Tesseract on pages rendered here: text, orientation, deskew, searchable PDF, QR, born-digital."""
from __future__ import annotations

import io
import json
import subprocess
import unicodedata
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pikepdf
import qrcode
from PIL import Image
from rapidfuzz.distance import Levenshtein

import ocr
from tests.ocr.conftest import PROSE, SANS, render_lines, save, scan


def cer(gt: str, hyp: str) -> float:
    g = " ".join(unicodedata.normalize("NFC", gt).split())
    h = " ".join(unicodedata.normalize("NFC", hyp).split())
    return Levenshtein.distance(g, h) / max(1, len(g))


def test_skewed_page_text_and_deskew(prose_png, prose_result):
    r = prose_result
    assert r.rotation == 0
    assert abs(abs(r.skew) - 2.5) < 0.2, r.skew
    assert cer(prose_png[1], r.text) < 0.01, r.text
    assert unicodedata.is_normalized("NFC", r.text)
    assert 0.8 < r.confidence <= 1.0
    assert r.quality == "ok"
    assert r.doc_type == "van_ban"
    assert r.width > 2000 and r.dpi == 300
    assert "ocr" in r.timings and r.timings["preprocess"] < r.timings["ocr"]


def test_searchable_pdf_reads_back(prose_png, prose_result, tmp_path):
    p = tmp_path / "page.pdf"
    p.write_bytes(prose_result.pdf)
    with pikepdf.open(p) as pdf:
        assert len(pdf.pages) == 1
    txt = subprocess.run(["pdftotext", "-enc", "UTF-8", str(p), "-"], capture_output=True, check=True).stdout.decode()
    assert cer(prose_png[1], txt) < 0.03, txt


CIVIL = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY KHAI SINH",
    "Số: 215",
    "Họ và tên: TRẦN THỊ MAI",
    "Ngày sinh: 05/03/2012",
    "Giới tính: Nữ   Dân tộc: Kinh",
    "Số định danh cá nhân: 087312045678",
    "Họ và tên mẹ: LÊ THỊ HOA",
]


def _qr_page() -> np.ndarray:
    a = render_lines(["Phiếu tiếp nhận hồ sơ", "Mã hồ sơ: 000.00.01.H29-261123-0001"], height_in=4.0)
    q = qrcode.make("000.00.01.H29-261123-0001", box_size=12, border=4).convert("L")
    im = Image.fromarray(a)
    im.paste(q, (int(im.width * 0.6), int(im.height * 0.3)))
    return np.array(im)


def test_tiff_pages_in_parallel_qr_and_upside_down(tmp_path):
    cover = Image.fromarray(scan(_qr_page(), 0.0, seed=2))
    doc = render_lines(CIVIL, font=SANS, title_lines=3)
    upside = Image.fromarray(scan(np.ascontiguousarray(doc[::-1, ::-1]), angle=1.0, seed=3))
    path = tmp_path / "batch.tif"
    cover.save(path, save_all=True, append_images=[upside], dpi=(300, 300), compression="tiff_deflate")
    assert ocr.count_pages(str(path)) == 2
    with ProcessPoolExecutor(max_workers=2) as ex:
        pages = ocr.read_pages(str(path), ex)
    assert [p.index for p in pages] == [0, 1]
    assert pages[0].qr == ["000.00.01.H29-261123-0001"]
    assert pages[1].rotation == 180
    assert pages[1].doc_type == "khai_sinh" and pages[1].starts_document
    assert cer("\n".join(CIVIL), pages[1].text) < 0.02, pages[1].text
    res = ocr.assemble(str(path), pages[1:])
    assert res.doc_type == "khai_sinh"
    assert res.fields["ho_ten"].value.lower() == "trần thị mai"
    assert res.fields["ngay_sinh"].value == "05/03/2012"
    assert res.fields["so_dinh_danh"].value == "087312045678"
    assert res.fields["so_dinh_danh"].flags == ()
    assert res.fields["so"].value == "215"
    js = res.to_json()
    assert set(js) == {"path", "doc_type", "confidence", "fields", "text", "pages", "quality"}
    with pikepdf.open(io.BytesIO(ocr.assemble(str(path), pages).pdf)) as pdf:
        assert len(pdf.pages) == 2


def _born_digital_pdf(path) -> None:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    lines = ["UY BAN NHAN DAN TINH LAI CHAU", "BAO CAO", "Ket qua giai quyet thu tuc hanh chinh nam 2023",
             "tai Bo phan Mot cua cac cap tren dia ban tinh."]
    ops = ["BT", "/F1 12 Tf", "72 760 Td", "16 TL"] + [f"({t}) Tj T*" for t in lines] + ["ET"]
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                              Contents=pdf.make_stream("\n".join(ops).encode("latin-1")))
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)


def test_born_digital_pdf_keeps_text_without_ocr(tmp_path):
    p = tmp_path / "letter.pdf"
    _born_digital_pdf(p)
    (r,) = ocr.read_pages(str(p))
    assert r.born_digital
    assert "ocr" not in r.timings
    assert "Ket qua giai quyet thu tuc hanh chinh nam 2023" in r.text
    with pikepdf.open(io.BytesIO(r.pdf)) as pdf:
        assert len(pdf.pages) == 1


def test_cli_json_out_dir_and_failure(tmp_path, prose_png, monkeypatch):
    from click.testing import CliRunner

    from sohoa.cli import cli

    monkeypatch.setenv("SOHOA_HOME", str(tmp_path / "home"))
    small = save(scan(render_lines(PROSE[:3]), 0.0), tmp_path / "small.png")
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["ocr", "--json", small, str(bad), "--out-dir", str(out), "--jobs", "1"])
    assert r.exit_code == 1, r.output
    objs = [json.loads(x) for x in r.output.splitlines() if x.startswith("{")]
    assert objs[0]["path"] == small and objs[0]["doc_type"] in ocr.TYPES and objs[0]["pages"] == 1
    assert objs[1]["path"] == str(bad) and "error" in objs[1]
    assert (out / "small.pdf").exists()
