"""Trust: the two named anchor sets (the product spec's certified copy: Decree 68/2024 and 23/2025),
intermediates, CRLs.

* ``gov`` — the government special-use CA (CA chuyên dùng Chính phủ, Ban Cơ yếu Chính phủ);
* ``public`` — licensed public CAs (CA công cộng).

Each set is a list of PEM/DER files or directories (``trust_roots_gov`` / ``trust_roots_public``;
the older ``trust_roots`` is read as the government set). A signature is trusted only when its
path ends at one of these anchors; the report names the set. The OS store is never used.
Intermediates come from the signer's own PKCS#12 / CMS, the configured ``intermediates`` bundle,
and AIA caIssuers fetching where fetching is allowed. CRLs: ``*.crl`` in ``settings.pki_dir`` and
``crl_dirs``, and the certificates' distribution points (``SOHOA_FETCH_TIMEOUT``, default 5 s).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

FETCH_TIMEOUT = float(os.environ.get("SOHOA_FETCH_TIMEOUT", "5"))
ANCHOR_SETS = {"gov": "CA chuyên dùng Chính phủ", "public": "CA công cộng"}


def load_certs_from_bytes(data: bytes) -> list[asn1_x509.Certificate]:
    if pem.detect(data):
        return [asn1_x509.Certificate.load(der) for typ, _, der in pem.unarmor(data, multiple=True)
                if typ == "CERTIFICATE"]
    return [asn1_x509.Certificate.load(data)]


def load_certs(spec) -> list[asn1_x509.Certificate]:
    """Certificates from a comma-separated string of PEM/DER files or directories of them, or a
    list of such paths, DER bytes, asn1crypto or ``cryptography`` certificates."""
    if not spec:
        return []
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[asn1_x509.Certificate] = []
    for item in items:
        if item is None or item == "":
            continue
        if isinstance(item, asn1_x509.Certificate):
            out.append(item)
        elif hasattr(item, "public_bytes"):  # a cryptography certificate
            from cryptography.hazmat.primitives.serialization import Encoding

            out.append(asn1_x509.Certificate.load(item.public_bytes(Encoding.DER)))
        elif isinstance(item, (bytes, bytearray)):
            out.extend(load_certs_from_bytes(bytes(item)))
        else:
            p = Path(item).expanduser()
            files = sorted(p.glob("*.pem")) + sorted(p.glob("*.crt")) + sorted(p.glob("*.cer")) if p.is_dir() else [p]
            for f in files:
                out.extend(load_certs_from_bytes(f.read_bytes()))
    return out


def load_local_crls(dirs) -> list[asn1_crl.CertificateList]:
    """CRLs (``*.crl``, DER or PEM) found in the given directories; a broken file is skipped."""
    out = []
    for d in dirs:
        if not d:
            continue
        for f in sorted(glob.glob(os.path.join(str(d), "*.crl"))):
            data = Path(f).read_bytes()
            if pem.detect(data):
                _, _, data = pem.unarmor(data)
            try:
                c = asn1_crl.CertificateList.load(data)
                c.native  # noqa: B018 - parse now, fail early
            except Exception:  # noqa: BLE001
                continue
            out.append(c)
    return out


def _split(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return [s.strip() for s in str(value).split(",") if s.strip()]


@dataclass(frozen=True)
class Trust:
    """Named anchor sets, extra intermediates and local CRL directories: what every check and
    every verification is judged against."""

    anchors: dict = field(default_factory=dict)  # set name -> tuple of certificates
    intermediates: tuple = ()
    crl_dirs: tuple = ()

    @classmethod
    def build(cls, *, gov=(), public=(), intermediates=(), crl_dirs=()) -> "Trust":
        """From paths / certificates (see :func:`load_certs`)."""
        anchors = {name: tuple(load_certs(spec)) for name, spec in (("gov", gov), ("public", public))}
        return cls(anchors={k: v for k, v in anchors.items() if v}, intermediates=tuple(load_certs(intermediates)),
                   crl_dirs=tuple(str(d) for d in _split(crl_dirs)))

    @classmethod
    def from_settings(cls, settings) -> "Trust":
        """``trust_roots_gov`` (+ the older ``trust_roots``), ``trust_roots_public``,
        ``intermediates``; CRLs in ``pki_dir`` and ``crl_dirs``."""
        gov = _split(getattr(settings, "trust_roots_gov", "")) + _split(getattr(settings, "trust_roots", ""))
        dirs = [str(settings.pki_dir)] + _split(settings.extra.get("crl_dirs"))
        return cls.build(gov=gov, public=_split(getattr(settings, "trust_roots_public", "")),
                         intermediates=_split(getattr(settings, "intermediates", "")), crl_dirs=dirs)

    @property
    def roots(self) -> list[asn1_x509.Certificate]:
        seen, out = set(), []
        for certs in self.anchors.values():
            for c in certs:
                if c.dump() not in seen:
                    seen.add(c.dump())
                    out.append(c)
        return out

    def anchor_set(self, cert: asn1_x509.Certificate | None) -> str | None:
        """The name of the set holding this anchor certificate (``gov`` first), or None."""
        if cert is None:
            return None
        der = cert.dump()
        for name in ("gov", "public", *sorted(set(self.anchors) - {"gov", "public"})):
            if any(c.dump() == der for c in self.anchors.get(name, ())):
                return name
        return None

    def local_crls(self) -> list[asn1_crl.CertificateList]:
        return load_local_crls(self.crl_dirs)

    def validation_context(self, *, allow_fetching: bool = True, revocation_mode: str = "soft-fail",
                           other_certs=(), extra_crls=(), ocsps=(), moment=None, retroactive: bool = False,
                           with_local_crls: bool = True):
        """A pyHanko ValidationContext with these anchors, intermediates and CRLs."""
        from pyhanko_certvalidator import ValidationContext

        crls = (self.local_crls() if with_local_crls else []) + list(extra_crls)
        kw = dict(trust_roots=self.roots, allow_fetching=allow_fetching, revocation_mode=revocation_mode,
                  other_certs=list(self.intermediates) + list(other_certs), crls=crls, ocsps=list(ocsps),
                  retroactive_revinfo=retroactive)
        if allow_fetching:
            # synchronous 'requests' fetchers with a short timeout: no aiohttp sessions left open,
            # and an unreachable CRL server costs seconds, not a hang
            from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

            kw["fetcher_backend"] = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT)
        if moment is not None:
            kw["moment"] = moment
        return ValidationContext(**kw)


def set_label(name: str | None) -> str:
    return ANCHOR_SETS.get(name or "", name or "không thuộc bộ gốc tin cậy nào")
