"""Keys and trust: PKCS#12 files and PKCS#11 tokens, passphrases/PINs, explicit trust roots, CRLs.

A key reference (``Officer.key_ref``, ``settings.seal_key``) is either

* a PKCS#12 path, optionally followed by ``?pin-source=file:/path/to/passphrase``, or
* an RFC 7512 PKCS#11 URI: ``pkcs11:token=sohoa;object=officer1?module-path=/usr/lib/softhsm/
  libsofthsm2.so&pin-source=file:/path/to/pin`` (``module-path`` defaults to
  ``$SOHOA_PKCS11_MODULE`` or the SoftHSM2 module), or
* a remote signing service's credential (CSC API): ``csc:<service URL>#credential=<id>&…``
  (:mod:`signing.csc`; its "secret" is the officer's OTP for one batch).

Passphrases and PINs never come from a command-line argument: in order, an explicit value passed
by the caller (a prompt, a file named on the command line), the ``pin-source`` file of the key
reference, an environment variable (``SOHOA_SEAL_PASSPHRASE`` / ``SOHOA_OFFICER_PASSPHRASE`` /
``SOHOA_PKCS11_PIN``), and a sibling ``<file>.p12.pass`` file (written by ``sohoa pki dev``).
Trust anchors, intermediates and CRLs: :mod:`signing.trust`.
"""
from __future__ import annotations

import os
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from signing.errors import KeyUnavailable
DEFAULT_PKCS11_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                          "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                          "/usr/local/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class KeyRef:
    kind: str  # pkcs12 | pkcs11 | csc
    path: str = ""  # pkcs12 file
    token: str = ""
    object: str = ""
    key_id: str = ""
    module_path: str = ""
    pin_source: str = ""
    raw: str = field(default="", repr=False)  # as written (may carry a pin-value)

    @classmethod
    def parse(cls, ref: str) -> "KeyRef":
        ref = ref.strip()
        if ref.startswith("csc:"):  # remote signing service (signing.csc): URL and credential id
            url, _, frag = ref[len("csc:"):].partition("#")
            return cls(kind="csc", path=url, object=dict(urllib.parse.parse_qsl(frag)).get("credential", ""), raw=ref)
        if ref.startswith("pkcs11:"):
            body = ref[len("pkcs11:"):]
            path_part, _, query = body.partition("?")
            attrs: dict[str, str] = {}
            for part in filter(None, path_part.split(";")):
                k, _, v = part.partition("=")
                attrs[k.strip()] = urllib.parse.unquote(v)
            for part in filter(None, query.split("&")):
                k, _, v = part.partition("=")
                attrs[k.strip()] = urllib.parse.unquote(v)
            return cls(kind="pkcs11", token=attrs.get("token", ""), object=attrs.get("object", ""),
                       key_id=attrs.get("id", ""), module_path=attrs.get("module-path", ""),
                       pin_source=attrs.get("pin-source", ""), raw=ref)
        path, _, query = ref.partition("?")
        if path.startswith("pkcs12:"):
            path = path[len("pkcs12:"):]
        q = dict(urllib.parse.parse_qsl(query))
        return cls(kind="pkcs12", path=path, pin_source=q.get("pin-source", ""), raw=ref)


def _read_secret_file(path: str | os.PathLike) -> bytes:
    return Path(path).expanduser().read_bytes().rstrip(b"\r\n")


def resolve_secret(ref: KeyRef, env_var: str, explicit: bytes | str | None = None,
                   env: dict | None = None, extra_file: str | None = None) -> bytes | None:
    """The passphrase / PIN for ``ref`` (see module docstring for the order)."""
    env = os.environ if env is None else env
    if explicit is not None:
        return explicit.encode() if isinstance(explicit, str) else explicit
    if extra_file:
        return _read_secret_file(extra_file)
    if ref.pin_source:
        src = ref.pin_source
        if src.startswith("file:"):
            src = src[len("file:"):]
        return _read_secret_file(src)
    if env.get(env_var):
        return env[env_var].encode()
    if ref.kind == "pkcs12" and ref.path:
        sib = Path(ref.path + ".pass")
        if sib.is_file():
            return _read_secret_file(sib)
    return None


