"""The papers the counter hands out, read back from the PDF (pdftotext): the receipt in Circular
01/2018/TT-VPCP's layout — the full procedure name (wrapped, never cut), the agency with the
commune's name, the papers by their Vietnamese names, the appointment, the clerk and both signature
lines — and a picture of it in build/screenshots."""
from __future__ import annotations

import re
import subprocess

from registry import persons, service
from registry.models import Procedure
from registry.staff import add_staff
from registry.units import add_unit
from sohoa.papers.receipt import receipt_for
from tests.conftest import ROOT
from tests.once_helpers import person

HUSBAND, WIFE = person("Lê Văn Cường", 1985), person("Phạm Thị Dung", 1987, "Nữ")
LONG = ("Đăng ký kết hôn có yếu tố nước ngoài tại Ủy ban nhân dân cấp xã khu vực biên giới, "
        "giữa công dân Việt Nam thường trú ở khu vực biên giới với công dân của nước láng giềng")


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60)
    return out.stdout.decode()


def test_receipt_prints_every_word_the_office_must_hand_out(settings, db):
    with db.session() as s:
        add_unit(s, settings.agency_code, "Ủy ban nhân dân xã Tân Phú")
        add_staff(s, "canbo", "mật-khẩu-dài-2026", name="Lò Thị Hạnh", role="clerk")
        s.add(Procedure(code="2.000528", name=LONG, required_types=["to_khai", "cccd", "xac_nhan_hon_nhan"], days=15))
        s.flush()
        d = service.open_dossier(s, procedure="2.000528", subject=HUSBAND.pid, name=HUSBAND.name,
                                 agency=settings.agency_code, actor="staff:canbo", phone="0912345678",
                                 address="Thôn Đông, xã Tân Phú", sets="2", fee="1.500.000",
                                 persons=[persons.PersonIn("wife", WIFE.pid, WIFE.name)])
        pdf = receipt_for(s, d, settings)
        code = d.code
    text = _text(pdf)
    flat = re.sub(r"\s+", " ", text)
    assert LONG in flat, "the procedure name is cut"
    for want in ("ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", "BỘ PHẬN MỘT CỬA", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                 f"Mã hồ sơ: {code}", "Tờ khai", "Căn cước công dân", "Vợ: Phạm Thị Dung",
                 "Số lượng hồ sơ: 2 bộ", "15 ngày làm việc", "Thời gian trả kết quả giải quyết hồ sơ",
                 "Lệ phí đã thu: 1.500.000 đồng", "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Lò Thị Hạnh",
                 "Lê Văn Cường", "Số điện thoại: 0912345678", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"):
        assert want in flat, want
    for code_word in ("cccd", "to_khai", "xac_nhan_hon_nhan", HUSBAND.pid):
        assert code_word not in text
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "paper-receipt.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(shots / "paper-receipt.pdf"),
                    str(shots / "paper-receipt")], check=True, timeout=60)
    (shots / "paper-receipt.pdf").unlink()
