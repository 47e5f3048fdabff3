"""A varied generator of Vietnamese civil documents for held-out checks of classification and
field extraction: several wordings of every label (bilingual or not, "Họ, chữ đệm, tên" /
"Họ và tên" / "Họ tên" …), role words before or after the label (chồng/vợ/cha/mẹ), sections
("BÊN VỢ", "Thông tin người chồng"), values on the same line, on the next line or in a second
column (the two-column marriage form), dates in figures or words.

``make(doc_type, rng)`` -> (lines, fields); lines starting with '#' are titles. ``render`` draws
them as a 300 dpi page with one of Debian's fonts. Used by tests/ and bench/classify.py.
"""
from __future__ import annotations

import os
import random
import unicodedata

HO = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
      "Đinh", "Mai", "Trịnh", "Lương", "Hà", "Quàng", "Lò", "Tòng", "Vi", "Nông", "Triệu", "Khổng", "Cầm"]
DEM_M = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Công", "Ngọc", "Thế", "Trọng", "Đình", "Bá", "A"]
DEM_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Bích", "Thùy", "Mai", "Diệu"]
TEN_M = ["An", "Bảo", "Cường", "Dũng", "Giang", "Hiếu", "Khoa", "Lâm", "Lực", "Nghĩa", "Phúc", "Quang", "Sơn",
         "Tài", "Thịnh", "Toàn", "Trung", "Vinh", "Vượng", "Hưng"]
TEN_F = ["Ánh", "Bích", "Châu", "Diễm", "Duyên", "Hằng", "Hiền", "Huyền", "Lan", "Loan", "Ly", "Nhung", "Nhàn",
         "Phương", "Quyên", "Thảo", "Thương", "Trâm", "Uyên", "Xuân", "Yến"]
PROVINCES = [("Lai Châu", "012"), ("Yên Bái", "015"), ("Hà Giang", "002"), ("Cần Thơ", "092"), ("Bắc Ninh", "027"),
             ("Thanh Hóa", "038"), ("Quảng Nam", "049"), ("Kiên Giang", "091"), ("Hà Nội", "001")]
WARDS = ["xã Mường Than", "xã Phúc Khoa", "phường Quyết Thắng", "xã Tân Uyên", "thị trấn Phong Thổ", "xã Nà Tăm",
         "phường Đông Phong", "xã Thạnh Lộc", "xã Vĩnh Thuận"]
HEADER = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]

NAME_LABELS = ["Họ, chữ đệm, tên", "Họ và tên", "Họ tên", "Họ, chữ đệm và tên", "Họ và tên khai sinh"]
NAME_LABELS_BI = ["Họ và tên / Full name", "Họ, chữ đệm, tên / Full name", "Họ tên / Name",
                  "Họ, chữ đệm và tên / Surname, middle and given name"]
DOB_LABELS = ["Ngày, tháng, năm sinh", "Ngày sinh", "Sinh ngày", "Ngày tháng năm sinh"]
PID_LABELS = ["Số định danh cá nhân", "Số CCCD", "Số căn cước", "Số Căn cước công dân", "Mã số định danh"]


def _pid(rng: random.Random, prov: str, year: int, female: bool) -> str:
    c = (0 if year < 2000 else 2) + (1 if female else 0)
    return f"{prov}{c}{year % 100:02d}{rng.randrange(10 ** 6):06d}"


def person(rng: random.Random, female: bool | None = None, y0: int = 1950, y1: int = 2004) -> dict:
    female = rng.random() < 0.5 if female is None else female
    name = f"{rng.choice(HO)} {rng.choice(DEM_F if female else DEM_M)} {rng.choice(TEN_F if female else TEN_M)}"
    y, m, d = rng.randint(y0, y1), rng.randint(1, 12), rng.randint(1, 28)
    prov, code = rng.choice(PROVINCES)
    return {"name": name, "dob": f"{d:02d}/{m:02d}/{y}", "y": y, "m": m, "d": d, "female": female,
            "pid": _pid(rng, code, y, female), "prov": prov}


def _case(rng: random.Random, name: str) -> str:
    return name.upper() if rng.random() < 0.6 else name


