"""signing/ — pyHanko-based organisation seal, e-certified copies and verification (spec §2, §5).

Public API::

    from signing import Sealer, Certifier, verify_pdf, VerifyReport
    sealer = Sealer.from_settings(settings)          # None when no seal key is configured
    sealed = sealer.seal(pdf_bytes)                   # PAdES B-B (B-T with settings.tsa_url)
    report = verify_pdf(pdf_bytes, trust_roots)       # VerifyReport(...).to_json()

Heavy imports (pyHanko) happen on first use of these names, so ``import signing`` stays cheap.
"""
from __future__ import annotations

__all__ = ["Sealer", "Certifier", "CertifyError", "CertificateRefused", "verify_pdf", "VerifyReport",
           "SignatureReport", "check_signing_cert", "record_refusal", "register_rows", "REFUSAL_REASONS",
           "find_certified",
           "DevPKI", "KeyLoadError", "load_signer"]

_LAZY = {
    "Sealer": "signing.service", "Certifier": "signing.service", "CertifyError": "signing.service",
    "CertificateRefused": "signing.service", "check_signing_cert": "signing.service",
    "record_refusal": "signing.service", "register_rows": "signing.service",
    "REFUSAL_REASONS": "signing.service", "find_certified": "signing.service",
    "verify_pdf": "signing.verify", "VerifyReport": "signing.verify", "SignatureReport": "signing.verify",
    "DevPKI": "signing.pki", "KeyLoadError": "signing.keys", "load_signer": "signing.keys",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value
