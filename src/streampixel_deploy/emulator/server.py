"""The HTTP layer: a threading stdlib server that routes to the API, the files and the controls.

``/pixelStripeApi/...`` goes to :mod:`.api` (after the fault rules of :mod:`.faults` had their say),
``/files/<token>/<name>`` serves registered local files, ``/inbox/<dir>/<name>`` the files dropped in the
emulator's own inbox folder, ``/_emulator/...`` is :mod:`.control` (behind the process token; off, like
``/inbox/``, when the emulator listens on a non-loopback address without ``control=True``).
Every request that is not a control or file request is written to the request log with the API key
replaced by ``***`` (query ``apikey``/``apiKey`` and body ``apiKey``); a connection closed without
an answer is logged with status 0.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from streampixel_deploy.emulator import control
from streampixel_deploy.emulator.api import PREFIX, Api, ApiRequest, ApiResponse
from streampixel_deploy.emulator.faults import FaultSet
from streampixel_deploy.emulator.files import FileRegistry, Unsatisfiable, inside, parse_range
from streampixel_deploy.emulator.webhooks import iso_now

logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
REDACTED = "***"


@dataclass
class Context:
    controller: control.Controller
    api: Api
    faults: FaultSet
    files: FileRegistry
    stop: threading.Event
    control_token: str
    control_enabled: bool
    inbox: Callable[[], Path]


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], ctx: Context) -> None:
        super().__init__(address, RequestHandler)
        self.ctx = ctx
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is routine; anything else is logged, never printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            logger.debug("connection from %s ended: %s", client_address, exc)
        else:
            logger.exception("error while handling a request from %s", client_address)

    def close_connections(self) -> None:
        """Shut down idle keep-alive connections so their handler threads end."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def redact_query(query: dict[str, str]) -> dict[str, str]:
    return {k: REDACTED if k.lower() == "apikey" else v for k, v in query.items()}