def _date_text(rng: random.Random, p: dict) -> str:
    if rng.random() < 0.25:
        return f"ngày {p['d']:02d} tháng {p['m']:02d} năm {p['y']}"
    return p["dob"]


def _labelled(rng: random.Random, label: str, value: str, layout: str) -> list[str]:
    if layout == "next_line":
        return [f"{label}:", value]
    if rng.random() < 0.12:  # the colon lost (a faint print, OCR), or a dotted leader instead
        return [f"{label} {value}" if value.isupper() else f"{label}: .....{value}....."]
    return [f"{label}: {value}"]


def _header(rng: random.Random, title: str) -> list[str]:
    out = []
    if rng.random() < 0.5:
        out += [f"ỦY BAN NHÂN DÂN {rng.choice(WARDS).upper()}"]
    out += ["#" + HEADER[0], "#" + HEADER[1]]
    out += ["#" + title]
    return out


def _name_label(rng: random.Random, bilingual: bool = False) -> str:
    return rng.choice(NAME_LABELS_BI if bilingual else NAME_LABELS)


def _ket_hon(rng: random.Random) -> tuple[list[str], dict]:
    c, v = person(rng, False, 1960, 2002), person(rng, True, 1962, 2004)
    so = str(rng.randint(1, 300))
    f = {"ho_ten_chong": c["name"], "ho_ten_vo": v["name"], "so_dinh_danh_chong": c["pid"],
         "so_dinh_danh_vo": v["pid"], "so": so}
    title = rng.choice(["GIẤY CHỨNG NHẬN KẾT HÔN", "TRÍCH LỤC KẾT HÔN", "GIẤY CHỨNG NHẬN ĐĂNG KÝ KẾT HÔN"])
    L = _header(rng, title) + [rng.choice([f"Số: {so}", f"Số: {so}", f"Số {so}"]) if rng.random() < 0.9 else f"Số: {so}"]
    layout = rng.choice(["role_after", "role_before", "section", "columns", "role_paren", "next_line", "bilingual",
                         "honorific"])
    nl = _name_label(rng)
    pidl = rng.choice(PID_LABELS)
    dobl = rng.choice(DOB_LABELS)
    if layout == "columns":
        # the official two-column form: a header row, then one row per item
        L += ["Thông tin          Chồng          Vợ" if rng.random() < 0.5 else "Bên chồng    Bên vợ"]
        L += [f"{nl}: {_case(rng, c['name'])}    {_case(rng, v['name'])}"]
        L += [f"{dobl}: {c['dob']}    {v['dob']}"]
        L += [f"Dân tộc: Kinh    Kinh", "Quốc tịch: Việt Nam    Việt Nam"]
        L += [f"{pidl}: {c['pid']}    {v['pid']}"]
    else:
        for role, p in (("chồng", c), ("vợ", v)):
            R = role.capitalize()
            if layout == "role_after":
                lab = f"{nl} {rng.choice([role, 'người ' + role, 'của ' + role])}"
                L += _labelled(rng, lab, _case(rng, p["name"]), "inline")
            elif layout == "role_before":
                lab = f"{R} - {nl}" if rng.random() < 0.5 else f"{R}: {nl}"
                L += _labelled(rng, lab, _case(rng, p["name"]), "inline")
            elif layout == "role_paren":
                L += _labelled(rng, f"{nl} ({role})", _case(rng, p["name"]), "inline")
            elif layout == "next_line":
                L += _labelled(rng, f"{nl} {role}", _case(rng, p["name"]), "next_line")
            elif layout == "bilingual":
                en = "Husband's full name" if role == "chồng" else "Wife's full name"
                L += _labelled(rng, f"{nl} {role} / {en}", _case(rng, p["name"]), "inline")
            elif layout == "honorific":  # "Anh: …" / "Chị: …" or "Ông … và Bà …"
                word = rng.choice(["Anh", "Ông"]) if role == "chồng" else rng.choice(["Chị", "Bà"])
                L += [f"{word}: {_case(rng, p['name'])}"]
            else:  # section headers
                L += [rng.choice([f"THÔNG TIN NGƯỜI {role.upper()}", f"BÊN {role.upper()}", f"Người {role}:",
                                  f"{R}:"])]
                L += _labelled(rng, nl, _case(rng, p["name"]), rng.choice(["inline", "next_line"]))
            L += [f"{dobl}: {_date_text(rng, p)}", f"Dân tộc: Kinh   Quốc tịch: Việt Nam",
                  f"Nơi cư trú: {rng.choice(WARDS)}, tỉnh {p['prov']}", f"{pidl}: {p['pid']}"]
    L += [f"Nơi đăng ký: Ủy ban nhân dân {rng.choice(WARDS)}", f"Ngày đăng ký: {rng.randint(1, 28):02d}/"
          f"{rng.randint(1, 12):02d}/{rng.randint(2010, 2025)}"]
    return L, f


