"""A development / test PKI shaped like a real CA's, made with ``cryptography``.

Never used in production: a real deployment imports the officers' and the unit's certificates
(PKCS#12 files or PKCS#11 tokens) issued by the government special-use CA or a public CA. Here the
CA keys are kept (encrypted PKCS#12 files under ``ca/``) so that tests and ``sohoa pki dev`` can
issue and revoke certificates and publish CRLs.

A chain is ``<prefix>root`` (self-signed) → ``<prefix>intermediate`` → end entities, as the
Vietnamese CAs issue them: RSA-4096 CAs and RSA-3072 officers (or ECDSA P-384 throughout), with
certificate policies, CRL distribution points and AIA (caIssuers) pointing at ``base_url``.
Files in the directory::

    ca.pem                      the root of the main chain (the trust anchor to configure)
    <ca>.crt / <ca>.crl         CA certificate (DER) and its current CRL: what base_url serves
    <ca>.pem                    CA certificate (PEM)
    ca/<ca>.p12, ca/<ca>.p12.pass   CA keys (mode 0600)
    <name>.p12, <name>.p12.pass, <name>.pem   issued end entities
    pki.json                    base URL, CAs, revoked serials with their reasons
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

CA_RSA_BITS = 4096
EE_RSA_BITS = 3072
# a dev-only certificate policy (private enterprise arc, unassigned); real CAs publish their own
DEV_POLICY_OID = "1.3.6.1.4.1.99999.704.1.1"
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
}
CRL_DAYS = 7


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _name(cn: str, org: str = "sohoa dev", title: str | None = None, unit: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
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


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _new_key(algo: str, ca: bool):
    if algo == "ec":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=CA_RSA_BITS if ca else EE_RSA_BITS)


def _hash_for(key):
    return hashes.SHA384() if isinstance(key, ec.EllipticCurvePrivateKey) else hashes.SHA256()


def _key_usage(**on) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: bool(on.get(n)) for n in names})


@dataclass
class CA:
    name: str
    cert: x509.Certificate
    key: object
    parent: str | None = None

    @property
    def algo(self) -> str:
        return "ec" if isinstance(self.key, ec.EllipticCurvePrivateKey) else "rsa"


@dataclass
class Issued:
    """One issued end-entity certificate and where its key lives."""

    name: str
    cert: x509.Certificate
    key: object
    chain: list = field(default_factory=list)  # issuing CA certificates, nearest first
    p12_path: Path | None = None
    pass_path: Path | None = None
    pem_path: Path | None = None

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    @property
    def passphrase(self) -> bytes:
        return self.pass_path.read_bytes().strip() if self.pass_path else b""


@dataclass
class DevPKI:
    """CAs in a directory, publishing their certificates and CRLs under ``base_url``."""

    directory: Path
    base_url: str = ""
    cas: dict[str, CA] = field(default_factory=dict)
    revoked: dict[str, dict[int, tuple[dt.datetime, str]]] = field(default_factory=dict)

    # -- files ----------------------------------------------------------------------------
    @property
    def ca_pem_path(self) -> Path:
        """The trust anchor of the main chain (configure it as a root)."""
        return self.directory / "ca.pem"

    def root_pem(self, prefix: str = "") -> Path:
        return self.ca_pem_path if not prefix else self.directory / f"{prefix}root.pem"

    def crl_path(self, ca: str) -> Path:
        return self.directory / f"{ca}.crl"

    def p12_path(self, name: str) -> Path:
        return self.directory / f"{name}.p12"

    def url(self, filename: str) -> str:
        return f"{self.base_url.rstrip('/')}/{filename}" if self.base_url else ""

    # -- creation / loading ---------------------------------------------------------------
    @classmethod
    def create(cls, directory: str | os.PathLike, base_url: str = "", *, algo: str = "rsa",
               org: str = "sohoa dev", root_name: str = "sohoa dev root CA", valid_days: int = 3650) -> "DevPKI":
        """A new PKI with one chain (``root`` → ``intermediate``); ``base_url`` is where its CRLs
        and CA certificates will be served (``<base_url>/intermediate.crl`` …)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        pki = cls(directory=d, base_url=base_url)
        pki.add_chain("", algo=algo, org=org, root_name=root_name, valid_days=valid_days)
        return pki

    def add_chain(self, prefix: str, *, algo: str = "rsa", org: str = "sohoa dev",
                  root_name: str | None = None, valid_days: int = 3650) -> None:
        """Root and intermediate CA named ``<prefix>root`` and ``<prefix>intermediate``."""
        now = _now()
        root_key = _new_key(algo, ca=True)
        rname = _name(root_name or f"sohoa dev {prefix}root CA", org)
        root = (x509.CertificateBuilder().subject_name(rname).issuer_name(rname)
                .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=2)).not_valid_after(now + dt.timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
                .sign(root_key, _hash_for(root_key)))
        self._add_ca(CA(f"{prefix}root", root, root_key, None))
        inter_key = _new_key(algo, ca=True)
        b = (x509.CertificateBuilder().subject_name(_name(f"sohoa dev {prefix}issuing CA", org))
             .issuer_name(rname).public_key(inter_key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=valid_days - 30))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
             .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                            critical=False)
             .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                 x509.ObjectIdentifier("2.5.29.32.0"), None)]), critical=False))
        b = self._publication_extensions(b, f"{prefix}root")
        inter = b.sign(root_key, _hash_for(root_key))
        self._add_ca(CA(f"{prefix}intermediate", inter, inter_key, f"{prefix}root"))
        if not prefix:
            self.ca_pem_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        self._save_state()
        for name in (f"{prefix}root", f"{prefix}intermediate"):
            self.write_crl(name)

    def _publication_extensions(self, b: x509.CertificateBuilder, issuer: str) -> x509.CertificateBuilder:
        """CRL distribution point and AIA caIssuers of ``issuer``, when a base URL is set."""
        if not self.base_url:
            return b
        b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(self.url(f"{issuer}.crl"))], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
        return b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(self.url(f"{issuer}.crt")))]),
            critical=False)

    def _add_ca(self, ca: CA) -> None:
        self.cas[ca.name] = ca
        d = self.directory
        (d / f"{ca.name}.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
        (d / f"{ca.name}.crt").write_bytes(ca.cert.public_bytes(serialization.Encoding.DER))
        pw = secrets.token_urlsafe(18)
        _write_private(d / "ca" / f"{ca.name}.p12.pass", pw.encode())
        _write_private(d / "ca" / f"{ca.name}.p12", pkcs12.serialize_key_and_certificates(
            ca.name.encode(), ca.key, ca.cert, None, serialization.BestAvailableEncryption(pw.encode())))

    def _save_state(self) -> None:
        state = {"base_url": self.base_url,
                 "cas": {n: {"parent": c.parent} for n, c in self.cas.items()},
                 "revoked": {ca: {format(s, "x"): [when.isoformat(), reason] for s, (when, reason) in r.items()}
                             for ca, r in self.revoked.items()}}
        _write_public(self.directory / "pki.json", json.dumps(state, indent=1).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "DevPKI":
        d = Path(directory)
        state = json.loads((d / "pki.json").read_text())
        pki = cls(directory=d, base_url=state.get("base_url", ""))
        for name, info in state["cas"].items():
            pw = (d / "ca" / f"{name}.p12.pass").read_bytes().strip()
            key, cert, _ = pkcs12.load_key_and_certificates((d / "ca" / f"{name}.p12").read_bytes(), pw)
            pki.cas[name] = CA(name, cert, key, info.get("parent"))
        for ca, entries in state.get("revoked", {}).items():
            pki.revoked[ca] = {int(s, 16): (dt.datetime.fromisoformat(w), r) for s, (w, r) in entries.items()}
        return pki

    @classmethod
    def exists(cls, directory: str | os.PathLike) -> bool:
        d = Path(directory)
        return (d / "pki.json").is_file() and (d / "ca.pem").is_file()

    # -- issuing --------------------------------------------------------------------------
    def issue(self, name: str, common_name: str, *, ca: str = "intermediate", title: str | None = None,
              org: str = "sohoa dev", unit: str | None = None, kind: str = "signing",
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
              key_usage: str = "signing", passphrase: str | None = None, with_chain: bool = True,
              write: bool = True) -> Issued:
        """Issue an end-entity certificate from CA ``ca`` (same key type as the CA).

        ``kind``: signing (a person or the unit's seal) | tsa. ``key_usage``: signing |
        encipherment (no signing usage, for tests). ``with_chain``: the PKCS#12 also holds the
        issuing CA certificates (as CAs deliver them)."""
        issuer = self.cas[ca]
        key = _new_key(issuer.algo, ca=False)
        now = _now()
        nb = not_before or now - dt.timedelta(hours=1)
        na = not_after or now + dt.timedelta(days=730)
        signing = key_usage == "signing"
        b = (x509.CertificateBuilder().subject_name(_name(common_name, org, title, unit))
             .issuer_name(issuer.cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(_key_usage(digital_signature=signing, content_commitment=signing and kind != "tsa",
                                       key_encipherment=not signing and issuer.algo == "rsa",
                                       key_agreement=not signing and issuer.algo == "ec"), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False)
             .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                 x509.ObjectIdentifier(DEV_POLICY_OID),
                 [self.url("cps.html") or "http://localhost/cps.html"])]), critical=False))
        if kind == "tsa":
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        elif signing:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                       ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        b = self._publication_extensions(b, ca)
        cert = b.sign(issuer.key, _hash_for(issuer.key))
        chain = self.chain_of(ca)
        issued = Issued(name=name, cert=cert, key=key, chain=chain)
        if write:
            pw = passphrase if passphrase is not None else secrets.token_urlsafe(18)
            issued.p12_path = self.p12_path(name)
            issued.pass_path = self.directory / f"{name}.p12.pass"
            issued.pem_path = self.directory / f"{name}.pem"
            _write_private(issued.pass_path, pw.encode())
            _write_private(issued.p12_path, pkcs12.serialize_key_and_certificates(
                name.encode(), key, cert, chain if with_chain else None,
                serialization.BestAvailableEncryption(pw.encode())))
            issued.pem_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return issued

    def chain_of(self, ca: str) -> list[x509.Certificate]:
        """``ca``'s certificate and its issuers up to the root, nearest first."""
        out, name = [], ca
        while name is not None:
            out.append(self.cas[name].cert)
            name = self.cas[name].parent
        return out

    # -- revocation -----------------------------------------------------------------------
    def revoke(self, cert: x509.Certificate, reason: str = "unspecified", when: dt.datetime | None = None) -> str:
        """Put ``cert`` on its issuer's CRL with ``reason`` (a key of :data:`REASONS`); returns
        the CA name. Revocation is dated ``when`` (default: now)."""
        if reason not in REASONS:
            raise ValueError(f"unknown revocation reason {reason!r}")
        ca = next((n for n, c in self.cas.items() if c.cert.subject == cert.issuer), None)
        if ca is None:
            raise ValueError("certificate not issued by this PKI")
        self.revoked.setdefault(ca, {})[cert.serial_number] = (when or _now(), reason)
        self._save_state()
        self.write_crl(ca)
        return ca

    def issued_here(self, cert: x509.Certificate) -> bool:
        return any(c.cert.subject == cert.issuer for c in self.cas.values())

    def crl_der(self, ca: str, days: int = CRL_DAYS) -> bytes:
        issuer = self.cas[ca]
        now = _now()
        b = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
             .last_update(now - dt.timedelta(minutes=5))
             .next_update(now + dt.timedelta(days=days))
             .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False))
        for serial, (when, reason) in sorted(self.revoked.get(ca, {}).items()):
            rb = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            if reason != "unspecified":
                rb = rb.add_extension(x509.CRLReason(REASONS[reason]), critical=False)
            b = b.add_revoked_certificate(rb.build())
        return b.sign(issuer.key, _hash_for(issuer.key)).public_bytes(serialization.Encoding.DER)

    def write_crl(self, ca: str) -> Path:
        path = self.crl_path(ca)
        _write_public(path, self.crl_der(ca))
        return path

    def write_crls(self) -> None:
        for name in self.cas:
            self.write_crl(name)


