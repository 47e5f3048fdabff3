"""Retries keep their number; revocation that cannot be checked is a warning, not a silent pass."""
from __future__ import annotations

from pathlib import Path

import pytest

from sigcheck import dead_url, validate_all


def test_failed_signing_keeps_number_for_retry(make_settings, sign_db, put_doc, officer_id, tpki, scan_pdf):
    from registry.models import CertifiedCopy
    from signing import Certifier, SigningFailed

    doc = put_doc(sign_db, scan_pdf)
    with Certifier(make_settings(tsa_url=dead_url()), sign_db, officer_id, workers=1) as c:
        with pytest.raises(SigningFailed):
            c.certify([doc])
    with sign_db.session() as ses:
        (row,) = ses.query(CertifiedCopy).all()
        assert (row.number, row.status) == (1, "failed") and row.error
    with Certifier(make_settings(tsa_url=tpki.tsa_url), sign_db, officer_id, workers=1) as c:
        (res,) = c.certify([doc])  # the retry of the same act: same row, same number, nothing skipped
    assert res.number == 1 and res.certified_copy_id == row.id
    validate_all(Path(res.copies[0].path).read_bytes(), tpki, expect_timestamp=True)
    with sign_db.session() as ses:
        assert [(r.number, r.status) for r in ses.query(CertifiedCopy).all()] == [(1, "signed")]


def test_revocation_unreachable_is_a_warning(tmp_path, scan_pdf):
    """A PKI whose CRL server is down: signing still works (B-T/B-B, no LT data) with a warning,
    and verification says the revocation status could not be checked."""
    from signing import Trust, verify_pdf
    from signing.checks import check_signing_cert
    from signing.keys import SignerKey
    from signing.signer import Engine, SignatureProfile
    from sohoa.dev.testpki import make_test_pki

    t = make_test_pki(tmp_path / "pki", serve=False)  # nothing listens on the CRL URL
    trust = Trust.build(gov=t.roots)
    officer = Engine(SignatureProfile(trust=trust), SignerKey(str(t.officer.p12_path)))
    check = check_signing_cert(officer.cert, trust, other_certs=officer.key.chain_certs)
    assert not check.revocation_checked and check.warnings and check.anchor_set == "gov"
    out = Engine(SignatureProfile(trust=trust), SignerKey(str(t.seal.p12_path))).seal(scan_pdf)
    rep = verify_pdf(out, trust)
    sig = rep.signatures[0]
    assert sig.revocation == "unknown" and any("thu hồi" in w for w in sig.warnings)
    assert rep.trusted and rep.intact and rep.valid
    # with the CRLs available locally the status is known
    local = Trust.build(gov=t.roots, crl_dirs=[str(tmp_path / "pki")])
    rep = verify_pdf(out, local)
    assert rep.signatures[0].revocation == "good" and rep.valid
    # the revoked certificate, known from the local CRL
    out = Engine(SignatureProfile(trust=trust), SignerKey(str(t.revoked.p12_path))).seal(scan_pdf)
    rep = verify_pdf(out, local)
    assert rep.signatures[0].revocation == "revoked" and not rep.valid
    assert rep.signatures[0].revocation_reason == "key_compromise"


def test_verify_unsigned_and_garbage(trust, scan_pdf):
    from signing import verify_pdf

    rep = verify_pdf(scan_pdf, trust)
    assert not rep.valid and not rep.signed and rep.errors
    rep = verify_pdf(b"not a pdf", trust)
    assert not rep.valid and rep.errors
    assert '"valid": false' in rep.to_json()
