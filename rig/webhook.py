"""A rollout webhook for tests: an HTTP server on loopback that answers each POST with the next status
a test queued (then with ``default``), and keeps what it was sent."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class WebhookGate:
    """``with WebhookGate(default=403) as gate: ... gate.url ... gate.queue(200) ... gate.requests``."""

    def __init__(self, default: int = 200) -> None:
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._answers: deque[int] = deque()
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status = gate.answer(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/approve"

    def queue(self, *statuses: int) -> None:
        """Answer the next requests with ``statuses``, in order."""
        with self._lock:
            self._answers.extend(statuses)

    def answer(self, body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(body)
            return self._answers.popleft() if self._answers else self.default

    def __enter__(self) -> WebhookGate:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
