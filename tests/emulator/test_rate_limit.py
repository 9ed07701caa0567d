"""1 request per window per userId for upload-file and distribute-file (docs/streampixel-api.md §5)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streampixel_deploy.emulator import DEFAULT_USER_ID, Emulator

from .helpers import EU_PROJECT_ID, OTHER_API_KEY, OTHER_PROJECT_ID, OTHER_USER_ID, SEED_UPLOAD_ID, Client

URL = "https://cdn.example.com/builds/MyGame.zip"
RATE_LIMITED = {"message": "Rate limit exceeded. Try again in 2 minutes."}


def test_second_upload_in_the_window_is_429_per_user(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    emu = make_emulator(stage_delays={"pending": 5.0, "Distribute": 0.05})
    api: Client = make_client(emu)
    api.upload(URL)
    again = api.post("/projects/upload-file", fileUrl=URL)
    assert (again.status_code, again.json()) == (429, RATE_LIMITED)
    assert "Retry-After" not in again.headers
    # the budget belongs to the user, not the project
    other_project = api.post("/projects/upload-file", fileUrl=URL, projectId=EU_PROJECT_ID)
    assert other_project.status_code == 429
    assert len(api.files()) == 2  # the seed build and the one accepted upload
    # another account has its own budget
    other = api.post(
        "/projects/upload-file",
        apiKey=OTHER_API_KEY,
        userId=OTHER_USER_ID,
        projectId=OTHER_PROJECT_ID,
        fileUrl=URL,
    )
    assert other.status_code == 201
    # distribute-file has a budget of its own
    assert api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID).status_code == 200
    emu.wait_for_status(SEED_UPLOAD_ID, "Approved", timeout=5)
    again = api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID)
    assert (again.status_code, again.json()) == (429, RATE_LIMITED)
    limits = emu.state.dump()["rate_limits"][DEFAULT_USER_ID]
    assert set(limits) == {"upload-file", "distribute-file"}
    assert 0 < limits["upload-file"] <= 120


def test_window_expires(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    api: Client = make_client(make_emulator(rate_limit_window_seconds=0.5))
    api.upload(URL)
    assert api.post("/project/upload-file", fileUrl=URL).status_code == 429  # the old path shares the budget
    time.sleep(0.55)
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 201


def test_retry_after_when_enabled(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    api: Client = make_client(make_emulator(send_retry_after=True, rate_limit_window_seconds=30))
    api.upload(URL)
    response = api.post("/projects/upload-file", fileUrl=URL)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"


def test_rejected_requests_do_not_use_the_slot(api: Client) -> None:
    assert api.post("/projects/upload-file").status_code == 400
    assert api.post("/projects/upload-file", fileUrl=URL, autoRelease="no").status_code == 400
    assert api.post("/projects/upload-file", fileUrl=URL, apiKey="bad").status_code == 401
    assert api.post("/projects/distribute-file", uploadId="000000000000000000000000").status_code == 404
    assert api.post("/projects/upload-file", fileUrl=URL).status_code == 201
    assert api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID).status_code == 200
