"""A fake national portal for tests and dev (``sohoa dev portal --port N [--fail-rate R]``).

It speaks what :class:`sohoa.jobs.portal.HttpPortalClient` speaks: ``POST`` (any path) with
``{"events": [...]}``, each event carrying its ``IdempotencyKey``; it records each key once, in
the order it first accepted them, and answers ``{"acks": [{"key", "status"}]}``. ``GET /received``
returns what it recorded (``events``, in order) and counters. The real portal cannot exist here:
this stand-in is only for tests and development.

With ``fail_rate`` R, each request fails with probability R, in one of these ways (``modes``):

- ``timeout``: records part of the batch, then answers only after ``delay`` seconds (past the
  client's timeout);
- ``500``: records part of the batch, then answers HTTP 500;
- ``drop``: reads the request, records part of it, closes the connection without an answer;
- ``duplicate``: records, and acknowledges every key twice plus keys acknowledged before;
- ``reorder``: records, waits a random moment (so answers to concurrent requests cross) and
  lists the acknowledgements in shuffled order.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FakePortal", "MODES"]

MODES = ("timeout", "500", "drop", "duplicate", "reorder")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that hung up: not news
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def send_json(handler: BaseHTTPRequestHandler, code: int, obj: dict) -> None:
    """Answer ``obj`` as JSON (a client that hung up meanwhile is not an error)."""
    body = json.dumps(obj, ensure_ascii=False).encode()
    try:
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


class FakePortal:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, fail_rate: float = 0.0,
                 modes: tuple[str, ...] = MODES, delay: float = 3.0, token: str = "", seed: int | None = None) -> None:
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise ValueError(f"modes are among {', '.join(MODES)}")
        self.fail_rate, self.modes, self.delay, self.token = fail_rate, tuple(modes), delay, token
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.events: list[dict] = []  # first acceptance of each key, in order
        self.keys: dict[str, int] = {}  # key -> deliveries
        self.requests = 0
        self.failures = {m: 0 for m in MODES}
        self.server = _Server((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}/events"

    # -- what the portal does ---------------------------------------------------------------------
    def _pick(self) -> str | None:
        with self.lock:
            self.requests += 1
            if self.rng.random() < self.fail_rate:
                mode = self.rng.choice(self.modes)
                self.failures[mode] += 1
                return mode
            return None

    def _record(self, events: list[dict], part: bool) -> list[dict]:
        """Record the events (each key once); with ``part``, a random subset only."""
        acks = []
        with self.lock:
            for ev in events:
                if part and self.rng.random() < 0.5:
                    continue
                key = ev["IdempotencyKey"]
                if key in self.keys:
                    self.keys[key] += 1
                    acks.append({"key": key, "status": "duplicate"})
                else:
                    self.keys[key] = 1
                    self.events.append({**ev, "_n": len(self.events) + 1, "_at": time.time()})
                    acks.append({"key": key, "status": "accepted"})
        return acks

    def received(self) -> dict:
        with self.lock:
            return {"events": list(self.events), "deliveries": sum(self.keys.values()), "requests": self.requests,
                    "failures": dict(self.failures)}

    def _handler(self):
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a) -> None:  # quiet
                pass

            def _answer(self, code: int, obj: dict) -> None:
                send_json(self, code, obj)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/received":
                    self._answer(200, portal.received())
                else:
                    self._answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                if portal.token and self.headers.get("Authorization") != f"Bearer {portal.token}":
                    self._answer(401, {"error": "unauthorized"})
                    return
                try:
                    events = json.loads(raw)["events"]
                    assert isinstance(events, list) and all(isinstance(e.get("IdempotencyKey"), str) for e in events)
                except Exception:
                    self._answer(400, {"error": "expected {\"events\": [{\"IdempotencyKey\": …}, …]}"})
                    return
                mode = portal._pick()
                if mode == "timeout":
                    portal._record(events, part=True)
                    time.sleep(portal.delay)
                    self._answer(200, {"acks": []})
                elif mode == "500":
                    portal._record(events, part=True)
                    self._answer(500, {"error": "internal error"})
                elif mode == "drop":
                    portal._record(events, part=True)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                elif mode == "duplicate":
                    acks = portal._record(events, part=False)
                    with portal.lock:
                        stale = [{"key": k, "status": "duplicate"} for k in portal.rng.sample(
                            list(portal.keys), min(3, len(portal.keys)))]
                    self._answer(200, {"acks": acks + acks + stale})
                elif mode == "reorder":
                    acks = portal._record(events, part=False)
                    time.sleep(portal.rng.uniform(0, 0.5))
                    portal.rng.shuffle(acks)
                    self._answer(200, {"acks": acks})
                else:
                    self._answer(200, {"acks": portal._record(events, part=False)})

        return Handler

    # -- running ------------------------------------------------------------------------------------
    def start(self) -> "FakePortal":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-portal")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