def redact_body(body: bytes) -> Any:
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(data, dict):
        return {k: REDACTED if k.lower() == "apikey" else v for k, v in data.items()}
    return data


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "streampixel-emulator"
    sys_version = ""
    timeout = 60
    server: EmulatorHTTPServer
    _log_entry: dict[str, Any] | None = None

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- dispatch --------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        ctx = self.server.ctx
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path == "/_emulator" or path.startswith("/_emulator/"):
                self._control(path)
            elif path.startswith("/inbox/") and ctx.control_enabled:
                self._serve_inbox(path)
            elif path.startswith("/files/"):
                self._serve_file(path)
            else:
                self._api(path, parts.query)
        except _BadRequest as exc:
            self.close_connection = True
            self._send_json(ApiResponse(exc.status, {"message": str(exc)}))
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _control(self, path: str) -> None:
        ctx = self.server.ctx
        body = self._read_body()
        if not ctx.control_enabled:
            self._send_json(ApiResponse(404, {"message": "Not found"}))
            return
        if path.rstrip("/") not in control.PUBLIC:
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode("utf-8"), ctx.control_token.encode("utf-8")):
                message = "send the emulator's control token: Authorization: Bearer <token> (printed at start)"
                self._send_json(ApiResponse(401, {"message": message}))
                return
        self._send_json(control.handle(ctx.controller, self.command, path, body))

    def _read_body(self) -> bytes:
        raw = self.headers.get("Content-Length")
        if raw is None:
            if self.headers.get("Transfer-Encoding"):
                raise _BadRequest(411, "Length Required: send a Content-Length header")
            return b""
        if not raw.strip().isdigit():
            raise _BadRequest(400, "Invalid Content-Length")
        length = int(raw)
        if length > MAX_BODY:
            raise _BadRequest(413, "Payload Too Large")
        return self.rfile.read(length)

    def _api(self, path: str, raw_query: str) -> None:
        ctx = self.server.ctx
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        body = self._read_body()
        rel = None
        if path == PREFIX or path.startswith(PREFIX + "/"):
            rel = path[len(PREFIX) :].rstrip("/") or "/"
        fault = ctx.faults.take(self.command, rel) if rel is not None else None
        action = fault["action"] if fault else None
        self._log_entry = {
            "method": self.command,
            "path": path,
            "query": redact_query(query),
            "body": redact_body(body),
            "time": iso_now(),
            "fault": action,
        }
        self._api_respond(rel, query, body, fault)

    def _flush_log(self, status: int) -> None:
        """Log the pending API request before its answer leaves, so a client never races it."""
        entry, self._log_entry = self._log_entry, None
        if entry is not None:
            self.server.ctx.controller.state.log_request({**entry, "status": status})

    def _api_respond(self, rel: str | None, query: dict[str, str], body: bytes, fault: dict[str, Any] | None) -> int:
        """Answer an API request (applying ``fault``); returns the status sent, 0 for none."""
        ctx = self.server.ctx
        action = fault["action"] if fault else None
        if fault and action == "delay" and not fault.get("after") and ctx.stop.wait(fault["seconds"]):
            self._abort()
            return 0
        if fault and action == "reset":
            self._abort()
            return 0
        if fault and action == "status":
            return self._send_fault(fault)
        if fault and action == "invalid_json" and not fault.get("handle"):
            text = json.dumps({"message": "Build queued for processing", "uploadId": None})
            return self._send_raw(200, text[: len(text) // 2].encode(), "application/json")
        if rel is None:
            resp = ApiResponse(404, {"message": "Not found"})
        else:
            content_type = self.headers.get("Content-Type", "")
            try:
                resp = ctx.api.handle(ApiRequest(self.command, rel, query, body, content_type))
            except Exception:  # an emulator bug: answer like production's 500, keep serving
                logger.exception("error in %s %s", self.command, rel)
                resp = ApiResponse(500, {"message": "Internal server error"})
        if fault and action == "invalid_json":
            text = json.dumps(resp.body)
            return self._send_raw(200, text[: len(text) // 2].encode(), "application/json")
        if fault and action == "delay" and fault.get("after") and ctx.stop.wait(fault["seconds"]):
            self._abort()
            return 0
        if fault and action == "lost_response":
            if fault.get("reset_after"):
                self._abort()
                return 0
            return self._send_fault(fault)
        if fault and action == "trickle":
            return self._trickle(resp, fault["seconds"])
        return self._send_json(resp)

    def _trickle(self, resp: ApiResponse, seconds: float) -> int:
        """The whole answer, its body one byte every ``seconds`` (until the client or the emulator gives up)."""
        body = json.dumps(resp.body).encode("utf-8")
        self._flush_log(resp.status)
        self.close_connection = True
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if self.server.ctx.stop.wait(seconds):
                    break
        except OSError:
            pass  # the client hung up: that is the point of the fault
        return resp.status

    # -- responses -------------------------------------------------------------------------------

    def _send_raw(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> int:
        self._flush_log(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def _send_json(self, resp: ApiResponse) -> int:
        body = json.dumps(resp.body).encode("utf-8")
        return self._send_raw(resp.status, body, "application/json; charset=utf-8", resp.headers)

    def _send_fault(self, fault: dict[str, Any]) -> int:
        status: int = fault["status"]
        if "body" in fault:
            body = str(fault["body"]).encode("utf-8")
        else:
            body = json.dumps({"message": "Internal server error"}).encode("utf-8")
        content_type = fault.get("content_type") or "application/json; charset=utf-8"
        return self._send_raw(status, body, content_type, fault.get("headers"))

    def _abort(self) -> None:
        """Close the connection without answering (the client sees a reset / EOF)."""
        self._flush_log(0)
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _serve_file(self, path: str) -> None:
        segments = path.split("/")
        found = None
        if len(segments) == 4:
            found = self.server.ctx.files.lookup(segments[2], unquote(segments[3]))
        self._send_file(found)

    def _serve_inbox(self, path: str) -> None:
        """``/inbox/<dir>/<name>``: a file another local process dropped in the inbox (never through a link)."""
        segments = [unquote(part) for part in path.split("/")]
        found = None
        if len(segments) == 4 and all(p not in ("", ".", "..") and "/" not in p for p in segments[2:]):
            with contextlib.suppress(OSError):
                found = inside(self.server.ctx.inbox(), Path(*segments[2:]))
        self._send_file(found)

    def _send_file(self, found: Path | None) -> None:
        ctx = self.server.ctx
        if self.command not in ("GET", "HEAD"):
            self._send_raw(405, b"Method not allowed\n", "text/plain", {"Allow": "GET, HEAD"})
            return
        if found is None or not found.is_file():
            self._send_raw(404, b"Not found\n", "text/plain")
            return
        size = found.stat().st_size
        try:
            span = parse_range(self.headers.get("Range"), size)
        except Unsatisfiable:
            self._send_raw(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            return
        start, end = span if span else (0, size - 1)
        length = max(0, end - start + 1)
        self.send_response(206 if span else 200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if span:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with found.open("rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0 and not ctx.stop.is_set():
                chunk = fh.read(min(1024 * 1024, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        if remaining:
            self.close_connection = True
