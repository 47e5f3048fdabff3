"""The identity verifier the settings name (registry.population): built here, in the composition root."""
from __future__ import annotations

from registry.population import IdentityVerifier, build_verifier
from sohoa.config import Settings

__all__ = ["verifier_for"]


def verifier_for(settings: Settings) -> IdentityVerifier:
    return build_verifier(url=settings.identity_url, token=settings.identity_token,
                          stub_file=settings.identity_stub_file, kind=settings.identity_verifier)
