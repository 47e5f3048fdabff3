"""Helpers shared by the tests and the benchmark: a synthetic scanned page with an OCR text layer,
and a complete test PKI (CA, officers good / revoked / expired / without signing usage, seal, TSA)
with a loopback TSA + CRL server."""
from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

from signing.devserver import DevServices
from signing.pki import DevPKI, Issued


def scanned_pdf(text_lines=("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY KHAI SINH", "Họ và tên: Trần Thị Bình"),
                ocr_text: str = "GIAY KHAI SINH Tran Thi Binh so dinh danh 001203004567",
                dpi: int = 300, pages: int = 1, noise: bool = True, seed: int = 1, quality: int = 75) -> bytes:
    """An A4 'scan': a grayscale JPEG per page at ``dpi`` plus an invisible text layer (render
    mode 3, like OCRmyPDF's), so tests can check the OCR layer survives signing."""
    import pikepdf
    from PIL import Image, ImageDraw, ImageFilter

    w, h = int(8.27 * dpi), int(11.69 * dpi)
    rnd = random.Random(seed)
    pdf = pikepdf.new()
    for p in range(pages):
        cached = _JPEG_CACHE.get((tuple(text_lines), dpi, p, noise, seed, quality))
        if cached is not None:
            _add_page(pdf, cached, w, h, ocr_text, p)
            continue
        img = Image.new("L", (w, h), 245)
        dr = ImageDraw.Draw(img)
        y = int(h * 0.08)
        for ln in text_lines:
            dr.text((int(w * 0.1), y), ln, fill=20)
            y += int(dpi * 0.4)
        for _ in range(120):  # lines of "printed text"
            x0, yy = rnd.randint(int(w * 0.1), int(w * 0.2)), rnd.randint(int(h * 0.2), int(h * 0.75))
            dr.line((x0, yy, x0 + rnd.randint(int(w * 0.3), int(w * 0.7)), yy), fill=rnd.randint(10, 90),
                    width=max(1, dpi // 100))
        if noise:
            img = img.filter(ImageFilter.GaussianBlur(0.6))
            px = img.load()
            for _ in range(w * h // 400):
                px[rnd.randrange(w), rnd.randrange(h)] = rnd.randint(0, 255)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        _JPEG_CACHE[(tuple(text_lines), dpi, p, noise, seed, quality)] = buf.getvalue()
        _add_page(pdf, buf.getvalue(), w, h, ocr_text, p)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


_JPEG_CACHE: dict = {}


def _add_page(pdf, jpeg: bytes, w: int, h: int, ocr_text: str, p: int) -> None:
    import pikepdf

    page_w, page_h = 595.0, 842.0
    image = pikepdf.Stream(pdf, jpeg)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height = w, h
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    image.Filter = pikepdf.Name.DCTDecode
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    safe = ocr_text.encode("cp1252", "replace").decode("cp1252").replace("\\", "").replace("(", "").replace(")", "")
    content = (f"q {page_w} 0 0 {page_h} 0 0 cm /Im0 Do Q\n"
               f"BT 3 Tr /F0 12 Tf 60 760 Td ({safe} trang {p + 1}) Tj ET\n").encode("latin-1")
    page = pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, page_w, page_h],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image), Font=pikepdf.Dictionary(F0=font)),
        Contents=pdf.make_stream(content)))
    pdf.pages.append(page)


@dataclass
class TestPKI:
    __test__ = False  # not a pytest class

    directory: Path
    pki: DevPKI
    services: DevServices
    officer: Issued
    seal: Issued
    tsa: Issued
    revoked: Issued
    expired: Issued
    no_signing: Issued
    ec_officer: Issued

    @property
    def ca_pem(self) -> str:
        return str(self.pki.ca_pem_path)

    @property
    def tsa_url(self) -> str:
        return self.services.tsa_url

    def stop(self) -> None:
        self.services.stop()


