"""The Streampixel REST client: every documented endpoint and its doc variants, over the one request policy.

Auth is exactly as documented: ``apiKey`` in POST bodies, ``apikey`` (lower case) in GET queries, ``userId``
beside it. Every request goes through :class:`streampixel_deploy.core.http.Http` (attempts, backoff,
Retry-After, the run's deadline). GETs are repeatable; upload-file and distribute-file are not (a repeat may
create a second build or burn the per-user slot), so after sending they are only repeated on a 429; anything
else goes back to the caller (see ``run/submit.py`` for how a lost upload answer is recovered without a
duplicate).

Answers are read tolerantly, in one place (:func:`_parse`, then the models' readers): a 2xx body wrapped as
``{"success": true, "data": {...}}`` is unwrapped, IDs may be strings or numbers, counts may be strings, and
unknown fields are ignored. A 2xx whose body says it failed (``"success": false``…) is an :class:`ApiError`
with Streampixel's words; a body that cannot be understood is a :class:`BadResponse` quoting it (redacted).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from streampixel_deploy.api.models import Project, ProjectSummary, WebhookTest
from streampixel_deploy.core.errors import ApiError, AuthError, BadResponse, NotFound, RateLimited, TransportError
from streampixel_deploy.core.http import Clock, Http, Policy, Reply, RequestFailed, make_session
from streampixel_deploy.core.ratelimit import rate_limit_delay
from streampixel_deploy.core.readers import as_id, as_int, as_text
from streampixel_deploy.core.redact import redact_text, redact_url, scrub


@dataclass(frozen=True)
class DistributeAccepted:
    message: str
    region: str | None


class StreampixelClient:
    def __init__(self, api_url: str, api_key: str, user_id: str, http: Http | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self.user_id = user_id
        self.http = http or Http(make_session(), Policy(), Clock())
        self._upload_path = "/projects/upload-file"

    @property
    def session(self) -> requests.Session:
        return self.http.session

    # -- endpoints ---------------------------------------------------------------------------

    def upload_file(self, project_id: str, file_url: str, auto_release: bool, retry: bool = True) -> str:
        """Submit the build; its upload ID. ``retry=False``: a 429 comes back at once as RateLimited (the caller
        looks at files[] before sending again)."""
        body = {"projectId": project_id, "fileUrl": file_url, "autoRelease": auto_release}
        try:
            response, data = self._post(self._upload_path, body, "upload-file", retry)
        except NotFound as exc:
            if self._upload_path != "/projects/upload-file" or _is_domain_404(exc):
                raise
            # G1 docs used the singular path; servers that only know it answer a generic 404.
            self._upload_path = "/project/upload-file"
            response, data = self._post(self._upload_path, body, "upload-file", retry)
        upload_id = as_id(_first(data, "uploadId", "_id", "id"))
        if upload_id is None:
            raise BadResponse(
                "Streampixel accepted the upload but its answer has no uploadId "
                f"(HTTP {response.status}): {snippet(response.text) or '(empty)'}",
                response.status,
            )
        return upload_id

    def distribute_file(self, project_id: str, upload_id: str) -> DistributeAccepted:
        body = {"projectId": project_id, "uploadId": upload_id}
        _, data = self._post("/projects/distribute-file", body, "distribute-file")
        region = data.get("region")
        return DistributeAccepted(as_text(data.get("message")) or "", region if isinstance(region, str) else None)

    def test_webhook(self, project_id: str) -> WebhookTest:
        # its "success" is the receiver's answer, not whether the request worked (docs/streampixel-api.md §6.6)
        _, data = self._post("/projects/test-webhook", {"projectId": project_id}, "test-webhook", judge=False)
        return WebhookTest(
            success=_flag(data.get("success")) is True,
            message=as_text(data.get("message")) or "",
            status_code=as_int(data.get("statusCode")) or 0,
        )

    def get_project(self, project_id: str) -> Project:
        data = self._get(f"/projects/{project_id}", {}, f"read project {project_id}")
        return Project.from_json(data, fallback_id=project_id)

    def last_look(self, project_id: str, seconds: float = 1.5) -> Project:
        """One attempt with a short budget of its own (not the run's clock, which is cancelled by now)."""
        quick = Http(self.http.session, self.http.policy, Clock(seconds))
        reply = quick.send(
            "GET",
            f"{self.api_url}/projects/{project_id}",
            what=f"read project {project_id}",
            repeatable=True,
            params={"userId": self.user_id, "apikey": self._api_key},
            retry=False,
        )
        return Project.from_json(_parse(reply, f"read project {project_id}"), fallback_id=project_id)

    def list_projects(self) -> list[ProjectSummary]:
        """All projects of the user: the paginated ``GET /projects`` or, where that is unknown,
        ``GET /projects/projects-status`` (both documented)."""
        try:
            return self._list_paginated()
        except NotFound as exc:
            if _is_domain_404(exc):
                raise
            return self._list_status_variant()

    # -- transport -----------------------------------------------------------------------------

    def _list_paginated(self) -> list[ProjectSummary]:
        """Every page: until ``page == totalPages`` (docs/streampixel-api.md §6.3), or, without it, until
        ``totalProjects`` are read; a page that adds no project ends it (a server that ignores ``page``)."""
        out: dict[str, ProjectSummary] = {}
        page = 1
        while True:
            data = self._get("/projects", {"page": str(page), "limit": "100"}, "list projects")
            items = _projects(data)
            before = len(out)
            for item in items:
                summary = _summary(item)
                out.setdefault(summary.id or f"#{len(out)}", summary)
            total_pages, total = as_int(data.get("totalPages")), as_int(data.get("totalProjects"))
            more = page < total_pages if total_pages is not None else total is not None and len(out) < total
            if not more or len(out) == before or page >= 1000:
                return list(out.values())
            page += 1

    def _list_status_variant(self) -> list[ProjectSummary]:
        data = self._get("/projects/projects-status", {}, "list projects")
        return [_summary(item) for item in _projects(data)]

    def _get(self, path: str, query: Mapping[str, str], action: str) -> dict[str, Any]:
        params = {"userId": self.user_id, "apikey": self._api_key, **query}
        url = self.api_url + path
        try:
            reply = self.http.send("GET", url, what=action, repeatable=True, params=params)
        except RequestFailed as failure:
            raise _transport_error(failure, action) from None
        return _parse(reply, action)

    def _post(
        self, path: str, body: Mapping[str, Any], endpoint: str, retry: bool = True, judge: bool = True
    ) -> tuple[Reply, dict[str, Any]]:
        payload = {"apiKey": self._api_key, "userId": self.user_id, **body}
        url = self.api_url + path
        # one per user every 2 minutes (docs/streampixel-api.md §5)
        limited = endpoint in ("upload-file", "distribute-file")
        try:
            reply = self.http.send(
                "POST", url, what=endpoint, repeatable=False, limited=limited, json_body=payload, retry=retry
            )
        except RequestFailed as failure:
            raise _transport_error(failure, _ACTIONS.get(endpoint, endpoint)) from None
        return reply, _parse(reply, _ACTIONS.get(endpoint, endpoint), judge)


_ACTIONS = {
    "upload-file": "submit the build (upload-file)",
    "distribute-file": "distribute the build",
    "test-webhook": "send a test webhook",
}


_DOMAIN_404 = ("project not found", "file not found in project", "no webhook url configured")


def endpoint_missing(exc: ApiError) -> bool:
    """A 404 that is not one of the API's own answers ("Project not found", …): the endpoint does not exist,
    as on a server that only has the older docs' endpoints (upload-file and distribute-file,
    docs/streampixel-api.md §11.2)."""
    return isinstance(exc, NotFound) and not _is_domain_404(exc)


def _is_domain_404(exc: ApiError) -> bool:
    return (exc.server_message or "").strip().lower() in _DOMAIN_404


def _first(data: Mapping[str, object], *names: str) -> object:
    """The first of ``names`` that ``data`` holds and is not null."""
    return next((data[n] for n in names if data.get(n) is not None), None)


def _flag(value: object) -> bool | None:
    """A JSON boolean, or its usual spellings as a string or a number; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(value.lower())
    return None


def _projects(data: Mapping[str, object]) -> list[dict[str, Any]]:
    items = _first(data, "projects", "data", "items", "results")
    if not isinstance(items, list):
        raise BadResponse(f"Streampixel's project list has no 'projects' array: {snippet(json.dumps(data))}", 200)
    return [item for item in items if isinstance(item, dict)]


def _summary(item: Mapping[str, object]) -> ProjectSummary:
    status = item.get("status")
    if isinstance(status, bool):
        status_text: str | None = "active" if status else "inactive"
    else:
        status_text = str(status) if status is not None else None
    region = item.get("region")
    return ProjectSummary(
        id=as_id(_first(item, "id", "_id", "projectId")) or "",
        name=str(item.get("name") or ""),
        region=region if isinstance(region, str) else None,
        status=status_text,
    )


def _transport_error(failure: RequestFailed, action: str) -> TransportError:
    shown = redact_url(failure.url)
    if failure.tls:
        return TransportError(
            f"Could not {action}: the TLS certificate of {shown} is not trusted. If you use a private CA, "
            "point REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) at its bundle; verification is never turned off.",
            transient=False,
        )
    return TransportError(
        f"Could not {action}: {failure.reason} ({shown}). Check api-url and the network, then run again.",
        in_flight=failure.in_flight,
    )


_TAG_RE = re.compile(r"<[^>]+>")


def snippet(text: str, limit: int = 160) -> str:
    """A short, single-line, tag-free and secret-free excerpt of a response body."""
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(" ".join(text.split()))
    text = scrub(redact_text(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: The keys of a success envelope around the answer (``{"success": true, "data": {...}}``,
#: docs/streampixel-api.md §11.7).
_ENVELOPE_KEYS = frozenset(
    {"success", "ok", "status", "statusCode", "code", "message", "error", "errors", "data", "result", "meta"}
)
_FAILED_WORDS = frozenset({"error", "fail", "failed", "failure"})


def _said(data: Mapping[str, object]) -> str | None:
    """Streampixel's words in a body: ``message``, or ``error`` (a string or an object with a message)."""
    for value in (data.get("message"), data.get("error")):
        text = value.get("message") if isinstance(value, dict) else value
        if isinstance(text, str) and text.strip():
            return text
    return None


def _says_failed(data: Mapping[str, object]) -> bool:
    """A 2xx body that says the request failed: ``success``/``ok`` false, ``status: "error"``, or an ``error``
    without any word of success."""
    verdict = _flag(_first(data, "success", "ok"))
    if verdict is not None:
        return not verdict
    status = data.get("status")
    if isinstance(status, str) and status.strip().lower() in _FAILED_WORDS:
        return True
    return bool(data.get("error"))


def _unwrap(data: dict[str, Any]) -> dict[str, Any]:
    """The answer inside a success envelope; ``data`` itself when it is not one."""
    inner = _first(data, "data", "result")
    if not set(data) <= _ENVELOPE_KEYS or not isinstance(inner, (dict, list)):
        return data
    if isinstance(inner, list):
        return {"data": inner, **{k: v for k, v in data.items() if k not in ("data", "result")}}
    said = _said(data)
    return {**({"message": said} if said is not None else {}), **inner}


def _parse(response: Reply, action: str, judge: bool = True) -> dict[str, Any]:
    """The answer's JSON object (unwrapped), or the error it amounts to. ``judge``: a 2xx body that says it
    failed is an error (test-webhook's ``success`` reports the receiver instead, and an envelope's the request)."""
    status = response.status
    body_text = response.text
    data: Any = None
    try:
        data = json.loads(body_text) if body_text.strip() else {}
    except (ValueError, RecursionError):
        data = None
    if 200 <= status < 300:
        if not isinstance(data, dict):
            raise BadResponse(
                f"Could not {action}: Streampixel answered HTTP {status} with a body that is not the "
                f"expected JSON object: {snippet(body_text) or '(empty)'}",
                status,
            )
        wrapped = _unwrap(data) is not data
        if (judge or wrapped) and _says_failed(data):
            said = _said(data)
            raise ApiError(
                f"Could not {action}: Streampixel answered HTTP {status} but said it failed. "
                + (f"Streampixel said: {scrub(said)}" if said else f"Its answer: {snippet(body_text)}"),
                status,
                said,
            )
        return _unwrap(data)
    server_message = _said(data) if isinstance(data, dict) else None
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
        error = RateLimited(message, status, server_message)
        error.retry_after = rate_limit_delay(response.headers)
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