def _khai_sinh(rng: random.Random) -> tuple[list[str], dict]:
    p = person(rng, None, 2005, 2024)
    me, cha = person(rng, True, 1970, 2000), person(rng, False, 1968, 1998)
    so = rng.choice([str(rng.randint(1, 400)), f"{rng.randint(1, 400)}/2024", f"{rng.randint(1, 99)}/TLKS"])
    f = {"ho_ten": p["name"], "ngay_sinh": p["dob"], "so_dinh_danh": p["pid"], "so": so}
    L = _header(rng, rng.choice(["GIẤY KHAI SINH", "TRÍCH LỤC KHAI SINH", "BẢN SAO GIẤY KHAI SINH"]))
    L += [f"Số: {so}"]
    bi = rng.random() < 0.3
    L += _labelled(rng, _name_label(rng, bi), _case(rng, p["name"]), rng.choice(["inline", "inline", "next_line"]))
    L += [f"{rng.choice(DOB_LABELS)}: {p['dob']}" + (f"   ({rng.choice(['Ghi bằng chữ', 'bằng chữ'])}: ngày ...)"
                                                     if rng.random() < 0.2 else "")]
    L += [f"Giới tính: {'Nữ' if p['female'] else 'Nam'}   Dân tộc: Kinh   Quốc tịch: Việt Nam"]
    L += [f"Nơi sinh: Bệnh viện đa khoa tỉnh {p['prov']}", f"{rng.choice(PID_LABELS)}: {p['pid']}"]
    for role, q in (("mẹ", me), ("cha", cha)):
        form = rng.choice(["after", "before", "section"])
        nl = _name_label(rng)
        if form == "after":
            L += [f"{nl} người {role}: {_case(rng, q['name'])}"]
        elif form == "before":
            L += [f"{role.capitalize()}: {nl}: {_case(rng, q['name'])}"]
        else:
            L += [f"Thông tin về người {role}", f"{nl}: {_case(rng, q['name'])}"]
        L += [f"Năm sinh: {q['y']}   Dân tộc: Kinh"]
    L += [f"Nơi đăng ký: Ủy ban nhân dân {rng.choice(WARDS)}"]
    return L, f


