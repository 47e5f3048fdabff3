"""A local remote-signing service speaking the Cloud Signature Consortium API v2, for development
and tests (``sohoa dev csc``). Never for production: keys sit in memory, OTPs are printed.

Endpoints (JSON in and out, ``POST``; CSC error shape ``{"error", "error_description"}``):

- ``/oauth2/token`` — OAuth2 client credentials (form or JSON body, or HTTP Basic), answers
  ``{"access_token", "token_type": "Bearer", "expires_in"}``;
- ``/csc/v2/info``, ``/csc/v2/credentials/list``, ``/csc/v2/credentials/info`` (the certificate
  chain, signer first; the key's algorithms; ``multisign``; ``SCAL`` 2: the SAD is bound to hashes);
- ``/csc/v2/credentials/authorize`` with ``numSignatures``, ``hashes`` (v1's ``hash`` too) and
  ``OTP``: answers ``{"SAD", "expiresIn"}``. A credential in *approval* mode (the officer approves
  on a phone) answers ``202 {"authorizationID", "expiresIn"}`` instead; the client then polls
  ``/csc/v2/credentials/authorizeCheck`` (``{"authorizationID"}``) which answers ``202`` while
  pending and ``{"SAD", "expiresIn"}`` once granted (on the ``approve_after_polls``-th poll or
  after ``approve_after`` seconds, never when ``approve`` is ``"never"``; ``/_dev/approve`` grants
  at once — the "phone");
- ``/csc/v2/signatures/signHash`` with ``SAD``, ``hashes`` (or ``hash``), ``hashAlgorithmOID`` (or
  ``hashAlgo``), ``signAlgo`` and ``signAlgoParams``: real RSA (PKCS#1 v1.5, PSS) and ECDSA
  signatures by the credential's key, ``{"signatures": [...]}``; at most ``multisign`` hashes per
  call, each authorized hash signed once.

The OTP of a credential is a 6-digit code that changes every ``otp_ttl`` seconds (like a TOTP app)
or on ``/_dev/otp/rotate``; it is printed when it changes and readable at ``GET /_dev/otp``. The
previous code is answered ``expired_otp``, any other ``invalid_otp``.

Switches (constructor arguments, ``sohoa dev csc`` options, and ``POST /_dev/switches`` at run
time): ``fail_rate`` (share of API calls answered 500), ``fail_on`` (endpoints that always answer
500, e.g. ``signatures/signHash``), ``delay`` (seconds before each answer), ``hang_on`` (endpoints
that never answer: the connection is held open), ``token_ttl`` / ``token_uses`` (an access token
expires after N seconds / N calls), ``sad_ttl`` / ``sad_signatures`` (a SAD expires after N
seconds / is used up after N signatures; at most ``numSignatures`` anyway). ``GET /_dev/stats`` counts calls per endpoint.
"""
from __future__ import annotations

import base64
import json
import random
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sohoa.dev.portal import _Server, send_json

__all__ = ["DevCSC", "Credential"]

