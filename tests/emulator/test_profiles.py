"""Profiles and the settings they bundle: what a client observes over HTTP under each reading of the docs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from streampixel_deploy.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_USER_ID,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    load_config,
)

from .helpers import (
    EU_PROJECT_ID,
    OTHER_PROJECT_ID,
    SEED_UPLOAD_ID,
    TIMEOUT,
    Client,
    Route,
    StubServer,
    fast_config,
    showroom,
    start_cli,
)

RAW = ["pending", "Downloading Files", "Extracting & Scanning", "Saving to Repository", "Distribute", "Approved"]
EVENTS = [f"build.{e}" for e in ("uploaded", "downloading", "extracting", "saving", "distributing", "approved")]
STAGE = 0.3  # long enough for a 20 ms poll to see every stage


def poll(api: Client, upload_id: str, done: Callable[[list[str]], bool], timeout: float = 10) -> list[str]:
    """The distinct successive ``files[].status`` values of the build, polled every 20 ms until ``done``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (entry,) = [f for f in api.files() if f["_id"] == upload_id]
        if not seen or seen[-1] != entry["status"]:
            seen.append(entry["status"])
        if done(seen):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"not done within {timeout} s: {seen}")


def ends_with(*tail: str) -> Callable[[list[str]], bool]:
    return lambda seen: seen[-len(tail) :] == list(tail)


def start(make_emulator: Callable[..., Emulator], make_client: Any, **settings: Any) -> tuple[Emulator, Client]:
    emu = make_emulator(fast_config(stage_delays=dict.fromkeys(RAW[:5], STAGE), **settings))
    api: Client = make_client(emu)
    return emu, api


# -- profiles --------------------------------------------------------------------------------------------


def test_default_profile_is_todays_behaviour() -> None:
    cfg = EmulatorConfig.default()
    assert cfg.profile == "default"
    assert cfg.to_dict() == EmulatorConfig.default(profile="default").to_dict()
    assert (cfg.approval_order, cfg.status_labels, cfg.distribute_lag_seconds, cfg.rate_limit_counts) == (
        "distribute-then-approved",
        "raw",
        0.0,
        "accepted",
    )
    assert (cfg.reject_at, cfg.webhook_order, cfg.webhook_duplicates, cfg.webhook_file_url) == (
        "where-found",
        "in-order",
        False,
        "always",
    )
    assert (cfg.endpoints, cfg.forbidden_message, cfg.get_project_auth) == ("all", "per-page", "apikey")


def test_strict_profile_from_python_and_yaml(tmp_path: Path) -> None:
    strict = EmulatorConfig.default(profile="strict")
    assert (strict.approval_order, strict.status_labels, strict.rate_limit_counts) == (
        "approved-then-distribute",
        "dashboard",
        "every-request",
    )
    assert (strict.webhook_order, strict.webhook_duplicates, strict.webhook_file_url) == ("roughly", True, "null-early")
    assert (strict.forbidden_message, strict.files_order, strict.distribute_lag_seconds) == (
        "forbidden",
        "newest-first",
        5.0,
    )
    path = tmp_path / "emulator.yaml"
    path.write_text("profile: strict\ndistribute_lag_seconds: 1\n", "utf-8")
    from_file = load_config(path)
    assert (from_file.profile, from_file.status_labels, from_file.distribute_lag_seconds) == (
        "strict",
        "dashboard",
        1.0,
    )
    # --profile replaces the file's profile; what the file sets explicitly still wins
    legacy = load_config(path, profile="legacy")
    assert (legacy.profile, legacy.endpoints, legacy.status_labels, legacy.distribute_lag_seconds) == (
        "legacy",
        "g1-g2",
        "raw",
        1.0,
    )
    assert EmulatorConfig.from_dict(strict.to_dict()).to_dict() == strict.to_dict()


