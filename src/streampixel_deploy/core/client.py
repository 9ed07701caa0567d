"""The Streampixel REST client: one session factory, every documented endpoint and its doc variants.

Auth is exactly as documented: ``apiKey`` in POST bodies, ``apikey`` (lower case) in GET queries, ``userId``
beside it. GETs are retried by urllib3 (connection errors, 5xx, 429) with exponential backoff and jitter.
POSTs are only retried on connection errors that happen before the request is sent; anything after that
may have reached the server and is handed back to the caller (see ``pipeline`` for how a lost upload
response is recovered without creating a duplicate build).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from streampixel_deploy import _version
from streampixel_deploy.core.errors import ApiError, AuthError, BadResponse, NotFound, RateLimited, TransportError
from streampixel_deploy.core.models import Project, ProjectSummary
from streampixel_deploy.core.redact import redact_text, redact_url, scrub

USER_AGENT = f"streampixel-deploy/{_version.__version__} (+https://github.com/streampixel-deploy)"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
RETRY_AFTER_CAP = 30.0
_DOMAIN_404 = ("project not found", "file not found in project", "no webhook url configured")


class _CappedRetry(Retry):
    """urllib3's Retry, but a server's Retry-After never makes one GET sleep longer than RETRY_AFTER_CAP."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def make_session(retries: int = 4, backoff: float = 0.25) -> requests.Session:
    """The one place sessions are made: User-Agent, retry policy, JSON accept header."""
    retry = _CappedRetry(
        total=retries + 2,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=8.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


@dataclass(frozen=True)
class UploadAccepted:
    upload_id: str
    message: str
    status_code: int


@dataclass(frozen=True)
class DistributeAccepted:
    message: str
    region: str | None


@dataclass(frozen=True)
class WebhookTest:
    success: bool
    message: str
    status_code: int


@dataclass(frozen=True)
class Stats:
    live_users: int
    queued_users: int


class StreampixelClient:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        user_id: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self.user_id = user_id
        self.session = session or make_session()
        self.timeout = timeout
        self._upload_path = "/projects/upload-file"

    # -- endpoints ---------------------------------------------------------------------------

    def upload_file(self, project_id: str, file_url: str, auto_release: bool) -> UploadAccepted:
        body = {"projectId": project_id, "fileUrl": file_url, "autoRelease": auto_release}
        try:
            response, data = self._post(self._upload_path, body, "submit the build (upload-file)")
        except NotFound as exc:
            if self._upload_path != "/projects/upload-file" or _is_domain_404(exc):
                raise
            # G1 docs used the singular path; servers that only know it answer a generic 404.
            self._upload_path = "/project/upload-file"
            response, data = self._post(self._upload_path, body, "submit the build (upload-file)")
        upload_id = data.get("uploadId", data.get("_id", data.get("id")))
        if not isinstance(upload_id, str) or not upload_id:
            raise BadResponse(
                "Streampixel accepted the upload but its answer has no uploadId "
                f"(HTTP {response.status_code}). Check the project's builds in the dashboard "
                "before retrying, so the build is not submitted twice.",
                response.status_code,
            )
        return UploadAccepted(upload_id, str(data.get("message", "")), response.status_code)

    def distribute_file(self, project_id: str, upload_id: str) -> DistributeAccepted:
        body = {"projectId": project_id, "uploadId": upload_id}
        _, data = self._post("/projects/distribute-file", body, "distribute the build")
        if data.get("success") is False:
            raise ApiError(
                f"Streampixel refused to distribute build {upload_id}: {data.get('message', 'no reason given')}",
                200,
                str(data.get("message", "")),
            )
        region = data.get("region")
        return DistributeAccepted(str(data.get("message", "")), region if isinstance(region, str) else None)

    def test_webhook(self, project_id: str) -> WebhookTest:
        _, data = self._post("/projects/test-webhook", {"projectId": project_id}, "send a test webhook")
        code = data.get("statusCode")
        return WebhookTest(
            success=data.get("success") is True,
            message=str(data.get("message", "")),
            status_code=code if isinstance(code, int) else 0,
        )

    def get_project(self, project_id: str) -> Project:
        data = self._get(f"/projects/{project_id}", {}, f"read project {project_id}")
        return Project.from_json(data, fallback_id=project_id)

    def get_project_once(self, project_id: str, timeout: float) -> Project:
        """One attempt, no retries, a short timeout: for the last look of a cancelled run."""
        quick = requests.Session()
        quick.headers.update(self.session.headers)
        quick.verify = self.session.verify
        try:
            response = quick.get(
                f"{self.api_url}/projects/{project_id}",
                params={"userId": self.user_id, "apikey": self._api_key},
                timeout=(timeout, timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _transport_error(exc, f"read project {project_id}", self.api_url) from None
        finally:
            quick.close()
        return Project.from_json(_parse(response, f"read project {project_id}"), fallback_id=project_id)

    def list_projects(self) -> list[ProjectSummary]:
        """All projects of the user: the paginated ``GET /projects`` or, where that is unknown,
        ``GET /projects/projects-status`` (both documented)."""
        try:
            return self._list_paginated()
        except NotFound as exc:
            if _is_domain_404(exc):
                raise
            return self._list_status_variant()

    def user_stats(self, project_id: str) -> Stats:
        data = self._get(f"/projects/userStats/{project_id}", {}, "read live user stats")
        return _stats(data)

    def live_stats(self, project_id: str) -> Stats:
        data = self._get(f"/projects/liveStats/{project_id}", {}, "read live stats")
        return _stats(data)

    # -- transport -----------------------------------------------------------------------------

    def _list_paginated(self) -> list[ProjectSummary]:
        out: list[ProjectSummary] = []
        page = 1
        while True:
            data = self._get("/projects", {"page": str(page), "limit": "100"}, "list projects")
            items = data.get("projects")
            if not isinstance(items, list):
                raise BadResponse("Streampixel's project list has no 'projects' array.", 200)
            out.extend(_summary(item) for item in items if isinstance(item, dict))
            total_pages = data.get("totalPages")
            if not isinstance(total_pages, int) or page >= total_pages or not items or page >= 1000:
                return out
            page += 1

    def _list_status_variant(self) -> list[ProjectSummary]:
        data = self._get("/projects/projects-status", {}, "list projects")
        items = data.get("projects")
        if not isinstance(items, list):
            raise BadResponse("Streampixel's project list has no 'projects' array.", 200)
        return [_summary(item) for item in items if isinstance(item, dict)]

    def _get(self, path: str, query: Mapping[str, str], action: str) -> dict[str, Any]:
        params = {"userId": self.user_id, "apikey": self._api_key, **query}
        url = self.api_url + path
        try:
            response = self.session.get(url, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise _transport_error(exc, action, url) from None
        return _parse(response, action)

    def _post(self, path: str, body: Mapping[str, Any], action: str) -> tuple[requests.Response, dict[str, Any]]:
        payload = {"apiKey": self._api_key, "userId": self.user_id, **body}
        url = self.api_url + path
        try:
            response = self.session.post(url, json=payload, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise _transport_error(exc, action, url) from None
        return response, _parse(response, action)


def _is_domain_404(exc: ApiError) -> bool:
    return (exc.server_message or "").strip().lower() in _DOMAIN_404


def _summary(item: Mapping[str, Any]) -> ProjectSummary:
    status = item.get("status")
    if isinstance(status, bool):
        status_text: str | None = "active" if status else "inactive"
    else:
        status_text = str(status) if status is not None else None
    region = item.get("region")
    return ProjectSummary(
        id=str(item.get("id") or item.get("_id") or ""),
        name=str(item.get("name") or ""),
        region=region if isinstance(region, str) else None,
        status=status_text,
    )


def _stats(data: Mapping[str, Any]) -> Stats:
    def num(*keys: str) -> int:
        for key in keys:
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return 0

    return Stats(num("liveUser", "liveUsers"), num("queueUser", "usersInQueue", "queueUsers"))


def _transport_error(exc: requests.RequestException, action: str, url: str) -> TransportError:
    shown = redact_url(url)
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError(
            f"Could not {action}: the TLS certificate of {shown} is not trusted. If you use a private CA, "
            "point REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) at its bundle; verification is never turned off.",
            transient=False,
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = "the connection timed out"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        reason = "the server did not answer in time"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = "the connection failed or was reset"
    else:
        reason = type(exc).__name__
    return TransportError(
        f"Could not {action}: {reason} ({shown}). Check api-url and the network, then run again.",
        in_flight=isinstance(exc, requests.exceptions.ReadTimeout),
    )


_TAG_RE = re.compile(r"<[^>]+>")


def snippet(text: str, limit: int = 160) -> str:
    """A short, single-line, tag-free and secret-free excerpt of a response body."""
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(" ".join(text.split()))
    text = scrub(redact_text(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse(response: requests.Response, action: str) -> dict[str, Any]:
    status = response.status_code
    body_text = response.text
    data: Any = None
    try:
        data = json.loads(body_text) if body_text.strip() else {}
    except ValueError:
        data = None
    if 200 <= status < 300:
        if not isinstance(data, dict):
            raise BadResponse(
                f"Could not {action}: Streampixel answered HTTP {status} with a body that is not the "
                f"expected JSON object: {snippet(body_text) or '(empty)'}",
                status,
            )
        return data
    server_message = data.get("message") if isinstance(data, dict) else None
    if isinstance(server_message, str):
        detail = f"Streampixel said: {scrub(server_message)}"
    else:
        server_message = None
        detail = f"The response was not JSON: {snippet(body_text) or '(empty body)'}"
    hint = _hint(status)
    message = f"Could not {action} (HTTP {status}). {hint} {detail}".replace("  ", " ")
    if status in (401, 403):
        raise AuthError(message, status, server_message)
    if status == 404:
        raise NotFound(message, status, server_message)
    if status == 429:
        retry_after = _retry_after(response)
        error = RateLimited(message, status, server_message)
        error.retry_after = retry_after
        raise error
    if 300 <= status < 400:
        raise BadResponse(
            f"Could not {action}: api-url answered with a redirect (HTTP {status}); use the final "
            "https URL as api-url.",
            status,
        )
    if 500 <= status < 600:
        raise ApiError(message, status, server_message)
    if data is None and not 400 <= status < 500:
        raise BadResponse(message, status, server_message)
    raise ApiError(message, status, server_message)


def _hint(status: int) -> str:
    return {
        400: "Streampixel rejected the request as invalid.",
        401: "Check api-key and user-id: the key may be mistyped, rotated or belong to another account.",
        403: "The user has no access to this project (or the project is disabled).",
        404: "Check project-id (and upload-id).",
        415: "Streampixel did not accept the request body.",
        429: "Streampixel is rate-limiting this user (upload-file and distribute-file: one each per user every "
        "2 minutes; aggressive polling is throttled too).",
    }.get(status, "Streampixel had a problem; try again later." if status >= 500 else "")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None