def fresh_crl(directory: str | os.PathLike, ca: str, min_left: dt.timedelta = dt.timedelta(days=1)) -> bytes | None:
    """The current CRL of dev CA ``ca`` (re-issued when it would expire within ``min_left``), or
    None when there is no such CA. What the dev servers answer at ``<base_url>/<ca>.crl``."""
    d = Path(directory)
    path = d / f"{ca}.crl"
    if not path.is_file() or not (d / "ca" / f"{ca}.p12").is_file():
        return None
    data = path.read_bytes()
    try:
        next_update = x509.load_der_x509_crl(data).next_update_utc
    except ValueError:
        next_update = None
    if next_update is None or next_update - _now() < min_left:
        data = DevPKI.load(d).write_crl(ca).read_bytes()
    return data


def softhsm_token(directory: str | Path, issued: Issued, *, token: str = "sohoa-test", label: str | None = None,
                  pin: str = "123456", so_pin: str = "12345678", module: str | None = None) -> dict:
    """A SoftHSM2 token in ``directory`` (own ``softhsm2.conf``) holding ``issued``'s key and
    certificate (only the end-entity certificate, as on most tokens). Returns ``{"conf", "module",
    "uri", "pin_file", "env"}``; set ``SOFTHSM2_CONF`` from ``env`` before opening the token."""
    import shutil
    import subprocess

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


