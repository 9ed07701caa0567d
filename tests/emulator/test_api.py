"""Every /pixelStripeApi endpoint: success shapes (both documented variants) and error answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator

from .helpers import (
    EU_PROJECT_ID,
    OTHER_API_KEY,
    OTHER_PROJECT_ID,
    SEED_UPLOAD_ID,
    TIMEOUT,
    Client,
    default_body,
    fast_config,
    showroom,
)

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ZIP_URL = "https://cdn.example.com/builds/MyGame-1.4.0.zip"

# -- upload-file -------------------------------------------------------------------------------


def test_upload_queues_a_build_that_appears_at_once(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    emu = make_emulator(stage_delays={"pending": 5.0})
    api: Client = make_client(emu)
    response = api.post("/projects/upload-file", fileUrl=ZIP_URL, autoRelease=True)
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Build queued for processing"
    assert re.fullmatch(r"[0-9a-f]{24}", body["uploadId"])
    assert set(body) == {"message", "uploadId"}
    entry = api.files()[-1]
    assert entry["_id"] == body["uploadId"]
    assert (entry["url"], entry["status"], entry["objection"]) == (ZIP_URL, "pending", None)
    assert ISO_MS.match(entry["date"])


def test_upload_status_code_is_configurable_and_old_path_works(emu: Emulator, api: Client) -> None:
    emu.configure(upload_status_code=200, rate_limit_window_seconds=0)
    assert api.post("/projects/upload-file", fileUrl=ZIP_URL).status_code == 200
    old = api.post("/project/upload-file", fileUrl=ZIP_URL)
    assert old.status_code == 200
    assert old.json()["message"] == "Build queued for processing"
    assert len(api.files()) == 3  # the seed build and two new ones


@pytest.mark.parametrize("value", ["false", 0, None, [True]])
def test_auto_release_must_be_boolean(api: Client, value: Any) -> None:
    response = api.post("/projects/upload-file", fileUrl=ZIP_URL, autoRelease=value)
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid field: autoRelease must be a boolean"}


@pytest.mark.parametrize("missing", ["userId", "projectId", "fileUrl"])
def test_upload_missing_field(api: Client, missing: str) -> None:
    body = {**default_body(), "fileUrl": ZIP_URL}
    del body[missing]
    response = api.post("/projects/upload-file", body)
    assert response.status_code == 400
    assert response.json() == {"message": f"Missing required field: {missing}"}


def test_upload_rejects_a_non_http_url(api: Client) -> None:
    response = api.post("/projects/upload-file", fileUrl="ftp://example.com/a.zip")
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid URL format")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://b.s3.amazonaws.com/MyGame.zip", 201),
        ("https://b.s3.amazonaws.com/MyGame.zip?X-Amz-Signature=abc", 400),
        ("https://b.s3.amazonaws.com/MyGame.tar.gz", 400),
    ],
)
def test_strict_file_url(make_emulator: Callable[..., Emulator], make_client: Any, url: str, status: int) -> None:
    api = make_client(make_emulator(strict_file_url=True))
    response = api.post("/projects/upload-file", fileUrl=url)
    assert response.status_code == status
    if status == 400:
        assert response.json() == {"message": "Invalid URL format: fileUrl must end with .zip and have no query string"}


def test_signed_url_is_accepted_when_not_strict(api: Client) -> None:
    response = api.post("/projects/upload-file", fileUrl=ZIP_URL + "?X-Amz-Signature=abc")
    assert response.status_code == 201


# -- authentication and authorization (POST) ---------------------------------------------------


@pytest.mark.parametrize(
    ("override", "status", "message"),
    [
        ({"apiKey": None}, 401, "Unauthorized: Invalid API Key"),
        ({"apiKey": "sp-wrong"}, 401, "Unauthorized: Invalid API Key"),
        ({"apiKey": OTHER_API_KEY}, 401, "Unauthorized: Invalid API Key"),
        ({"userId": "000000000000000000000000"}, 401, "Invalid User"),
        ({"projectId": OTHER_PROJECT_ID}, 403, "Forbidden: project does not belong to this user"),
        ({"projectId": "000000000000000000000000"}, 404, "Project not found"),
    ],
)
def test_upload_auth_errors(api: Client, override: dict[str, Any], status: int, message: str) -> None:
    body = {**default_body(), "fileUrl": ZIP_URL, **override}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/projects/upload-file", body)
    assert (response.status_code, response.json()) == (status, {"message": message})
    assert len(api.files()) == 1  # nothing was created


@pytest.mark.parametrize("flag", ["disabled", "readonly"])
def test_disabled_project_or_readonly_member_is_denied_on_post(
    make_emulator: Callable[..., Emulator], make_client: Any, flag: str
) -> None:
    cfg = fast_config()
    if flag == "disabled":
        showroom(cfg).enabled = False
    else:
        showroom(cfg).readonly = True
    api = make_client(make_emulator(cfg))
    for path, extra in (
        ("/projects/upload-file", {"fileUrl": ZIP_URL}),
        ("/projects/distribute-file", {"uploadId": SEED_UPLOAD_ID}),
    ):
        response = api.post(path, **extra)
        assert (response.status_code, response.json()) == (403, {"message": "Access denied"})
    assert api.get(f"/projects/{DEFAULT_PROJECT_ID}").status_code == 200  # reads stay allowed


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("apiKey=x&userId=y", "application/x-www-form-urlencoded"),
        ('{"apiKey": "x", ', "application/json"),
        ("[1, 2]", "application/json"),
        ('{"apiKey": "x"}', "text/plain"),
    ],
)
def test_body_that_is_not_a_json_object_is_415(emu: Emulator, data: str, content_type: str) -> None:
    response = requests.post(
        emu.api_url + "/projects/upload-file", data=data, headers={"Content-Type": content_type}, timeout=TIMEOUT
    )
    assert response.status_code == 415
    assert set(response.json()) == {"message"}


def test_unknown_path_and_wrong_method(emu: Emulator, api: Client) -> None:
    for url in (emu.api_url + "/nope", emu.api_url + "/projects/a/b/c", emu.url + "/somewhere"):
        response = requests.get(url, timeout=TIMEOUT)
        assert (response.status_code, response.json()) == (404, {"message": "Not found"})
    wrong = requests.get(emu.api_url + "/projects/upload-file", timeout=TIMEOUT)
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    assert requests.post(emu.api_url + "/projects", json={}, timeout=TIMEOUT).status_code == 405


# -- distribute-file ---------------------------------------------------------------------------


def test_distribute_errors(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    emu = make_emulator(stage_delays={"pending": 5.0})
    api = make_client(emu)
    unknown = api.post("/projects/distribute-file", uploadId="000000000000000000000000")
    assert (unknown.status_code, unknown.json()) == (404, {"message": "File not found in project"})
    wrong_project = api.post("/projects/distribute-file", projectId=EU_PROJECT_ID, uploadId=SEED_UPLOAD_ID)
    assert wrong_project.status_code == 404
    processing = api.post("/projects/distribute-file", uploadId=api.upload(ZIP_URL))
    assert (processing.status_code, processing.json()) == (400, {"message": "File has not finished processing"})
    missing = api.post("/projects/distribute-file")
    assert (missing.status_code, missing.json()) == (400, {"message": "Missing required field: uploadId"})
    other = api.post("/projects/distribute-file", projectId=OTHER_PROJECT_ID, uploadId=SEED_UPLOAD_ID)
    assert (other.status_code, other.json()) == (403, {"message": "Access denied"})


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("g3", {"message": "Distribution triggered"}),
        (
            "g2",
            {
                "success": True,
                "uploadId": SEED_UPLOAD_ID,
                "region": "us-east-1",
                "message": "File distribution triggered successfully",
            },
        ),
    ],
)
def test_distribute_response_variants(emu: Emulator, api: Client, variant: str, expected: dict[str, Any]) -> None:
    emu.configure(distribute_response=variant)
    response = api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID)
    assert (response.status_code, response.json()) == (200, expected)


# -- list projects (both variants) -------------------------------------------------------------


def test_list_projects_variant_a_paginates(api: Client) -> None:
    response = api.get("/projects", apikey=None)  # the documented example sends only userId
    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["totalPages"], body["totalProjects"]) == (1, 1, 2)
    first = body["projects"][0]
    assert set(first) == {"id", "name", "region", "status", "createdAt", "updatedAt"}
    assert (first["id"], first["name"], first["region"], first["status"]) == (
        DEFAULT_PROJECT_ID,
        "Showroom",
        "us-east-1",
        "active",
    )
    assert ISO_MS.match(first["createdAt"])
    page2 = api.get("/projects", page=2, limit=1, apiKey=DEFAULT_API_KEY, apikey=None).json()
    assert (page2["page"], page2["totalPages"], [p["id"] for p in page2["projects"]]) == (2, 2, [EU_PROJECT_ID])


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"apikey": "wrong"}, 401, "Unauthorized: Invalid API Key"),
        ({"userId": "000000000000000000000000"}, 401, "Invalid User"),
        ({"userId": None}, 400, "Missing required field: userId"),
        ({"page": "0"}, 400, "Invalid field: page must be a positive integer"),
        ({"limit": "x"}, 400, "Invalid field: limit must be a positive integer"),
    ],
)
def test_list_projects_errors(api: Client, query: dict[str, Any], status: int, message: str) -> None:
    response = api.get("/projects", **query)
    assert (response.status_code, response.json()) == (status, {"message": message})


def test_projects_status_variant_b(api: Client) -> None:
    body = api.get("/projects/projects-status").json()
    assert body == {
        "totalProjects": 2,
        "projects": [
            {"_id": DEFAULT_PROJECT_ID, "name": "Showroom", "status": True, "subscriptionStatus": "active"},
            {"_id": EU_PROJECT_ID, "name": "Config EU", "status": True, "subscriptionStatus": "active"},
        ],
    }
    missing_key = api.get("/projects/projects-status", apikey=None)
    assert (missing_key.status_code, missing_key.json()) == (401, {"message": "Unauthorized: Invalid API Key"})


# -- get project -------------------------------------------------------------------------------


def test_get_project_full_shape(api: Client) -> None:
    response = api.get(f"/projects/{DEFAULT_PROJECT_ID}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "region",
        "status",
        "webhookUrl",
        "webhookEvents",
        "customDomain",
        "files",
        "liveUsers",
        "usersInQueue",
        "subscriptionStatus",
        "createdAt",
        "updatedAt",
    }
    assert (body["id"], body["status"], body["liveUsers"], body["usersInQueue"]) == (DEFAULT_PROJECT_ID, "active", 0, 0)
    assert body["files"] == [
        {
            "_id": SEED_UPLOAD_ID,
            "url": "https://builds.example.com/showroom/Showroom-1.0.0.zip",
            "status": "Approved",
            "date": "2026-04-21T11:30:00.000Z",
            "objection": None,
        }
    ]


@pytest.mark.parametrize(
    ("project_id", "query", "status", "message"),
    [
        (DEFAULT_PROJECT_ID, {"apikey": None}, 401, "Unauthorized: Invalid API Key"),
        (OTHER_PROJECT_ID, {}, 403, "Forbidden: project does not belong to this user"),
        ("000000000000000000000000", {}, 404, "Project not found"),
    ],
)
def test_get_project_errors(api: Client, project_id: str, query: dict[str, Any], status: int, message: str) -> None:
    response = api.get(f"/projects/{project_id}", **query)
    assert (response.status_code, response.json()) == (status, {"message": message})


@pytest.mark.parametrize("order", ["oldest-first", "newest-first"])
def test_files_order_is_configurable(emu: Emulator, api: Client, order: str) -> None:
    emu.configure(files_order=order, rate_limit_window_seconds=0, stage_delays={"pending": 5.0})
    first, second = api.upload(ZIP_URL), api.upload(ZIP_URL)
    ids = [f["_id"] for f in api.files()]
    expected = [SEED_UPLOAD_ID, first, second]
    assert ids == (expected if order == "oldest-first" else expected[::-1])


# -- live counts -------------------------------------------------------------------------------


def test_user_stats_and_live_stats(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    cfg = fast_config()
    showroom(cfg).live_users, showroom(cfg).users_in_queue = 7, 2
    api = make_client(make_emulator(cfg))
    stats = api.get(f"/projects/userStats/{DEFAULT_PROJECT_ID}")
    assert (stats.status_code, stats.json()) == (200, {"liveUser": 7, "queueUser": 2})
    live = api.get(f"/projects/liveStats/{DEFAULT_PROJECT_ID}", apikey=None)
    assert (live.status_code, live.json()) == (200, {"liveUser": 7, "queueUser": 2})
    assert api.get(f"/projects/{DEFAULT_PROJECT_ID}").json()["liveUsers"] == 7


@pytest.mark.parametrize(
    ("path", "query", "status", "message"),
    [
        (
            f"/projects/userStats/{DEFAULT_PROJECT_ID}",
            {"apikey": None},
            400,
            "projectId, userId and apikey are required",
        ),
        (
            f"/projects/userStats/{DEFAULT_PROJECT_ID}",
            {"userId": None},
            400,
            "projectId, userId and apikey are required",
        ),
        ("/projects/userStats/", {}, 400, "projectId, userId and apikey are required"),
        (f"/projects/userStats/{DEFAULT_PROJECT_ID}", {"apikey": "bad"}, 401, "Unauthorized: Invalid API Key"),
        (f"/projects/userStats/{OTHER_PROJECT_ID}", {}, 403, "Access denied"),
        ("/projects/userStats/000000000000000000000000", {}, 404, "Project not found"),
        (f"/projects/liveStats/{OTHER_PROJECT_ID}", {}, 403, "Forbidden: project does not belong to this user"),
        (f"/projects/liveStats/{DEFAULT_PROJECT_ID}", {"userId": "x"}, 401, "Invalid User"),
    ],
)
def test_stats_errors(api: Client, path: str, query: dict[str, Any], status: int, message: str) -> None:
    response = api.get(path, **query)
    assert (response.status_code, response.json()) == (status, {"message": message})


def test_get_endpoints_do_not_take_the_camel_case_post_key(api: Client) -> None:
    response = api.get(f"/projects/{DEFAULT_PROJECT_ID}", apikey=None, apiKey=DEFAULT_API_KEY)
    assert response.status_code == 401
    assert api.get("/projects", userId=DEFAULT_USER_ID, apikey=DEFAULT_API_KEY).status_code == 200