def is_token(key_ref: str) -> bool:
    """A PKCS#11 URI (a PIN opens it) rather than a PKCS#12 file (a passphrase)."""
    return KeyRef.parse(key_ref).kind == "pkcs11"


def is_remote(key_ref: str) -> bool:
    """A CSC remote-signing credential (an OTP or a phone approval authorizes each batch)."""
    return KeyRef.parse(key_ref or "").kind == "csc"


def secret_env_var(key_ref: str, default: str = "SOHOA_OFFICER_PASSPHRASE") -> str:
    """Where the environment may hold the key's secret: a token PIN, a remote service's OTP
    (scripts), a PKCS#12 passphrase."""
    kind = KeyRef.parse(key_ref or "").kind
    return {"pkcs11": "SOHOA_PKCS11_PIN", "csc": "SOHOA_CSC_OTP"}.get(kind, default)


def key_secret(key_ref: str, secret_file: str | None = None) -> bytes | None:
    """The passphrase / PIN / OTP for an officer's key from a file, the key reference, the
    environment or a sibling ``.pass`` file (None: ask the person)."""
    ref = KeyRef.parse(key_ref)
    return resolve_secret(ref, secret_env_var(key_ref), None, extra_file=secret_file)


def find_pkcs11_module(ref: KeyRef | None = None, env: dict | None = None) -> str:
    env = os.environ if env is None else env
    if ref is not None and ref.module_path:
        return ref.module_path
    if env.get("SOHOA_PKCS11_MODULE"):
        return env["SOHOA_PKCS11_MODULE"]
    for p in DEFAULT_PKCS11_MODULES:
        if os.path.exists(p):
            return p
    raise KeyUnavailable("không tìm thấy thư viện PKCS#11: đặt module-path trong URI khóa hoặc SOHOA_PKCS11_MODULE")


# -- signers -----------------------------------------------------------------------------------

_PIN_VALUE = re.compile(r"(pin-value=)[^;&?]*", re.IGNORECASE)


def redact_ref(key_ref: str) -> str:
    """A key reference fit to print: a PIN written in a PKCS#11 URI (``pin-value=``) is masked."""
    return _PIN_VALUE.sub(r"\1***", key_ref)


@dataclass(frozen=True)
class SignerKey:
    """Who signs: the key reference and what opens it (the passphrase / PIN resolved once by the
    parent process). Apart from the signature profile (what is signed, :class:`signing.signer.
    SignatureProfile`); picklable, handed to pool workers once. Its repr never shows the secret."""

    key_ref: str
    env_var: str = "SOHOA_OFFICER_PASSPHRASE"
    secret: bytes | None = field(default=None, repr=False)

    def open(self) -> "LoadedKey":
        return load_signer(self.key_ref, env_var=self.env_var, secret=self.secret)

    @property
    def token(self) -> bool:
        """A PKCS#11 token (its session must not cross a fork)."""
        return is_token(self.key_ref)

    def __repr__(self) -> str:
        return (f"SignerKey(key_ref={redact_ref(self.key_ref)!r}, env_var={self.env_var!r}, "
                f"secret={'<set>' if self.secret is not None else None})")

    __str__ = __repr__

