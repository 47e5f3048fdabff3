"""Remote signing over the Cloud Signature Consortium API (v2): the key stays in the signing
service, the officer approves with an OTP or on a phone. Built on pyHanko's own client
(:mod:`pyhanko.sign.signers.csc_signer`: ``CSCSigner``, ``CSCAuthorizationManager``,
``fetch_certs_in_csc_credential``).

A key reference ``csc:<service URL>#credential=<id>[&client-id=<id>][&secret-source=file:<path>]
[&timeout=<s>][&approval-timeout=<s>]`` names a credential of a service. sohoa authenticates to
the service with OAuth2 client credentials: the client id from the reference or
``SOHOA_CSC_CLIENT_ID``; the secret from the reference's ``secret-source`` file,
``SOHOA_CSC_CLIENT_SECRET`` or ``SOHOA_CSC_CLIENT_SECRET_FILE`` — never printed, never in the
registry. An access token that expires is renewed once, transparently.

One authorization per batch: :class:`BatchCSCSigner` collects the hashes of every signature of a
batch, calls ``credentials/authorize`` ONCE with ``numSignatures`` = N and the N hashes (the
officer's OTP, or a push approval polled with ``credentials/authorizeCheck`` until
``approval-timeout``), then ``signatures/signHash`` in chunks of the credential's ``multisign``.
Every failure becomes a :class:`RemoteSigningFailed` whose message comes from
:data:`MESSAGES` (Vietnamese, what happened and what to do).
"""
from __future__ import annotations

import asyncio
import base64
import os
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from signing.errors import SigningFailed

API_VERSION = "v2"
DEFAULT_TIMEOUT = 30.0
DEFAULT_APPROVAL_TIMEOUT = 120.0
POLL_INTERVAL = 0.5

# The catalogue of remote-signing failures (what the officer reads; each says that nothing was signed).
MESSAGES = {
    "otp_required": "chưa nhập mã OTP của dịch vụ ký số từ xa: không có văn bản nào được ký",
    "invalid_otp": "mã OTP không đúng: không có văn bản nào được ký, hãy nhập lại mã OTP đang hiển thị",
    "expired_otp": "mã OTP đã hết hạn: không có văn bản nào được ký, hãy lấy mã OTP mới rồi ký lại",
    "approval_timeout": "không nhận được phê duyệt trên điện thoại sau {seconds:g} giây: không có văn bản nào "
                        "được ký, hãy ký lại và phê duyệt trên ứng dụng ký số",
    "approval_denied": "yêu cầu ký đã bị từ chối trên điện thoại: không có văn bản nào được ký",
    "server_error": "dịch vụ ký số từ xa đang gặp lỗi (HTTP {status}): không có văn bản nào được ký, hãy thử lại "
                    "sau ít phút",
    "no_answer": "dịch vụ ký số từ xa không trả lời sau {seconds:g} giây: không có văn bản nào được ký, hãy thử lại "
                 "sau ít phút",
    "unreachable": "không kết nối được dịch vụ ký số từ xa ({url}): không có văn bản nào được ký",
    "expired_sad": "phiên ký đã hết hạn giữa chừng: không có văn bản nào được ký, hãy ký lại với mã OTP mới",
    "token_expired": "phiên làm việc với dịch vụ ký số từ xa hết hạn giữa chừng và không gia hạn được: không có "
                     "văn bản nào được ký, hãy ký lại",
    "client_refused": "dịch vụ ký số từ xa từ chối thông tin xác thực của hệ thống (client id / client secret): "
                      "kiểm tra cấu hình SOHOA_CSC_CLIENT_ID / SOHOA_CSC_CLIENT_SECRET",
    "no_client": "chưa cấu hình thông tin xác thực với dịch vụ ký số từ xa (SOHOA_CSC_CLIENT_ID và "
                 "SOHOA_CSC_CLIENT_SECRET hoặc SOHOA_CSC_CLIENT_SECRET_FILE)",
    "unknown_credential": "dịch vụ ký số từ xa không có chứng thư số mã {credential}",
    "bad_answer": "dịch vụ ký số từ xa trả lời không đúng chuẩn CSC: không có văn bản nào được ký",
    "refused": "dịch vụ ký số từ xa từ chối yêu cầu ký ({description}): không có văn bản nào được ký",
}


class RemoteSigningFailed(SigningFailed):
    """A remote-signing step failed; ``code`` is a key of :data:`MESSAGES`."""

    def __init__(self, code: str, *, detail: str | None = None, **fmt) -> None:
        super().__init__(MESSAGES[code].format(**fmt), detail=detail)
        self.code = code


