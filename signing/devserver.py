"""A loopback RFC 3161 time-stamping authority and CRL publisher for tests and dev installs.

``POST /tsa`` answers an RFC 3161 ``TimeStampReq`` (``application/timestamp-query``) with a
``TimeStampResp`` signed by the dev PKI's TSA key (pyHanko's ``DummyTimeStamper`` does the CMS
work). ``GET /crl`` (or ``/pki/ca.crl``) serves the current CRL of the dev PKI, re-read from disk
on every request so a revocation is visible at once.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509


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
    """``with DevServices(tsa_cert, tsa_key, ca_cert, crl_path) as svc: svc.tsa_url, svc.crl_url``."""

    def __init__(self, tsa_cert=None, tsa_key=None, ca_cert=None, crl_path: str | Path | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.crl_path = Path(crl_path) if crl_path else None
        self.timestamper = None
        self.requests = 0
        if tsa_cert is not None and tsa_key is not None:
            self.set_tsa(tsa_cert, tsa_key, ca_cert)
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
                if self.path.split("?")[0] in ("/crl", "/ca.crl", "/pki/ca.crl") and svc.crl_path \
                        and svc.crl_path.exists():
                    self._send(200, "application/pkix-crl", svc.crl_path.read_bytes())
                else:
                    self._send(404, "text/plain", b"not found")

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

    def set_tsa(self, tsa_cert, tsa_key, ca_cert=None) -> None:
        """Sign time-stamps with this (``cryptography``) certificate and RSA key."""
        embed = [_asn1_cert(ca_cert)] if ca_cert is not None else []
        self.timestamper = _fast_dummy_class()(tsa_cert=_asn1_cert(tsa_cert), tsa_key=_asn1_key(tsa_key),
                                               certs_to_embed=embed)
        self.timestamper._pyca_key = tsa_key

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def tsa_url(self) -> str:
        return self.base_url + "/tsa"

    @property
    def crl_url(self) -> str:
        return self.base_url + "/crl"

    def start(self) -> "DevServices":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sohoa-devservices",
                                        daemon=True)
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
    def for_pki_dir(cls, pki_dir, host="127.0.0.1", port=0) -> "DevServices":
        """Serve the TSA and CRL of a ``sohoa pki dev`` directory."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        d = Path(pki_dir)
        pw = (d / "tsa.p12.pass").read_bytes().strip()
        key, cert, _ = pkcs12.load_key_and_certificates((d / "tsa.p12").read_bytes(), pw)
        from cryptography import x509

        ca = x509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
        return cls(cert, key, ca, d / "ca.crl", host=host, port=port)
