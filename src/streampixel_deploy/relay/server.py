"""The relay's HTTP face and the :class:`Relay` that ties spool, forwarder and server together.

Routes::

    POST /webhook/<token>   a Streampixel webhook -> 202 (queued or dropped), 400, 401, 411, 413, 503
    GET  /healthz           200 {"status": "ok"|"degraded", "queueDepth", "spooled", ...}

Checks happen in this order, each before any work the next one costs: the token (constant-time compare;
401 and the body is not parsed), the declared size (64 KiB cap; 413 before reading it), JSON and the
documented envelope (400), then the event filters (unknown events, events not in ``events``, projects not in
``project-ids``: 202 and dropped with a log line). An accepted event is written to the spool and fsynced
*before* the 202 is sent, so anything Streampixel saw acknowledged survives a crash; the GitHub call happens
later on the forwarder thread, so Streampixel's 10-second timeout is never at stake.

Connections (``relay/pool.py``): the kernel queues up to ``LISTEN_BACKLOG`` of them (a burst of simultaneous
webhooks waits there instead of being reset), and a fixed pool of ``WORKERS`` threads answers them, so the number
of clients never decides the number of threads. Each request has ``REQUEST_DEADLINE_SECONDS`` in total, from the
first byte awaited to the last byte of its body: a watchdog shuts the socket of a client that trickles its request.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Literal, TypedDict
from urllib.parse import urlsplit

import requests

from streampixel_deploy._serving import Served, StartStop
from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.core.http import Clock, Http, Policy, make_session
from streampixel_deploy.relay.config import RelayConfig
from streampixel_deploy.relay.events import EnvelopeError, parse_envelope
from streampixel_deploy.relay.forwarder import Forwarder, Item, ProjectLookup
from streampixel_deploy.relay.log import JsonLog
from streampixel_deploy.relay.pool import REQUEST_DEADLINE_SECONDS, RelayHTTPServer
from streampixel_deploy.relay.spool import Spool, SpoolError

MAX_BODY_BYTES = 64 * 1024
#: How much of a refused body we read and discard so the client sees our answer, not a reset.
MAX_DRAIN_BYTES = 1024 * 1024
WEBHOOK_PREFIX = "/webhook/"


class Relay(StartStop):
    """A running relay: ``Relay(config).start()`` ... ``stop()``, or ``with Relay(config) as relay:``.

    ``url`` is ``http://host:port``; ``webhook_url`` is the full URL to configure in Streampixel (it holds
    the token: treat it as a secret).
    """

    def __init__(
        self,
        config: RelayConfig,
        log: JsonLog | None = None,
        github_session: requests.Session | None = None,
        streampixel_client: StreampixelClient | None = None,
    ) -> None:
        self.config = config
        self.log = log or JsonLog(level=config.log_level)
        self.spool = Spool(config.spool_dir)
        client = streampixel_client
        if client is None and config.has_streampixel_credentials:
            # Short timeouts, one transport retry: the forwarder has its own retry loop, and a slow
            # Streampixel must not hold up GitHub deliveries for long (projectName is best effort).
            client = StreampixelClient(
                config.api_url,
                config.api_key or "",
                config.user_id or "",
                Http(make_session(), Policy(attempts=2, connect_timeout=5.0, request_budget=15.0), Clock()),
            )
        self.lookup = ProjectLookup(client)
        self.forwarder = Forwarder(config, self.spool, self.log, self.lookup, github_session)
        self._server: Served[RelayHTTPServer[Relay]] | None = None
        self._started_at = 0.0
        self._lock = threading.Lock()
        self.received = 0
        self.refused: dict[int, int] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Relay:
        if self._server is not None:
            raise RuntimeError("this relay is already running")
        replay = self.spool.open()
        served = Served(RelayHTTPServer((self.config.host, self.config.port), self, _Handler), "relay-http")
        self._server = served
        self._started_at = time.monotonic()
        self.forwarder.start()
        served.start(poll_interval=0.05)
        self.log.info(
            "relay.started",
            listen=self.url,
            repository=self.config.github_repository,
            githubApiUrl=self.config.github_api_url,
            spoolDir=str(self.config.spool_dir),
            replaying=len(replay),
            verify=self.config.verify,
            events=list(self.config.events),
        )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop answering, then stop the forwarder; undelivered events stay in the spool for the next start."""
        served, self._server = self._server, None
        if served is None:
            return
        served.stop(timeout)
        self.forwarder.stop(timeout)
        self.log.info("relay.stopped", spooled=self.spool.count())

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the relay is not started; call start() first")
        return self._server.url()

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PREFIX}{self.config.token}"

    # -- request handling (called from the server's threads) -------------------------------------

    def token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode("utf-8"), self.config.token.encode("utf-8"))

    def accept(self, body: bytes) -> tuple[int, dict[str, object]]:
        """Validate, filter, spool and queue one webhook body; returns (HTTP status, JSON answer)."""
        received_at = time.time()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply for the parser
            return self._refuse(400, "the body is not JSON (or it is nested too deeply)")
        try:
            envelope = parse_envelope(data)
        except EnvelopeError as exc:
            return self._refuse(400, f"not a Streampixel webhook envelope: {exc}")
        fields = {"event": envelope.event, "projectId": envelope.project_id, "uploadId": envelope.upload_id}
        reason = None
        if not envelope.known:
            reason = "unknown-event"
        elif envelope.event not in self.config.events:
            reason = "event-not-forwarded"
        elif self.config.project_ids and envelope.project_id not in self.config.project_ids:
            reason = "project-not-allowed"
        if reason is not None:
            self.forwarder.drop(reason)
            self.log.info("event.dropped", reason=reason, **fields)
            return 202, {"status": "dropped", "reason": reason}
        if self.spool.count() >= self.config.max_pending:
            self.log.error("spool.full", maxPending=self.config.max_pending, **fields)
            return self._refuse(503, "the relay's backlog is full; GitHub may be unreachable")
        event_id = self.spool.new_id()
        record = {"id": event_id, "receivedAt": received_at, "envelope": envelope.to_json()}
        try:
            self.spool.write(record, event_id)
        except SpoolError as exc:
            self.log.error("spool.write_failed", error=str(exc), **fields)
            return self._refuse(503, "the relay could not store the event")
        with self._lock:
            self.received += 1
        self.forwarder.submit(Item(event_id, envelope, received_at))
        self.log.info("event.received", id=event_id, status=envelope.status, **fields)
        return 202, {"status": "queued", "id": event_id}

    def refuse(self, status: int, message: str, client: str | None = None) -> tuple[int, dict[str, object]]:
        return self._refuse(status, message, client)

    def _refuse(self, status: int, message: str, client: str | None = None) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.refused[status] = self.refused.get(status, 0) + 1
        self.log.warning("webhook.refused", httpStatus=status, reason=message, client=client)
        return status, {"message": message}

    def health(self) -> Health:
        """Counts only: no URL, token, repository or error text (the endpoint is unauthenticated)."""
        figures = self.forwarder.snapshot()
        pending = self.spool.pending_ids()
        oldest = None
        if pending:
            try:
                oldest = round(max(0.0, time.time() - int(pending[0].split("-", 1)[0]) / 1e9), 3)
            except ValueError:
                oldest = None
        with self._lock:
            received, refused = self.received, dict(self.refused)
        return {
            "status": "degraded" if figures["github"] == "failing" else "ok",
            "queueDepth": self.forwarder.depth(),
            "spooled": len(pending),
            "oldestPendingSeconds": oldest,
            "failedEvents": self.spool.failed_count(),
            "received": received,
            "refused": {str(k): v for k, v in sorted(refused.items())},
            "forwarded": figures["forwarded"],
            "retries": figures["retries"],
            "dropped": figures["dropped"],
            "github": figures["github"],
            "latencyMsP50": figures["latencyMsP50"],
            "latencyMsP95": figures["latencyMsP95"],
            "uptimeSeconds": round(time.monotonic() - self._started_at, 3),
        }


