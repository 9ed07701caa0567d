"""The /_emulator control surface, the request log, served files and the Emulator lifecycle."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator

from .helpers import SEED_UPLOAD_ID, TIMEOUT, Client, fast_config

URL = "https://cdn.example.com/builds/MyGame.zip"


def control(emu: Emulator, method: str, name: str, body: object = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {emu.control_token}"}
    return requests.request(method, f"{emu.url}/_emulator/{name}", json=body, headers=headers, timeout=TIMEOUT)


def test_health_and_state(emu: Emulator, api: Client) -> None:
    assert control(emu, "GET", "health").json() == {"status": "ok"}
    upload_id = api.upload(URL, autoRelease=False)
    state = control(emu, "GET", "state").json()
    assert set(state) == {"settings", "users", "projects", "rate_limits", "webhook_deliveries", "faults"}
    assert [u["user_id"] for u in state["users"]][:1] == [DEFAULT_USER_ID]
    showroom = state["projects"][0]
    assert (showroom["id"], showroom["live_upload_id"]) == (DEFAULT_PROJECT_ID, SEED_UPLOAD_ID)
    new = showroom["files"][-1]
    assert (new["_id"], new["auto_release"], new["history"][0]["status"]) == (upload_id, False, "pending")
    assert "upload-file" in state["rate_limits"][DEFAULT_USER_ID]
    assert state["settings"]["stage_delays"]["pending"] == 0.05


def test_reset_restores_the_loaded_config(emu: Emulator, api: Client) -> None:
    api.upload(URL)
    emu.configure(files_order="newest-first")
    emu.add_fault({"method": "GET", "path": "^/projects$", "action": "status", "status": 500, "times": -1})
    response = control(emu, "POST", "reset")
    assert (response.status_code, response.json()) == (200, {"message": "Emulator reset"})
    assert emu.faults() == []
    assert emu.requests() == []
    assert emu.state.settings.files_order == "oldest-first"
    assert [f["_id"] for f in api.files()] == [SEED_UPLOAD_ID]
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 201  # rate limit cleared


def test_config_patch(emu: Emulator) -> None:
    patched = control(emu, "POST", "config", {"stage_delays": {"Distribute": 1.0}, "distribute_response": "g2"})
    assert patched.status_code == 200
    assert patched.json()["stage_delays"] == {
        "pending": 0.05,
        "Downloading Files": 0.05,
        "Extracting & Scanning": 0.05,
        "Saving to Repository": 0.05,
        "Distribute": 1.0,
    }
    assert control(emu, "GET", "config").json()["distribute_response"] == "g2"
    bad: object
    for bad in ({"files_order": "random"}, {"users": []}, {"rate_limit_window_seconds": "soon"}, [1]):
        response = control(emu, "POST", "config", bad)
        assert response.status_code == 400
        assert response.json()["message"]
    with pytest.raises(ValueError, match="upload_status_code"):
        emu.configure(upload_status_code=302)


def test_request_log_redacts_keys_and_skips_controls(emu: Emulator, api: Client) -> None:
    api.get(f"/projects/{DEFAULT_PROJECT_ID}")
    api.post("/projects/test-webhook")
    requests.get(emu.url + "/elsewhere", timeout=TIMEOUT)
    control(emu, "GET", "state")
    log = control(emu, "GET", "requests").json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", f"/pixelStripeApi/projects/{DEFAULT_PROJECT_ID}", 200),
        ("POST", "/pixelStripeApi/projects/test-webhook", 404),
        ("GET", "/elsewhere", 404),
    ]
    assert log[0]["query"] == {"userId": DEFAULT_USER_ID, "apikey": "***"}
    assert log[1]["body"]["apiKey"] == "***"
    assert DEFAULT_API_KEY not in str(log)
    assert not [e for e in emu.requests() if e["method"] == "POST" and e["path"].endswith("upload-file")]
    assert control(emu, "DELETE", "requests").status_code == 200
    assert emu.requests() == []


def test_control_unknown_path_and_method(emu: Emulator) -> None:
    assert control(emu, "GET", "nothing").status_code == 404
    assert control(emu, "GET", "reset").status_code == 405
    bad_json = requests.post(
        emu.url + "/_emulator/faults",
        data="{",
        headers={"Authorization": f"Bearer {emu.control_token}"},
        timeout=TIMEOUT,
    )
    assert bad_json.status_code == 400


def test_served_file_with_ranges(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "Build.zip"
    data = bytes(range(256)) * 40
    path.write_bytes(data)
    url = emu.serve_file(path)
    assert url.startswith(emu.url + "/files/") and url.endswith("/Build.zip")
    full = requests.get(url, timeout=TIMEOUT)
    assert (full.status_code, full.content, full.headers["Content-Type"]) == (200, data, "application/zip")
    assert full.headers["Accept-Ranges"] == "bytes"
    head = requests.head(url, timeout=TIMEOUT)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, str(len(data)), b"")
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=TIMEOUT)
    assert (part.status_code, part.content, part.headers["Content-Range"]) == (
        206,
        data[10:20],
        f"bytes 10-19/{len(data)}",
    )
    tail = requests.get(url, headers={"Range": "bytes=-5"}, timeout=TIMEOUT)
    assert (tail.status_code, tail.content) == (206, data[-5:])
    open_end = requests.get(url, headers={"Range": f"bytes={len(data) - 3}-"}, timeout=TIMEOUT)
    assert open_end.content == data[-3:]
    beyond = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=TIMEOUT)
    assert (beyond.status_code, beyond.headers["Content-Range"]) == (416, f"bytes */{len(data)}")
    assert requests.get(url.replace("/Build.zip", "/Other.zip"), timeout=TIMEOUT).status_code == 404
    assert requests.get(emu.url + "/files/unknown/Build.zip", timeout=TIMEOUT).status_code == 404
    assert requests.post(url, timeout=TIMEOUT).status_code == 405


def test_register_a_file_over_http(emu: Emulator, tmp_path: Path) -> None:
    path = emu.inbox / "b.zip"
    path.write_bytes(b"PK")
    response = control(emu, "POST", "files", {"path": str(path)})
    assert response.status_code == 201
    assert requests.get(response.json()["url"], timeout=TIMEOUT).content == b"PK"
    assert control(emu, "POST", "files", {"path": str(emu.inbox / "absent.zip")}).status_code == 400
    with pytest.raises(FileNotFoundError):
        emu.serve_file(tmp_path / "absent.zip")


def test_wait_for_status_timeout_and_reject(emu: Emulator, api: Client) -> None:
    emu.configure(rate_limit_window_seconds=0, stage_delays={"pending": 5.0})
    slow = api.upload(URL)
    with pytest.raises(TimeoutError, match="pending"):
        emu.wait_for_status(slow, "Approved", timeout=0.1)
    emu.configure(stage_delays={"pending": 0.0})
    doomed = api.upload("http://127.0.0.1:9/nothing.zip")
    with pytest.raises(RuntimeError, match="could not connect"):
        emu.wait_for_status(doomed, "Approved", timeout=5)


def test_lifecycle() -> None:
    emu = Emulator(fast_config())
    with pytest.raises(RuntimeError, match="start"):
        _ = emu.url
    with emu as running:
        assert running is emu
        assert emu.api_url == emu.url + "/pixelStripeApi"
        with pytest.raises(RuntimeError):
            emu.start()
        assert requests.get(emu.url + "/_emulator/health", timeout=TIMEOUT).status_code == 200
        url = emu.url
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_emulator/health", timeout=TIMEOUT)
    with pytest.raises(RuntimeError, match="stopped"):
        emu.start()


def test_two_emulators_get_their_own_ports() -> None:
    with Emulator(fast_config()) as one, Emulator(fast_config()) as two:
        assert one.url != two.url


def test_serve_forever_until_stopped() -> None:
    emu = Emulator(fast_config())
    thread = threading.Thread(target=emu.serve_forever)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while emu._server is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert requests.get(emu.url + "/_emulator/health", timeout=TIMEOUT).status_code == 200
    emu.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_keep_alive_connection_does_not_block_stop(emu: Emulator, api: Client) -> None:
    assert api.get("/projects").status_code == 200  # the session keeps its connection open
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 1
