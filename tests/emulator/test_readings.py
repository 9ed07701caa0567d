"""The shapes of an answer (issue 25): what a client sees over HTTP under each answer-shape setting."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator, EmulatorConfig

from .helpers import SEED_UPLOAD_ID, Client, Route, StubServer, fast_config, showroom

URL = "http://127.0.0.1:9/MyGame-2.0.zip"  # nothing listens: the pipeline rejects it at once


def start(make_emulator: Callable[..., Emulator], make_client: Any, **settings: Any) -> tuple[Emulator, Client]:
    emu = make_emulator(fast_config(**settings))
    api: Client = make_client(emu)
    return emu, api


def test_loose_profile_bundles_every_shape() -> None:
    cfg = EmulatorConfig.default(profile="loose")
    assert (cfg.response_envelope, cfg.id_type, cfg.number_format, cfg.date_format) == (
        "success-data",
        "number",
        "string",
        "epoch-ms",
    )
    assert (cfg.webhook_upload_id, cfg.error_bodies, cfg.send_retry_after, cfg.rate_limit_header) == (
        "null-early",
        "200-success-false",
        True,
        "x-ratelimit-reset",
    )
    assert EmulatorConfig.default().response_envelope == "bare"


def test_envelope_wraps_every_2xx(make_emulator: Any, make_client: Any) -> None:
    _, api = start(make_emulator, make_client, response_envelope="success-data")
    answer = api.post("/projects/upload-file", fileUrl=URL)
    assert answer.status_code == 201
    body = answer.json()
    assert body["success"] is True and isinstance(body["data"]["uploadId"], str)
    project = api.get(f"/projects/{DEFAULT_PROJECT_ID}").json()
    assert set(project) == {"success", "data"} and project["data"]["files"][0]["_id"] == SEED_UPLOAD_ID
    # errors keep the uniform shape (§4)
    refused = api.get(f"/projects/{DEFAULT_PROJECT_ID}", apikey="wrong")
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized: Invalid API Key"}


def test_numeric_ids(make_emulator: Any, make_client: Any) -> None:
    _, api = start(make_emulator, make_client, id_type="number", rate_limit_window_seconds=0)
    answer = api.post("/projects/upload-file", fileUrl=URL).json()
    upload_id = answer["uploadId"]
    assert isinstance(upload_id, int) and upload_id < 2**53
    listed = [f["_id"] for f in api.files()]
    assert listed == [SEED_UPLOAD_ID, upload_id]  # a seeded hex ID stays a string
    # distribute-file takes the number back (and its string spelling)
    taken = api.post("/projects/distribute-file", uploadId=upload_id).json()
    assert taken == {"message": "File has not finished processing"}  # read as an ID, not refused as a number
    assert api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID).status_code == 200


def test_numbers_as_strings_and_a_page_cap(make_emulator: Any, make_client: Any) -> None:
    cfg = fast_config(number_format="string", max_page_size=1)
    emu = make_emulator(cfg)
    api = make_client(emu)
    page = api.get("/projects", limit=100).json()
    assert (page["page"], page["totalPages"], page["totalProjects"]) == ("1", "2", "2")
    assert len(page["projects"]) == 1
    stats = api.get(f"/projects/userStats/{DEFAULT_PROJECT_ID}").json()
    assert stats == {"liveUser": "0", "queueUser": "0"}


@pytest.mark.parametrize(("form", "expected"), [("epoch-ms", 1776771000000), ("date-only", "2026-04-21")])
def test_date_formats(make_emulator: Any, make_client: Any, form: str, expected: Any) -> None:
    _, api = start(make_emulator, make_client, date_format=form)
    assert api.files()[0]["date"] == expected  # the seed build: 2026-04-21T11:30:00.000Z


def test_listing_lag(make_emulator: Any, make_client: Any) -> None:
    emu, api = start(make_emulator, make_client, listing_lag_seconds=0.6)
    upload_id = api.upload(URL)
    assert [f["_id"] for f in api.files()] == [SEED_UPLOAD_ID]
    assert any(b["_id"] == upload_id for b in emu.state.dump()["projects"][0]["files"])  # it exists all the same
    time.sleep(0.7)
    assert [f["_id"] for f in api.files()] == [SEED_UPLOAD_ID, upload_id]


def test_failure_bodies_are_200(make_emulator: Any, make_client: Any) -> None:
    _, api = start(make_emulator, make_client, error_bodies="200-success-false", rate_limit_window_seconds=30)
    bad = api.post("/projects/distribute-file", uploadId="665a2b3c4d5e6f7a8b9c0000")
    assert bad.status_code == 200 and bad.json() == {"success": False, "message": "File not found in project"}
    api.upload(URL)
    limited = api.post("/projects/upload-file", fileUrl=URL)
    assert limited.status_code == 429  # a rate limit keeps its status


@pytest.mark.parametrize("form", ["retry-after", "retry-after-date", "ratelimit-reset", "x-ratelimit-reset"])
def test_rate_limit_header_forms(make_emulator: Any, make_client: Any, form: str) -> None:
    _, api = start(
        make_emulator, make_client, send_retry_after=True, rate_limit_header=form, rate_limit_window_seconds=30
    )
    api.upload(URL)
    limited = api.post("/projects/upload-file", fileUrl=URL)
    assert limited.status_code == 429
    headers = limited.headers
    if form == "retry-after":
        assert headers["Retry-After"] == "30"
    elif form == "retry-after-date":
        when = email.utils.parsedate_to_datetime(headers["Retry-After"]).timestamp()
        assert 28 <= when - time.time() <= 32
    elif form == "ratelimit-reset":
        assert headers["RateLimit-Reset"] == "30" and "Retry-After" not in headers
    else:
        assert 28 <= int(headers["X-RateLimit-Reset"]) - time.time() <= 32 and "Retry-After" not in headers


def test_webhook_upload_id_null_early_and_numeric(make_emulator: Any, make_client: Any, stub: StubServer) -> None:
    stub.routes["/hook"] = Route(200)
    cfg = fast_config(webhook_upload_id="null-early", id_type="number")
    showroom(cfg).webhook_url = stub.url + "/hook"
    emu = make_emulator(cfg)
    api = make_client(emu)
    upload_id = api.upload(URL)  # the download fails: uploaded, downloading, rejected
    received = stub.wait_for(3)
    assert received[0]["event"] == "build.uploaded" and received[0]["uploadId"] is None
    assert received[1]["uploadId"] == upload_id and isinstance(upload_id, int)
    log = emu.webhook_deliveries()
    assert log[0]["upload_id"] == str(upload_id)  # the log names the build whatever the payload says
