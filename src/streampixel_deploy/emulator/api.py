"""The Streampixel endpoints under ``/pixelStripeApi``, as docs/streampixel-api.md describes them.

Checks run in this order, and the first failure answers (all errors are ``{"message": ...}``):

1. route: unknown path 404 ``Not found``; known path, wrong method 405 ``Method not allowed``;
2. POST only: body must be a JSON object sent as ``application/json``, else 415;
3. API key present (``apiKey`` in a POST body, ``apikey`` in a GET query), else 401
   ``Unauthorized: Invalid API Key`` (userStats: 400 ``projectId, userId and apikey are required``);
4. required fields, else 400 ``Missing required field: <name>``;
5. ``userId`` known, else 401 ``Invalid User``; key is that user's key, else 401 (invalid key);
6. project exists, else 404 ``Project not found``; belongs to the user, else 403 with the wording
   of that endpoint's page (``Access denied`` for distribute-file and userStats,
   ``Forbidden: project does not belong to this user`` elsewhere); POSTs also answer 403
   ``Access denied`` for a disabled project or a read-only member;
7. field values (``autoRelease`` type, ``fileUrl`` format, build state);
8. rate limit (429), the very last gate, so only accepted requests use the slot (see ``state``).

The profile settings (:mod:`.profiles`) change some of this: ``rate_limit_counts: every-request`` makes the
rate limit the first gate after routing (any request naming a ``userId`` uses the slot, whatever its answer);
``endpoints: g1-g2`` answers 404 on every route but upload-file and distribute-file; ``forbidden_message``
picks one 403 wording for all; ``get_project_auth: user-id-only`` makes the key optional on Get Project;
``status_labels: dashboard`` shows the dashboard's labels (docs/streampixel-api.md §8.2) in ``files[].status``;
``distribute_lag_seconds`` leaves the build ``Approved`` for that long after distribute-file answers.

The shapes of an answer (issue 25, :mod:`.shapes`) are applied last to the handler's plain answer (numbers as
strings, the success envelope, 4xx answered 200 with ``"success": false``). ``id_type: number`` spells new
builds' IDs as JSON numbers (and accepts one in distribute-file), ``date_format`` writes ``files[].date`` as
epoch milliseconds or a bare day, ``listing_lag_seconds`` leaves a new build out of ``files[]`` for that long,
``max_page_size`` caps ``limit``, and ``rate_limit_header`` picks the header a 429 carries when
``send_retry_after`` is on.

Where Streampixel's docs are silent: ``GET /projects`` and ``liveStats`` accept an optional key
(``apikey`` or ``apiKey``) and validate it when given; ``GET /projects/{id}`` requires ``apikey``;
a missing ``page``/``limit`` is 1/20, ``limit`` is capped at 100 and ``totalPages`` is at least 1;
distribute-file moves the build to ``Distribute`` before it answers, so a poll right after a 2xx
never sees the stale ``Approved``.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from streampixel_deploy.emulator import messages
from streampixel_deploy.emulator.config import APPROVED, DISTRIBUTE
from streampixel_deploy.emulator.faults import FaultSet
from streampixel_deploy.emulator.pipeline import Pipeline
from streampixel_deploy.emulator.profiles import FORBIDDEN_MESSAGES, dashboard_label
from streampixel_deploy.emulator.shapes import date_in, shape, wait_header
from streampixel_deploy.emulator.state import ProjectRecord, Store, UserRecord, id_value
from streampixel_deploy.emulator.webhooks import TEST_EVENT, TEST_STATUS, WebhookSender, deliver, envelope, probe_result

PREFIX = "/pixelStripeApi"


@dataclass
class ApiRequest:
    method: str
    path: str  # after PREFIX, without a trailing slash
    query: dict[str, str]
    body: bytes = b""
    content_type: str = ""


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Fail(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.response = ApiResponse(status, {"message": message}, headers or {})


Handler = Callable[[ApiRequest, dict[str, str]], ApiResponse]


class Api:
    def __init__(self, store: Store, faults: FaultSet, pipeline: Pipeline, sender: WebhookSender) -> None:
        self._store = store
        self._faults = faults
        self._pipeline = pipeline
        self._sender = sender
        #: upload-file and distribute-file: the only endpoints of the older docs, and the rate-limited ones
        self._limited: dict[Handler, str] = {
            self.upload_file: "upload-file",
            self.distribute_file: "distribute-file",
        }
        table: list[tuple[str, dict[str, Handler]]] = [
            (r"/projects/upload-file", {"POST": self.upload_file}),
            (r"/project/upload-file", {"POST": self.upload_file}),
            (r"/projects/distribute-file", {"POST": self.distribute_file}),
            (r"/projects/test-webhook", {"POST": self.test_webhook}),
            (r"/projects", {"GET": self.list_projects}),
            (r"/projects/projects-status", {"GET": self.projects_status}),
            (r"/projects/userStats(?:/(?P<id>[^/]*))?", {"GET": self.user_stats}),
            (r"/projects/liveStats/(?P<id>[^/]+)", {"GET": self.live_stats}),
            (r"/projects/(?P<id>[^/]+)", {"GET": self.get_project}),
        ]
        self._routes = [(re.compile(pattern), methods) for pattern, methods in table]

    def handle(self, req: ApiRequest) -> ApiResponse:
        for pattern, methods in self._routes:
            match = pattern.fullmatch(req.path)
            if match is None:
                continue
            handler = methods.get(req.method)
            settings = self._store.settings
            if settings.endpoints == "g1-g2" and not any(h in self._limited for h in methods.values()):
                break
            if handler is None:
                allow = ", ".join(methods)
                return ApiResponse(405, {"message": "Method not allowed"}, {"Allow": allow})
            params = {k: unquote(v) for k, v in match.groupdict(default="").items()}
            try:
                bucket = self._limited.get(handler)
                if bucket is not None and settings.rate_limit_counts == "every-request":
                    self._rate_limit_any(req, bucket)
                return self._shape(handler(req, params))
            except Fail as fail:
                return self._shape(fail.response)
        return ApiResponse(404, {"message": "Not found"})

    def _shape(self, resp: ApiResponse) -> ApiResponse:
        """The answer in the shapes the settings pick (see the module docstring)."""
        status, body = shape(resp.status, resp.body, self._store.settings)
        return ApiResponse(status, body, resp.headers)

    # -- POST ------------------------------------------------------------------------------------

    def upload_file(self, req: ApiRequest, _: dict[str, str]) -> ApiResponse:
        body, user, project = self._post_context(req, ("fileUrl",), not_owner=messages.NOT_OWNER)
        auto_release = body.get("autoRelease", True)
        if not isinstance(auto_release, bool):
            raise Fail(400, "Invalid field: autoRelease must be a boolean")
        settings = self._store.settings
        url = body["fileUrl"]
        parts = urlsplit(url)
        if settings.strict_file_url and ("?" in url or parts.fragment or not parts.path.lower().endswith(".zip")):
            raise Fail(400, messages.STRICT_URL)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Fail(400, messages.BAD_URL)
        self._rate_limit(user, "upload-file")
        generation = self._store.generation
        upload_id, notice = self._store.create_build(project.id, url, auto_release)
        self._sender.notify(notice)
        self._pipeline.submit_upload(upload_id, generation)
        return ApiResponse(
            settings.upload_status_code,
            {"message": "Build queued for processing", "uploadId": id_value(upload_id, settings.id_type)},
        )

    def distribute_file(self, req: ApiRequest, _: dict[str, str]) -> ApiResponse:
        body, user, project = self._post_context(req, ("uploadId",), not_owner=messages.ACCESS_DENIED)
        upload_id = str(body["uploadId"])
        build = self._store.build(upload_id)
        if build is None or build.project_id != project.id:
            raise Fail(404, messages.FILE_NOT_FOUND)
        if build.status != APPROVED:
            raise Fail(400, messages.NOT_PROCESSED)
        self._rate_limit(user, "distribute-file")
        generation = self._store.generation
        lag = self._store.settings.distribute_lag_seconds
        if not lag:
            self._sender.notify(self._store.transition(upload_id, DISTRIBUTE, generation=generation))
        self._pipeline.submit_distribute(upload_id, generation, lag)
        if self._store.settings.distribute_response == "g2":
            return ApiResponse(
                200,
                {
                    "success": True,
                    "uploadId": id_value(upload_id, self._store.settings.id_type),
                    "region": project.region,
                    "message": "File distribution triggered successfully",
                },
            )
        return ApiResponse(200, {"message": "Distribution triggered"})

    def test_webhook(self, req: ApiRequest, _: dict[str, str]) -> ApiResponse:
        project = self._post_context(req, (), not_owner=messages.NOT_OWNER)[2]
        if not project.webhook_url:
            raise Fail(404, messages.NO_WEBHOOK)
        payload = envelope(TEST_EVENT, project.id, None, None, TEST_STATUS, None)
        timeout = self._store.settings.webhook_timeout_seconds
        result = deliver(project.webhook_url, payload, timeout)
        self._store.log_webhook(
            {
                "event": TEST_EVENT,
                "url": project.webhook_url,
                "upload_id": None,
                "status_code": result.status_code,
                "error": result.error,
                "payload": payload,
            }
        )
        return ApiResponse(200, probe_result(result, timeout))

    # -- GET -------------------------------------------------------------------------------------

    def list_projects(self, req: ApiRequest, _: dict[str, str]) -> ApiResponse:
        key = req.query.get("apikey", req.query.get("apiKey"))
        user = self._authenticate(req.query.get("userId"), key, key_required=False)
        page = _positive_int(req.query, "page", 1)
        limit = min(_positive_int(req.query, "limit", 20), self._store.settings.max_page_size)
        projects = self._store.projects_of(user.user_id)
        chunk = projects[(page - 1) * limit : page * limit]
        return ApiResponse(
            200,
            {
                "projects": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "region": p.region,
                        "status": p.status,
                        "createdAt": p.created_at,
                        "updatedAt": p.updated_at,
                    }
                    for p in chunk
                ],
                "page": page,
                "totalPages": max(1, math.ceil(len(projects) / limit)),
                "totalProjects": len(projects),
            },
        )

    def projects_status(self, req: ApiRequest, _: dict[str, str]) -> ApiResponse:
        user = self._authenticate(req.query.get("userId"), req.query.get("apikey"))
        projects = self._store.projects_of(user.user_id)
        return ApiResponse(
            200,
            {
                "totalProjects": len(projects),
                "projects": [
                    {
                        "_id": p.id,
                        "name": p.name,
                        "status": p.status == "active" and p.enabled,
                        "subscriptionStatus": p.subscription_status,
                    }
                    for p in projects
                ],
            },
        )

    def get_project(self, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
        settings = self._store.settings
        key_required = settings.get_project_auth == "apikey"
        user = self._authenticate(req.query.get("userId"), req.query.get("apikey"), key_required=key_required)
        p = self._owned_project(params["id"], user, not_owner=messages.NOT_OWNER)
        now = time.monotonic()
        files = [b.api_view() for b in p.builds if b.listed_from <= now]  # listing_lag_seconds
        for entry in files:
            entry["_id"] = id_value(entry["_id"], settings.id_type)
            entry["date"] = date_in(entry["date"], settings.date_format)
        if settings.status_labels == "dashboard":
            for entry in files:
                entry["status"] = dashboard_label(entry["status"], live=str(entry["_id"]) == p.live_upload_id)
        if self._store.settings.files_order == "newest-first":
            files.reverse()
        self._faults.filter_files(req.method, req.path, files)
        return ApiResponse(
            200,
            {
                "id": p.id,
                "name": p.name,
                "region": p.region,
                "status": p.status,
                "webhookUrl": p.webhook_url,
                "webhookEvents": list(p.webhook_events),
                "customDomain": p.custom_domain,
                "files": files,
                "liveUsers": p.live_users,
                "usersInQueue": p.users_in_queue,
                "subscriptionStatus": p.subscription_status,
                "createdAt": p.created_at,
                "updatedAt": p.updated_at,
            },
        )

    def user_stats(self, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
        user_id, key = req.query.get("userId"), req.query.get("apikey")
        if not (params["id"] and user_id and key):
            raise Fail(400, messages.USER_STATS_REQUIRED)
        user = self._authenticate(user_id, key)
        p = self._owned_project(params["id"], user, not_owner=messages.ACCESS_DENIED)
        return ApiResponse(200, {"liveUser": p.live_users, "queueUser": p.users_in_queue})

    def live_stats(self, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
        key = req.query.get("apikey", req.query.get("apiKey"))
        user = self._authenticate(req.query.get("userId"), key, key_required=False)
        p = self._owned_project(params["id"], user, not_owner=messages.NOT_OWNER)
        return ApiResponse(200, {"liveUser": p.live_users, "queueUser": p.users_in_queue})

    # -- shared checks ---------------------------------------------------------------------------

    def _post_context(
        self, req: ApiRequest, fields: tuple[str, ...], *, not_owner: str
    ) -> tuple[dict[str, Any], UserRecord, ProjectRecord]:
        body = _json_object(req)
        key = body.get("apiKey")
        if not isinstance(key, str) or not key:
            raise Fail(401, messages.INVALID_KEY)
        for name in ("userId", "projectId", *fields):
            value = body.get(name)
            if value is None or value == "":
                raise Fail(400, f"Missing required field: {name}")
            numeric_id = name == "uploadId" and self._store.settings.id_type == "number" and _is_int(value)
            if not isinstance(value, str) and not numeric_id:
                raise Fail(400, f"Invalid field: {name} must be a string")
        user = self._authenticate(body["userId"], key)
        project = self._owned_project(body["projectId"], user, not_owner=not_owner)
        if not project.enabled or project.readonly:
            raise Fail(403, self._forbidden(messages.ACCESS_DENIED))
        return body, user, project

    def _authenticate(self, user_id: str | None, key: str | None, *, key_required: bool = True) -> UserRecord:
        if key_required and not key:
            raise Fail(401, messages.INVALID_KEY)
        if not user_id:
            raise Fail(400, "Missing required field: userId")
        user = self._store.user(user_id)
        if user is None:
            raise Fail(401, messages.INVALID_USER)
        if key is not None and key != user.api_key:
            raise Fail(401, messages.INVALID_KEY)
        return user

    def _owned_project(self, project_id: str, user: UserRecord, *, not_owner: str) -> ProjectRecord:
        project = self._store.project(project_id)
        if project is None:
            raise Fail(404, messages.PROJECT_NOT_FOUND)
        if project.owner != user.user_id:
            raise Fail(403, self._forbidden(not_owner))
        return project

    def _forbidden(self, per_page: str) -> str:
        """The 403 message: the endpoint's page wording, or the one the ``forbidden_message`` setting picks."""
        return FORBIDDEN_MESSAGES.get(self._store.settings.forbidden_message, per_page)

    def _rate_limit_any(self, req: ApiRequest, bucket: str) -> None:
        """``every-request``: a request naming a ``userId`` takes (or is refused) the slot before any check."""
        try:
            data = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            return
        user_id = data.get("userId") if isinstance(data, dict) else None
        if isinstance(user_id, str) and user_id:
            self._acquire(user_id, bucket)

    def _rate_limit(self, user: UserRecord, bucket: str) -> None:
        if self._store.settings.rate_limit_counts == "accepted":
            self._acquire(user.user_id, bucket)

    def _acquire(self, user_id: str, bucket: str) -> None:
        remaining = self._store.try_acquire(user_id, bucket)
        if remaining is None:
            return
        settings = self._store.settings
        headers = wait_header(settings.rate_limit_header, remaining) if settings.send_retry_after else {}
        raise Fail(429, messages.RATE_LIMITED, headers)


def _json_object(req: ApiRequest) -> dict[str, Any]:
    media = req.content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Fail(415, messages.NOT_JSON)
    if not req.body.strip():
        return {}
    try:
        data = json.loads(req.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Fail(415, messages.NOT_JSON) from exc
    if not isinstance(data, dict):
        raise Fail(415, messages.NOT_JSON)
    return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise Fail(400, f"Invalid field: {name} must be a positive integer")
    return int(raw)
