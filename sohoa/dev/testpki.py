"""The test PKI: every shape of certificate the tests and benchmarks need, published and
time-stamped by a loopback server (:mod:`sohoa.dev.servers`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sohoa.dev.pki import DevPKI, Issued, _now
from sohoa.dev.servers import DevServices


@dataclass
class TestPKI:
    """A dev PKI with two chains (RSA and ECDSA P-384), end entities of every interesting kind,
    and a loopback server publishing its CRLs / CA certificates and running its TSA."""

    __test__ = False  # not a pytest class

    directory: Path
    pki: DevPKI
    services: DevServices
    officer: Issued  # RSA-3072 under the RSA-4096 intermediate, PKCS#12 with the chain
    seal: Issued
    tsa: Issued
    revoked: Issued  # on the intermediate's CRL (key compromise)
    expired: Issued
    not_yet_valid: Issued
    no_signing: Issued  # key encipherment only
    no_chain: Issued  # PKCS#12 without the intermediate
    foreign: Issued  # from another root, never configured
    ec_officer: Issued  # ECDSA P-384 chain
    ec_seal: Issued

    @property
    def ca_pem(self) -> str:
        return str(self.pki.ca_pem_path)

    @property
    def ec_root_pem(self) -> str:
        return str(self.pki.root_pem("ec-"))

    @property
    def roots(self) -> list[str]:
        """Both roots (RSA and EC chains): all a test configures as trust anchors."""
        return [self.ca_pem, self.ec_root_pem]

    @property
    def intermediate_pem(self) -> str:
        return str(self.directory / "intermediate.pem")

    @property
    def tsa_url(self) -> str:
        return self.services.tsa_url

    def issue(self, name: str, common_name: str, **kw) -> Issued:
        return self.pki.issue(name, common_name, **kw)

    def stop(self) -> None:
        self.services.stop()


def make_test_pki(directory: str | Path, *, serve: bool = True) -> TestPKI:
    """A PKI whose certificates point their CRL distribution points and AIA at a loopback server
    (``serve=False``: at a closed port, for 'revocation cannot be checked' tests)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    svc = DevServices(d)
    if serve:
        svc.start()
    else:
        svc.httpd.server_close()  # the URLs in the certificates refuse connections
    pki = DevPKI.create(d, base_url=svc.pki_url, root_name="sohoa test root CA", org="sohoa test CA")
    pki.add_chain("ec-", algo="ec", org="sohoa test CA", root_name="sohoa test ECDSA root CA")
    now = _now()
    org = "UBND xã Tân Phú"
    officer = pki.issue("officer", "Nguyễn Văn An", title="Phó Chủ tịch UBND xã", org=org)
    seal = pki.issue("seal", "Ủy ban nhân dân xã Tân Phú", org=org)
    tsa = pki.issue("tsa", "sohoa test TSA", kind="tsa", org="sohoa test CA")
    revoked = pki.issue("revoked", "Lê Văn Cũ", title="Công chức Tư pháp - Hộ tịch", org=org)
    expired = pki.issue("expired", "Phạm Thị Hết", title="Phó Chủ tịch UBND xã", org=org,
                        not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1))
    not_yet = pki.issue("notyet", "Trịnh Văn Sau", org=org, not_before=now + dt.timedelta(days=3))
    no_signing = pki.issue("nosign", "Đỗ Văn Mã", org=org, key_usage="encipherment")
    no_chain = pki.issue("nochain", "Vũ Thị Lẻ", title="Công chức Tư pháp - Hộ tịch", org=org, with_chain=False)
    ec_officer = pki.issue("ecofficer", "Hoàng Thị Ec", ca="ec-intermediate", title="Chủ tịch UBND xã", org=org)
    ec_seal = pki.issue("ecseal", "Ủy ban nhân dân xã Tân Phú", ca="ec-intermediate", org=org)
    other = DevPKI.create(d / "foreign", base_url="", root_name="foreign root CA", org="foreign CA")
    foreign = other.issue("foreign", "Nguyễn Văn An", org=org)
    pki.revoke(revoked.cert, "key_compromise")
    svc.set_tsa(tsa.cert, tsa.key, tsa.chain)
    return TestPKI(directory=d, pki=pki, services=svc, officer=officer, seal=seal, tsa=tsa, revoked=revoked,
                   expired=expired, not_yet_valid=not_yet, no_signing=no_signing, no_chain=no_chain,
                   foreign=foreign, ec_officer=ec_officer, ec_seal=ec_seal)
