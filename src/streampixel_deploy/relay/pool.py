"""The relay's HTTP server: a real listen backlog, a bounded pool of workers and a total deadline per request.

It is the transport only: what answers a request is the application it is given (``relay/server.py``'s
:class:`~streampixel_deploy.relay.server.Relay`), known here by the two things the pool itself needs from it, a
log and a way to count a refusal (:class:`Application`); the server imports the pool, never the other way round.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Generic, Protocol, TypeVar

from streampixel_deploy.relay.log import JsonLog

#: Connections the kernel holds while every worker is busy (``listen()``'s backlog; Linux caps it at somaxconn).
LISTEN_BACKLOG = 1024
#: Threads that answer requests; accepted connections beyond them wait in a queue of ``LISTEN_BACKLOG``.
WORKERS = 32
#: A request must arrive whole within this time, however slowly its bytes come (slowloris).
REQUEST_DEADLINE_SECONDS = 10.0


#: What socketserver hands over: a TCP server's request is always the connection's socket.
_Request = socket.socket | tuple[bytes, socket.socket]


class Application(Protocol):
    """What the pool needs from the application it serves."""

    @property
    def log(self) -> JsonLog: ...

    def refuse(self, status: int, message: str, client: str | None = None) -> object:
        """Count (and log) one refused request."""


AppT = TypeVar("AppT", bound=Application)


class RelayHTTPServer(HTTPServer, Generic[AppT]):
    """An HTTP server with a real listen backlog, a bounded worker pool and a per-request deadline."""

    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        relay: AppT,
        handler: type[BaseHTTPRequestHandler],
        workers: int = WORKERS,
        deadline_seconds: float = REQUEST_DEADLINE_SECONDS,
    ) -> None:
        self.relay = relay
        self.deadline_seconds = deadline_seconds
        self._pending: queue.Queue[tuple[socket.socket, object] | None] = queue.Queue(maxsize=LISTEN_BACKLOG)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadline_lock = threading.Lock()
        self._closing = threading.Event()
        super().__init__(address, handler)
        self._threads = [
            threading.Thread(target=self._work, name=f"relay-worker-{n}", daemon=True) for n in range(workers)
        ]
        self._threads.append(threading.Thread(target=self._watch, name="relay-watchdog", daemon=True))
        for thread in self._threads:
            thread.start()

    def process_request(self, request: _Request, client_address: object) -> None:
        """Hand the connection to the pool; when even the queue is full, answer 503 rather than reset it."""
        if not isinstance(request, socket.socket):  # a stream server's request is its connection
            raise TypeError("the relay serves TCP connections only")
        try:
            self._pending.put_nowait((request, client_address))
        except queue.Full:
            self.relay.refuse(503, "the relay is overloaded")
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                body = b'{"message":"the relay is overloaded"}'
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )
            self.shutdown_request(request)

    def _work(self) -> None:
        while (item := self._pending.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.disarm(request)
                self.shutdown_request(request)

    def arm(self, conn: socket.socket) -> None:
        """Start the clock of one request on ``conn``."""
        with self._deadline_lock:
            self._deadlines[conn] = time.monotonic() + self.deadline_seconds

    def disarm(self, conn: socket.socket) -> None:
        with self._deadline_lock:
            self._deadlines.pop(conn, None)

    def _watch(self) -> None:
        """Shut the socket of every request past its deadline; the worker's blocked read then ends."""
        while not self._closing.wait(0.2):
            now = time.monotonic()
            with self._deadline_lock:
                late = [conn for conn, deadline in self._deadlines.items() if deadline <= now]
                for conn in late:
                    del self._deadlines[conn]
            for conn in late:
                with contextlib.suppress(OSError):
                    client = conn.getpeername()[0]
                    self.relay.log.warning("client.too_slow", client=str(client), limitSeconds=self.deadline_seconds)
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()
        self._closing.set()
        with self._deadline_lock:
            open_conns = list(self._deadlines)
        for conn in open_conns:  # idle keep-alive connections: end them so the workers can stop
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        while True:  # connections accepted but never served
            try:
                item = self._pending.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.shutdown_request(item[0])
        for _ in self._threads:
            with contextlib.suppress(queue.Full):
                self._pending.put_nowait(None)
        for thread in self._threads:
            thread.join(1.0)

    def handle_error(self, request: _Request, client_address: object) -> None:
        """A client that hung up is routine; keep stderr to JSON lines only."""
        client = str(client_address[0]) if isinstance(client_address, tuple) and client_address else None
        self.relay.log.debug("http.client_error", client=client)
