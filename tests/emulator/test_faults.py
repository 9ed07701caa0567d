"""Fault rules: every action, matching, counting, and the HTTP control surface for them."""

from __future__ import annotations

import json
import time

import pytest
import requests

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator

from .helpers import SEED_UPLOAD_ID, TIMEOUT, Client, default_body

URL = "https://cdn.example.com/builds/MyGame.zip"
PROJECT_PATH = f"/projects/{DEFAULT_PROJECT_ID}"


def upload_raw(emu: Emulator) -> requests.Response:
    return requests.post(
        emu.api_url + "/projects/upload-file", json={**default_body(), "fileUrl": URL}, timeout=TIMEOUT
    )


def test_status_fault_answers_without_handling(emu: Emulator, api: Client) -> None:
    emu.configure(rate_limit_window_seconds=0)
    page = "<html><body>502 Bad Gateway</body></html>"
    emu.add_fault(
        {
            "method": "POST",
            "path": "upload-file$",
            "action": "status",
            "status": 502,
            "body": page,
            "content_type": "text/html",
        }
    )
    failed = api.post("/projects/upload-file", fileUrl=URL)
    assert (failed.status_code, failed.text, failed.headers["Content-Type"]) == (502, page, "text/html")
    assert len(api.files()) == 1  # nothing created
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 201  # times defaults to 1


def test_status_fault_times_and_forever(emu: Emulator, api: Client) -> None:
    emu.add_fault({"method": "GET", "path": "^/projects/[^/]+$", "action": "status", "status": 503, "times": 2})
    assert [api.get(PROJECT_PATH).status_code for _ in range(3)] == [503, 503, 200]
    rule = emu.add_fault({"method": "*", "path": "", "action": "status", "status": 500, "times": -1})
    assert [api.get(PROJECT_PATH).status_code for _ in range(3)] == [500, 500, 500]
    assert api.post("/projects/test-webhook").json() == {"message": "Internal server error"}
    assert next(r for r in emu.faults() if r["id"] == rule["id"])["hits"] == 4
    emu.clear_faults()
    assert api.get(PROJECT_PATH).status_code == 200


def test_method_must_match(emu: Emulator, api: Client) -> None:
    emu.add_fault({"method": "POST", "path": "", "action": "status", "status": 500})
    assert api.get(PROJECT_PATH).status_code == 200
    assert api.post("/projects/test-webhook").status_code == 500


def test_invalid_json(emu: Emulator, api: Client) -> None:
    emu.configure(rate_limit_window_seconds=0)
    emu.add_fault({"method": "GET", "path": "^/projects/", "action": "invalid_json"})
    response = api.get(PROJECT_PATH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "invalid_json", "handle": True})
    handled = api.post("/projects/upload-file", fileUrl=URL)
    assert handled.status_code == 200
    assert handled.text.startswith('{"message": "Build queued for processing"')
    assert len(api.files()) == 2  # handled: the build exists


def test_reset_closes_without_answer(emu: Emulator, api: Client) -> None:
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "reset"})
    with pytest.raises(requests.ConnectionError):
        upload_raw(emu)
    assert len(api.files()) == 1
    assert emu.requests()[0]["status"] == 0
    assert emu.requests()[0]["fault"] == "reset"


def test_delay_then_normal(emu: Emulator, api: Client) -> None:
    emu.add_fault({"method": "GET", "path": "^/projects/", "action": "delay", "seconds": 0.3})
    started = time.monotonic()
    response = api.get(PROJECT_PATH)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_lost_response_creates_the_build(emu: Emulator, api: Client) -> None:
    emu.configure(rate_limit_window_seconds=0)
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response"})
    lost = api.post("/projects/upload-file", fileUrl=URL)
    assert (lost.status_code, lost.json()) == (500, {"message": "Internal server error"})
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response", "reset_after": True})
    with pytest.raises(requests.ConnectionError):
        upload_raw(emu)
    assert len(api.files()) == 3  # both requests were handled: two builds exist
    assert [r["status"] for r in emu.requests()[:2]] == [500, 0]


def test_lost_response_uses_the_rate_limit_slot(emu: Emulator, api: Client) -> None:
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response", "status": 504})
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 504
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 429  # a blind retry is punished


def test_hide_file(emu: Emulator, api: Client) -> None:
    emu.add_fault({"action": "hide_file", "upload_id": SEED_UPLOAD_ID, "times": 2})
    assert [[f["_id"] for f in api.files()] for _ in range(3)] == [[], [], [SEED_UPLOAD_ID]]


def test_status_sequence(emu: Emulator, api: Client) -> None:
    emu.add_fault(
        {
            "action": "status_sequence",
            "upload_id": SEED_UPLOAD_ID,
            "statuses": ["Saving to Repository", "Processing", "Reject"],
            "objection": "forced",
        }
    )
    seen = [(f["status"], f["objection"]) for f in (api.files()[0] for _ in range(4))]
    assert seen == [("Saving to Repository", None), ("Processing", None), ("Reject", "forced"), ("Approved", None)]
    build = emu.state.build(SEED_UPLOAD_ID)
    assert build is not None
    assert build.status == "Approved"  # only the reported status was forced


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "explode"},
        {"action": "status"},
        {"action": "status", "status": 999},
        {"action": "delay"},
        {"action": "hide_file"},
        {"action": "status_sequence", "upload_id": "x", "statuses": []},
        {"action": "reset", "path": "("},
        {"action": "reset", "times": 0},
        {"action": "reset", "seconds": 1},
    ],
)
def test_invalid_rules_are_refused(emu: Emulator, rule: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        emu.add_fault(rule)
    headers = {"Authorization": f"Bearer {emu.control_token}"}
    response = requests.post(emu.url + "/_emulator/faults", json=rule, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400
    assert emu.faults() == []


def test_faults_over_http(emu: Emulator, api: Client) -> None:
    rules = [
        {"method": "GET", "path": "^/projects$", "action": "status", "status": 502},
        {"action": "hide_file", "upload_id": SEED_UPLOAD_ID},
    ]
    added = requests.post(
        emu.url + "/_emulator/faults",
        json=rules,
        headers={"Authorization": f"Bearer {emu.control_token}"},
        timeout=TIMEOUT,
    )
    assert added.status_code == 201
    assert [r["action"] for r in added.json()] == ["status", "hide_file"]
    assert api.get("/projects").status_code == 502
    listed = requests.get(
        emu.url + "/_emulator/faults", headers={"Authorization": f"Bearer {emu.control_token}"}, timeout=TIMEOUT
    ).json()
    assert [(r["action"], r["times"], r["hits"]) for r in listed] == [("status", 0, 1), ("hide_file", 1, 0)]
    assert (
        requests.delete(
            emu.url + "/_emulator/faults", headers={"Authorization": f"Bearer {emu.control_token}"}, timeout=TIMEOUT
        ).status_code
        == 200
    )
    assert emu.faults() == []
    assert api.files() != []