@dataclass(frozen=True)
class CSCRef:
    url: str
    credential: str
    client_id: str = ""
    secret_source: str = ""
    timeout: float = DEFAULT_TIMEOUT
    approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT

    @classmethod
    def parse(cls, ref: str) -> "CSCRef":
        body = ref.strip()
        if body.startswith("csc:"):
            body = body[4:]
        url, _, frag = body.partition("#")
        q = dict(urllib.parse.parse_qsl(frag))
        u = urllib.parse.urlparse(url)
        if u.scheme not in ("http", "https") or not u.hostname or not q.get("credential"):
            from signing.errors import SigningInvalid

            raise SigningInvalid(f"khóa ký từ xa không hợp lệ: {ref} (cần csc:https://dịch-vụ#credential=mã)")
        return cls(url=url.rstrip("/"), credential=q["credential"], client_id=q.get("client-id", ""),
                   secret_source=q.get("secret-source", ""), timeout=float(q.get("timeout", DEFAULT_TIMEOUT)),
                   approval_timeout=float(q.get("approval-timeout", DEFAULT_APPROVAL_TIMEOUT)))


def make_ref(url: str, credential: str, client_id: str = "", secret_file: str = "",
             approval_timeout: float | None = None) -> str:
    """The key reference ``sohoa officer add --csc URL --credential ID`` stores."""
    q = {"credential": credential}
    if client_id:
        q["client-id"] = client_id
    if secret_file:
        q["secret-source"] = "file:" + str(Path(secret_file).expanduser().resolve())
    if approval_timeout:
        q["approval-timeout"] = f"{approval_timeout:g}"
    return f"csc:{url.rstrip('/')}#{urllib.parse.urlencode(q)}"


def is_csc(key_ref: str) -> bool:
    return (key_ref or "").strip().startswith("csc:")


def remote_wait(key_ref: str) -> float | None:
    """How long a batch may wait for the officer's approval on the phone (seconds) for a CSC key
    reference; None for a local key (what the web form counts down)."""
    if not is_csc(key_ref):
        return None
    try:
        return CSCRef.parse(key_ref).approval_timeout
    except Exception:  # noqa: BLE001 - a malformed reference fails at signing, with its message
        return DEFAULT_APPROVAL_TIMEOUT


