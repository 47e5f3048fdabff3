"""Certificates shaped like a real CA's: a 3-level chain (RSA-4096 root and issuing CA, RSA-3072
officer and seal with certificate policies, CRL distribution point and AIA) and an ECDSA P-384
one, CRLs served by a real HTTP server on 127.0.0.1, only the roots configured. Certify (with the
organisation seal) and seal alone at B-B, B-T, B-LT and B-LTA; every copy is valid and trusted for
pyHanko's validator without fetching and for poppler's pdfsig with an NSS database trusting only
the roots."""
from __future__ import annotations

from pathlib import Path

import pytest
from sigcheck import pdfsig_all_valid, validate_all

LEVELS = {"B-B": dict(tsa=False, lt=False, lta=False), "B-T": dict(tsa=True, lt=False, lta=False),
          "B-LT": dict(tsa=True, lt=True, lta=False), "B-LTA": dict(tsa=True, lt=True, lta=True)}


@pytest.mark.parametrize("chain", ["rsa", "ec"])
@pytest.mark.parametrize("level", list(LEVELS))
def test_certify_and_seal_at_every_level(level, chain, make_settings, sign_db, put_doc, add_off, tpki, scan_pdf,
                                         trust, tmp_path):
    from signing import Certifier, Sealer, verify_pdf

    opts = LEVELS[level]
    officer, seal = (tpki.officer, tpki.seal) if chain == "rsa" else (tpki.ec_officer, tpki.ec_seal)
    s = make_settings(tsa_url=tpki.tsa_url if opts["tsa"] else "", seal_key=str(seal.p12_path))
    oid = add_off(officer)
    with Certifier(s, sign_db, oid, workers=1, lt=opts["lt"], lta=opts["lta"]) as c:
        (res,) = c.certify([put_doc(sign_db, scan_pdf)], out_dir=tmp_path)
    assert res.level == level
    data = Path(res.copies[0].path).read_bytes()
    sts = validate_all(data, tpki, expect_timestamp=opts["tsa"], lt=opts["lt"])
    assert [st.signing_cert.subject.native["common_name"] for st in sts] == [
        "Nguyễn Văn An" if chain == "rsa" else "Hoàng Thị Ec", "Ủy ban nhân dân xã Tân Phú"]
    pdfsig_all_valid(data, tpki.roots)
    rep = verify_pdf(data, trust, allow_fetching=False)
    assert rep.valid, rep.to_text()
    regular = [x for x in rep.signatures if x.kind != "timestamp"]
    assert [x.kind for x in regular] == ["certification", "approval"]
    assert {x.pades_level for x in regular} == {level}
    assert {x.anchor_set for x in regular} == {"gov"}
    assert sum(x.kind == "timestamp" for x in rep.signatures) == (1 if opts["lta"] else 0)

    sealer = Sealer.from_settings(s, lt=opts["lt"], lta=opts["lta"])  # the pipeline's seal on a scan
    sealed = sealer.seal(scan_pdf)
    sealer.close()
    validate_all(sealed, tpki, expect_timestamp=opts["tsa"], lt=opts["lt"])
    pdfsig_all_valid(sealed, tpki.roots)
    rep = verify_pdf(sealed, trust, allow_fetching=False)
    assert rep.valid and rep.signatures[0].pades_level == level, rep.to_text()


def test_signature_space_is_measured_from_the_chain(tpki, scan_pdf, trust):
    """No fixed reservation: the first signature measures the CMS of this chain, with its
    timestamp; later ones reserve that plus a margin — a chain that needs more than the old fixed
    8 kB (B-B) / 16 kB (B-T) still signs, and the space left over stays small."""
    import datetime as dt
    import io
    import re

    from pyhanko.pdf_utils.reader import PdfFileReader

    from signing.keys import SignerKey
    from signing.signer import Engine, SignatureProfile
    from signing.stamp import StampInfo

    big = tpki.issue("bigchain", "Nguyễn Văn Dài", title="Phó Chủ tịch UBND xã", org="UBND xã Tân Phú " * 8,
                     unit="Bộ phận tiếp nhận và trả kết quả " * 6)
    info = StampInfo(number=1, book="01/2026-SCTĐT/BS", date=dt.date.today(), body="UBND xã Tân Phú",
                     officer_name="Nguyễn Văn Dài", officer_title="Phó Chủ tịch", verify_url="https://x.gov.vn/verify")
    e = Engine(SignatureProfile(trust=trust, tsa_url=tpki.tsa_url), SignerKey(str(big.p12_path)))
    first = e.certify(scan_pdf, info)
    reserved = e._reserved["certify"]
    second = e.certify(scan_pdf, info)
    for data in (first, second):
        sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
        used = len(sig.pkcs7_content) * 2  # hex digits
        m = re.search(rb"/ByteRange\s*\[\s*\d+\s+(\d+)\s+(\d+)", data)
        room = int(m.group(2)) - int(m.group(1)) - 2
        assert used <= room and room < used * 2, (used, room)
    assert reserved > 16384  # more than the old fixed reservation for B-T
    validate_all(second, tpki, expect_timestamp=True)
