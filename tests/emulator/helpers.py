"""Helpers shared by the emulator tests: constants, config factory, a JSON client, a stub server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from streampixel_deploy._serving import Served
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, EmulatorConfig

FAST = 0.05
OTHER_USER_ID = "663d0a1b2c3e4f5a6b7c8d9f"
OTHER_API_KEY = "sp-emulator-1111111111111111"
OTHER_PROJECT_ID = "6650aaaabbbbccccddddeeee"
EU_PROJECT_ID = "664f1a2b3c4d5e6f7a8b9c0e"
SEED_UPLOAD_ID = "665a2b3c4d5e6f7a8b9c0e1f"
TIMEOUT = 5


def fast_config(**settings: Any) -> EmulatorConfig:
    """The defaults with 0.05 s stages, plus any setting given."""
    cfg = EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, FAST)
    for name, value in settings.items():
        setattr(cfg, name, {**cfg.stage_delays, **value} if name == "stage_delays" else value)
    return cfg


def showroom(cfg: EmulatorConfig) -> Any:
    """The default project's config, to edit before the emulator starts."""
    return cfg.users[0].projects[0]


@dataclass
class Client:
    """A tiny JSON client of one emulator's API, with the default credentials filled in."""

    base: str
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, path: str, body: Any = None, *, creds: bool = True, **fields: Any) -> requests.Response:
        payload = body if body is not None else {**(default_body() if creds else {}), **fields}
        return self.session.post(self.base + path, json=payload, timeout=TIMEOUT)

    def get(self, path: str, *, creds: bool = True, **query: Any) -> requests.Response:
        params = {"userId": DEFAULT_USER_ID, "apikey": DEFAULT_API_KEY} if creds else {}
        params.update(query)
        params = {k: v for k, v in params.items() if v is not None}
        return self.session.get(self.base + path, params=params, timeout=TIMEOUT)

    def upload(self, file_url: str, **fields: Any) -> str:
        response = self.post("/projects/upload-file", fileUrl=file_url, **fields)
        assert response.status_code == 201, response.text
        upload_id: str = response.json()["uploadId"]
        return upload_id

    def files(self, project_id: str = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
        response = self.get(f"/projects/{project_id}")
        assert response.status_code == 200, response.text
        files: list[dict[str, Any]] = response.json()["files"]
        return files


def default_body() -> dict[str, Any]:
    return {"apiKey": DEFAULT_API_KEY, "userId": DEFAULT_USER_ID, "projectId": DEFAULT_PROJECT_ID}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) is expected; no traceback on stderr."""


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class StubServer:
    """A local HTTP server: answers ``routes`` (path -> Route, default 200 ``{}``) and records POSTs."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                route = stub.routes.get(self.path, Route(200, b"{}", {"Content-Type": "application/json"}))
                time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with stub._cond:
                    stub.received.append(
                        {"path": self.path, "content_type": self.headers.get("Content-Type"), "json": json.loads(raw)}
                    )
                    stub._cond.notify_all()
                self._answer()

        self._served = Served(_QuietServer(("127.0.0.1", 0), Handler), "webhook-stub")
        self._served.start(poll_interval=0.05)
        self.url = self._served.url()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """The JSON bodies received once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"only {len(self.received)} of {count} POSTs arrived: {self.received}"
                self._cond.wait(remaining)
            return [r["json"] for r in self.received]

    def wait_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """The JSON bodies received once ``done(bodies)`` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(bodies := [r["json"] for r in self.received]):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"condition not met by the POSTs received: {bodies}"
                self._cond.wait(remaining)
            return bodies

    def close(self) -> None:
        self._served.stop(5.0)


def free_port() -> int:
    """A port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    """``streampixel-deploy emulator --port 0 ARGS`` as a runner starts it; its output up to the first user line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streampixel_deploy", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "user-id" in line:
            break
    return proc, lines