@dataclass
class LoadedKey:
    """A ready-to-use pyHanko signer and what is needed to keep it alive."""

    signer: object
    ref: KeyRef
    session: object = None  # PKCS#11 session, kept open while the signer is used
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cert(self) -> asn1_x509.Certificate:
        return self.signer.signing_cert

    @property
    def chain_certs(self) -> list[asn1_x509.Certificate]:
        """The other certificates the key came with (a PKCS#12's CA certificates), and those
        added with :meth:`add_certs`: candidates for path building, embedded in every CMS."""
        cert = self.cert
        return [c for c in (self.signer.cert_registry or ()) if c.dump() != cert.dump()]

    def add_certs(self, certs) -> None:
        """Carry these certificates (the path's intermediates) in every signature from now on."""
        have = {c.dump() for c in (self.signer.cert_registry or ())}
        new = [c for c in certs if c.dump() not in have]
        if new:
            self.signer.cert_registry.register_multiple(new)
            self.signer.__dict__.pop("_sohoa_pkg", None)

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001
                pass
            self.session = None


def load_signer(key_ref: str, *, env_var: str = "SOHOA_OFFICER_PASSPHRASE",
                secret: bytes | str | None = None, secret_file: str | None = None,
                env: dict | None = None, other_certs=()) -> LoadedKey:
    """Open the key named by ``key_ref`` (PKCS#12 path or PKCS#11 URI)."""
    from pyhanko.sign import signers

    ref = KeyRef.parse(key_ref)
    if ref.kind == "csc":
        from signing.csc import load_csc_signer

        signer, _ = load_csc_signer(key_ref, otp=secret, env=env, mixin=_FastCMSMixin)
        return LoadedKey(signer=signer, ref=ref)
    if ref.kind == "pkcs12":
        p = Path(ref.path).expanduser()
        if not p.is_file():
            raise KeyUnavailable(f"không có tệp khóa PKCS#12: {p}")
        pw = resolve_secret(ref, env_var, secret, env, secret_file)
        try:
            signer = signers.SimpleSigner.load_pkcs12_data(p.read_bytes(), other_certs=list(other_certs),
                                                           passphrase=pw)
        except Exception as exc:  # noqa: BLE001
            raise KeyUnavailable(f"không mở được {p}: sai mật khẩu hoặc không phải tệp PKCS#12",
                                 detail=str(exc)) from exc
        if signer is None:
            raise KeyUnavailable(f"không mở được {p}: sai mật khẩu hoặc không phải tệp PKCS#12")
        _prefer_pss(signer)
        signer.embed_roots = False  # the verifier has its own anchors: roots only add bytes
        return LoadedKey(signer=signer, ref=ref)
    # PKCS#11
    from pyhanko.sign import pkcs11 as p11
    from pyhanko.config.pkcs11 import TokenCriteria

    module = find_pkcs11_module(ref, env)
    pin = resolve_secret(ref, "SOHOA_PKCS11_PIN", secret, env, secret_file)
    criteria = TokenCriteria(label=ref.token or None)
    try:
        try:
            session = p11.open_pkcs11_session(module, token_criteria=criteria,
                                              user_pin=pin.decode() if pin else None)
        except Exception as exc:  # noqa: BLE001
            # PKCS#11 login state is per application: another session (the seal, an earlier
            # signer) may already have logged the user in
            if type(exc).__name__ != "UserAlreadyLoggedIn":
                raise
            session = p11.open_pkcs11_session(module, token_criteria=criteria, user_pin=None)
    except Exception as exc:  # noqa: BLE001
        raise KeyUnavailable(f"không mở được thiết bị ký PKCS#11 {ref.token!r} ({module}): sai mã PIN "
                             f"hoặc thiết bị không có", detail=f"{type(exc).__name__} {exc}") from exc
    try:
        kw = {}
        if ref.key_id:
            kw["key_id"] = bytes.fromhex(ref.key_id.replace("%", ""))
        else:
            kw["key_label"] = ref.object
            kw["cert_label"] = ref.object
        signer = _fast_class("pkcs11")(session, other_certs_to_pull=None, prefer_pss=True, **kw)
        signer.signing_cert  # noqa: B018 - fetch the certificate now, fail early
        signer.embed_roots = False
    except Exception as exc:  # noqa: BLE001
        session.close()
        raise KeyUnavailable(f"không dùng được khóa {ref.object!r} trên thiết bị {ref.token!r}",
                             detail=str(exc)) from exc
    return LoadedKey(signer=signer, ref=ref, session=session)


