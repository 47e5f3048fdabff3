"""Revocation judged at the right time: after the CA revokes an officer's certificate a new
certification is refused, while a copy signed and timestamped before stays valid — and a copy
without a timestamp (nothing proves when it was signed) does not."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner


def test_copies_signed_before_revocation_stay_valid(make_settings, sign_db, put_doc, add_off, tpki, scan_pdf,
                                                    trust, sign_home, tmp_path):
    from registry.models import CertifiedCopy
    from signing import CertificateRefused, Certifier, verify_pdf

    officer = tpki.issue("leaving", "Trần Văn Bảo", title="Công chức Tư pháp - Hộ tịch", org="UBND xã Tân Phú")
    oid = add_off(officer, title="Công chức Tư pháp - Hộ tịch")
    doc = put_doc(sign_db, scan_pdf)
    with Certifier(make_settings(tsa_url=tpki.tsa_url, seal_key=str(tpki.seal.p12_path)), sign_db, oid,
                   workers=1) as c:
        (lta,) = c.certify([doc], out_dir=tmp_path / "lta")
    with Certifier(make_settings(), sign_db, oid, workers=1, seal=False) as c:
        (bb,) = c.certify([doc], out_dir=tmp_path / "bb")
    assert (lta.level, bb.level) == ("B-LTA", "B-B")
    time.sleep(1.5)
    tpki.pki.revoke(officer.cert, "affiliation_changed")  # the CA revokes: the officer left

    with pytest.raises(CertificateRefused, match="thu hồi"):
        Certifier(make_settings(tsa_url=tpki.tsa_url), sign_db, oid, workers=1)
    with sign_db.session() as ses:
        assert ses.query(CertifiedCopy).count() == 2  # nothing allocated by the refused attempt

    data = Path(lta.copies[0].path).read_bytes()
    rep = verify_pdf(data, trust)
    assert rep.valid, rep.to_text()
    sig = rep.signatures[0]
    assert sig.revocation == "revoked_later" and sig.revocation_reason == "affiliation_changed"
    assert sig.revoked_at and sig.proven_time and sig.proven_time < sig.revoked_at
    assert any("bị thu hồi lúc" in line for line in rep.summary_lines())
    offline = verify_pdf(data, trust, allow_fetching=False)  # the CRL embedded at signing time
    assert offline.valid, offline.to_text()

    rep = verify_pdf(Path(bb.copies[0].path).read_bytes(), trust)
    assert not rep.valid and rep.signatures[0].revocation == "revoked"
    assert any("không có dấu thời gian" in e for e in rep.signatures[0].errors)

    # the same through `sohoa verify`, as a person runs it: valid, exit 0, nothing on stderr
    from sohoa.cli import cli

    (sign_home / "sohoa.toml").write_text(f'trust_roots_gov = "{",".join(tpki.roots)}"\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["verify", str(lta.copies[0].path)], env={"SOHOA_HOME": str(sign_home)})
    assert res.exit_code == 0, res.output
    assert "Kết quả xác minh: HỢP LỆ" in res.output and "bị thu hồi sau thời điểm ký" in res.output
    res = CliRunner().invoke(cli, ["verify", str(bb.copies[0].path), "--json"], env={"SOHOA_HOME": str(sign_home)})
    assert res.exit_code == 1 and json.loads(res.output.splitlines()[-1])["valid"] is False
    assert "Traceback" not in res.output


def test_revocation_reasons_are_recorded_and_published(tpki, sign_db, add_off):
    """`officer revoke` records why; the CA publishes the matching CRL reason — an officer who
    left is 'affiliation changed', only a lost key is 'key compromise'."""
    from asn1crypto import crl as asn1_crl

    from signing import list_officers, revoke_officer
    from sohoa.dev.pki import revoke_in_dev_ca

    left = tpki.issue("left2", "Phan Thị Đi", org="UBND xã Tân Phú")
    lost = tpki.issue("lost2", "Phan Văn Mất", org="UBND xã Tân Phú")
    for issued, reason, crl_reason in ((left, "left", "affiliation_changed"), (lost, "key-compromise", "key_compromise")):
        info = revoke_officer(sign_db, add_off(issued), reason)
        assert info["crl_reason"] == crl_reason and info["revocation_reason"] == reason and info["revoked_at"]
        assert revoke_in_dev_ca(tpki.directory, info["cert_pem"], info["crl_reason"])
    crl = asn1_crl.CertificateList.load((tpki.directory / "intermediate.crl").read_bytes())
    reasons = {rc["user_certificate"].native: rc["crl_entry_extensions"][0]["extn_value"].native
               for rc in crl["tbs_cert_list"]["revoked_certificates"]}
    assert reasons[left.cert.serial_number] == "affiliation_changed"
    assert reasons[lost.cert.serial_number] == "key_compromise"
    assert {o["revocation_reason"] for o in list_officers(sign_db) if o["status"] == "revoked"} == \
        {"left", "key-compromise"}
