"""The organisation seal ("ký số lưu kho"): the unit's signature on every stored document and on
every certified copy. Appearance per Decree 30/2020 (top right of page 1, no image, the agency's
name and the signing time with +07:00). B-B, B-T with a TSA, B-LT when the chain's revocation
status is reachable, B-LTA (a document timestamp) with a TSA and B-LT."""
from __future__ import annotations

import logging

from signing.checks import CertCheck, basic_cert_checks, check_signing_cert
from signing.signer import Engine, SignatureProfile
from signing.errors import CertificateRefused
from signing.keys import KeyRef, SignerKey, load_signer, resolve_secret
from signing.trust import Trust

log = logging.getLogger(__name__)


def signing_profile(settings, trust: Trust, *, check: CertCheck | None, lt: bool | None = None, lta: bool = True,
                    agency: str = "") -> SignatureProfile:
    """The signature profile with the levels the configuration allows: B-LT when a TSA is
    configured and the revocation status was checked (``lt`` None) or ``lt`` is True; B-LTA on
    top with ``lta``."""
    embed = bool(settings.tsa_url) and check is not None and check.revocation_checked and (lt is None or lt)
    return SignatureProfile(tsa_url=settings.tsa_url, trust=trust,
                            extra_certs=tuple(c.dump() for c in (check.intermediates if check else [])),
                            embed_validation=embed, use_lta=embed and lta, agency=agency)


def open_checked(key_ref: str, trust: Trust, *, env_var: str, secret: bytes | None,
                 allow_fetching: bool = True):
    """Open a key and check its certificate now: ``(LoadedKey, CertCheck | None)``. Without
    configured anchors only the validity period and key usage are checked (None)."""
    key = load_signer(key_ref, env_var=env_var, secret=secret)
    try:
        if trust.roots:
            return key, check_signing_cert(key.cert, trust, other_certs=key.chain_certs,
                                           allow_fetching=allow_fetching)
        basic_cert_checks(key.cert)
        return key, None
    except CertificateRefused:
        key.close()
        raise


class Sealer:
    """Load once (``from_settings``), then call ``seal`` from any thread."""

    def __init__(self, engine: Engine, key: SignerKey, check: CertCheck | None = None) -> None:
        self.engine = engine
        self.key = key  # who seals (the pool's workers open it again)
        self.check = check

    @classmethod
    def from_settings(cls, settings, secret: bytes | str | None = None, *, trust: Trust | None = None,
                      lt: bool | None = None, lta: bool = True) -> "Sealer | None":
        """None when no seal key is configured (``seal_key``). Raises ``KeyUnavailable`` when
        the key cannot be opened and ``CertificateRefused`` when its certificate is expired,
        without a signing usage, or (with anchors configured) revoked / untrusted — checked once,
        here. ``lt``/``lta``: as :func:`signing_profile` (default: B-LTA whenever a TSA is
        configured and the revocation status is reachable)."""
        if not settings.seal_key:
            return None
        ref = KeyRef.parse(settings.seal_key)
        env_var = "SOHOA_PKCS11_PIN" if ref.kind == "pkcs11" else "SOHOA_SEAL_PASSPHRASE"
        pw = resolve_secret(ref, env_var, secret, extra_file=settings.seal_passphrase_file or None)
        trust = trust or Trust.from_settings(settings)
        key, check = open_checked(settings.seal_key, trust, env_var=env_var, secret=pw)
        for w in check.warnings if check else ():
            log.warning("organisation seal: %s", w)
        profile = signing_profile(settings, trust, check=check, lt=lt, lta=lta, agency=settings.unit_name)
        return cls(Engine(profile, key=key), SignerKey(settings.seal_key, env_var, pw), check)

    def __repr__(self) -> str:
        return f"Sealer({self.key!r}, level={self.level!r})"

    @property
    def profile(self) -> SignatureProfile:
        return self.engine.profile

    @property
    def cert(self):
        return self.engine.cert

    @property
    def level(self) -> str:
        return self.engine.profile.level

    def seal_slot(self):
        return self.engine.seal_slot()

    def seal(self, pdf: bytes) -> bytes:
        return self.engine.seal(pdf)

    def seal_batch(self, pdfs: list[bytes]) -> list[bytes]:
        """Seal several documents (a remote seal key: one authorization for all)."""
        return self.engine.seal_batch(pdfs)

    def close(self) -> None:
        self.engine.close()
