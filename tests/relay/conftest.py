"""Real servers on 127.0.0.1: the Streampixel emulator sends real webhooks to the relay, which forwards them to
the fake GitHub API. Everything a test starts is stopped at teardown."""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from streampixel_deploy.relay import Relay, build_config
from streampixel_deploy.relay.log import JsonLog
from tests.fakegithub import FakeGitHub

RELAY_TOKEN = "relay-test-token-0123456789abcdef"
GITHUB_TOKEN = "ghs_relaytest0123456789abcdefghijklmn"
REPOSITORY = "octo-org/game"
PROJECT_NAME = "Showroom"
SEED_UPLOAD_ID = "665a2b3c4d5e6f7a8b9c0e1f"  # an Approved build in the emulator's default project
BUILD_EVENTS = (
    "build.uploaded",
    "build.downloading",
    "build.extracting",
    "build.saving",
    "build.distributing",
    "build.approved",
)
TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def envelope(event: str = "build.approved", **fields: Any) -> dict[str, Any]:
    """A well-formed webhook body for the emulator's default project."""
    body: dict[str, Any] = {
        "event": event,
        "projectId": DEFAULT_PROJECT_ID,
        "uploadId": SEED_UPLOAD_ID,
        "fileUrl": "https://builds.example.com/showroom/Showroom-1.0.0.zip",
        "status": "Approved",
        "objection": None,
        "timestamp": "2026-05-02T09:14:07.000Z",
    }
    body.update(fields)
    return body


@dataclass
class Stack:
    """The emulator (webhook URL pointing at ``port``), the fake GitHub API, and relays made on demand."""

    emu: Emulator
    github: FakeGitHub
    port: int
    spool: Path
    tmp: Path
    relays: list[Relay] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def relay(self, **overrides: str) -> Relay:
        """Start a relay on ``port`` with fast retry settings (stopped at teardown)."""
        flags = {
            "token": RELAY_TOKEN,
            "github_repository": REPOSITORY,
            "github_token": GITHUB_TOKEN,
            "github_api_url": self.github.url,
            "host": "127.0.0.1",
            "port": str(self.port),
            "spool_dir": str(self.spool),
            "retry_initial_seconds": "0.05",
            "retry_max_seconds": "0.2",
            "rate_limit_floor_seconds": "0.2",
            "verify_recheck_seconds": "0.1",
            "github_timeout_seconds": "5",
            "api_url": self.emu.api_url,
            "api_key": DEFAULT_API_KEY,
            "user_id": DEFAULT_USER_ID,
        }
        flags.update(overrides)
        relay = Relay(build_config(flags, {}), log=JsonLog(io.StringIO(), level="debug"))
        self.relays.append(relay)
        return relay.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, body: Any, token: str = RELAY_TOKEN, raw: bytes | None = None) -> requests.Response:
        data = raw if raw is not None else json.dumps(body).encode("utf-8")
        return self.session.post(
            f"{self.url}/webhook/{token}",
            data=data,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )

    def upload(self, zip_path: Path, auto_release: bool = True) -> str:
        response = self.session.post(
            f"{self.emu.api_url}/projects/upload-file",
            json={
                "apiKey": DEFAULT_API_KEY,
                "userId": DEFAULT_USER_ID,
                "projectId": DEFAULT_PROJECT_ID,
                "fileUrl": self.emu.serve_file(zip_path),
                "autoRelease": auto_release,
            },
            timeout=TIMEOUT,
        )
        assert response.status_code in (200, 201), response.text
        upload_id: str = response.json()["uploadId"]
        return upload_id

    def test_webhook(self) -> dict[str, Any]:
        response = self.session.post(
            f"{self.emu.api_url}/projects/test-webhook",
            json={"apiKey": DEFAULT_API_KEY, "userId": DEFAULT_USER_ID, "projectId": DEFAULT_PROJECT_ID},
            timeout=TIMEOUT,
        )
        result: dict[str, Any] = response.json()
        return result

    def webhooks_sent(self, upload_id: str | None = None) -> list[dict[str, Any]]:
        """The emulator's delivery log (what Streampixel sent and what the relay answered)."""
        return [d for d in self.emu.webhook_deliveries() if upload_id is None or d["upload_id"] == upload_id]

    def wait_webhooks(self, upload_id: str, n: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(sent := self.webhooks_sent(upload_id)) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(sent)} of {n} webhooks sent for {upload_id}")
            time.sleep(0.02)
        return sent

    def spooled(self) -> list[Path]:
        return sorted(self.spool.glob("*.json"))


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    cfg = EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.rate_limit_window_seconds = 0.3
    cfg.users[0].projects[0].webhook_url = f"http://127.0.0.1:{port}/webhook/{RELAY_TOKEN}"
    with Emulator(cfg) as emu, FakeGitHub(token=GITHUB_TOKEN, repositories=[REPOSITORY]) as github:
        stack = Stack(emu, github, port, tmp_path / "spool", tmp_path)
        try:
            yield stack
        finally:
            for relay in stack.relays:
                relay.stop()
            stack.session.close()


@pytest.fixture
def build_zip(tmp_path: Path) -> Path:
    return make_build_zip(tmp_path / "MyGame-1.0.zip", pak_bytes=16 * 1024)


@pytest.fixture
def broken_zip(tmp_path: Path) -> Path:
    """A zip without an executable: Streampixel rejects it at Extracting & Scanning."""
    path = tmp_path / "NoExe-1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MyGame/Content/Paks/MyGame-Windows.pak", bytes(4096))
    return path