def test_unknown_profile_and_reading_are_refused() -> None:
    with pytest.raises(EmulatorConfigError, match="profile must be one of"):
        EmulatorConfig.default(profile="lenient")
    with pytest.raises(EmulatorConfigError, match="approval_order must be one of"):
        EmulatorConfig.from_dict({"approval_order": "whenever"})


def test_strict_profile_end_to_end(
    make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path, stub: StubServer
) -> None:
    """Under ``strict`` a poller sees dashboard labels with an Archived build before it goes live."""
    cfg = EmulatorConfig.default(profile="strict")
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, STAGE)
    showroom(cfg).webhook_url = stub.url + "/hook"
    emu = make_emulator(cfg)
    api: Client = make_client(emu)
    upload_id = api.post("/projects/upload-file", fileUrl=emu.serve_file(game_zip)).json()["uploadId"]
    seen = poll(api, upload_id, ends_with("Current Live Build"))
    assert seen == [
        "Queued",
        "Downloading",
        "Extracting and Scanning",
        "Saving to Repository",
        "Archived",
        "Distributing to the Servers",
        "Current Live Build",
    ]
    assert api.files()[0]["_id"] == upload_id  # newest first
    bodies = stub.wait_for(14)  # 7 events, each twice
    assert sorted(b["event"] for b in bodies) == sorted([*EVENTS, "build.approved"] * 2)


# -- settings, one by one ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("distribute-then-approved", RAW),
        ("approved-then-distribute", [*RAW[:4], "Approved", "Distribute", "Approved"]),
    ],
)
def test_approval_order(
    make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path, order: str, expected: list[str]
) -> None:
    emu, api = start(make_emulator, make_client, approval_order=order)
    upload_id = api.upload(emu.serve_file(game_zip))
    assert poll(api, upload_id, ends_with("Distribute", "Approved")) == expected
    assert emu.state.dump()["projects"][0]["live_upload_id"] == upload_id


def test_status_labels_dashboard(make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path) -> None:
    emu, api = start(make_emulator, make_client, status_labels="dashboard", rate_limit_window_seconds=0)
    assert api.files()[0]["status"] == "Current Live Build"  # the seed build, live
    upload_id = api.upload(emu.serve_file(game_zip))
    assert poll(api, upload_id, ends_with("Current Live Build")) == [
        "Queued",
        "Downloading",
        "Extracting and Scanning",
        "Saving to Repository",
        "Distributing to the Servers",
        "Current Live Build",
    ]
    assert [f["status"] for f in api.files()] == ["Archived", "Current Live Build"]
    kept = api.upload(emu.serve_file(game_zip), autoRelease=False)
    emu.wait_for_status(kept, "Approved")
    assert api.files()[-1]["status"] == "Archived"  # processed, not live
    bad = api.upload(emu.url + "/files/nothing/here.zip")
    assert poll(api, bad, ends_with("Validation Failed"))[-1] == "Validation Failed"


