"""TCP proxies in front of a real S3 server.

:class:`HoldingProxy` holds or answers the requests it picks. :class:`CountingProxy` (the resume tests, issue 29)
reads each request's headers, forwards them and the body (``Content-Length`` bytes) at a limited rate, counting
the body bytes of every request, and pipes the answers back untouched (SigV4 signs the Host header, which is left
as it is). It can cut the network for good: every open connection is closed and every new one is closed as soon
as it is accepted. ``when(bytes)`` gives an event set once that many body bytes have been forwarded (a kill at half
way waits on it); ``cut_at(bytes)`` cuts there by itself.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Sent:
    """One request as the proxy forwarded it."""

    line: str
    body: int  # body bytes forwarded


class _Proxy:
    """A TCP listener on 127.0.0.1 in front of ``upstream``; each connection is served by ``_serve`` in a thread."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port))
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            if self._refused():
                client.close()
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _refused(self) -> bool:
        return False

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(10)


class HoldingProxy(_Proxy):
    """A TCP proxy in front of an S3 server that never answers the requests ``held(request_line)`` picks: it stops
    forwarding that connection and keeps it open, silent, until the proxy stops (a server that never answers); or
    answers those ``answer(request_line)`` gives a response for with that response, then closes the connection.
    Everything else is passed through byte for byte (SigV4 signs the Host header, which the proxy leaves as is)."""

    def __init__(
        self, upstream: str, held: Callable[[bytes], bool], answer: Callable[[bytes], bytes | None] | None = None
    ) -> None:
        self.held = held
        self.answer = answer  # a canned answer (then the connection is closed) for the requests it picks
        self.held_lines: list[bytes] = []
        super().__init__(upstream)

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.upstream) as server:
            back = threading.Thread(target=self._pipe, args=(server, client), daemon=True)
            back.start()
            client.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    data = client.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                first_line = data.split(b"\r\n", 1)[0]
                canned = self.answer(first_line) if self.answer is not None else None
                if canned is not None:
                    self.held_lines.append(first_line)
                    with contextlib.suppress(OSError):
                        client.sendall(canned)
                    break
                if self.held(first_line):
                    self.held_lines.append(first_line)
                    self._stop.wait()  # never forwarded, never answered
                    break
                server.sendall(data)
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            back.join(5)


class CountingProxy(_Proxy):
    """See the module's docstring."""

    def __init__(self, upstream: str, rate: float = 40e6) -> None:
        self.rate = rate  # body bytes a second, all connections together
        self.requests: list[Sent] = []
        self.body_bytes = 0
        self._lock = threading.Lock()
        self._marks: list[tuple[int, threading.Event]] = []
        self._cut_at: int | None = None
        self._cut = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._next_slot = time.monotonic()
        super().__init__(upstream)

    # -- control ---------------------------------------------------------------------------------------------

    def when(self, count: int) -> threading.Event:
        """An event set once ``count`` body bytes have been forwarded (counted since the last ``reset``)."""
        event = threading.Event()
        with self._lock:
            self._marks.append((count, event))
            if self.body_bytes >= count:
                event.set()
        return event

    def cut_at(self, count: int) -> None:
        """Cut the network for good once ``count`` body bytes have been forwarded."""
        self._cut_at = count

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        """The network is back; counting starts again from zero."""
        self._cut_at = None
        self._cut.clear()
        with self._lock:
            self.requests, self.body_bytes, self._marks = [], 0, []

    def close(self) -> None:
        self.cut()
        super().close()

    # -- serving -----------------------------------------------------------------------------------------------

    def _refused(self) -> bool:
        return self._cut.is_set()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.update((client, server))
        back = threading.Thread(target=self._pipe, args=(server, client), daemon=True)
        back.start()
        try:
            with contextlib.suppress(OSError):
                self._forward(client, server)
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            back.join(10)
            with self._lock:
                self._sockets.difference_update((client, server))
            client.close()
            server.close()

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        """Request after request: headers as they are, then the body, counted and paced."""
        pending = b""
        while not self._cut.is_set():
            while b"\r\n\r\n" not in pending:
                data = client.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                if name.strip().lower() == b"transfer-encoding":
                    raise RuntimeError("chunked request bodies are not counted by this proxy")
            server.sendall(head + b"\r\n\r\n")
            sent = Sent(lines[0].decode("latin-1"), 0)
            with self._lock:
                self.requests.append(sent)
            left = length
            while left:
                if not pending:
                    pending = client.recv(min(65536, left))
                    if not pending:
                        return
                block, pending = pending[:left], pending[left:]
                self._pace(len(block))
                if self._cut.is_set():
                    return
                server.sendall(block)
                left -= len(block)
                sent.body += len(block)
                self._count(len(block))

    def _pace(self, count: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._next_slot = max(self._next_slot, now) + count / self.rate
            wait = self._next_slot - count / self.rate - now
        if wait > 0:
            self._cut.wait(wait)

    def _count(self, count: int) -> None:
        with self._lock:
            self.body_bytes += count
            total = self.body_bytes
            for mark, event in self._marks:
                if total >= mark:
                    event.set()
        if self._cut_at is not None and total >= self._cut_at:
            self.cut()
