"""A real webhook receiver for tests and the outbox benchmark: HTTP on 127.0.0.1, in a thread.

Each path is one enterprise's endpoint with its secret. Every delivery's signature is checked
with the ``standardwebhooks`` verifier, as a receiver written against the spec would; a path can
be told to answer 500 to its first N verified deliveries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["Received", "WebhookReceiver"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int  # what the receiver answered


@dataclass
class WebhookReceiver:
    """``secrets``: path -> the endpoint's secret; ``fail_first``: path -> how many verified
    deliveries to answer with HTTP 500 before accepting."""

    secrets: dict[str, str] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def accepted(self, path: str) -> list[Received]:
        """The deliveries to ``path`` that verified and were answered 2xx."""
        with self._lock:
            return [r for r in self.received if r.path == path and r.status == 200]

    def of(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path)
        try:
            if secret is None:
                raise WebhookVerificationError("no endpoint at this path")
            Webhook(secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        with self._lock:
            if not verified:
                status = 401
            elif self.fail_first.get(path, 0) > 0:
                self.fail_first[path] -= 1
                status = 500
            else:
                status = 200
            self.received.append(Received(path, headers, body, verified, status))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base name
                pass

        return Handler
