"""A webhook receiver on a real socket, for tests of signed deliveries.

It answers from a script of status codes (then 200), records every request with its
``Ring-Signature``, and checks each signature when the test reads what it received.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ring_events.notifications import SIGNATURE_HEADER, verify_signature


@dataclass(frozen=True)
class ReceivedDelivery:
    """One request the receiver got: raw body, signature header, arrival (unix seconds)."""

    body: bytes
    signature: str
    at: float


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) taking webhook deliveries at ``url``.

    ``answers`` are the status codes of the first requests, one each; later ones get 200.
    Use as a context manager.
    """

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self._requests: list[ReceivedDelivery] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender gave up mid-request (its timeout, under load): a real
                    # receiver never sees a truncated delivery as one, and the sender retries.
                    self.close_connection = True
                    return
                signature = self.headers.get(SIGNATURE_HEADER, "")
                status = receiver._take(ReceivedDelivery(body, signature, time.time()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _take(self, request: ReceivedDelivery) -> int:
        with self._lock:
            self._requests.append(request)
            return self.answers.pop(0) if self.answers else 200

    def answer_always(self, status: int) -> None:
        """Answer every following request with ``status``."""
        with self._lock:
            self.answers = [status] * 1_000_000

    def answer_ok(self) -> None:
        """Answer every following request with 200."""
        with self._lock:
            self.answers = []

    @property
    def url(self) -> str:
        """Where to deliver."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    @property
    def requests(self) -> list[ReceivedDelivery]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def verified(self, *secrets: str) -> list[dict[str, Any]]:
        """Every notification received so far, in arrival order, each verified against its
        signature with one of ``secrets``.

        Raises:
            AssertionError: a request's signature does not verify.
        """
        out: list[dict[str, Any]] = []
        for request in self.requests:
            assert any(
                verify_signature(s, request.signature, request.body, now=int(request.at))
                for s in secrets
            ), f"bad signature {request.signature!r} on {request.body[:200]!r}"
            out.append(json.loads(request.body))
        return out

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
