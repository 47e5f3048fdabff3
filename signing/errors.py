"""Expected failures of signing/, typed on vocab.errors so every surface maps them once (CLI exit
code + one Vietnamese line, HTTP status + JSON). ``except SigningError`` catches them all."""
from __future__ import annotations

from vocab.errors import Conflict, Forbidden, Invalid, NotFound, SohoaError, Unavailable


class SigningError(SohoaError):
    """Base of every expected failure of signing/ (never raised itself)."""


class CertificateRefused(SigningError, Forbidden):
    """This signer must not sign: certificate revoked, expired, not yet valid, not chaining to a
    configured anchor, without a signing key usage — or the officer revoked in the registry."""


class KeyUnavailable(SigningError, Unavailable):
    """The key cannot be opened: missing PKCS#12 file, wrong passphrase / PIN, token not found."""


class SigningFailed(SigningError, Unavailable):
    """Signing did not complete (TSA unreachable, worker crashed); allocated numbers are kept
    for the retry."""


class SigningNotFound(SigningError, NotFound):
    """No such officer, document or register entry."""


class SigningInvalid(SigningError, Invalid):
    """A request that cannot be right: a name that is not the certificate holder's, an unknown
    refusal reason, no public address for the QR code outside dev mode, …"""


class SigningConflict(SigningError, Conflict):
    """The certificate is already registered for another officer, or the key does not match the
    certificate registered for this officer."""


def check_choice(value: str, choices, what: str) -> None:
    """Refuse (:class:`SigningInvalid`) a value that is not one of ``choices``."""
    if value not in choices:
        raise SigningInvalid(f"{what} không hợp lệ: {value} (một trong: {', '.join(choices)})")


__all__ = ["SigningError", "CertificateRefused", "KeyUnavailable", "SigningFailed", "SigningNotFound",
           "SigningInvalid", "SigningConflict"]
