"""Loopback dev services: the dev PKI's publication point and an RFC 3161 time-stamping authority.

``GET /pki/<ca>.crl`` and ``GET /pki/<ca>.crt`` serve the dev PKI's CRLs and CA certificates —
the addresses written in its certificates (CRL distribution points, AIA caIssuers) when the PKI
was created with ``base_url = <this server>/pki``. CRLs are read on every request (re-issued when
about to expire), so a revocation is visible at once. ``POST /tsa`` answers an RFC 3161
``TimeStampReq`` with a token signed by a TSA certificate of the dev PKI (pyHanko's
``DummyTimeStamper`` does the CMS work). ``sohoa run``/``serve`` publish the same ``/pki/`` files
in dev mode (see :func:`pki_file`).
"""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509

_PKI_FILE = re.compile(r"^/pki/([a-z0-9][a-z0-9-]{0,63})\.(crl|crt)$")
CONTENT_TYPES = {"crl": "application/pkix-crl", "crt": "application/pkix-cert"}


def pki_file(pki_dir: str | Path, path: str) -> tuple[bytes, str] | None:
    """``(body, content type)`` for a URL path ``/pki/<ca>.crl|.crt`` of the dev PKI in
    ``pki_dir``, or None (unknown name, or not a dev PKI publication)."""
    from sohoa.dev.pki import fresh_crl

    m = _PKI_FILE.match(path.split("?")[0])
    if m is None:
        return None
    name, ext = m.groups()
    if ext == "crl":
        body = fresh_crl(pki_dir, name)
    else:
        f = Path(pki_dir) / f"{name}.crt"
        body = f.read_bytes() if f.is_file() and (Path(pki_dir) / "ca" / f"{name}.p12").is_file() else None
    return (body, CONTENT_TYPES[ext]) if body is not None else None


def _asn1_cert(cert) -> asn1_x509.Certificate:
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _asn1_key(key) -> asn1_keys.PrivateKeyInfo:
    from cryptography.hazmat.primitives import serialization

    return asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _fast_dummy_class():
    """pyHanko's DummyTimeStamper re-parses its RSA key (a ~40 ms consistency check) for every
    token; this one keeps the parsed key."""
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.general import simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class FastDummyTimeStamper(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data, md_algorithm, dt):
            from asn1crypto import cms, core
            from cryptography.hazmat.primitives import hashes
            from pyhanko.sign import general

            md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            md.update(tst_info_data)
            signed_attrs = cms.CMSAttributes([
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", md.finalize()),
            ])
            signature = self._pyca_key.sign(signed_attrs.dump(), PKCS1v15(),
                                            get_pyca_cryptography_hash(md_algorithm.upper()))
            return signature, signed_attrs

    return FastDummyTimeStamper


class DevServices:
    """``with DevServices(pki_dir) as svc: svc.tsa_url, svc.pki_url`` — a threaded HTTP server on
    loopback (port 0 = any free port, known before the PKI is created)."""

    def __init__(self, pki_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.pki_dir = Path(pki_dir) if pki_dir else None
        self.timestamper = None
        self.requests = 0
        self.fetches: list[str] = []
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                found = pki_file(svc.pki_dir, self.path) if svc.pki_dir else None
                if found is None:
                    self._send(404, "text/plain", b"not found")
                    return
                svc.fetches.append(self.path)
                self._send(200, found[1], found[0])

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                if self.path.split("?")[0] != "/tsa" or svc.timestamper is None:
                    self._send(404, "text/plain", b"not found")
                    return
                try:
                    req = tsp.TimeStampReq.load(body)
                    resp = svc.timestamper.request_tsa_response(req)
                    svc.requests += 1
                    self._send(200, "application/timestamp-reply", resp.dump())
                except Exception as exc:  # noqa: BLE001
                    self._send(400, "text/plain", str(exc).encode())

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    def set_tsa(self, tsa_cert, tsa_key, chain=()) -> None:
        """Sign time-stamps with this (``cryptography``) certificate and RSA key; ``chain``: the
        CA certificates to embed in the tokens."""
        self.timestamper = _fast_dummy_class()(tsa_cert=_asn1_cert(tsa_cert), tsa_key=_asn1_key(tsa_key),
                                               certs_to_embed=[_asn1_cert(c) for c in chain])
        self.timestamper._pyca_key = tsa_key

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pki_url(self) -> str:
        """The base URL to create a dev PKI with (its CRLs and CA certificates live here)."""
        return self.base_url + "/pki"

    @property
    def tsa_url(self) -> str:
        return self.base_url + "/tsa"

    def start(self) -> "DevServices":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sohoa-devservices", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @classmethod
    def for_pki_dir(cls, pki_dir, host="127.0.0.1", port=0, tsa: str = "tsa") -> "DevServices":
        """Serve the TSA and the publications of a ``sohoa pki dev`` directory."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        from sohoa.dev.pki import DevPKI

        d = Path(pki_dir)
        svc = cls(d, host=host, port=port)
        pw = (d / f"{tsa}.p12.pass").read_bytes().strip()
        key, cert, chain = pkcs12.load_key_and_certificates((d / f"{tsa}.p12").read_bytes(), pw)
        if not chain:
            pki = DevPKI.load(d)
            chain = pki.chain_of(next(n for n, c in pki.cas.items() if c.cert.subject == cert.issuer))
        svc.set_tsa(cert, key, chain)
        return svc
