"""One stdlib socket server served on a thread: start, stop, ``with`` and its URL.

Stdlib only, and it imports nothing from the package (import-linter contract ``serving-leaf``): the emulator,
a wing that imports nothing else from streampixel_deploy, and the relay, which never imports the emulator, both
run their HTTP server with it.
"""

from __future__ import annotations

import socketserver
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

ServerT = TypeVar("ServerT", bound=socketserver.TCPServer)
StartStopT = TypeVar("StartStopT", bound="StartStop")


class StartStop(ABC):
    """An object with ``start()`` (returning itself) and ``stop()``; ``with it:`` is the pair."""

    @abstractmethod
    def start(self: StartStopT) -> StartStopT: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self: StartStopT) -> StartStopT:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Served(Generic[ServerT]):
    """A bound ``server`` that is about to be served: on a daemon thread (:meth:`start`) or the calling one.

    Make one only once nothing stands between the bind and serving: :meth:`stop` calls ``server.shutdown()``,
    which waits for ``serve_forever`` to run and end.
    """

    def __init__(self, server: ServerT, name: str) -> None:
        self.server = server
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self, poll_interval: float) -> None:
        """Serve on a daemon thread named ``name``."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def serve_here(self, poll_interval: float) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread)."""
        self.server.serve_forever(poll_interval=poll_interval)

    def stop(self, timeout: float, closing: Callable[[ServerT], None] | None = None) -> None:
        """Stop answering: shutdown, then ``closing(server)`` (say, end idle connections), close, join the thread."""
        self.server.shutdown()
        if closing is not None:
            closing(self.server)
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def url(self, scheme: str = "http") -> str:
        """``scheme://host:port`` of the bound socket (an IPv6 host in brackets)."""
        host, port = self.server.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"{scheme}://{shown}:{port}"