def _simple(rng: random.Random, doc_type: str) -> tuple[list[str], dict]:
    p = person(rng)
    nl = _name_label(rng, doc_type in ("cccd", "giay_phep_lai_xe") or rng.random() < 0.2)
    layout = rng.choice(["inline", "inline", "next_line"])
    name = _case(rng, p["name"])
    if doc_type == "cccd":
        exp = f"{p['d']:02d}/{p['m']:02d}/{rng.randint(2027, 2045)}"
        f = {"so_dinh_danh": p["pid"], "ho_ten": p["name"], "ngay_sinh": p["dob"], "ngay_het_han": exp}
        L = ["#" + HEADER[0], "#" + HEADER[1], "#" + rng.choice(["CĂN CƯỚC CÔNG DÂN", "CĂN CƯỚC", "CITIZEN IDENTITY CARD"])]
        L += [rng.choice(["Số / No.", "Số định danh cá nhân / Personal identification number", "Số"]) + f": {p['pid']}"]
        L += _labelled(rng, nl, name.upper(), layout)
        L += [f"{rng.choice(['Ngày sinh / Date of birth', 'Ngày, tháng, năm sinh'])}: {p['dob']}",
              f"Giới tính / Sex: {'Nữ' if p['female'] else 'Nam'}   Quốc tịch / Nationality: Việt Nam",
              f"Quê quán / Place of origin: {rng.choice(WARDS)}, {p['prov']}",
              f"{rng.choice(['Có giá trị đến / Date of expiry', 'Ngày hết hạn'])}: {exp}"]
        return L, f
    if doc_type == "xac_nhan_hon_nhan":
        f = {"ho_ten": p["name"], "so_dinh_danh": p["pid"], "ngay_sinh": p["dob"]}
        L = _header(rng, rng.choice(["GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XÁC NHẬN TÌNH TRẠNG HÔN NHÂN"]))
        L += [f"Ủy ban nhân dân {rng.choice(WARDS)} xác nhận:"]
        L += _labelled(rng, nl, name, layout)
        L += [f"{rng.choice(DOB_LABELS)}: {p['dob']}   Giới tính: {'Nữ' if p['female'] else 'Nam'}",
              rng.choice([f"Giấy tờ tùy thân: Căn cước công dân số {p['pid']}", f"{rng.choice(PID_LABELS)}: {p['pid']}"]),
              "Tình trạng hôn nhân: " + rng.choice(["Chưa đăng ký kết hôn với ai", "Hiện tại đang độc thân"]),
              "Giấy này có giá trị 6 tháng kể từ ngày cấp."]
        return L, f
    if doc_type == "khai_tu":
        d = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2015, 2025)}"
        f = {"ho_ten": p["name"], "so_dinh_danh": p["pid"], "ngay_chet": d}
        L = _header(rng, rng.choice(["TRÍCH LỤC KHAI TỬ", "GIẤY CHỨNG TỬ", "TRÍCH LỤC ĐĂNG KÝ KHAI TỬ"]))
        lab = rng.choice([f"{nl} người chết", f"{nl} người đã mất", nl, f"Người chết - {nl}"])
        L += _labelled(rng, lab, name, layout)
        L += [f"{rng.choice(DOB_LABELS)}: {p['dob']}", f"{rng.choice(PID_LABELS)}: {p['pid']}",
              rng.choice([f"Đã chết vào lúc {rng.randint(0, 23)} giờ {rng.randint(0, 59)} phút, ngày {d}",
                          f"Ngày chết: {d}", f"Ngày, tháng, năm chết: {d}"]),
              f"Nơi chết: {rng.choice(WARDS)}", f"Nguyên nhân chết: {rng.choice(['Bệnh', 'Già yếu'])}"]
        return L, f
    if doc_type == "to_khai":
        f = {"ho_ten": p["name"], "so_dinh_danh": p["pid"]}
        kind = rng.choice(["ĐĂNG KÝ KHAI SINH", "ĐĂNG KÝ KẾT HÔN", "CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH"])
        L = _header(rng, f"TỜ KHAI {kind}") + [f"Kính gửi: Ủy ban nhân dân {rng.choice(WARDS)}"]
        lab = rng.choice([f"{nl} người yêu cầu", f"Người yêu cầu - {nl}", f"{nl} người đi đăng ký"])
        L += _labelled(rng, lab, name, layout)
        L += [rng.choice([f"Giấy tờ tùy thân: CCCD số {p['pid']}", f"{rng.choice(PID_LABELS)}: {p['pid']}"]),
              f"Nơi cư trú: {rng.choice(WARDS)}, tỉnh {p['prov']}",
              "Tôi cam đoan những nội dung khai trên đây là đúng sự thật."]
        return L, f
    if doc_type == "gcn_qsdd":
        seri = f"{rng.choice(['CS', 'CT', 'DA', 'DK', 'BĐ'])} {rng.randrange(10 ** 6):06d}"
        f = {"so_phat_hanh": seri, "ho_ten": p["name"], "so_dinh_danh": p["pid"], "thua_dat_so": str(rng.randint(1, 999)),
             "to_ban_do_so": str(rng.randint(1, 80))}
        L = _header(rng, "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT")
        L += [f"Số phát hành: {seri}" if rng.random() < 0.7 else f"Số seri: {seri}"]
        who = rng.choice(["Ông", "Bà", "Ông/Bà"])
        L += [rng.choice([f"1. Người sử dụng đất: {who} {name}, sinh năm {p['y']}",
                          f"I. Người sử dụng đất, chủ sở hữu: {who}: {name}   Năm sinh: {p['y']}"])]
        L += [rng.choice([f"Căn cước công dân số: {p['pid']}", f"{rng.choice(PID_LABELS)}: {p['pid']}"])]
        L += [rng.choice([f"2. Thửa đất số: {f['thua_dat_so']}   Tờ bản đồ số: {f['to_ban_do_so']}",
                          f"a) Thửa đất số: {f['thua_dat_so']}; b) Tờ bản đồ số: {f['to_ban_do_so']}"])]
        L += [f"Diện tích: {rng.randint(60, 2000)} m2", "Mục đích sử dụng: Đất ở tại nông thôn"]
        return L, f
    if doc_type == "bang_tot_nghiep":
        so = f"{rng.randrange(10 ** 7):07d}"
        f = {"ho_ten": p["name"], "ngay_sinh": p["dob"], "so_hieu": so}
        L = _header(rng, rng.choice(["BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", "BẰNG TỐT NGHIỆP TRUNG HỌC CƠ SỞ",
                                     "BẰNG CỬ NHÂN"]))
        L += [f"Giám đốc Sở Giáo dục và Đào tạo tỉnh {p['prov']}", "cấp"]
        L += _labelled(rng, nl, name, layout)
        L += [f"{rng.choice(DOB_LABELS)}: {p['dob']}", f"Xếp loại: {rng.choice(['Khá', 'Giỏi', 'Trung bình'])}",
              f"{rng.choice(['Số hiệu', 'Số hiệu văn bằng', 'Số hiệu bằng'])}: {so}",
              f"Số vào sổ cấp bằng: {rng.randint(1, 9999)}/TN"]
        return L, f
    if doc_type == "giay_phep_lai_xe":
        so = str(rng.randrange(10 ** 11, 10 ** 12))
        hang = rng.choice(["A1", "A", "B", "B2", "C1", "C"])
        f = {"so": so, "ho_ten": p["name"], "ngay_sinh": p["dob"], "hang": hang}
        L = ["#" + HEADER[0], "#" + rng.choice(["GIẤY PHÉP LÁI XE / DRIVER'S LICENSE", "GIẤY PHÉP LÁI XE"])]
        L += [f"{rng.choice(['Số / No.', 'Số', 'No.'])}: {so}"]
        L += _labelled(rng, nl, name.upper(), "inline")
        L += [f"{rng.choice(['Ngày sinh / Date of birth', 'Ngày sinh'])}: {p['dob']}",
              "Quốc tịch / Nationality: VIỆT NAM", f"{rng.choice(['Hạng / Class', 'Hạng'])}: {hang}"]
        return L, f
    if doc_type == "dang_ky_ho_kinh_doanh":
        ma = f"{p['pid'][:3]}{rng.choice(['', 'A', 'B'])}{rng.randrange(10 ** 6, 10 ** 7)}"
        f = {"ma_so_ho_kinh_doanh": ma, "ho_ten": p["name"], "so_dinh_danh": p["pid"]}
        L = _header(rng, "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH")
        L += [f"{rng.choice(['Mã số hộ kinh doanh', 'Số đăng ký hộ kinh doanh', 'Mã số đăng ký'])}: {ma}",
              f"Tên hộ kinh doanh: {rng.choice(['Tạp hóa', 'Cà phê', 'Sửa xe'])} {p['name'].split()[-1]}",
              "Ngành, nghề kinh doanh: Bán lẻ hàng tạp hóa"]
        lab = rng.choice(["Chủ hộ kinh doanh", f"{nl} chủ hộ kinh doanh", f"Chủ hộ - {nl}"])
        L += _labelled(rng, lab, name, layout)
        L += [f"{rng.choice(PID_LABELS)}: {p['pid']}", f"Ngày sinh: {p['dob']}"]
        return L, f
    raise ValueError(doc_type)