class CSCClient:
    """OAuth2 client credentials and JSON calls to one CSC service (aiohttp; a session per event
    loop is passed in). Thread-compatible: one client per LoadedKey, used under its lock."""

    def __init__(self, ref: CSCRef, env: dict | None = None) -> None:
        env = os.environ if env is None else env
        self.ref = ref
        self.client_id = ref.client_id or env.get("SOHOA_CSC_CLIENT_ID", "")
        src = ref.secret_source or (("file:" + env["SOHOA_CSC_CLIENT_SECRET_FILE"])
                                    if env.get("SOHOA_CSC_CLIENT_SECRET_FILE") else "")
        if src:
            path = src[5:] if src.startswith("file:") else src
            try:
                self._secret = Path(path).expanduser().read_text().strip()
            except OSError as exc:
                raise RemoteSigningFailed("no_client", detail=str(exc)) from exc
        else:
            self._secret = env.get("SOHOA_CSC_CLIENT_SECRET", "")
        if not self.client_id or not self._secret:
            raise RemoteSigningFailed("no_client")
        self.token = ""
        self.token_renewals = 0

    def __repr__(self) -> str:  # never the secret
        return f"CSCClient({self.ref.url!r}, credential={self.ref.credential!r})"

    @property
    def session_info(self):
        from pyhanko.sign.signers.csc_signer import CSCServiceSessionInfo

        return CSCServiceSessionInfo(self.ref.url, self.ref.credential, oauth_token=self.token or None,
                                     api_ver=API_VERSION)

    def _timeout(self, seconds: float | None = None):
        import aiohttp

        return aiohttp.ClientTimeout(total=seconds or self.ref.timeout)

    async def _raw(self, http, url: str, *, json_body=None, form=None, auth: bool = True):
        import aiohttp

        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        try:
            async with http.post(url, json=json_body, data=form, headers=headers,
                                 timeout=self._timeout()) as resp:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = None
                return resp.status, data if isinstance(data, dict) else {}
        except asyncio.TimeoutError as exc:
            raise RemoteSigningFailed("no_answer", seconds=self.ref.timeout, detail=url) from exc
        except aiohttp.ClientConnectionError as exc:
            if isinstance(exc, aiohttp.ServerDisconnectedError):
                raise RemoteSigningFailed("no_answer", seconds=self.ref.timeout, detail=f"{url}: {exc}") from exc
            raise RemoteSigningFailed("unreachable", url=self.ref.url, detail=str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise RemoteSigningFailed("bad_answer", detail=f"{url}: {exc}") from exc

    async def login(self, http) -> None:
        status, data = await self._raw(http, f"{self.ref.url}/oauth2/token", auth=False, form={
            "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret})
        if status >= 500:
            raise RemoteSigningFailed("server_error", status=status, detail="oauth2/token")
        if status != 200 or not data.get("access_token"):
            raise RemoteSigningFailed("client_refused", detail=f"{status} {data.get('error', '')}")
        self.token = str(data["access_token"])

    async def call(self, http, endpoint: str, body: dict) -> tuple[int, dict]:
        """POST ``csc/v2/<endpoint>``; renews an expired access token once; 5xx and CSC errors
        become :class:`RemoteSigningFailed`; returns ``(status, data)`` (200 or 202)."""
        if not self.token:
            await self.login(http)
        url = self.session_info.endpoint_url(endpoint)
        for attempt in (1, 2):
            status, data = await self._raw(http, url, json_body=body)
            if status == 401 and attempt == 1:
                self.token_renewals += 1
                await self.login(http)
                continue
            break
        if status in (200, 202):
            return status, data
        err, desc = str(data.get("error") or ""), str(data.get("error_description") or "")
        if status >= 500:
            raise RemoteSigningFailed("server_error", status=status, detail=f"{endpoint}: {err} {desc}")
        if status == 401:
            raise RemoteSigningFailed("token_expired", detail=f"{endpoint}: {err} {desc}")
        if err in ("invalid_otp", "expired_otp", "expired_sad"):
            raise RemoteSigningFailed(err, detail=desc)
        if err == "access_denied":
            raise RemoteSigningFailed("approval_denied", detail=desc)
        if "credentialID" in desc:
            raise RemoteSigningFailed("unknown_credential", credential=self.ref.credential, detail=desc)
        if "OTP" in desc:
            raise RemoteSigningFailed("otp_required", detail=desc)
        raise RemoteSigningFailed("refused", description=desc or err or str(status), detail=f"{endpoint}: {status}")

    async def credential_info(self, http):
        """``credentials/info`` through pyHanko's ``fetch_certs_in_csc_credential`` (a
        ``CSCCredentialInfo``: signer certificate, chain, mechanisms, ``multisign``, SCAL)."""
        from pyhanko.sign.general import SigningError
        from pyhanko.sign.signers.csc_signer import fetch_certs_in_csc_credential

        await self.call(http, "credentials/list", {})  # proves the token (renewed if needed)
        try:
            return await fetch_certs_in_csc_credential(http, self.session_info, timeout=int(self.ref.timeout) or 1)
        except asyncio.TimeoutError as exc:
            raise RemoteSigningFailed("no_answer", seconds=self.ref.timeout, detail="credentials/info") from exc
        except SigningError as exc:
            cause = exc.__cause__
            status = getattr(cause, "status", 0)
            if status >= 500:
                raise RemoteSigningFailed("server_error", status=status, detail=str(cause)) from exc
            if status == 400:
                raise RemoteSigningFailed("unknown_credential", credential=self.ref.credential,
                                          detail=str(cause)) from exc
            if isinstance(cause, asyncio.TimeoutError):
                raise RemoteSigningFailed("no_answer", seconds=self.ref.timeout) from exc
            raise RemoteSigningFailed("bad_answer", detail=f"{exc}: {cause}") from exc


def run(coro_fn):
    """Run ``coro_fn(http)`` in a fresh event loop with an aiohttp session."""
    import aiohttp

    async def main():
        async with aiohttp.ClientSession() as http:
            return await coro_fn(http)

    return asyncio.run(main())


def fetch_credential(client: CSCClient):
    return run(client.credential_info)


def _authorization_manager_class():
    from pyhanko.sign.signers.csc_signer import CSCAuthorizationManager

    class BatchAuthorization(CSCAuthorizationManager):
        """``credentials/authorize`` once for all the hashes of a batch: with the officer's OTP,
        or (no OTP, a credential approved on a phone) polling ``credentials/authorizeCheck``
        until granted, refused or ``approval_timeout``."""

        def __init__(self, client: CSCClient, credential_info, otp: str | None = None,
                     on_wait=None) -> None:
            super().__init__(client.session_info, credential_info)
            self.client, self.otp, self.on_wait = client, otp or None, on_wait
            self.http = None  # the aiohttp session of the running commit
            self.authorizations = 0

        @property
        def auth_headers(self):
            return {"Authorization": f"Bearer {self.client.token}"} if self.client.token else {}

        async def authorize_signature(self, hash_b64s):
            body = self.format_csc_auth_request(otp=self.otp, hash_b64s=list(hash_b64s),
                                                description=f"sohoa: ký {len(hash_b64s)} văn bản")
            body["hashes"] = body["hash"]  # CSC v2 name (v1's ``hash`` kept)
            self.authorizations += 1
            status, data = await self.client.call(self.http, "credentials/authorize", body)
            if status == 202:  # waiting for the officer's approval on the phone
                aid = data.get("authorizationID")
                if not aid:
                    raise RemoteSigningFailed("bad_answer", detail="202 without authorizationID")
                limit = self.client.ref.approval_timeout
                deadline = time.monotonic() + limit
                if self.on_wait is not None:
                    self.on_wait(limit)
                while True:
                    status, data = await self.client.call(self.http, "credentials/authorizeCheck",
                                                          {"authorizationID": aid})
                    if status == 200:
                        break
                    if time.monotonic() >= deadline:
                        raise RemoteSigningFailed("approval_timeout", seconds=limit)
                    await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
            try:
                return self.parse_csc_auth_response(data)
            except Exception as exc:  # noqa: BLE001
                raise RemoteSigningFailed("bad_answer", detail=str(exc)) from exc

    return BatchAuthorization


_SIGNER_CLASSES: dict = {}


def signer_class(mixin=object):
    """pyHanko's ``CSCSigner`` with sohoa's CMS assembly (``mixin``: signing.keys' fast CMS
    mixin), a batch committed with ONE authorization and ``signHash`` in chunks of ``multisign``,
    and the failure kept (pyHanko's autocommit only logs it)."""
    if mixin in _SIGNER_CLASSES:
        return _SIGNER_CLASSES[mixin]
    import aiohttp
    from asn1crypto import algos
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers.csc_signer import CSCSigner

    class BatchCSCSigner(*((mixin,) if mixin is not object else ()), CSCSigner):
        failure: Exception | None = None
        sign_calls = 0

        def expect(self, n: int) -> None:
            """The next commit carries ``n`` signatures (a whole batch)."""
            self.batch_size = max(1, n)
            self.failure = None

        def expect_fewer(self) -> None:
            """A document of the batch failed before its hash was computed: commit without it."""
            self.batch_size = max(1, self.batch_size - 1)
            batch = self._current_batch
            if batch is not None and not batch.initiated and len(batch.b64_hashes) >= self.batch_size:
                asyncio.ensure_future(self.commit())

        async def _do_commit(self, batch):
            try:
                async with aiohttp.ClientSession() as http:
                    mgr = self.auth_manager
                    mgr.http = http
                    auth = await mgr.authorize_signature(batch.b64_hashes)  # ONE authorization
                    mech = self.get_signature_mechanism_for_digest(batch.md_algorithm)
                    md_oid = algos.DigestAlgorithmId(batch.md_algorithm).dotted
                    size = max(1, int(mgr.credential_info.max_batch_size or 1))
                    sigs: list[bytes] = []
                    for i in range(0, len(batch.b64_hashes), size):
                        chunk = batch.b64_hashes[i:i + size]
                        req = {"credentialID": mgr.client.ref.credential, "SAD": auth.sad, "hashes": chunk,
                               "hash": chunk, "hashAlgorithmOID": md_oid, "hashAlgo": md_oid,
                               "signAlgo": mech["algorithm"].dotted}
                        if mech["parameters"].native is not None:
                            req["signAlgoParams"] = base64.b64encode(mech["parameters"].dump()).decode("ascii")
                        self.sign_calls += 1
                        _status, data = await mgr.client.call(http, "signatures/signHash", req)
                        got = data.get("signatures")
                        if not isinstance(got, list) or len(got) != len(chunk):
                            raise RemoteSigningFailed("bad_answer", detail=f"signatures: {got!r:.80}")
                        sigs += [base64.b64decode(s) for s in got]
                    batch.results = sigs
            except Exception as exc:  # noqa: BLE001 - kept for the caller; pyHanko sees a SigningError
                if self.failure is None:
                    self.failure = exc
                raise SigningError(f"CSC commit failed: {exc}") from exc
            finally:
                self._current_batch = None
                batch.notifier.set()

    _SIGNER_CLASSES[mixin] = BatchCSCSigner
    return BatchCSCSigner


def load_csc_signer(key_ref: str, otp: bytes | str | None = None, env: dict | None = None, on_wait=None,
                    mixin=object):
    """A pyHanko signer for a CSC credential: the certificate and chain from ``credentials/info``
    (no hash is sent here). ``otp``: the officer's one-time code for the next authorization."""
    ref = CSCRef.parse(key_ref)
    client = CSCClient(ref, env)
    info = fetch_credential(client)
    if isinstance(otp, bytes):
        otp = otp.decode()
    mgr = _authorization_manager_class()(client, info, otp=(otp or "").strip() or None, on_wait=on_wait)
    signer = signer_class(mixin)(None, mgr, prefer_pss=True, embed_roots=False,
                            sign_timeout=int(ref.timeout) or 1)
    return signer, ref


def csc_failure(exc: BaseException) -> RemoteSigningFailed | None:
    """The remote-signing failure behind ``exc`` (pyHanko wraps it), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, RemoteSigningFailed):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
