"""Signing with a key on a PKCS#11 token (SoftHSM2)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigcheck import pdfsig_all_valid, validate_all
from tests.conftest import need



@pytest.fixture(autouse=True)
def _softhsm():
    need(shutil.which("softhsm2-util"), "SoftHSM2 (Debian package softhsm2)")


@pytest.fixture(scope="module")
def token(tmp_path_factory, tpki):
    """One token per test run: SoftHSM2 reads its configuration once per process."""
    import os

    from sohoa.dev.pki import softhsm_token

    tok = softhsm_token(tmp_path_factory.mktemp("hsm"), tpki.officer, label="officer1")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = tok["conf"]
    yield tok
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


def test_pkcs11_certify(token, make_settings, sign_db, put_doc, tpki, scan_pdf, tmp_path, trust):
    """The token holds only the officer's certificate: the path is built through the AIA
    caIssuers address, and the intermediate is carried in the signature."""
    from signing import Certifier, add_officer, verify_pdf

    oid = add_officer(sign_db, token["uri"], title="Phó Chủ tịch UBND xã", trust=trust)["id"]
    s = make_settings(tsa_url=tpki.tsa_url)
    with Certifier(s, sign_db, oid, workers=1) as c:
        (res,) = c.certify([put_doc(sign_db, scan_pdf)], out_dir=tmp_path)
    data = Path(res.copies[0].path).read_bytes()
    validate_all(data, tpki, expect_timestamp=True)
    pdfsig_all_valid(data, tpki.roots)
    assert verify_pdf(data, trust).signatures[0].signer == "Nguyễn Văn An"


def test_pkcs11_seal_pin_from_env(token, make_settings, tpki, scan_pdf, monkeypatch):
    from signing import Sealer

    uri = token["uri"].split("&pin-source=")[0]
    monkeypatch.setenv("SOHOA_PKCS11_PIN", Path(token["pin_file"]).read_text())
    # the configured intermediates bundle builds the path (no fetching needed)
    sealer = Sealer.from_settings(make_settings(seal_key=uri, intermediates=tpki.intermediate_pem))
    validate_all(sealer.seal(scan_pdf), tpki)
    validate_all(sealer.seal(scan_pdf), tpki)  # the session stays open for many documents


def test_pkcs11_batch_in_pool(token, make_settings, sign_db, put_doc, tpki, scan_pdf, tmp_path, trust):
    """Batches sign in worker processes; each opens its own token session once."""
    from signing import Certifier, add_officer
    from sohoa.dev.scans import scanned_pdf

    oid = add_officer(sign_db, token["uri"], title="Phó Chủ tịch UBND xã", trust=trust)["id"]
    docs = [put_doc(sign_db, scan_pdf), put_doc(sign_db, scanned_pdf(dpi=50, noise=False, seed=7))]
    with Certifier(make_settings(), sign_db, oid, workers=2) as c:
        res = c.certify(docs, out_dir=tmp_path)
    assert [r.number for r in res] == [1, 2]
    for r in res:
        validate_all(Path(r.copies[0].path).read_bytes(), tpki)


def test_cli_officer_add_pkcs11(token, tpki, tmp_path):
    import json

    from click.testing import CliRunner

    from sohoa.cli import cli

    home = tmp_path / "h"
    env = {"SOHOA_HOME": str(home), "SOHOA_TRUST_ROOTS_GOV": tpki.ca_pem,
           "SOHOA_PKCS11_PIN": Path(token["pin_file"]).read_text()}
    uri = token["uri"].split("&pin-source=")[0]  # PIN from the environment this time
    r = CliRunner().invoke(cli, ["pki", "dev"], env=env, catch_exceptions=False)  # creates the registry
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["--json", "officer", "add", "--name", "Nguyễn Văn An", "--title", "Phó Chủ tịch",
                                 "--pkcs11", uri], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    row = json.loads(r.output.strip().splitlines()[-1])
    assert row["created"] and row["key_ref"].startswith("pkcs11:token=")
