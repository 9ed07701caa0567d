"""``Emulator``: one running emulator (HTTP server, pipeline workers, webhook sender)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import shutil
import ssl
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from streampixel_deploy._serving import Served, StartStop
from streampixel_deploy.emulator.api import PREFIX, Api
from streampixel_deploy.emulator.config import EmulatorConfig
from streampixel_deploy.emulator.faults import FaultSet
from streampixel_deploy.emulator.files import FileRegistry, inside
from streampixel_deploy.emulator.pipeline import Pipeline
from streampixel_deploy.emulator.server import Context, EmulatorHTTPServer
from streampixel_deploy.emulator.state import Store
from streampixel_deploy.emulator.webhooks import WebhookSender

logger = logging.getLogger(__name__)


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1`` (``0.0.0.0`` and ``""`` mean every interface: not loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator(StartStop):
    """A Streampixel API on ``host:port`` (port 0 picks a free port), backed by memory.

    >>> with Emulator(EmulatorConfig.default()) as emu:  # doctest: +SKIP
    ...     requests.get(f"{emu.api_url}/projects", params={"userId": DEFAULT_USER_ID})
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        control: bool | None = None,
    ) -> None:
        """``ssl_context`` (server side) makes it an HTTPS server, for TLS tests with a throwaway CA.

        ``control``: serve ``/_emulator/*`` and ``/inbox/`` (behind :attr:`control_token`). Default: only on
        a loopback address; on any other one the emulator logs a warning and keeps them off unless ``True``.
        """
        self._ssl_context = ssl_context
        #: The secret every ``/_emulator/*`` request but health and inbox must send as ``Authorization: Bearer``.
        self.control_token = secrets.token_urlsafe(32)
        loopback = is_loopback_host(host)
        self.control_enabled = loopback if control is None else control
        if not loopback:
            logger.warning(
                "Warning: the emulator listens on %s, not a loopback address: its API and well-known keys are "
                "reachable from the network; the control surface is %s",
                host or "every interface",
                "on (control=True)" if self.control_enabled else "off (ask for it with control=True / --control)",
            )
        self._inbox: Path | None = None  # made on first use
        # A round trip through from_dict validates a config built in code, and copies it.
        self.config = EmulatorConfig.from_dict(config.to_dict()) if config is not None else EmulatorConfig.default()
        self._address = (host, port)
        self._store = Store(self.config)
        self._faults = FaultSet()
        self._files = FileRegistry()
        self._sender = WebhookSender(
            timeout=lambda: self._store.settings.webhook_timeout_seconds,
            record=self._store.log_webhook,
            readings=lambda: (self._store.settings.webhook_order, self._store.settings.webhook_duplicates),
        )
        self._pipeline = Pipeline(self._store, self._sender.notify)
        self._api = Api(self._store, self._faults, self._pipeline, self._sender)
        self._server: Served[EmulatorHTTPServer] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def _bind(self) -> Served[EmulatorHTTPServer]:
        with self._lock:
            if self._stopped:
                raise RuntimeError("this emulator was stopped; create a new one")
            if self._server is not None:
                raise RuntimeError("this emulator is already running")
            ctx = Context(
                self,
                self._api,
                self._faults,
                self._files,
                self._pipeline.stop_event,
                self.control_token,
                self.control_enabled,
                lambda: self.inbox,
            )
            server = EmulatorHTTPServer(self._address, ctx)
            if self._ssl_context is not None:
                try:
                    server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
                except BaseException:
                    server.server_close()
                    raise
            self._sender.start()
            self._server = Served(server, "emulator-http")
            return self._server

    def start(self) -> Emulator:
        """Serve in a background thread; returns self."""
        self._bind().start(poll_interval=0.02)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` or Ctrl-C."""
        served = self._bind()
        try:
            served.serve_here(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the server, the pipeline and the webhook sender, and join their threads."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            served = self._server
        self._pipeline.stop_event.set()
        if served is not None:
            served.stop(5.0, EmulatorHTTPServer.close_connections)
        self._pipeline.stop()
        self._sender.stop()
        if self._inbox is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._inbox)

    # -- addresses -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (``https://`` with an ssl_context) of the running server."""
        if self._server is None:
            raise RuntimeError("the emulator is not started; call start() first")
        return self._server.url("https" if self._ssl_context is not None else "http")

    @property
    def api_url(self) -> str:
        """The API base URL, ``url + "/pixelStripeApi"`` (like production)."""
        return self.url + PREFIX

    @property
    def inbox(self) -> Path:
        """The folder (0700, created by this emulator, removed at stop) whose files other local processes may
        have served: ``/inbox/<dir>/<name>``, or registered with ``POST /_emulator/files``."""
        with self._lock:
            if self._inbox is None:
                self._inbox = Path(tempfile.mkdtemp(prefix="streampixel-emulator-inbox-"))
            return self._inbox

    def serve_file(self, path: str | Path) -> str:
        """Serve any local file at ``{url}/files/<token>/<basename>``; returns that URL (in-process only)."""
        return self.url + self._files.add(path)

    def serve_inbox_file(self, path: str | Path) -> str:
        """``serve_file`` for a file inside :attr:`inbox` only (``PermissionError`` otherwise): the HTTP route."""
        return self.url + self._files.add(inside(self.inbox, path))

    # -- inspection and control ------------------------------------------------------------------

    @property
    def state(self) -> Store:
        return self._store

    def reset(self) -> None:
        """Back to the loaded config: builds, faults, request log, rate limits, settings."""
        self._faults.clear()
        self._store.reset()

    def configure(self, **settings: object) -> dict[str, Any]:
        """Change runtime settings (see ``config.RUNTIME_SETTINGS``); returns all of them."""
        return self._store.configure(settings)

    def add_fault(self, rule: Mapping[str, object]) -> dict[str, Any]:
        """Add one fault rule (see :mod:`.faults`); returns it with its ``id``."""
        return self._faults.add([rule])[0]

    def add_faults(self, rules: Sequence[Mapping[str, object]]) -> list[dict[str, Any]]:
        return self._faults.add(list(rules))

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self._faults.rules()

    def requests(self) -> list[dict[str, Any]]:
        """The API request log, oldest first, API keys replaced by ``***``."""
        return self._store.requests()

    def clear_requests(self) -> None:
        self._store.clear_requests()

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self._store.webhook_deliveries()

    def wait_for_status(self, upload_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the build reaches ``status``; returns its ``files[]`` entry.

        Raises ``RuntimeError`` if the build is rejected meanwhile, ``TimeoutError`` on timeout.
        """
        return self._store.wait_for_status(upload_id, status, timeout)
