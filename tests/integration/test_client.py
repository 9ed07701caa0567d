"""The API client against the emulator: every endpoint, documented variants, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.core.errors import AuthError, BadResponse, NotFound, RateLimited, TransportError
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from tests.localhttp import serve


@pytest.fixture
def client(emu: Emulator) -> StreampixelClient:
    return StreampixelClient(emu.api_url, DEFAULT_API_KEY, DEFAULT_USER_ID)


def test_get_project(client: StreampixelClient) -> None:
    project = client.get_project(DEFAULT_PROJECT_ID)
    assert project.id == DEFAULT_PROJECT_ID and project.name == "Showroom"
    assert [b.raw_status for b in project.files] == ["Approved"]


def test_auth_and_not_found(emu: Emulator) -> None:
    with pytest.raises(AuthError, match="Unauthorized: Invalid API Key"):
        StreampixelClient(emu.api_url, "nope-nope", DEFAULT_USER_ID).get_project(DEFAULT_PROJECT_ID)
    with pytest.raises(AuthError, match="Invalid User"):
        StreampixelClient(emu.api_url, DEFAULT_API_KEY, "0" * 24).get_project(DEFAULT_PROJECT_ID)
    with pytest.raises(NotFound, match="Project not found"):
        StreampixelClient(emu.api_url, DEFAULT_API_KEY, DEFAULT_USER_ID).get_project("f" * 24)


def test_distribute_unknown_file(client: StreampixelClient) -> None:
    with pytest.raises(NotFound, match="File not found in project"):
        client.distribute_file(DEFAULT_PROJECT_ID, "a" * 24)


def test_upload_validation_and_rate_limit(client: StreampixelClient, emu: Emulator, build_zip: Path) -> None:
    emu.configure(strict_file_url=True, rate_limit_window_seconds=60, send_retry_after=False)
    with pytest.raises(Exception, match="Invalid URL format"):
        client.upload_file(DEFAULT_PROJECT_ID, "https://x.example/a.zip?sig=1", True)
    url = emu.serve_file(build_zip)
    upload_id = client.upload_file(DEFAULT_PROJECT_ID, url, True)
    assert len(upload_id) == 24 and emu.state.build(upload_id) is not None
    with pytest.raises(RateLimited, match=r"Rate limit exceeded\. Try again in 2 minutes\.") as info:
        client.upload_file(DEFAULT_PROJECT_ID, url, True, retry=False)  # the caller waits out 429s itself
    assert info.value.retry_after is None


def test_invalid_json_is_bad_response(client: StreampixelClient, emu: Emulator) -> None:
    emu.add_fault({"method": "GET", "path": "^/projects/", "action": "invalid_json", "times": -1})
    with pytest.raises(BadResponse, match="not the expected JSON"):
        client.get_project(DEFAULT_PROJECT_ID)


def test_connection_refused_is_transport_error() -> None:
    client = StreampixelClient("http://127.0.0.1:9/pixelStripeApi", "k" * 8, DEFAULT_USER_ID)
    with pytest.raises(TransportError, match="connection failed") as info:
        client.get_project(DEFAULT_PROJECT_ID)
    assert "k" * 8 not in str(info.value)


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    with serve(_Receiver) as url:
        yield url + "/hook"


def test_test_webhook(cli: Any, emu: Emulator, receiver: str) -> None:
    run = cli("test-webhook")
    assert run.code == 1 and "No webhook URL configured" in run.err
    cfg = EmulatorConfig.default()
    cfg.users[0].projects[0].webhook_url = receiver
    with Emulator(cfg) as hooked:
        run = cli("test-webhook", STREAMPIXEL_API_URL=hooked.api_url)
    assert run.code == 0, run.err
    assert "delivered" in run.out and "204" in run.out
    assert _Receiver.received[-1]["event"] == "webhook.test"


def test_api_key_flag_warns_and_file_flag_works(cli: Any, tmp_path: Path) -> None:
    run = cli("status", "--api-key", DEFAULT_API_KEY)
    assert run.code == 0 and "--api-key is visible" in run.err
    key_file = tmp_path / "key"
    key_file.write_text(DEFAULT_API_KEY + "\n")
    run = cli("status", "--api-key-file", str(key_file), STREAMPIXEL_API_KEY="")
    assert run.code == 0, run.err


def test_version_and_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stdout.startswith("streampixel-deploy ")
    out = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "distribute" in out.stdout and "Exit codes" in out.stdout