TYPES = ("cccd", "khai_sinh", "ket_hon", "xac_nhan_hon_nhan", "khai_tu", "gcn_qsdd", "to_khai", "bang_tot_nghiep",
         "giay_phep_lai_xe", "dang_ky_ho_kinh_doanh")


def make(doc_type: str, rng: random.Random) -> tuple[list[str], dict]:
    if doc_type == "ket_hon":
        lines, fields = _ket_hon(rng)
    elif doc_type == "khai_sinh":
        lines, fields = _khai_sinh(rng)
    else:
        lines, fields = _simple(rng, doc_type)
    nf = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    return [nf(x) for x in lines], {k: nf(v) for k, v in fields.items()}


def text_of(lines: list[str]) -> str:
    return "\n".join(ln.lstrip("#") for ln in lines)


FONTS = [f for f in (
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
) if os.path.exists(f)]


def render(lines: list[str], rng: random.Random, dpi: int = 300):
    """A grey 300 dpi A4 page (PIL image): centred titles, a second column where a line holds
    a run of four spaces (the two-column forms), a random Debian font, 11-14 pt."""
    from PIL import Image, ImageDraw, ImageFont

    path = rng.choice(FONTS)
    pt = rng.choice([11, 12, 13, 14])
    font = ImageFont.truetype(path, int(pt * dpi / 72))
    W, H = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    y, x0 = int(rng.uniform(0.5, 1.0) * dpi), int(rng.uniform(0.7, 1.1) * dpi)
    for ln in lines:
        title = ln.startswith("#")
        t = ln.lstrip("#")
        f2 = ImageFont.truetype(path, int(font.size * (1.1 if title else 1.0)))
        if title:
            d.text(((W - d.textlength(t, font=f2)) / 2, y), t, font=f2, fill=rng.randint(0, 50))
        elif "    " in t:
            cols = [c.strip() for c in t.split("    ") if c.strip()]
            xs = [x0, int(W * 0.50), int(W * 0.74)][: len(cols)]
            for c, x in zip(cols, xs):
                d.text((x, y), c, font=f2, fill=rng.randint(0, 50))
        else:
            d.text((x0, y), t, font=f2, fill=rng.randint(0, 50))
        y += int(f2.size * rng.uniform(1.45, 1.9))
    return img


