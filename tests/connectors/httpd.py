"""A real HTTP server on 127.0.0.1 (``http.server`` in a thread) that a test makes slow, throttled, failing or talk garbage.

``POST``/``PUT``/``PATCH`` to any path is a call: the server keeps it by its
``Idempotency-Key`` as the Stripe convention says (a key it has seen gets the
first answer again and is not kept twice) and answers ``201`` with JSON.
``GET /hooks/<key>`` answers ``200`` with the kept call, or ``404``. Every
request is recorded with its arrival time, headers and body.

:meth:`Endpoint.provoke` makes the next ``times`` calls behave as a troubled
endpoint does: ``"slow"`` keeps the call, then answers only after ``delay``
seconds (a client with a shorter timeout never hears that it was taken),
``"throttle"`` answers 429 with ``Retry-After``, ``"fail"`` answers 500,
``"garbage"`` answers 200 with an HTML page, ``"refuse"`` answers 422 with a
JSON error. These are the server's own behaviours; nothing of the client is
replaced.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass
class Seen:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Endpoint:
    """The server; ``url(path)`` is its address, ``stored`` the calls it took (by key), ``seen`` every request."""

    mode: str = "ok"
    times: int = 0
    delay: float = 0.0
    retry_after: str = "1"
    seen: list[Seen] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: bytes, ctype: str = "application/json",
                        extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                seen = endpoint._record(self, b"")
                key = unquote(self.path.rsplit("/", 1)[-1])
                with endpoint.lock:
                    record = endpoint.stored.get(key)
                seen.status = 200 if record else 404
                if record is None:
                    self._answer(404, b'{"error": "no such call"}')
                else:
                    self._answer(200, json.dumps(record).encode())

            def _call(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = endpoint._record(self, body)
                mode = endpoint._mode()
                if mode == "throttle":
                    seen.status = 429
                    return self._answer(429, b'{"error": "slow down"}', extra={"Retry-After": endpoint.retry_after})
                if mode == "fail":
                    seen.status = 500
                    return self._answer(500, b'{"error": "internal"}')
                if mode == "refuse":
                    seen.status = 422
                    return self._answer(422, b'{"error": "field text is too long"}')
                if mode == "garbage":
                    seen.status = 200
                    return self._answer(200, b"<!doctype html><html><body><h1>Sign in</h1></body></html>", "text/html")
                key = self.headers.get("Idempotency-Key") or f"anonymous-{len(endpoint.seen)}"
                with endpoint.lock:
                    record = endpoint.stored.setdefault(key, {"id": len(endpoint.stored) + 1, "key": key,
                                                              "body": json.loads(body or b"null")})
                if mode == "slow":
                    time.sleep(endpoint.delay)
                seen.status = 201
                self._answer(201, json.dumps({"id": record["id"], "key": key}).encode())

            do_POST = do_PUT = do_PATCH = _call  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-endpoint", daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def provoke(self, mode: str, times: int = 1, *, delay: float = 0.0, retry_after: str = "1") -> None:
        with self.lock:
            self.mode, self.times, self.delay, self.retry_after = mode, times, delay, retry_after

    def _mode(self) -> str:
        with self.lock:
            if self.times <= 0:
                return "ok"
            self.times -= 1
            return self.mode

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> Seen:
        seen = Seen(time.monotonic(), handler.command, handler.path, dict(handler.headers.items()), body)
        with self.lock:
            self.seen.append(seen)
        return seen

    def calls(self) -> list[Seen]:
        """The requests that were calls (not status GETs), in order."""
        with self.lock:
            return [s for s in self.seen if s.method != "GET"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