def _prefer_pss(signer) -> None:
    """RSA keys sign with RSASSA-PSS / SHA-256 (spec: PSS preferred); the private key is parsed
    once (pyHanko's SimpleSigner re-parses it, with its expensive RSA consistency check, on every
    signature); CMS assembly is cached (see :class:`_FastCMSMixin`)."""
    from cryptography.hazmat.primitives import serialization

    signer.prefer_pss = True
    signer._sohoa_key = serialization.load_der_private_key(signer.signing_key.dump(), password=None)
    signer.__class__ = _fast_class("simple")
    # fix the mechanism once (pyHanko recomputes the PSS parameters for every call otherwise)
    signer._signature_mechanism = signer.get_signature_mechanism_for_digest(digest_for(signer.signing_cert))


class _FastCMSMixin:
    """Faster CMS assembly for pyHanko signers, byte-for-byte the same structures.

    asn1crypto re-serialises a *constructed or parsed* value by walking all of it on every
    ``dump()``; pyHanko builds the signed attributes and the SignedData from such values, which
    made ~70 % of the time of a signature. Here the constant parts (signing-certificate-v2
    attribute, signer identifier, certificate set) are serialised once, and everything is handed
    to asn1crypto as freshly loaded DER."""

    async def signed_attrs(self, data_digest, digest_algorithm, attr_settings=None, content_type="data",
                           use_pades=False, timestamper=None, dry_run=False, is_pdf_sig=True):
        from asn1crypto import cms
        from pyhanko.sign.general import simple_cms_attribute
        from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

        provs = list(self._signed_attr_providers(
            data_digest=data_digest, digest_algorithm=digest_algorithm, use_cades=use_pades,
            attr_settings=attr_settings or PdfCMSSignedAttributes(), timestamper=timestamper,
            is_pdf_sig=is_pdf_sig))
        cache = self.__dict__.setdefault("_sohoa_attr_cache", {})
        ders = [simple_cms_attribute("content_type", content_type).dump(),
                simple_cms_attribute("message_digest", data_digest).dump()]
        seen = {"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"}
        for prov in provs:
            name = type(prov).__name__
            if name in ("SigningCertificateV2Provider", "CMSAlgorithmProtectionProvider"):
                key = (name, digest_algorithm, dry_run)
                der = cache.get(key)
                if der is None:
                    attr = await prov.get_attribute(dry_run=dry_run)
                    der = cache[key] = attr.dump() if attr is not None else b""
            else:
                attr = await prov.get_attribute(dry_run=dry_run)
                der = attr.dump() if attr is not None else b""
            if der:
                attr_type = cms.CMSAttribute.load(der)["type"].dotted
                if attr_type in seen:  # pyHanko would merge same-type attributes: let it
                    return await super().signed_attrs(
                        data_digest, digest_algorithm, attr_settings=attr_settings, content_type=content_type,
                        use_pades=use_pades, timestamper=timestamper, dry_run=dry_run, is_pdf_sig=is_pdf_sig)
                seen.add(attr_type)
                ders.append(der)
        return cms.CMSAttributes([cms.CMSAttribute.load(d) for d in ders])

    def _sohoa_constant_parts(self):
        cache = self.__dict__.get("_sohoa_pkg")
        if cache is None:
            from asn1crypto import cms

            cert = self.signing_cert
            sid = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": cert.issuer, "serial_number": cert.serial_number})})
            ders, seen = [], set()
            for c in list(self.cert_registry or ()) + [cert]:
                if not getattr(self, "embed_roots", True) and c is not cert and c.self_signed != "no":
                    continue
                d = c.dump()
                if d not in seen:
                    seen.add(d)
                    ders.append(cms.CertificateChoices(name="certificate", value=c).dump())
            cache = self.__dict__["_sohoa_pkg"] = (sid.dump(), ders)
        return cache

    def _package_signature(self, *, digest_algorithm, cms_version, signed_attrs, signature,
                           unsigned_attrs, encap_content_info):
        from asn1crypto import algos, cms

        if self.attribute_certs:
            return super()._package_signature(
                digest_algorithm=digest_algorithm, cms_version=cms_version, signed_attrs=signed_attrs,
                signature=signature, unsigned_attrs=unsigned_attrs, encap_content_info=encap_content_info)
        sid_der, cert_ders = self._sohoa_constant_parts()

        def fresh(v, typ):
            return typ.load(v.untag().dump() if getattr(v, "implicit", False) else v.dump())

        digest_algorithm_obj = algos.DigestAlgorithm({"algorithm": digest_algorithm})
        info = {
            "version": "v1", "sid": cms.SignerIdentifier.load(sid_der),
            "digest_algorithm": digest_algorithm_obj,
            "signature_algorithm": fresh(self.get_signature_mechanism_for_digest(digest_algorithm),
                                         algos.SignedDigestAlgorithm),
            "signed_attrs": fresh(signed_attrs, cms.CMSAttributes),
            "signature": signature,
        }
        if unsigned_attrs is not None:
            info["unsigned_attrs"] = fresh(unsigned_attrs, cms.CMSAttributes)
        return cms.ContentInfo({
            "content_type": cms.ContentType("signed_data"),
            "content": cms.SignedData({
                "version": cms_version, "digest_algorithms": cms.DigestAlgorithms((digest_algorithm_obj,)),
                "encap_content_info": encap_content_info or {"content_type": "data"},
                "certificates": cms.CertificateSet([cms.CertificateChoices.load(d) for d in cert_ders]),
                "signer_infos": [cms.SignerInfo(info)]}),
        })