def test_status_labels_raw(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    _, api = start(make_emulator, make_client)
    assert api.files()[0]["status"] == "Approved"


@pytest.mark.parametrize("lag", [0.0, 1.0])
def test_distribute_lag(make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path, lag: float) -> None:
    emu, api = start(make_emulator, make_client, distribute_lag_seconds=lag)
    upload_id = api.upload(emu.serve_file(game_zip), autoRelease=False)
    emu.wait_for_status(upload_id, "Approved")
    assert api.post("/projects/distribute-file", uploadId=upload_id).status_code == 200
    answered = time.monotonic()
    if lag:  # the stale Approved for the lag, then Distribute
        assert poll(api, upload_id, ends_with("Distribute")) == ["Approved", "Distribute"]
        assert time.monotonic() - answered >= lag - 0.1
    assert poll(api, upload_id, ends_with("Approved")) == ["Distribute", "Approved"]


@pytest.mark.parametrize(("counts", "second"), [("accepted", 201), ("every-request", 429)])
def test_rate_limit_counts(
    make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path, counts: str, second: int
) -> None:
    emu, api = start(make_emulator, make_client, rate_limit_counts=counts)
    refused = api.post("/projects/upload-file")  # no fileUrl
    assert refused.status_code == 400
    again = api.post("/projects/upload-file", fileUrl=emu.serve_file(game_zip))
    assert again.status_code == second
    if second == 429:
        assert again.json() == {"message": "Rate limit exceeded. Try again in 2 minutes."}


@pytest.mark.parametrize(
    ("reject_at", "expected"),
    [
        ("where-found", ["pending", "Downloading Files", "Reject"]),
        ("distribute", [*RAW[:5], "Reject"]),
    ],
)
def test_reject_at(
    make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer, reject_at: str, expected: list[str]
) -> None:
    stub.routes["/gone.zip"] = Route(404, b"gone", delay=STAGE)  # a download that fails after a moment
    _, api = start(make_emulator, make_client, reject_at=reject_at)
    upload_id = api.upload(stub.url + "/gone.zip")
    assert poll(api, upload_id, ends_with("Reject")) == expected
    (entry,) = [f for f in api.files() if f["_id"] == upload_id]
    assert entry["objection"] == "Download failed: the URL answered HTTP 404"


def hooked(make_emulator: Callable[..., Emulator], stub: StubServer, **settings: Any) -> tuple[Emulator, Client]:
    cfg = fast_config(**settings)
    showroom(cfg).webhook_url = stub.url + "/hook"
    emu = make_emulator(cfg)
    return emu, Client(emu.api_url)


def test_webhooks_in_order(make_emulator: Callable[..., Emulator], stub: StubServer, game_zip: Path) -> None:
    emu, api = hooked(make_emulator, stub)
    api.upload(emu.serve_file(game_zip))
    bodies = stub.wait_for(6)
    assert [b["event"] for b in bodies] == EVENTS
    assert all(b["fileUrl"] for b in bodies)


def test_webhooks_roughly_in_order(make_emulator: Callable[..., Emulator], stub: StubServer, game_zip: Path) -> None:
    emu, api = hooked(make_emulator, stub, webhook_order="roughly")
    api.upload(emu.serve_file(game_zip))
    events = [b["event"] for b in stub.wait_for(6)]
    assert sorted(events) == sorted(EVENTS)
    assert events != EVENTS
    assert all(abs(events.index(e) - i) <= 1 for i, e in enumerate(EVENTS))  # a small reordering only


def test_webhooks_duplicated(make_emulator: Callable[..., Emulator], stub: StubServer, game_zip: Path) -> None:
    emu, api = hooked(make_emulator, stub, webhook_duplicates=True)
    api.upload(emu.serve_file(game_zip))
    bodies = stub.wait_for(12)
    assert [b["event"] for b in bodies] == [e for e in EVENTS for _ in range(2)]
    assert bodies[0] == bodies[1]


def test_webhooks_file_url_null_early(make_emulator: Callable[..., Emulator], stub: StubServer, game_zip: Path) -> None:
    emu, api = hooked(make_emulator, stub, webhook_file_url="null-early")
    url = emu.serve_file(game_zip)
    api.upload(url)
    urls = {b["event"]: b["fileUrl"] for b in stub.wait_for(6)}
    assert urls == {**dict.fromkeys(EVENTS, url), "build.uploaded": None, "build.downloading": None}


def test_slow_receiver_delays_only_its_own_project(
    make_emulator: Callable[..., Emulator], stub: StubServer, game_zip: Path
) -> None:
    stub.routes["/slow"] = Route(200, b"{}", delay=5)
    cfg = fast_config(rate_limit_window_seconds=0)
    showroom(cfg).webhook_url = stub.url + "/slow"
    cfg.users[0].projects[1].webhook_url = stub.url + "/eu"
    emu = make_emulator(cfg)
    api = Client(emu.api_url)
    api.upload(emu.serve_file(game_zip))  # Showroom: its receiver takes 5 s per event
    stub.wait_for(1)
    sent = time.monotonic()
    eu = api.post("/projects/upload-file", projectId=EU_PROJECT_ID, fileUrl=emu.serve_file(game_zip))
    assert eu.status_code == 201
    stub.wait_until(lambda bodies: any(b["projectId"] == EU_PROJECT_ID for b in bodies), timeout=4)
    assert time.monotonic() - sent < 2


def test_endpoints_g1_g2(make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path) -> None:
    emu, api = start(make_emulator, make_client, endpoints="g1-g2")
    for path in (f"/projects/{DEFAULT_PROJECT_ID}", "/projects", "/projects/projects-status"):
        response = api.get(path)
        assert (response.status_code, response.json()) == (404, {"message": "Not found"}), path
    assert api.get(f"/projects/userStats/{DEFAULT_PROJECT_ID}").status_code == 404
    assert api.get(f"/projects/liveStats/{DEFAULT_PROJECT_ID}").status_code == 404
    assert api.post("/projects/test-webhook").status_code == 404
    assert api.post("/project/upload-file", fileUrl=emu.serve_file(game_zip)).status_code == 201
    assert api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID).status_code == 200


