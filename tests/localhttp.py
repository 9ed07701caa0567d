"""A throwaway HTTP server on 127.0.0.1 for tests that need a peer (a webhook receiver, a file host)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streampixel_deploy._serving import Served


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` in a thread; yields ``http://127.0.0.1:PORT`` and stops the server afterwards."""
    served = Served(ThreadingHTTPServer(("127.0.0.1", 0), handler), "local-http")
    served.start(poll_interval=0.05)
    try:
        yield served.url()
    finally:
        served.stop(5.0)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing, with a helper for answers without a body."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        """A whole answer: status, type, length and body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