def sparse(rng: random.Random) -> tuple[list[str], dict]:
    """An upright page with little on it: a title and a few short lines (a cover note, a form's
    last page) — the kind of page an orientation test must leave alone."""
    p = person(rng)
    lines = ["#" + rng.choice(["GIẤY BIÊN NHẬN", "PHIẾU CHUYỂN", "GHI CHÚ"]),
             f"Người nộp: {p['name']}", f"Ngày {rng.randint(1, 28)} tháng {rng.randint(1, 12)} năm 2024"]
    return lines[: rng.choice([2, 3])], {}


def degrade(img, rng: random.Random, upside_down: float = 0.1):
    """A scan of ``img``: a small tilt (sometimes upside down), paper grain, an uneven light,
    sometimes a dark scanner edge. Returns (grey array, angle in degrees)."""
    import cv2
    import numpy as np

    a = np.asarray(img, dtype=np.float32)
    h, w = a.shape
    ang = rng.uniform(-3.0, 3.0) + (180.0 if rng.random() < upside_down else 0.0)
    nrng = np.random.default_rng(rng.randrange(2 ** 32))
    a = a + nrng.normal(0, rng.uniform(3, 10), a.shape)
    if rng.random() < 0.4:  # light falling off towards one side
        ramp = np.linspace(1.0, rng.uniform(0.75, 0.95), w, dtype=np.float32)[None, :]
        a = a * ramp
    a = np.clip(a, 0, 255).astype(np.uint8)
    M = cv2.getRotationMatrix2D((w / 2, h / 2), ang, 1.0)
    a = cv2.warpAffine(a, M, (w, h), borderValue=255)
    if rng.random() < 0.25:
        edge = rng.randint(20, 80)
        a[:, :edge] = rng.randint(10, 60)
    return a, ang
