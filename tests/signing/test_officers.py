"""Officers are checked when they are registered, the stamp names the certificate's holder,
trust comes from two named anchor sets, and the QR code leads somewhere a citizen can reach."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("which,needle", [("expired", "hết hạn"), ("not_yet_valid", "chưa có hiệu lực"),
                                          ("no_signing", "không dùng để ký số"), ("foreign", "gốc tin cậy"),
                                          ("revoked", "thu hồi")])
def test_officer_add_refuses_bad_certificates(which, needle, sign_db, trust, tpki):
    from registry.models import Officer
    from signing import CertificateRefused, add_officer

    with pytest.raises(CertificateRefused, match=needle):
        add_officer(sign_db, str(getattr(tpki, which).p12_path), title="Phó Chủ tịch UBND xã", trust=trust)
    with sign_db.session() as s:
        assert s.query(Officer).count() == 0


def test_officer_name_comes_from_the_certificate(sign_db, trust, tpki):
    from registry.models import Officer
    from signing import SigningConflict, SigningInvalid, add_officer, list_officers

    key = str(tpki.officer.p12_path)
    with pytest.raises(SigningInvalid, match="không phải Lò Văn Sơn"):
        add_officer(sign_db, key, name="Lò Văn Sơn", title="Phó Chủ tịch UBND xã", trust=trust)
    first = add_officer(sign_db, key, name="NGUYEN VAN AN", title="Phó Chủ tịch UBND xã", trust=trust)
    assert first["created"] and first["name"] == "Nguyễn Văn An" and first["anchor_set"] == "gov"
    again = add_officer(sign_db, key, title="Phó Chủ tịch UBND xã", trust=trust)
    assert not again["created"] and again["id"] == first["id"]
    with pytest.raises(SigningConflict, match="đã đăng ký cho Nguyễn Văn An"):
        add_officer(sign_db, key, title="Chủ tịch UBND xã", trust=trust)  # never silently re-titled
    with pytest.raises(SigningConflict):
        add_officer(sign_db, key, name="Dấu cơ quan", kind="seal", trust=trust)  # nor moved to the seal
    assert [(o["name"], o["title"]) for o in list_officers(sign_db)] == [("Nguyễn Văn An", "Phó Chủ tịch UBND xã")]
    with sign_db.session() as s:
        assert s.query(Officer).count() == 1


def test_paths_use_the_key_chain_the_bundle_or_aia(sign_db, tpki, trust):
    """The intermediate comes from the PKCS#12; for a key without it, from the configured bundle,
    or from the certificate's AIA address when fetching is allowed — never from making the
    intermediate a trust anchor."""
    from signing import CertificateRefused, Trust, add_officer

    assert add_officer(sign_db, str(tpki.officer.p12_path), title="t", trust=trust)["anchor_set"] == "gov"
    lone = str(tpki.no_chain.p12_path)
    with pytest.raises(CertificateRefused, match="gốc tin cậy"):
        add_officer(sign_db, lone, title="t", trust=trust, allow_fetching=False)
    bundled = Trust.build(gov=tpki.roots, intermediates=[tpki.intermediate_pem])
    assert add_officer(sign_db, lone, title="t", trust=bundled, allow_fetching=False)["created"]
    aia = tpki.issue("nochain2", "Vũ Văn Lẻ", org="UBND xã Tân Phú", with_chain=False)
    fetched = tpki.services.fetches.copy()
    assert add_officer(sign_db, str(aia.p12_path), title="t", trust=trust)["created"]
    assert "/pki/intermediate.crt" in tpki.services.fetches[len(fetched):]


def test_no_anchor_no_officer(sign_db, tpki):
    from signing import CertificateRefused, Trust, add_officer

    with pytest.raises(CertificateRefused, match="chưa cấu hình gốc tin cậy"):
        add_officer(sign_db, str(tpki.officer.p12_path), title="t", trust=Trust())


def test_anchor_sets_are_named(make_settings, sign_db, put_doc, add_off, tpki, scan_pdf, tmp_path):
    """Government special-use CA and public CAs are separate anchor sets; the report says which
    one anchored each signature, and anything else is untrusted."""
    from signing import Certifier, Trust, verify_pdf

    oid = add_off(tpki.officer)
    with Certifier(make_settings(seal_key=str(tpki.ec_seal.p12_path)), sign_db, oid, workers=1) as c:
        (res,) = c.certify([put_doc(sign_db, scan_pdf)], out_dir=tmp_path)
    data = Path(res.copies[0].path).read_bytes()
    split = Trust.build(public=[tpki.ca_pem], gov=[tpki.ec_root_pem])
    rep = verify_pdf(data, split)
    assert rep.valid and rep.anchor_sets == ["gov", "public"]
    officer, seal = rep.signatures
    assert (officer.anchor_set, seal.anchor_set) == ("public", "gov")
    assert officer.anchor_set_label == "CA công cộng" and seal.anchor_set_label == "CA chuyên dùng Chính phủ"
    assert "tin cậy theo CA công cộng" in rep.to_text()
    only_gov = verify_pdf(data, Trust.build(gov=[tpki.ec_root_pem]))
    assert not only_gov.valid and not only_gov.signatures[0].trusted
    assert any("không thuộc gốc tin cậy" in e for e in only_gov.signatures[0].errors)


@pytest.mark.parametrize("settings,needle", [(dict(dev_mode=False), "chưa cấu hình địa chỉ công khai"),
                                             (dict(dev_mode=False, public_base_url="http://127.0.0.1:8080"),
                                              "loopback"),
                                             (dict(dev_mode=False, public_base_url="http://localhost"), "loopback"),
                                             (dict(dev_mode=False, public_base_url="motcua.gov.vn"), "không hợp lệ")])
def test_public_address_required_outside_dev_mode(settings, needle, make_settings, sign_db, put_doc, officer_id):
    from registry.models import CertifiedCopy
    from signing import Certifier, SigningInvalid

    with pytest.raises(SigningInvalid, match=needle):
        Certifier(make_settings(**settings), sign_db, officer_id, workers=1)
    with sign_db.session() as s:
        assert s.query(CertifiedCopy).count() == 0


def test_qr_leads_to_the_public_address(make_settings, sign_db, put_doc, officer_id, scan_pdf, tmp_path):
    import subprocess

    import cv2
    import numpy as np
    from PIL import Image

    from signing import Certifier

    s = make_settings(dev_mode=False, public_base_url="https://motcua.tanphu.gov.vn/")
    with Certifier(s, sign_db, officer_id, workers=1, seal=False) as c:
        (res,) = c.certify([put_doc(sign_db, scan_pdf)], out_dir=tmp_path)
    subprocess.run(["pdftoppm", "-r", "200", "-png", res.copies[0].path, str(tmp_path / "p")], check=True)
    with Image.open(next(tmp_path.glob("p*.png"))) as im:
        img = np.array(im.convert("L"))
    url, _pts, _ = cv2.QRCodeDetector().detectAndDecode(img[img.shape[0] // 2:, :])
    assert url.startswith("https://motcua.tanphu.gov.vn/verify?quyen=") and f"so={res.number}" in url, url


def test_dev_pki_published_by_the_web_app(tmp_path):
    """`sohoa pki dev` writes CRL distribution points pointing at the web app's /pki/; in dev mode
    the app serves them there (and nothing else)."""
    from asn1crypto import crl as asn1_crl
    from cryptography import x509
    from fastapi.testclient import TestClient

    from registry.db import Database
    from sohoa.config import load_settings
    from sohoa.dev.pki import setup_dev_pki
    from sohoa.web.app import create_app

    s = load_settings(tmp_path, env={}, web_port=8099)
    s.ensure_dirs()
    db = Database(s.db_url)
    db.migrate()
    res = setup_dev_pki(s, db)
    cert = x509.load_pem_x509_certificate((tmp_path / "pki" / "officer.pem").read_bytes())
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value[0].full_name[0].value
    assert cdp == "http://127.0.0.1:8099/pki/intermediate.crl" and res["base_url"] == "http://127.0.0.1:8099/pki"
    s = load_settings(tmp_path, env={}, web_port=8099)  # now with dev_mode from sohoa.toml
    assert s.dev_mode
    with TestClient(create_app(s, db)) as client:
        r = client.get("/pki/intermediate.crl")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pkix-crl"
        assert asn1_crl.CertificateList.load(r.content).issuer.native["common_name"].endswith("issuing CA")
        assert client.get("/pki/intermediate.crt").status_code == 200
        assert client.get("/pki/officer.p12").status_code == 404  # keys are never published
        assert client.get("/pki/..%2Fsohoa.db").status_code == 404
    db.dispose()