class Health(TypedDict):
    """``GET /healthz``: counts only."""

    status: Literal["ok", "degraded"]
    queueDepth: int
    spooled: int
    oldestPendingSeconds: float | None
    failedEvents: int
    received: int
    refused: dict[str, int]
    forwarded: int
    retries: int
    dropped: dict[str, int]
    github: Literal["unknown", "ok", "failing"]
    latencyMsP50: float | None
    latencyMsP95: float | None
    uptimeSeconds: float


class _Handler(BaseHTTPRequestHandler):
    server: RelayHTTPServer[Relay]
    protocol_version = "HTTP/1.1"
    server_version = "streampixel-relay"
    sys_version = ""
    timeout = REQUEST_DEADLINE_SECONDS  # each read; the whole request has the same budget (the watchdog)
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall between them

    def log_message(self, format: str, *args: object) -> None:
        """The request line holds the token: the default access log is off, the relay logs what matters."""

    def handle_one_request(self) -> None:
        """One request, read under the deadline (armed while waiting for it, disarmed once it is read)."""
        self.server.arm(self.connection)
        try:
            super().handle_one_request()
        finally:
            self.server.disarm(self.connection)

    def do_GET(self) -> None:
        self.server.disarm(self.connection)
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._send(200, self.server.relay.health())
        else:
            self._send(404, {"message": "Not found"})

    def do_POST(self) -> None:
        relay = self.server.relay
        path = urlsplit(self.path).path
        if not path.startswith(WEBHOOK_PREFIX):
            self._drain(MAX_BODY_BYTES)
            self._send(404, {"message": "Not found"}, close=True)
            return
        if not relay.token_ok(path[len(WEBHOOK_PREFIX) :]):
            self._drain(MAX_BODY_BYTES)
            self._send(*relay.refuse(401, "Unauthorized", self.client_address[0]), close=True)
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send(*relay.refuse(411, "send the body with a Content-Length"), close=True)
            return
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._send(*relay.refuse(411, "a Content-Length is required"), close=True)
            return
        if length < 0:
            self._send(*relay.refuse(400, "bad Content-Length"), close=True)
            return
        if length > MAX_BODY_BYTES:
            self._drain(MAX_DRAIN_BYTES, length)
            self._send(*relay.refuse(413, f"the body is larger than {MAX_BODY_BYTES} bytes"), close=True)
            return
        try:
            body = self.rfile.read(length)
        except OSError:
            self.close_connection = True
            return
        if len(body) < length:
            self._send(*relay.refuse(400, "the body is shorter than its Content-Length"), close=True)
            return
        self.server.disarm(self.connection)  # read whole in time: storing it is our time, not the client's
        status, answer = relay.accept(body)
        self._send(status, answer)

    def do_PUT(self) -> None:
        self._not_allowed()

    def do_DELETE(self) -> None:
        self._not_allowed()

    def do_PATCH(self) -> None:
        self._not_allowed()

    def _not_allowed(self) -> None:
        self._drain(MAX_BODY_BYTES)
        self._send(405, {"message": "Method not allowed"}, close=True, extra={"Allow": "GET, POST"})

    def _drain(self, limit: int, length: int | None = None) -> None:
        """Read and discard a refused body (bounded) so the client gets the answer instead of a reset."""
        if length is None:
            try:
                length = int(self.headers.get("Content-Length") or "0")
            except ValueError:
                return
        if not 0 < length <= limit:
            return
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    return
                length -= len(chunk)
        except OSError:
            return

    def _send(
        self, status: int, body: Mapping[str, object], close: bool = False, extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
