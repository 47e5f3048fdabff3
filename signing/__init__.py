"""signing/ — the organisation seal, e-certified copies and verification (the product spec's flow
and its electronic certified copy), on pyHanko.

Public face (callers use these names, not the submodules)::

    from signing import Trust, Sealer, Certifier, verify_pdf
    trust = Trust.from_settings(settings)            # the gov / public anchor sets, intermediates, CRLs
    sealer = Sealer.from_settings(settings)          # None without settings.seal_key; load once
    sealed = sealer.seal(pdf_bytes)                  # Decree 30/2020 seal, B-B … B-LTA
    with Certifier(settings, db, officer_id) as c:   # officer + certificate checked once
        results = c.certify([doc_id], copies=1, out_dir="out/")
    report = verify_pdf(pdf_bytes, trust)            # VerifyReport: .valid, .to_json(), .summary_lines()

Expected failures raise :class:`SigningError` subclasses (typed on ``vocab.errors``).
Heavy imports (pyHanko) happen on first use of these names, so ``import signing`` stays cheap.
"""
from __future__ import annotations

__all__ = [
    # trust and verification
    "Trust", "verify_pdf", "VerifyReport", "SignatureReport", "Change",
    # signing: what is signed (frozen, no secret) apart from who signs (the key and what opens it)
    "Sealer", "Certifier", "CertifiedResult", "SignatureProfile", "SignerKey",
    # officers, the register, refusals
    "add_officer", "list_officers", "revoke_officer", "REVOCATION_REASONS",
    "register_rows", "find_certified", "record_refusal", "Refusal", "REFUSAL_REASONS",
    # long-term archive
    "refresh_archive", "RefreshReport",
    # keys
    "key_secret", "is_token", "is_remote", "remote_wait",
    # errors
    "SigningError", "CertificateRefused", "KeyUnavailable", "SigningFailed", "SigningNotFound",
    "SigningInvalid", "SigningConflict",
]

_LAZY = {
    "Trust": "signing.trust",
    "verify_pdf": "signing.verify", "VerifyReport": "signing.verify", "SignatureReport": "signing.verify",
    "Change": "signing.changes",
    "Sealer": "signing.seal", "Certifier": "signing.certify", "CertifiedResult": "signing.book",
    "add_officer": "signing.officers", "list_officers": "signing.officers", "revoke_officer": "signing.officers",
    "REVOCATION_REASONS": "signing.officers",
    "register_rows": "signing.book", "find_certified": "signing.book",
    "record_refusal": "signing.refusals", "REFUSAL_REASONS": "signing.refusals", "Refusal": "signing.refusals",
    "refresh_archive": "signing.archive", "RefreshReport": "signing.archive",
    "key_secret": "signing.keys", "is_token": "signing.keys", "is_remote": "signing.keys", "remote_wait": "signing.csc",
    "SignerKey": "signing.keys", "SignatureProfile": "signing.signer",
    **{name: "signing.errors" for name in ("SigningError", "CertificateRefused", "KeyUnavailable", "SigningFailed",
                                           "SigningNotFound", "SigningInvalid", "SigningConflict")},
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