@pytest.mark.parametrize(
    ("wording", "messages"),
    [
        (
            "per-page",
            [
                "Forbidden: project does not belong to this user",
                "Access denied",
                "Forbidden: project does not belong to this user",
                "Access denied",
            ],
        ),
        ("not-owner", ["Forbidden: project does not belong to this user"] * 4),
        ("forbidden", ["Forbidden"] * 4),
        ("access-denied", ["Access denied"] * 4),
    ],
)
def test_forbidden_message(
    make_emulator: Callable[..., Emulator], make_client: Any, wording: str, messages: list[str]
) -> None:
    _, api = start(make_emulator, make_client, forbidden_message=wording)
    answers = [
        api.post("/projects/upload-file", projectId=OTHER_PROJECT_ID, fileUrl="https://example.com/b.zip"),
        api.post("/projects/distribute-file", projectId=OTHER_PROJECT_ID, uploadId=SEED_UPLOAD_ID),
        api.get(f"/projects/{OTHER_PROJECT_ID}"),
        api.get(f"/projects/userStats/{OTHER_PROJECT_ID}"),
    ]
    assert [(a.status_code, a.json()["message"]) for a in answers] == [(403, m) for m in messages]


@pytest.mark.parametrize(("auth", "status"), [("apikey", 401), ("user-id-only", 200)])
def test_get_project_auth(make_emulator: Callable[..., Emulator], make_client: Any, auth: str, status: int) -> None:
    _, api = start(make_emulator, make_client, get_project_auth=auth)
    response = api.get(f"/projects/{DEFAULT_PROJECT_ID}", creds=False, userId=DEFAULT_USER_ID)
    assert response.status_code == status
    wrong_key = api.get(f"/projects/{DEFAULT_PROJECT_ID}", apikey="rotated")
    assert (wrong_key.status_code, wrong_key.json()) == (401, {"message": "Unauthorized: Invalid API Key"})


def test_the_emulator_command_takes_a_profile() -> None:
    proc, lines = start_cli("--profile", "strict")
    try:
        assert "  profile: strict\n" in lines
        api_url = next(line.split()[-1] for line in lines if line.strip().startswith("api-url:"))
        query = {"userId": DEFAULT_USER_ID, "apikey": DEFAULT_API_KEY}
        other = requests.get(f"{api_url}/projects/{OTHER_PROJECT_ID}", params=query, timeout=TIMEOUT)
        assert (other.status_code, other.json()) == (403, {"message": "Forbidden"})
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


def test_the_emulator_command_refuses_an_unknown_profile() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "emulator", "--profile", "lenient"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "InputError: --profile 'lenient' could not be loaded" in done.stderr
    assert "profile must be one of ['default', 'strict', 'legacy', 'loose']" in done.stderr