SPECS = "2.0.0.2"
API = "/csc/v2/"
OIDS = {  # signature / digest algorithm OIDs the service knows
    "rsa": ["1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.10"],
    "ec": ["1.2.840.10045.2.1", "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3"],
}
DIGESTS = {"2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512",
           "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}


@dataclass
class Credential:
    """One signing credential: a key and its certificate chain (``cryptography`` objects)."""

    id: str
    key: object
    cert: object
    chain: list = field(default_factory=list)
    mode: str = "otp"  # otp | approval | implicit (no OTP asked: an organisation's seal)
    multisign: int = 10
    description: str = ""
    otp: str = ""
    previous_otp: str = ""
    otp_born: float = 0.0


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class DevCSC:
    """``DevCSC(host, port, client_id=…, client_secret=…).add(...).start()``; ``url`` is the base
    URL a client is configured with (the API lives under ``<url>/csc/v2/``)."""

    SWITCHES = ("fail_rate", "fail_on", "delay", "hang_on", "token_ttl", "token_uses", "sad_ttl", "sad_signatures",
                "otp_ttl", "approve", "approve_after", "approve_after_polls")

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, client_id: str = "sohoa",
                 client_secret: str = "", fail_rate: float = 0.0, fail_on=(), delay: float = 0.0, hang_on=(),
                 token_ttl: float = 3600.0, token_uses: int = 0, sad_ttl: float = 300.0, sad_signatures: int = 0,
                 otp_ttl: float = 300.0,
                 approve: str = "poll", approve_after: float = 0.0, approve_after_polls: int = 2,
                 seed: int | None = None, echo=None) -> None:
        self.client_id, self.client_secret = client_id, client_secret or secrets.token_urlsafe(24)
        self.fail_rate, self.fail_on, self.delay, self.hang_on = fail_rate, set(fail_on), delay, set(hang_on)
        self.token_ttl, self.token_uses, self.sad_ttl, self.otp_ttl = token_ttl, token_uses, sad_ttl, otp_ttl
        self.sad_signatures = sad_signatures
        self.approve, self.approve_after, self.approve_after_polls = approve, approve_after, approve_after_polls
        self.rng = random.Random(seed)
        self.echo = echo  # called with each line the service "prints" (OTPs); None: stdout
        self.lock = threading.Lock()
        self.credentials: dict[str, Credential] = {}
        self.tokens: dict[str, dict] = {}
        self.sads: dict[str, dict] = {}
        self.pending: dict[str, dict] = {}
        self.calls: dict[str, int] = {}
        self.hashes_signed = 0
        self._release = threading.Event()  # set on stop: hung requests end
        self.server = _Server((host, port), self._handler())
        self._thread: threading.Thread | None = None

    # -- setup ----------------------------------------------------------------------------------
    def add(self, cred_id: str, key, cert, chain=(), *, mode: str = "otp", multisign: int = 10,
            description: str = "") -> "DevCSC":
        if mode not in ("otp", "approval", "implicit"):
            raise ValueError("mode is otp, approval or implicit")
        with self.lock:
            self.credentials[cred_id] = Credential(cred_id, key, cert, list(chain), mode, multisign, description)
        return self

    def add_p12(self, cred_id: str, p12: str | Path, passphrase: bytes | None = None, **kw) -> "DevCSC":
        from cryptography.hazmat.primitives.serialization import pkcs12

        p = Path(p12)
        if passphrase is None:
            sib = Path(str(p) + ".pass")
            passphrase = sib.read_bytes().strip() if sib.is_file() else None
        key, cert, chain = pkcs12.load_key_and_certificates(p.read_bytes(), passphrase)
        return self.add(cred_id, key, cert, chain or [], **kw)

    def set(self, **switches) -> None:
        """Change switches at run time (see the module docstring)."""
        with self.lock:
            for k, v in switches.items():
                if k not in self.SWITCHES:
                    raise ValueError(f"unknown switch {k}")
                if k in ("fail_on", "hang_on"):
                    v = set(v or ())
                setattr(self, k, v)

    # -- what tests read --------------------------------------------------------------------------
    def stats(self) -> dict:
        with self.lock:
            return {"calls": dict(self.calls), "hashes_signed": self.hashes_signed}

    def count(self, endpoint: str) -> int:
        with self.lock:
            return self.calls.get(endpoint, 0)

    def reset_stats(self) -> None:
        with self.lock:
            self.calls.clear()
            self.hashes_signed = 0

    def current_otp(self, cred_id: str) -> str:
        with self.lock:
            return self._otp(self.credentials[cred_id])

    def rotate_otp(self, cred_id: str) -> str:
        with self.lock:
            c = self.credentials[cred_id]
            self._new_otp(c)
            return c.otp

    def approve_all(self, deny: bool = False) -> int:
        """What the officer's phone does: grant (or deny) every pending authorization."""
        return self.dev("approve", {"deny": deny})["decided"]

    # -- internals (called with the lock held) -----------------------------------------------------
    def _say(self, line: str) -> None:
        (self.echo or (lambda s: print(s, flush=True)))(line)

    def _new_otp(self, c: Credential) -> None:
        c.previous_otp, c.otp, c.otp_born = c.otp, f"{secrets.randbelow(10**6):06d}", time.monotonic()
        self._say(f"OTP cho {c.id}: {c.otp} (hiệu lực {self.otp_ttl:g} giây)")

    def _otp(self, c: Credential) -> str:
        if not c.otp or time.monotonic() - c.otp_born > self.otp_ttl:
            self._new_otp(c)
        return c.otp

    def _token(self, headers) -> None:
        auth = headers.get("Authorization") or ""
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        t = self.tokens.get(tok)
        if t is None:
            raise _Refused(401, "invalid_token", "Invalid access token")
        t["uses"] += 1
        if time.monotonic() > t["expires"] or (self.token_uses and t["uses"] > self.token_uses):
            raise _Refused(401, "invalid_token", "The access token expired")

    def _cred(self, body: dict) -> Credential:
        c = self.credentials.get(str(body.get("credentialID") or ""))
        if c is None:
            raise _Refused(400, "invalid_request", "Invalid parameter credentialID")
        return c

    def _issue_sad(self, c: Credential, n: int, hashes: list[str] | None) -> dict:
        sad = secrets.token_urlsafe(24)
        self.sads[sad] = {"cred": c.id, "left": min(n, self.sad_signatures or n), "hashes": set(hashes) if hashes else None,
                          "expires": time.monotonic() + self.sad_ttl}
        return {"SAD": sad, "expiresIn": int(self.sad_ttl)}

    # -- endpoints --------------------------------------------------------------------------------
    def oauth_token(self, body: dict, headers) -> dict:
        cid, sec = body.get("client_id"), body.get("client_secret")
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
        if body.get("grant_type") != "client_credentials":
            raise _Refused(400, "unsupported_grant_type", "Only client_credentials is supported")
        if cid != self.client_id or not secrets.compare_digest(str(sec or ""), self.client_secret):
            raise _Refused(401, "invalid_client", "Invalid client credentials")
        tok = secrets.token_urlsafe(24)
        self.tokens[tok] = {"expires": time.monotonic() + self.token_ttl, "uses": 0}
        return {"access_token": tok, "token_type": "Bearer", "expires_in": int(self.token_ttl)}

    def info(self, body: dict, headers) -> dict:
        return {"specs": SPECS, "name": "sohoa dev CSC", "logo": "", "region": "VN", "lang": "vi-VN",
                "description": "Dịch vụ ký số từ xa giả lập (chỉ để phát triển và kiểm thử)",
                "authType": ["oauth2client"], "oauth2": "", "methods": [
                    "oauth2/token", "credentials/list", "credentials/info", "credentials/authorize",
                    "credentials/authorizeCheck", "signatures/signHash"]}

    def credentials_list(self, body: dict, headers) -> dict:
        self._token(headers)
        return {"credentialIDs": sorted(self.credentials)}

    def credentials_info(self, body: dict, headers) -> dict:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding

        self._token(headers)
        c = self._cred(body)
        algo = "ec" if isinstance(c.key, ec.EllipticCurvePrivateKey) else "rsa"
        certs = [c.cert] + (list(c.chain) if body.get("certificates", "single") == "chain" else [])
        out = {"description": c.description,
               "key": {"status": "enabled", "algo": OIDS[algo], "len": c.key.key_size},
               "cert": {"status": "valid", "certificates": [base64.b64encode(x.public_bytes(Encoding.DER)).decode()
                                                            for x in certs]},
               "authMode": "explicit", "SCAL": "2", "multisign": c.multisign, "lang": "vi-VN"}
        if c.mode == "otp":
            out["OTP"] = {"presence": "true", "type": "online", "format": "N", "label": "Mã OTP",
                          "description": "Mã OTP 6 chữ số"}
        if body.get("certInfo"):
            out["cert"].update({"issuerDN": c.cert.issuer.rfc4514_string(),
                                "subjectDN": c.cert.subject.rfc4514_string(),
                                "serialNumber": str(c.cert.serial_number)})
        return out

    def authorize(self, body: dict, headers) -> tuple[int, dict]:
        self._token(headers)
        c = self._cred(body)
        n = int(body.get("numSignatures") or 0)
        hashes = body.get("hashes") or body.get("hash")
        if n < 1 or (hashes is not None and len(hashes) != n):
            raise _Refused(400, "invalid_request", "numSignatures must be the number of hashes")
        if not hashes:
            raise _Refused(400, "invalid_request", "SCAL2: hashes are required")
        if c.mode == "otp":
            otp = str(body.get("OTP") or "")
            current = self._otp(c)
            if not otp:
                raise _Refused(400, "invalid_request", "Missing OTP")
            if otp != current:
                if otp == c.previous_otp:
                    raise _Refused(400, "expired_otp", "The OTP expired")
                raise _Refused(400, "invalid_otp", "Invalid OTP")
            self._new_otp(c)  # one use
        elif c.mode == "approval":
            aid = secrets.token_urlsafe(12)
            self.pending[aid] = {"cred": c.id, "n": n, "hashes": list(hashes), "state": "pending", "polls": 0,
                                 "born": time.monotonic()}
            self._say(f"Yêu cầu phê duyệt ký {n} chữ ký cho {c.id}: {aid}")
            return 202, {"authorizationID": aid, "expiresIn": 300}
        return 200, self._issue_sad(c, n, hashes)

    def authorize_check(self, body: dict, headers) -> tuple[int, dict]:
        self._token(headers)
        p = self.pending.get(str(body.get("authorizationID") or ""))
        if p is None:
            raise _Refused(400, "invalid_request", "Invalid parameter authorizationID")
        p["polls"] += 1
        if p["state"] == "pending" and self.approve != "never":
            if (self.approve == "poll" and p["polls"] >= self.approve_after_polls) or (
                    self.approve == "time" and time.monotonic() - p["born"] >= self.approve_after):
                p["state"] = "granted"
        if p["state"] == "denied":
            raise _Refused(400, "access_denied", "The user refused the authorization")
        if p["state"] != "granted":
            return 202, {"status": "pending"}
        del self.pending[str(body["authorizationID"])]
        return 200, self._issue_sad(self.credentials[p["cred"]], p["n"], p["hashes"])

    def sign_hash(self, body: dict, headers) -> dict:
        self._token(headers)
        c = self._cred(body)
        hashes = body.get("hashes") or body.get("hash") or []
        sad = self.sads.get(str(body.get("SAD") or ""))
        if not hashes:
            raise _Refused(400, "invalid_request", "Missing hashes")
        if len(hashes) > c.multisign:
            raise _Refused(400, "invalid_request", f"At most {c.multisign} hashes per call")
        if sad is None or sad["cred"] != c.id:
            raise _Refused(400, "invalid_request", "Invalid SAD")
        if time.monotonic() > sad["expires"]:
            raise _Refused(400, "expired_sad", "The SAD expired")
        if len(hashes) > sad["left"]:
            raise _Refused(400, "expired_sad", "The SAD is used up")
        if sad["hashes"] is not None and not set(hashes) <= sad["hashes"]:
            raise _Refused(400, "invalid_request", "Hash not authorized by this SAD")
        md = DIGESTS.get(str(body.get("hashAlgorithmOID") or body.get("hashAlgo") or ""))
        if md is None:
            raise _Refused(400, "invalid_request", "Invalid hashAlgorithmOID")
        sigs = [base64.b64encode(_sign(c.key, base64.b64decode(h), md, str(body.get("signAlgo") or ""),
                                       body.get("signAlgoParams"))).decode() for h in hashes]
        sad["left"] -= len(hashes)
        if sad["hashes"] is not None:
            sad["hashes"] -= set(hashes)
        self.hashes_signed += len(hashes)
        return {"signatures": sigs}

    def dev(self, name: str, body: dict) -> dict:
        if name == "switches":
            self.set(**body)
            return {k: sorted(v) if isinstance(v, set) else v for k in self.SWITCHES for v in [getattr(self, k)]}
        with self.lock:
            if name == "otp/rotate":
                c = self._cred(body)
                self._new_otp(c)
                return {"credentialID": c.id}
            if name == "approve":
                n = 0
                for p in self.pending.values():
                    if p["state"] == "pending":
                        p["state"], n = ("denied" if body.get("deny") else "granted"), n + 1
                return {"decided": n}
        raise _Refused(404, "invalid_request", "Unknown dev endpoint")

    # -- HTTP --------------------------------------------------------------------------------------
    def _route(self, path: str):
        return {"/oauth2/token": ("oauth2/token", self.oauth_token),
                API + "info": ("info", self.info),
                API + "credentials/list": ("credentials/list", self.credentials_list),
                API + "credentials/info": ("credentials/info", self.credentials_info),
                API + "credentials/authorize": ("credentials/authorize", self.authorize),
                API + "credentials/authorizeCheck": ("credentials/authorizeCheck", self.authorize_check),
                API + "signatures/signHash": ("signatures/signHash", self.sign_hash)}.get(path)

    def _handler(self):
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a) -> None:
                pass

            def _answer(self, code: int, obj: dict) -> None:
                send_json(self, code, obj)

            def do_GET(self) -> None:  # noqa: N802
                u = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/_dev/stats":
                    self._answer(200, svc.stats())
                elif u.path == "/_dev/otp" and q.get("credentialID") in svc.credentials:
                    self._answer(200, {"otp": svc.current_otp(q["credentialID"])})
                else:
                    self._answer(404, {"error": "invalid_request", "error_description": "Not found"})

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                path = urllib.parse.urlparse(self.path).path
                try:
                    if "json" in (self.headers.get("Content-Type") or "") or raw[:1] == b"{":
                        body = json.loads(raw or b"{}")
                    else:
                        body = dict(urllib.parse.parse_qsl(raw.decode()))
                    if not isinstance(body, dict):
                        raise ValueError
                except ValueError:
                    self._answer(400, {"error": "invalid_request", "error_description": "Malformed body"})
                    return
                if path.startswith("/_dev/"):
                    try:
                        self._answer(200, svc.dev(path[len("/_dev/"):], body))
                    except (_Refused, ValueError, TypeError) as exc:
                        self._answer(400, {"error": "invalid_request", "error_description": str(exc)})
                    return
                route = svc._route(path)
                if route is None:
                    self._answer(404, {"error": "invalid_request", "error_description": "Unknown endpoint"})
                    return
                name, fn = route
                with svc.lock:
                    svc.calls[name] = svc.calls.get(name, 0) + 1
                    delay, hang = svc.delay, name in svc.hang_on
                    fail = name in svc.fail_on or (svc.fail_rate and svc.rng.random() < svc.fail_rate)
                if delay:
                    time.sleep(delay)
                if hang:  # no answer: hold the connection until the client gives up or we stop
                    svc._release.wait(600)
                    self.close_connection = True
                    return
                if fail:
                    self._answer(500, {"error": "server_error", "error_description": "Internal error"})
                    return
                try:
                    with svc.lock:
                        res = fn(body, self.headers)
                    code, obj = res if isinstance(res, tuple) else (200, res)
                    self._answer(code, obj)
                except _Refused as exc:
                    self._answer(exc.status, {"error": exc.error, "error_description": exc.description})
                except Exception as exc:  # noqa: BLE001 - a bad request body: the client's fault
                    self._answer(400, {"error": "invalid_request", "error_description": f"{type(exc).__name__}: {exc}"})

        return Handler

    # -- running -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}"

    def start(self) -> "DevCSC":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="dev-csc")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self._release.set()
        if self._thread is not None:
            self.server.shutdown()
            self._thread = None
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _sign(key, digest: bytes, md: str, sign_algo: str, params_b64) -> bytes:
    """Sign a precomputed digest with ``key`` (``cryptography``): RSA PKCS#1 v1.5 or PSS, ECDSA."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    algo = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[md]
    pre = utils.Prehashed(algo)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(pre))
    if sign_algo == "1.2.840.113549.1.1.10":  # RSASSA-PSS, parameters from the client
        from asn1crypto import algos

        salt = algo.digest_size
        if params_b64:
            p = algos.RSASSAPSSParams.load(base64.b64decode(params_b64))
            salt = int(p["salt_length"].native)
        return key.sign(digest, padding.PSS(mgf=padding.MGF1(algo), salt_length=salt), pre)
    return key.sign(digest, padding.PKCS1v15(), pre)


def for_pki_dir(pki_dir: str | Path, names=("officer", "seal"), *, host: str = "127.0.0.1", port: int = 0,
                client_secret: str = "", **switches) -> DevCSC:
    """A service with the end entities ``names`` of a ``sohoa pki dev`` directory as credentials
    (the seal in ``implicit`` mode: an organisation's seal asks for no OTP)."""
    svc = DevCSC(host, port, client_secret=client_secret, **switches)
    d = Path(pki_dir)
    for name in names:
        if (d / f"{name}.p12").is_file():
            svc.add_p12(name, d / f"{name}.p12", mode="implicit" if name == "seal" else "otp")
    return svc


def spawn(pki_dir: str | Path, home: str | Path, secret_file: str | Path, *args: str, stdout=None,
          timeout: float = 30.0):
    """Run ``sohoa dev csc`` as a separate process on a free loopback port (benchmarks, tests):
    ``(process, base URL)`` once it answers. ``args``: more options (switches)."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sohoa", "dev", "csc", "--pki-dir", str(pki_dir), "--port", str(port),
                             "--client-secret-file", str(secret_file), *args],
                            cwd=Path(__file__).resolve().parents[2],
                            env={**os.environ, "SOHOA_HOME": str(home), "PYTHONUNBUFFERED": "1"},
                            stdout=stdout if stdout is not None else subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/_dev/stats", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"sohoa dev csc did not start (exit code {proc.poll()})")
            time.sleep(0.1)
