"""A development / test PKI made with ``cryptography``: root CA, officers, organisation seal, TSA, CRL.

Never used in production: a real deployment imports the officers' and the unit's certificates
(PKCS#12 or PKCS#11 tokens) issued by the government special-use CA or a public CA. Here the CA key
is kept (as an encrypted PKCS#12 next to the others) so that tests and ``sohoa pki dev`` can issue
and revoke certificates and publish a CRL.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RSA_BITS = 2048


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _name(cn: str, org: str = "sohoa dev", title: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


@dataclass
class Issued:
    """One issued end-entity certificate and where its key lives."""

    name: str
    cert: x509.Certificate
    key: object
    p12_path: Path | None = None
    pass_path: Path | None = None

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


@dataclass
class DevPKI:
    """A CA in a directory: ``ca.pem``, ``ca.p12`` (+ ``ca.p12.pass``), ``ca.crl``, ``<name>.p12``."""

    directory: Path
    crl_url: str | None = None
    ca_cert: x509.Certificate | None = None
    ca_key: object = None
    revoked: dict[int, dt.datetime] = field(default_factory=dict)

    # -- files ----------------------------------------------------------------------------
    @property
    def ca_pem_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def crl_path(self) -> Path:
        return self.directory / "ca.crl"

    def p12_path(self, name: str) -> Path:
        return self.directory / f"{name}.p12"

    # -- creation / loading ---------------------------------------------------------------
    @classmethod
    def create(cls, directory: str | os.PathLike, crl_url: str | None = None,
               ca_name: str = "sohoa dev root CA", valid_days: int = 3650) -> "DevPKI":
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        now = _now()
        name = _name(ca_name)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True, crl_sign=True,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        pki = cls(directory=d, crl_url=crl_url, ca_cert=cert, ca_key=key)
        pki.ca_pem_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pw = secrets.token_urlsafe(18)
        _write_private(d / "ca.p12.pass", pw.encode())
        _write_private(d / "ca.p12", pkcs12.serialize_key_and_certificates(
            b"ca", key, cert, None, serialization.BestAvailableEncryption(pw.encode())))
        if crl_url:
            (d / "crl_url").write_text(crl_url)
        pki.write_crl()
        return pki

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "DevPKI":
        d = Path(directory)
        pw = (d / "ca.p12.pass").read_bytes().strip()
        key, cert, _ = pkcs12.load_key_and_certificates((d / "ca.p12").read_bytes(), pw)
        crl_url = (d / "crl_url").read_text().strip() if (d / "crl_url").exists() else None
        pki = cls(directory=d, crl_url=crl_url or None, ca_cert=cert, ca_key=key)
        if pki.crl_path.exists():
            crl = x509.load_der_x509_crl(pki.crl_path.read_bytes())
            for rc in crl:
                pki.revoked[rc.serial_number] = rc.revocation_date_utc
        return pki

    @classmethod
    def exists(cls, directory: str | os.PathLike) -> bool:
        d = Path(directory)
        return (d / "ca.p12").exists() and (d / "ca.pem").exists()

    # -- issuing --------------------------------------------------------------------------
    def issue(self, name: str, common_name: str, *, title: str | None = None,
              org: str = "sohoa dev", kind: str = "signing", not_before: dt.datetime | None = None,
              not_after: dt.datetime | None = None, key_type: str = "rsa",
              key_usage: str = "signing", passphrase: str | None = None,
              write: bool = True) -> Issued:
        """Issue an end-entity certificate. ``kind``: signing | tsa. ``key_usage``: signing |
        encipherment (no signing usage, for tests)."""
        if key_type == "ec":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        now = _now()
        nb = not_before or now - dt.timedelta(hours=1)
        na = not_after or now + dt.timedelta(days=730)
        signing = key_usage == "signing"
        b = (x509.CertificateBuilder().subject_name(_name(common_name, org, title))
             .issuer_name(self.ca_cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=signing,
                                          content_commitment=signing and kind != "tsa",
                                          key_encipherment=not signing, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False, crl_sign=False,
                                          encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                            critical=False))
        if kind == "tsa":
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        if self.crl_url:
            b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(self.crl_url)], relative_name=None,
                reasons=None, crl_issuer=None)]), critical=False)
        cert = b.sign(self.ca_key, hashes.SHA256())
        issued = Issued(name=name, cert=cert, key=key)
        if write:
            pw = passphrase if passphrase is not None else secrets.token_urlsafe(18)
            issued.p12_path = self.p12_path(name)
            issued.pass_path = self.directory / f"{name}.p12.pass"
            _write_private(issued.pass_path, pw.encode())
            _write_private(issued.p12_path, pkcs12.serialize_key_and_certificates(
                name.encode(), key, cert, [self.ca_cert],
                serialization.BestAvailableEncryption(pw.encode())))
            (self.directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return issued

    # -- revocation -----------------------------------------------------------------------
    def revoke(self, cert: x509.Certificate, when: dt.datetime | None = None) -> None:
        self.revoked[cert.serial_number] = when or _now() - dt.timedelta(minutes=1)
        self.write_crl()

    def crl_der(self, next_update_days: int = 7) -> bytes:
        now = _now()
        b = (x509.CertificateRevocationListBuilder().issuer_name(self.ca_cert.subject)
             .last_update(now - dt.timedelta(minutes=5))
             .next_update(now + dt.timedelta(days=next_update_days))
             .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                            critical=False))
        for serial, when in self.revoked.items():
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
        return b.sign(self.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def write_crl(self) -> Path:
        tmp = self.crl_path.with_name("ca.crl.tmp")
        tmp.write_bytes(self.crl_der())
        os.replace(tmp, self.crl_path)
        return self.crl_path
