"""Issue 10 (hardening): what the emulator serves, who may use its control surface, and what it shows."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.emulator import DEFAULT_API_KEY, Emulator
from streampixel_deploy.hosting import Upload
from streampixel_deploy.hosting.inbox import EmulatorHost

from .helpers import TIMEOUT, Client, fast_config, showroom, start_cli

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (the case under test)


def control(emu: Emulator, method: str, name: str, body: object = None, token: str | None = "") -> requests.Response:
    """A control request with the emulator's token ("" = the right one, None = none at all)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token or emu.control_token}"}
    return requests.request(method, f"{emu.url}/_emulator/{name}", json=body, headers=headers, timeout=TIMEOUT)


def test_http_cannot_register_an_arbitrary_local_file(emu: Emulator, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the network")
    for path in ("/etc/passwd", str(secret)):
        response = control(emu, "POST", "files", {"path": path})
        assert response.status_code == 403, response.text
        assert "inbox" in response.json()["message"]
        assert "url" not in response.json()


def test_only_files_in_the_emulators_inbox_are_registered_over_http(emu: Emulator, tmp_path: Path) -> None:
    inbox = Path(control(emu, "GET", "inbox", token=None).json()["dir"])
    assert inbox == emu.inbox and inbox.is_dir()
    if os.name == "posix":
        assert inbox.stat().st_mode & 0o077 == 0
    (inbox / "b.zip").write_bytes(b"PK")
    response = control(emu, "POST", "files", {"path": str(inbox / "b.zip")})
    assert response.status_code == 201
    assert requests.get(response.json()["url"], timeout=TIMEOUT).content == b"PK"
    outside = tmp_path / "outside.zip"
    outside.write_bytes(b"secret")
    (inbox / "link.zip").symlink_to(outside)
    assert control(emu, "POST", "files", {"path": str(inbox / "link.zip")}).status_code == 403
    assert control(emu, "POST", "files", {"path": str(inbox / ".." / "x.zip")}).status_code == 403
    dropped = inbox / "abc123" / "drop.zip"
    dropped.parent.mkdir()
    dropped.write_bytes(b"PK2")
    assert requests.get(f"{emu.url}/inbox/abc123/drop.zip", timeout=TIMEOUT).content == b"PK2"
    os.symlink(outside, inbox / "abc123" / "evil.zip")
    assert requests.get(f"{emu.url}/inbox/abc123/evil.zip", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{emu.url}/inbox/%2E%2E/secret.txt", timeout=TIMEOUT).status_code == 404


def test_in_process_serve_file_still_serves_any_file_the_test_chose(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "Build.zip"
    path.write_bytes(b"PK")
    assert requests.get(emu.serve_file(path), timeout=TIMEOUT).content == b"PK"


def test_the_control_surface_needs_the_process_token(emu: Emulator) -> None:
    assert len(emu.control_token) >= 32
    assert Emulator(fast_config()).control_token != emu.control_token
    for name in ("state", "config", "requests", "faults", "webhooks"):
        assert control(emu, "GET", name, token=None).status_code == 401, name
        assert control(emu, "GET", name, token="wrong-token").status_code == 401, name
        assert control(emu, "GET", name).status_code == 200, name
    refused = control(emu, "POST", "reset", token=None)
    assert refused.status_code == 401 and "token" in refused.json()["message"]
    assert control(emu, "GET", "health", token=None).json() == {"status": "ok"}  # liveness stays open


def test_no_state_view_shows_api_keys(emu: Emulator) -> None:
    requests.get(f"{emu.api_url}/projects", params={"apikey": DEFAULT_API_KEY, "userId": "x"}, timeout=TIMEOUT)
    for name in ("state", "config", "requests", "webhooks"):
        assert DEFAULT_API_KEY not in control(emu, "GET", name).text, name
    assert DEFAULT_API_KEY not in repr(emu.state.dump())
    assert emu.state.dump()["users"][0]["api_key"] == "***"


def test_state_views_hide_a_webhook_urls_token() -> None:
    cfg = fast_config()
    showroom(cfg).webhook_url = "http://relay:s3cret-pass@127.0.0.1:9/hook?token=relay-token-123&x=1"
    with Emulator(cfg) as emu:
        client = Client(emu.api_url)
        client.post("/projects/test-webhook", projectId=showroom(cfg).id)
        shown = control(emu, "GET", "state").json()
        assert shown["projects"][0]["webhook_url"] == "http://***@127.0.0.1:9/hook?token=***&x=***"
        for name in ("state", "webhooks"):
            text = control(emu, "GET", name).text
            assert "relay-token-123" not in text and "s3cret-pass" not in text, name


@pytest.fixture
def exposed(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(fast_config(), host="0.0.0.0", control=request.param) as emu:  # noqa: S104 (the case under test)
        yield emu


@pytest.mark.parametrize("exposed", [None], indirect=True)
def test_a_non_loopback_address_warns_and_keeps_the_control_surface_off(
    exposed: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    local = exposed.url.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
    headers = {"Authorization": f"Bearer {exposed.control_token}"}
    assert requests.get(f"{local}/_emulator/state", headers=headers, timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{local}/_emulator/health", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{local}/pixelStripeApi/projects", timeout=TIMEOUT).status_code != 404  # API up
    assert not exposed.control_enabled


def test_binding_a_non_loopback_address_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), Emulator(fast_config(), host="0.0.0.0"):  # noqa: S104
        pass
    assert any(ALL_INTERFACES in r.getMessage() and "control" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("exposed", [True], indirect=True)
def test_the_control_surface_can_be_asked_for_on_a_non_loopback_address(exposed: Emulator) -> None:
    local = exposed.url.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
    headers = {"Authorization": f"Bearer {exposed.control_token}"}
    assert requests.get(f"{local}/_emulator/state", headers=headers, timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{local}/_emulator/state", timeout=TIMEOUT).status_code == 401


def test_the_emulator_command_prints_its_control_token() -> None:
    proc, lines = start_cli()
    try:
        text = "".join(lines)
        url = next(line.split()[-1] for line in lines if "listening on" in line)
        token = next(line.split()[-1] for line in lines if line.strip().startswith("control-token:"))
        assert requests.get(f"{url}/_emulator/state", timeout=TIMEOUT).status_code == 401
        state = requests.get(f"{url}/_emulator/state", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
        assert state.status_code == 200
        assert "Warning" not in text
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


def test_the_emulator_command_warns_on_a_non_loopback_host() -> None:
    proc, lines = start_cli("--host", "0.0.0.0")  # noqa: S104
    try:
        text = "".join(lines)
        assert "Warning" in text and ALL_INTERFACES in text and "--control" in text
        assert "control-token" not in text
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_emulator_command_removes_its_inbox_when_stopped(sig: signal.Signals, tmp_path: Path) -> None:
    """A runner (and the self-test workflow's `kill`) stops the emulator with SIGTERM: it used to die at once, and
    its inbox, holding a link to every build hosted with it, stayed in the temp folder."""
    temp = tmp_path / "temp"
    temp.mkdir()
    proc, lines = start_cli(env={**os.environ, "TMPDIR": str(temp)})
    try:
        url = next(line.split()[-1] for line in lines if "listening on" in line)
        inbox = Path(requests.get(f"{url}/_emulator/inbox", timeout=TIMEOUT).json()["dir"])
        (inbox / "drop").mkdir()
        (inbox / "drop" / "MyGame.zip").write_bytes(b"PK")
        assert inbox.parent == temp
        proc.send_signal(sig)
        assert proc.wait(TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
    assert list(temp.iterdir()) == []


def test_emulator_hosting_goes_through_the_inbox(emu: Emulator, tmp_path: Path) -> None:
    zip_path = tmp_path / "MyGame-1.0.zip"
    zip_path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with requests.Session() as session:
        host = EmulatorHost(emu.api_url, session)
        host.check(NullReporter())
        hosted = host.host(Upload(zip_path, "p", sha256="0" * 64), NullReporter())
    assert hosted.url.startswith(emu.url + "/inbox/") and hosted.url.endswith("/MyGame-1.0.zip")
    assert requests.get(hosted.url, timeout=TIMEOUT).content == zip_path.read_bytes()
