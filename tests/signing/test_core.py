"""Seal, certify and verify against a real test PKI, validated by pyHanko itself."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from sigcheck import validate_all


def _pdftotext(data: bytes, tmp_path) -> str:
    p = tmp_path / "x.pdf"
    p.write_bytes(data)
    return subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout


def test_no_seal_key_means_no_sealer(make_settings):
    from signing import Sealer

    assert Sealer.from_settings(make_settings()) is None


def test_seal_bb_and_bt(make_settings, tpki, scan_pdf, trust):
    from signing import Sealer, verify_pdf

    seal_key = str(tpki.seal.p12_path)
    s = make_settings(seal_key=seal_key, seal_passphrase_file=str(tpki.seal.pass_path))
    sealer = Sealer.from_settings(s)
    out = sealer.seal(scan_pdf)
    (st,) = validate_all(out, tpki)
    assert st.timestamp_validity is None
    assert st.signing_cert.subject.native["common_name"] == "Ủy ban nhân dân xã Tân Phú"
    again = sealer.seal(scan_pdf)  # reused for many documents
    validate_all(again, tpki)
    rep = verify_pdf(out, trust)
    assert rep.valid and rep.signatures[0].kind == "approval" and rep.signatures[0].pades_level == "B-B"
    assert rep.anchor_sets == ["gov"] and rep.signatures[0].anchor_set_label == "CA chuyên dùng Chính phủ"

    bt = Sealer.from_settings(make_settings(seal_key=seal_key, seal_passphrase_file=str(tpki.seal.pass_path),
                                            tsa_url=tpki.tsa_url))
    out = bt.seal(scan_pdf)
    validate_all(out, tpki, expect_timestamp=True)


def test_seal_is_thread_safe(make_settings, tpki, scan_pdf):
    from concurrent.futures import ThreadPoolExecutor

    from signing import Sealer

    sealer = Sealer.from_settings(make_settings(seal_key=str(tpki.seal.p12_path)))  # sibling .pass file
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(sealer.seal, [scan_pdf] * 6))
    for o in outs:
        validate_all(o, tpki)


def test_certify_bb_register_and_text(make_settings, sign_db, put_doc, officer_id, tpki, scan_pdf, tmp_path, trust):
    from registry.models import CertifiedCopy, Document
    from registry.store import Store
    from signing import Certifier, verify_pdf

    s = make_settings()
    doc_id = put_doc(sign_db, scan_pdf)
    with Certifier(s, sign_db, officer_id, workers=1) as c:
        (res,) = c.certify([doc_id], out_dir=tmp_path / "out")
    assert res.number == 1 and res.level == "B-B" and res.book.endswith("-SCTĐT/BS")
    data = (tmp_path / "out").glob("*.pdf").__next__().read_bytes()
    (st,) = validate_all(data, tpki)
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.pdf_utils.reader import PdfFileReader

    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert sig.docmdp_level == MDPPerm.FILL_FORMS  # a certification signature
    assert st.signing_cert.subject.native["common_name"] == "Nguyễn Văn An"
    text = _pdftotext(data, tmp_path)
    assert "Chứng thực bản sao đúng với bản chính" in text
    assert f"Số chứng thực: {res.number}" in text and res.book in text
    assert "Ngày" in text and "tháng" in text and "năm" in text
    assert "Ủy ban nhân dân xã Tân Phú" in text and "Nguyễn Văn An" in text and "Phó Chủ tịch" in text
    assert "GIAY KHAI SINH Tran Thi Binh" in text  # the OCR text layer is kept
    with sign_db.session() as ses:
        row = ses.get(CertifiedCopy, res.certified_copy_id)
        assert row.status == "signed" and row.signed_sha256 == res.copies[0].sha256
        signed_doc = ses.get(Document, row.signed_document_id)
        assert signed_doc.sha256 == row.signed_sha256 and signed_doc.text == "GIẤY KHAI SINH"
    assert Store(s.store_dir).read(res.copies[0].sha256) == data
    from signing import find_certified

    entry = find_certified(sign_db, res.book, res.year, res.number)  # what the QR code leads to
    assert entry["signed_sha256"] == res.copies[0].sha256 and entry["officer"] == "Nguyễn Văn An"
    rep = verify_pdf(data, trust)
    assert rep.valid and rep.trusted and rep.intact and not rep.modified_after_signing
    sr = rep.signatures[0]
    assert sr.kind == "certification" and sr.signer == "Nguyễn Văn An" and sr.title == "Phó Chủ tịch UBND xã"
    assert sr.revocation == "good"


def test_certify_lta_then_seal(make_settings, sign_db, put_doc, officer_id, tpki, scan_pdf, tmp_path, trust):
    from signing import Certifier, verify_pdf

    s = make_settings(tsa_url=tpki.tsa_url, seal_key=str(tpki.seal.p12_path))
    doc_id = put_doc(sign_db, scan_pdf)
    with Certifier(s, sign_db, officer_id, workers=1) as c:
        (res,) = c.certify([doc_id], out_dir=tmp_path)
    assert res.level == "B-LTA"
    data = Path(res.copies[0].path).read_bytes()
    sts = validate_all(data, tpki, expect_timestamp=True, lt=True)
    assert len(sts) == 2  # officer certification signature, then the organisation seal
    rep = verify_pdf(data, trust)
    assert rep.valid, rep.to_text()
    cert_sig, seal_sig, doc_ts = rep.signatures
    assert cert_sig.kind == "certification" and seal_sig.kind == "approval" and doc_ts.kind == "timestamp"
    assert cert_sig.timestamp and cert_sig.timestamp_trusted and cert_sig.pades_level == "B-LTA"
    assert not cert_sig.modified_after  # the seal after it is allowed by DocMDP
    assert {c.kind for c in cert_sig.changes} >= {"signature_added", "validation_data_added",
                                                  "document_timestamp_added"}
    assert all(c.allowed for c in cert_sig.changes)
    # long-term validation data is in the file: offline, without any local CRL, still checked
    offline = verify_pdf(data, trust, allow_fetching=False)
    assert offline.valid and offline.signatures[0].revocation == "good", offline.to_text()


def test_numbers_copies_and_retry(make_settings, sign_db, put_doc, officer_id, tpki, scan_pdf, tmp_path):
    from registry.models import CertifiedCopy
    from signing import Certifier
    from sohoa.dev.scans import scanned_pdf

    s = make_settings()
    d1 = put_doc(sign_db, scan_pdf)
    d2 = put_doc(sign_db, scanned_pdf(dpi=60, noise=False, seed=2))
    with Certifier(s, sign_db, officer_id, workers=2) as c:
        r1, r2 = c.certify([d1, d2], copies=2, out_dir=tmp_path)
        assert (r1.number, r2.number) == (1, 2)
        assert len(r1.copies) == 2 and r1.copies[0].sha256 != r1.copies[1].sha256  # one number, 2 copies
        with sign_db.session() as ses:
            row = ses.get(CertifiedCopy, r1.certified_copy_id)
            assert row.copies == 2 and row.signed_document_ids == [cp.document_id for cp in r1.copies]
            assert row.level == "B-B" and row.status == "signed"
        for cp in r1.copies + r2.copies:
            validate_all(Path(cp.path).read_bytes(), tpki)
        # an act that was allocated but not finished (crash, failed signing) is retried with its number
        (act,) = c.allocate([d1], year=r1.year)
        assert act.number == 3
        (again,) = c.allocate([d1], year=r1.year)
        assert again.number == 3 and again.id == act.id
        (r3,) = c.certify([d1])
        assert r3.number == 3 and r3.certified_copy_id == act.id
        (r4,) = c.certify([d1])  # a new act later: a new number
        assert r4.number == 4
    with sign_db.session() as ses:
        nums = sorted(r.number for r in ses.query(CertifiedCopy).all())
        assert nums == [1, 2, 3, 4]


@pytest.mark.parametrize("which,needle", [("revoked", "thu hồi"), ("expired", "hết hạn"),
                                          ("no_signing", "ký số"), ("not_yet_valid", "chưa có hiệu lực"),
                                          ("foreign", "gốc tin cậy")])
def test_bad_certificate_refused_at_signing_nothing_allocated(which, needle, make_settings, sign_db, put_doc, tpki,
                                                              scan_pdf):
    """An officer row whose certificate went bad after registration (inserted here without the
    `officer add` checks): refused before any number is allocated."""
    from registry.models import CertifiedCopy, Counter, Officer
    from signing import CertificateRefused, Certifier

    issued = getattr(tpki, which)
    with sign_db.session() as ses:
        row = Officer(kind="officer", name="X", title="t", key_ref=str(issued.p12_path), status="active")
        ses.add(row)
        ses.flush()
        oid = row.id
    doc_id = put_doc(sign_db, scan_pdf)
    with pytest.raises(CertificateRefused, match=needle):
        with Certifier(make_settings(), sign_db, oid, workers=1) as c:
            c.certify([doc_id])
    with sign_db.session() as ses:
        assert ses.query(CertifiedCopy).count() == 0 and ses.query(Counter).count() == 0


def test_revoked_in_registry_refused(make_settings, sign_db, put_doc, officer_id, scan_pdf):
    from registry.models import CertifiedCopy
    from signing import CertificateRefused, Certifier, revoke_officer

    revoke_officer(sign_db, officer_id, "left")
    with pytest.raises(CertificateRefused):
        Certifier(make_settings(), sign_db, officer_id, workers=1)
    with sign_db.session() as ses:
        assert ses.query(CertifiedCopy).count() == 0


def test_ecdsa_officer(make_settings, sign_db, put_doc, tpki, scan_pdf, tmp_path, add_off):
    from signing import Certifier

    oid = add_off(tpki.ec_officer, title="Chủ tịch UBND xã")
    with Certifier(make_settings(), sign_db, oid, workers=1) as c:
        (res,) = c.certify([put_doc(sign_db, scan_pdf)])
    validate_all(Path(res.copies[0].path).read_bytes(), tpki)


def test_verify_detects_changes(make_settings, tpki, scan_pdf, trust):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from signing import Sealer, verify_pdf

    sealer = Sealer.from_settings(make_settings(seal_key=str(tpki.seal.p12_path)))
    data = sealer.seal(scan_pdf)
    assert verify_pdf(data, trust).valid
    # a byte changed inside the signed range
    bad = bytearray(data)
    i = data.index(b"/Im0") + 2000
    bad[i] ^= 0x01
    rep = verify_pdf(bytes(bad), trust)
    assert not rep.valid and rep.modified_after_signing and not rep.intact
    # a page added by an incremental update
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page = generic.DictionaryObject({generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                                     generic.pdf_name("/MediaBox"): generic.ArrayObject(
                                         [generic.NumberObject(v) for v in (0, 0, 595, 842)]),
                                     generic.pdf_name("/Resources"): generic.DictionaryObject()})
    w.insert_page(page)
    out = io.BytesIO()
    w.write(out)
    rep = verify_pdf(out.getvalue(), trust)
    assert rep.intact and not rep.valid and rep.modified_after_signing, rep.to_text()
    assert [c.kind for c in rep.signatures[0].changes if not c.allowed] == ["page_added"]
    # no trust root configured: never trusted (the OS store is not used)
    from signing import Trust

    rep = verify_pdf(data, Trust())
    assert not rep.trusted and not rep.valid


def test_certify_a_sealed_original(make_settings, sign_db, put_doc, officer_id, tpki, scan_pdf, tmp_path, trust):
    """Originals stored by the pipeline carry the organisation seal; the certification signature
    must come first, so the copy is made from the unsigned revision (then sealed again)."""
    from signing import Certifier, Sealer, verify_pdf
    from signing.signer import strip_signatures, unsigned_base

    s = make_settings(seal_key=str(tpki.seal.p12_path))
    sealed = Sealer.from_settings(s).seal(scan_pdf)
    assert unsigned_base(sealed) == scan_pdf  # exactly the bytes before the seal
    stripped = strip_signatures(sealed)
    assert b"/ByteRange" not in stripped and "GIAY KHAI SINH" in _pdftotext(stripped, tmp_path)
    with Certifier(s, sign_db, officer_id, workers=1) as c:
        (res,) = c.certify([put_doc(sign_db, sealed)], out_dir=tmp_path / "o")
    data = Path(res.copies[0].path).read_bytes()
    assert len(validate_all(data, tpki)) == 2
    rep = verify_pdf(data, trust)
    assert rep.valid and [x.kind for x in rep.signatures] == ["certification", "approval"]


@pytest.mark.parametrize("which", ["revoked", "expired"])
def test_sealer_refuses_bad_seal_certificate(which, make_settings, tpki):
    from signing import CertificateRefused, Sealer

    with pytest.raises(CertificateRefused):
        Sealer.from_settings(make_settings(seal_key=str(getattr(tpki, which).p12_path)))


def test_concurrent_allocation_never_reuses(make_settings, sign_db, put_doc, officer_id, scan_pdf):
    """Several certifying sessions at once: every act gets its own number, none skipped."""
    from concurrent.futures import ThreadPoolExecutor

    from signing import Certifier
    from sohoa.dev.scans import scanned_pdf

    docs = [put_doc(sign_db, scanned_pdf(dpi=20, noise=False, seed=100 + i)) for i in range(12)]
    certifiers = [Certifier(make_settings(), sign_db, officer_id, workers=1) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as ex:
            acts = list(ex.map(lambda k: certifiers[k].allocate(docs[k * 4:(k + 1) * 4], year=2026), range(3)))
    finally:
        for c in certifiers:
            c.close()
    numbers = sorted(a.number for batch in acts for a in batch)
    assert numbers == list(range(1, 13))