_FAST_CLASSES: dict = {}


def _fast_class(kind: str):
    cls = _FAST_CLASSES.get(kind)
    if cls is not None:
        return cls
    if kind == "pkcs11":
        from pyhanko.sign.pkcs11 import PKCS11Signer

        cls = type("FastPKCS11Signer", (_FastCMSMixin, PKCS11Signer), {})
    else:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

        class FastSimpleSigner(_FastCMSMixin, SimpleSigner):
            def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
                key = getattr(self, "_sohoa_key", None)
                mech_obj = self.get_signature_mechanism_for_digest(digest_algorithm)
                try:
                    mech = mech_obj.signature_algo
                except ValueError:
                    mech = mech_obj["algorithm"].native
                if key is None:
                    return super().sign_raw(data, digest_algorithm)
                if mech == "rsassa_pkcs1v15":
                    return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
                if mech == "rsassa_pss":
                    padding, hash_algo = process_pss_params(mech_obj["parameters"])
                    return key.sign(data, padding, hash_algo)
                if mech == "ecdsa":
                    return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
                return super().sign_raw(data, digest_algorithm)

        cls = FastSimpleSigner
    _FAST_CLASSES[kind] = cls
    return cls


def digest_for(cert) -> str:
    """SHA-256, or the digest matching an ECDSA curve (SHA-384 for P-384, SHA-512 for P-521)."""
    try:
        if cert.public_key.algorithm == "ec":
            return {"secp384r1": "sha384", "secp521r1": "sha512"}.get(cert.public_key.curve[1], "sha256")
    except Exception:  # noqa: BLE001
        pass
    return "sha256"


def cert_fingerprint(cert: asn1_x509.Certificate) -> str:
    import hashlib

    return hashlib.sha256(cert.dump()).hexdigest()


def cert_to_pem(cert: asn1_x509.Certificate) -> str:
    return pem.armor("CERTIFICATE", cert.dump()).decode()