# -- `sohoa pki dev` --------------------------------------------------------------------------------

DEMO_OFFICER = {"name": "Nguyễn Văn An", "title": "Phó Chủ tịch UBND xã"}
SEAL_NAME = "Dấu cơ quan (ký số lưu kho)"


def dev_base_url(settings) -> str:
    """Where the dev PKI publishes: the web app's ``/pki/`` (``sohoa run`` / ``serve`` in dev mode)."""
    base = (settings.public_base_url or "").rstrip("/") or f"http://{settings.web_host}:{settings.web_port}"
    return base + "/pki"


def setup_dev_pki(settings, db=None, *, officer_name: str | None = None, officer_title: str | None = None,
                  base_url: str | None = None) -> dict:
    """Create (once) a dev PKI under ``settings.pki_dir`` — root and issuing CA, the demo officer,
    the organisation seal and a TSA — register the officer and the seal, and write ``seal_key``,
    ``trust_roots_gov`` and ``dev_mode`` into ``$SOHOA_HOME/sohoa.toml``. Running it again
    changes nothing."""
    from signing import Trust, add_officer
    from sohoa.config import update_config_file

    d = Path(settings.pki_dir)
    d.mkdir(parents=True, exist_ok=True)
    created = False
    if DevPKI.exists(d):
        pki = DevPKI.load(d)
    else:
        pki = DevPKI.create(d, base_url=base_url or dev_base_url(settings),
                            root_name=f"sohoa dev root CA ({settings.agency_code})")
        created = True
    unit = settings.unit_name
    o_name = officer_name or DEMO_OFFICER["name"]
    o_title = officer_title or DEMO_OFFICER["title"]
    for name, cn, title, kind in (("officer", o_name, o_title, "signing"), ("seal", unit, None, "signing"),
                                  ("tsa", f"sohoa dev TSA ({settings.agency_code})", None, "tsa")):
        if not pki.p12_path(name).exists():
            pki.issue(name, cn, title=title, org=unit if kind != "tsa" else "sohoa dev", kind=kind)
            created = True
    pki.write_crls()
    result = {"pki_dir": str(d), "created": created, "ca": str(pki.ca_pem_path), "base_url": pki.base_url,
              "officer_key": str(pki.p12_path("officer")), "seal_key": str(pki.p12_path("seal")),
              "tsa_key": str(pki.p12_path("tsa"))}
    if db is not None:
        trust = Trust.build(gov=[pki.ca_pem_path], crl_dirs=[d])
        off = add_officer(db, str(pki.p12_path("officer")), title=o_title, body=unit, kind="officer", trust=trust,
                          allow_fetching=False)
        seal = add_officer(db, str(pki.p12_path("seal")), name=SEAL_NAME, body=unit, kind="seal", trust=trust,
                           allow_fetching=False)
        result["officer_id"], result["seal_id"] = off["id"], seal["id"]
    roots = [r.strip() for r in (settings.trust_roots_gov or "").split(",") if r.strip()]
    if str(pki.ca_pem_path) not in roots:
        roots.append(str(pki.ca_pem_path))
    values = {"trust_roots_gov": ",".join(roots), "dev_mode": True}
    if not settings.seal_key or settings.seal_key == str(pki.p12_path("seal")):
        values["seal_key"] = str(pki.p12_path("seal"))
        values["seal_passphrase_file"] = str(d / "seal.p12.pass")
    result["config"] = str(update_config_file(settings.home, values))
    return result


def revoke_in_dev_ca(pki_dir, cert_pem: str, crl_reason: str) -> bool:
    """Put a certificate issued by the dev PKI in ``pki_dir`` on its CA's CRL (what the real CA
    does on request); False when that PKI did not issue it."""
    if not cert_pem or not DevPKI.exists(pki_dir):
        return False
    pki = DevPKI.load(pki_dir)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    if not pki.issued_here(cert):
        return False
    pki.revoke(cert, crl_reason)
    return True