def make_test_pki(directory: str | Path, *, serve: bool = True) -> TestPKI:
    """A PKI whose certificates point their CRL distribution point at a loopback server that also
    runs the TSA. ``revoked`` is on the CRL, ``expired`` expired yesterday."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    svc = DevServices(crl_path=d / "ca.crl")
    if serve:
        svc.start()
    else:
        svc.httpd.server_close()  # the URLs in the certificates refuse connections
    pki = DevPKI.create(d, crl_url=svc.crl_url, ca_name="sohoa test root CA")
    now = dt.datetime.now(dt.timezone.utc)
    officer = pki.issue("officer", "Nguyễn Văn An", title="Phó Chủ tịch UBND xã", org="UBND xã Tân Phú")
    seal = pki.issue("seal", "Ủy ban nhân dân xã Tân Phú", org="UBND xã Tân Phú")
    tsa = pki.issue("tsa", "sohoa test TSA", kind="tsa")
    revoked = pki.issue("revoked", "Lê Văn Cũ", title="Công chức Tư pháp - Hộ tịch", org="UBND xã Tân Phú")
    expired = pki.issue("expired", "Phạm Thị Hết", title="Phó Chủ tịch UBND xã", org="UBND xã Tân Phú",
                        not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1))
    no_signing = pki.issue("nosign", "Đỗ Văn Mã", org="UBND xã Tân Phú", key_usage="encipherment")
    ec_officer = pki.issue("ecofficer", "Hoàng Thị Ec", title="Chủ tịch UBND xã", org="UBND xã Tân Phú",
                           key_type="ec")
    pki.revoke(revoked.cert)
    svc.set_tsa(tsa.cert, tsa.key, pki.ca_cert)
    return TestPKI(directory=d, pki=pki, services=svc, officer=officer, seal=seal, tsa=tsa, revoked=revoked,
                   expired=expired, no_signing=no_signing, ec_officer=ec_officer)


def softhsm_token(directory: str | Path, issued: Issued, *, token: str = "sohoa-test", label: str | None = None,
                  pin: str = "123456", so_pin: str = "12345678", module: str | None = None) -> dict:
    """A SoftHSM2 token in ``directory`` (own ``softhsm2.conf``) holding ``issued``'s key and
    certificate. Returns ``{"conf", "module", "uri", "pin_file", "env"}``; set ``SOFTHSM2_CONF`` from
    ``env`` before opening the token."""
    import os
    import shutil
    import subprocess

    from cryptography.hazmat.primitives import serialization

    from signing.keys import find_pkcs11_module

    if shutil.which("softhsm2-util") is None:
        raise RuntimeError("softhsm2-util not installed")
    d = Path(directory)
    (d / "tokens").mkdir(parents=True, exist_ok=True)
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    label = label or issued.name
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", token, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True, env=env)
    keyfile = d / f"{label}.key.pem"
    keyfile.write_bytes(issued.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    subprocess.run(["softhsm2-util", "--import", str(keyfile), "--token", token, "--label", label, "--id", "01",
                    "--pin", pin], check=True, capture_output=True, env=env)
    keyfile.unlink()
    module = module or find_pkcs11_module()
    # the certificate object (softhsm2-util only imports keys): through python-pkcs11
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        import pkcs11
        from pkcs11 import Attribute, CertificateType, ObjectClass

        lib = pkcs11.lib(module)
        tok = lib.get_token(token_label=token)
        with tok.open(rw=True, user_pin=pin) as session:
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: b"\x01",
                Attribute.VALUE: issued.cert.public_bytes(serialization.Encoding.DER),
                Attribute.SUBJECT: issued.cert.subject.public_bytes(),
            })
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old
    pin_file = d / "pin"
    pin_file.write_text(pin)
    os.chmod(pin_file, 0o600)
    uri = f"pkcs11:token={token};object={label}?module-path={module}&pin-source=file:{pin_file}"
    return {"conf": str(conf), "module": module, "uri": uri, "pin_file": str(pin_file), "env": env}


def validate_all(data: bytes, tpki, expect_timestamp: bool = False):
    """Every signature passes pyHanko's own validation (intact, valid, trusted, bottom line)
    against the test root; ``tpki`` is a :class:`TestPKI` or a CA PEM path."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from signing.keys import load_trust_roots

    r = PdfFileReader(io.BytesIO(data))
    sigs = r.embedded_regular_signatures
    assert sigs, "no signature"
    out = []
    for sig in sigs:
        vc = ValidationContext(trust_roots=load_trust_roots(getattr(tpki, "ca_pem", tpki)), allow_fetching=True)
        st = validate_pdf_signature(sig, vc)
        assert st.intact and st.valid, st.pretty_print_details()
        assert st.trusted, st.pretty_print_details()
        assert st.bottom_line, st.pretty_print_details()
        if expect_timestamp:
            assert st.timestamp_validity is not None and st.timestamp_validity.trusted
        out.append(st)
    return out
