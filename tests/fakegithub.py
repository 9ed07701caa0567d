"""A fake GitHub REST API on 127.0.0.1 that checks requests against GitHub's documented contracts.

Real HTTP (``ThreadingHTTPServer`` in a thread), so the code under test uses its ordinary ``requests``
session. Every request is recorded (``.requests``); accepted dispatches, deployments and deployment statuses
are kept for assertions.

::

    with FakeGitHub(token="ghs_test") as gh:
        ...  # point the code at gh.url (or gh.url + "/api/v3", GitHub Enterprise style)
        gh.wait_for_dispatches(3)
        assert gh.dispatches[0].event_type == "streampixel.build.approved"

What is checked, and where it is documented (REST API version 2022-11-28; found through the docs search of
docs.github.com pages and of generated clients of github/rest-api-description):

* Every request -- "Getting started with the REST API" (docs.github.com/en/rest/using-the-rest-api/
  getting-started-with-the-rest-api): all requests must carry a valid ``User-Agent`` (none -> 403);
  ``X-GitHub-Api-Version`` selects the version (an unsupported one -> 400); ``Accept:
  application/vnd.github+json`` is recommended (recorded, not enforced). Authentication: ``Authorization:
  Bearer <token>`` or the older ``token <token>``; a wrong token -> 401 ``{"message": "Bad credentials"}``,
  none -> 401 ``{"message": "Requires authentication"}`` (the repository is modelled as private).
* ``POST /repos/{owner}/{repo}/dispatches`` -- "Create a repository dispatch event"
  (docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event; OpenAPI operation
  ``repos/create-dispatch-event``): body ``event_type`` string, required, 1..100 characters;
  ``client_payload`` optional object, "the maximum number of top-level properties is 10" (``maxProperties:
  10``), and "the total size of the JSON payload must be less than 64KB" (rest-api-description PR #4093).
  Success is ``204 No Content``; a body that breaks the schema -> 422; unknown repository -> 404.
* ``POST /repos/{owner}/{repo}/deployments`` -- "Create a deployment" (docs.github.com/en/rest/deployments/
  deployments#create-a-deployment): ``ref`` required (branch, tag or SHA); optional ``task`` (default
  ``deploy``), ``auto_merge`` (bool, default true), ``required_contexts`` (array of strings), ``payload``
  (object or string), ``environment`` (default ``production``), ``description`` (string or null),
  ``transient_environment`` (bool, default false), ``production_environment`` (bool, default true when the
  environment is ``production``). ``201`` with the deployment (``id``, ``url``, ``sha``, ``ref``, ``task``,
  ``payload``, ``environment``, ``original_environment``, ``statuses_url``, ...); a type error -> 422.
  Auto-merge and commit-status contexts are not simulated (no 202/409 unless ``fail_next`` asks).
* ``POST /repos/{owner}/{repo}/deployments/{id}/statuses`` -- "Create a deployment status"
  (docs.github.com/en/rest/deployments/statuses#create-a-deployment-status): ``state`` required, one of
  error, failure, inactive, in_progress, queued, pending, success; optional ``target_url``, ``log_url``
  ("setting log_url will automatically set target_url to the same value"), ``description`` ("the maximum
  description length is 140 characters"), ``environment`` (changes the deployment's environment),
  ``environment_url``, ``auto_inactive`` (default true: a ``success`` makes all prior non-transient,
  non-production deployments of the same environment ``inactive``). ``201`` with the status; unknown
  deployment -> 404; invalid field -> 422.
* ``GET /repos/{owner}/{repo}/deployments`` (filters ``sha``, ``ref``, ``task``, ``environment``; ``per_page``
  max 100, ``page``) and ``GET /repos/{owner}/{repo}/deployments/{id}/statuses`` (``per_page``, ``page``) --
  200, newest first, like GitHub; ``GET /repos/{owner}/{repo}/deployments/{id}`` -- 200 or 404.

Lists carry GitHub's ``Link`` header ("Using pagination in the REST API": ``rel="next"`` and ``rel="last"``
while there is a next page), so a client can follow pages without guessing.

Test controls: :meth:`FakeGitHub.set_down` (an outage: every request gets GitHub's HTML 503 page),
:meth:`FakeGitHub.fail_next` (the next n requests get a given status, rate-limit headers for 429/403 and an
optional ``Retry-After``), :meth:`FakeGitHub.limit_reads` (every GET gets a rate limit),
:meth:`FakeGitHub.deny_deployments` (a token without the ``deployments`` permission), :meth:`FakeGitHub.hold`
(matching requests never get an answer until the fake stops), ``page_limit`` (the most a page holds, below
GitHub's 100) and ``ignore_per_page`` (one page holding everything, no ``Link``), :meth:`FakeGitHub.seed`
(deployments with statuses, as earlier runs would have left them), :meth:`FakeGitHub.reset`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from streampixel_deploy._serving import Served

DOCS = "https://docs.github.com/rest"
DEFAULT_TOKEN = "ghs_fake0123456789abcdefghijklmnopqrstuv"
API_VERSIONS = frozenset({"2022-11-28"})
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
MAX_EVENT_TYPE = 100
MAX_CLIENT_PAYLOAD_KEYS = 10
MAX_CLIENT_PAYLOAD_BYTES = 64 * 1024
MAX_STATUS_DESCRIPTION = 140
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_REPO_PATH = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)(?P<rest>/.*)?$")
_UNICORN = (
    b"<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title></head><body>"
    b"<p>No server is currently available to service your request.</p></body></html>"
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None when there was no (valid) JSON
    raw: bytes
    status: int  # what the fake answered
    at: float  # time.time() when it arrived


@dataclass(frozen=True)
class Dispatch:
    repository: str  # owner/repo
    event_type: str
    client_payload: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class _Deployment:
    repository: str
    data: dict[str, Any]
    statuses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    message: str | None


class FakeGitHub:
    """A GitHub REST API fake; ``token`` is the one valid token, ``repositories`` (``owner/repo``) the ones
    that exist (None: every repository exists)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        repositories: Iterable[str] | None = None,
        refs: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.repositories = {r.lower() for r in repositories} if repositories is not None else None
        #: known refs -> SHA; None accepts any ref (and derives a stable fake SHA from its name)
        self.refs = refs
        self._address = (host, port)
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._dispatches: list[Dispatch] = []
        self._deployments: dict[int, _Deployment] = {}
        self._next_id = 1000
        self._down_until: float | None = None  # monotonic deadline; inf = until set_down(False)
        self._failures: list[_Failure] = []
        self._read_limit: _Failure | None = None
        self._denied: int | None = None  # deny_deployments(): the status deployments requests get
        self._held: list[tuple[str, str]] = []  # (method, path suffix) never answered
        self._stopping = threading.Event()
        #: the most entries one page of a list holds (GitHub: per_page, at most 100)
        self.page_limit = 100
        #: answer a list with all of it in one page, whatever per_page says (and no Link header)
        self.ignore_per_page = False
        self._served: Served[_Server] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        if self._served is not None:
            raise RuntimeError("already started")
        self._served = Served(_Server(self._address, self), "fake-github")
        self._served.start(poll_interval=0.05)
        return self

    def stop(self) -> None:
        served, self._served = self._served, None
        if served is None:
            return
        self._stopping.set()  # held requests end (their clients gave up long ago)
        served.stop(5.0)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the API base URL (``/api/v3`` may be appended, GHES style)."""
        if self._served is None:
            raise RuntimeError("not started")
        return self._served.url()

    # -- controls --------------------------------------------------------------------------------

    def set_down(self, value: bool | float) -> None:
        """``True``: answer every request 503 until ``set_down(False)``; a number: for that many seconds."""
        with self._lock:
            if value is True:
                self._down_until = float("inf")
            elif value is False:
                self._down_until = None
            else:
                self._down_until = time.monotonic() + float(value)

    @property
    def down(self) -> bool:
        with self._lock:
            return self._down_until is not None and time.monotonic() < self._down_until

    def fail_next(
        self, n: int, status: int = 500, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """The next ``n`` requests get ``status``. 429 and 403 come as GitHub's rate limits
        (``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``); ``retry_after`` adds a ``Retry-After``."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after, message) for _ in range(n))

    def deny_deployments(self, status: int | None = 403) -> None:
        """The workflow token without the ``deployments`` permission: every deployments request (after the token is
        checked) gets ``status``: 403 "Resource not accessible by integration" with GitHub's
        ``X-Accepted-GitHub-Permissions`` header (a public repository), or 404 "Not Found" (a private one, whose
        deployments the token cannot see). Not a rate limit: ``X-RateLimit-Remaining`` stays high. None ends it."""
        with self._lock:
            self._denied = status

    def limit_reads(self, retry_after: float | None) -> None:
        """Every GET (from now on) gets GitHub's 429 rate limit with ``Retry-After: retry_after``; None ends it."""
        with self._lock:
            self._read_limit = None if retry_after is None else _Failure(429, retry_after, None)

    def hold(self, method: str, path_suffix: str) -> None:
        """Requests of ``method`` whose path ends with ``path_suffix`` get no answer at all (the connection stays
        open, silent) until the fake stops."""
        with self._lock:
            self._held.append((method, path_suffix))

    def seed(
        self, repository: str, environment: str, payload: dict[str, Any], states: Iterable[str], ref: str = "main"
    ) -> int:
        """A deployment as an earlier run would have left it: ``payload`` and its statuses (``states``, oldest
        first), without any request; its id."""
        with self._lock:
            self._next_id += 1
            deployment_id = self._next_id
            base = f"http://127.0.0.1/repos/{repository}"
            now = _now()
            data = {
                "url": f"{base}/deployments/{deployment_id}",
                "id": deployment_id,
                "sha": hashlib.sha1(ref.encode("utf-8")).hexdigest(),  # noqa: S324 - a fake commit id
                "ref": ref,
                "task": "deploy",
                "payload": payload,
                "original_environment": environment,
                "environment": environment,
                "description": None,
                "creator": _creator(),
                "created_at": now,
                "updated_at": now,
                "statuses_url": f"{base}/deployments/{deployment_id}/statuses",
                "repository_url": base,
                "transient_environment": False,
                "production_environment": False,
            }
            deployment = _Deployment(repository, data)
            self._deployments[deployment_id] = deployment
            for state in states:
                self._add_status(deployment, state, "", "", "")
        return deployment_id

    def reset_requests(self) -> None:
        """Forget the requests recorded so far (what happened before the part a test looks at)."""
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._dispatches.clear()
            self._deployments.clear()
            self._failures.clear()
            self._held.clear()
            self._read_limit = None
            self._denied = None
            self._down_until = None

    # -- what happened ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def dispatches(self) -> list[Dispatch]:
        """Accepted (204) dispatches, in arrival order."""
        with self._lock:
            return list(self._dispatches)

    @property
    def deployments(self) -> list[dict[str, Any]]:
        """Created deployments (GitHub's JSON), oldest first."""
        with self._lock:
            return [json.loads(json.dumps(d.data)) for _, d in sorted(self._deployments.items())]

    def statuses(self, deployment_id: int) -> list[dict[str, Any]]:
        """The deployment's statuses, oldest first (the GET endpoint returns them newest first)."""
        with self._lock:
            deployment = self._deployments.get(deployment_id)
            if deployment is None:
                raise KeyError(f"no deployment {deployment_id}")
            return [dict(s) for s in deployment.statuses]

    def wait_for(self, predicate: Callable[[FakeGitHub], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate(self)`` holds (checked after every request, and every 50 ms)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"fake GitHub: condition not met within {timeout} s")
            with self._lock:
                self._lock.wait(min(left, 0.05))

    def wait_for_dispatches(self, n: int, timeout: float = 10.0) -> list[Dispatch]:
        try:
            self.wait_for(lambda gh: len(gh.dispatches) >= n, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"fake GitHub got {len(self.dispatches)} dispatches, expected {n}: "
                f"{[d.event_type for d in self.dispatches]}"
            ) from None
        return self.dispatches

    # -- request handling (server threads) -------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3") :]
        query = parse_qs(parts.query)
        body: Any = None
        parsed_ok = True
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                parsed_ok = False
        with self._lock:
            held = any(method == m and path.endswith(suffix) for m, suffix in self._held)
        if held:
            with self._lock:
                self._requests.append(RecordedRequest(method, path, query, headers, body, raw, 0, time.time()))
                self._lock.notify_all()
            self._stopping.wait()
            raise _Hold
        status, extra, payload = self._route(method, path, query, headers, body, parsed_ok)
        if status == 200 and isinstance(payload, list):
            payload, links = self._paginate(payload, query, f"{self.url}{parts.path}")
            if links:
                extra = {**extra, "Link": links}
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers, body, raw, status, time.time()))
            self._lock.notify_all()
        out_headers = {
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-GitHub-Request-Id": f"FAKE:{len(self._requests):06d}",
        }
        out_headers.update(extra)
        if isinstance(payload, bytes):
            return status, out_headers, payload
        if payload is None:
            return status, out_headers, b""
        out_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return status, out_headers, json.dumps(payload).encode("utf-8")

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        parsed_ok: bool,
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            if self._down_until is not None and time.monotonic() < self._down_until:
                return 503, {"Content-Type": "text/html; charset=utf-8"}, _UNICORN
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and method == "GET":
                failure = self._read_limit
        if failure is not None:
            return _failure(failure)
        if not headers.get("user-agent", "").strip():
            return (
                403,
                {},
                _error(
                    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header "
                    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."
                ),
            )
        auth = headers.get("authorization", "")
        if not auth:
            return 401, {}, _error("Requires authentication")
        scheme, _, credential = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or credential.strip() != self.token:
            return 401, {}, _error("Bad credentials")
        version = headers.get("x-github-api-version")
        if version is not None and version not in API_VERSIONS:
            return 400, {}, _error(f"Unsupported API version: {version}")
        match = _REPO_PATH.match(path)
        if match is None:
            return 404, {}, _error("Not Found")
        repository = f"{match['owner']}/{match['repo']}"
        if self.repositories is not None and repository.lower() not in self.repositories:
            return 404, {}, _error("Not Found")
        if method == "POST" and not parsed_ok:
            return 400, {}, _error("Problems parsing JSON")
        rest = match["rest"] or ""
        segments = [s for s in rest.split("/") if s]
        with self._lock:
            denied = self._denied
        if denied is not None and segments[:1] == ["deployments"]:
            wanted = "write" if method == "POST" else "read"
            if denied == 404:
                return 404, {}, _error("Not Found")
            headers = {"X-Accepted-GitHub-Permissions": f"deployments={wanted}", "X-RateLimit-Remaining": "4999"}
            return denied, headers, _error("Resource not accessible by integration")
        if segments == ["dispatches"] and method == "POST":
            return self._dispatch(repository, headers, body)
        if segments == ["deployments"]:
            if method == "POST":
                return self._create_deployment(repository, body)
            if method == "GET":
                return self._list_deployments(repository, query)
        if len(segments) >= 2 and segments[0] == "deployments":
            try:
                deployment_id = int(segments[1])
            except ValueError:
                return 404, {}, _error("Not Found")
            with self._lock:
                deployment = self._deployments.get(deployment_id)
            if deployment is None or deployment.repository != repository:
                return 404, {}, _error("Not Found")
            if len(segments) == 2 and method == "GET":
                with self._lock:
                    return 200, {}, dict(deployment.data)
            if segments[2:] == ["statuses"]:
                if method == "POST":
                    return self._create_status(deployment, body)
                if method == "GET":
                    with self._lock:
                        items = list(reversed(deployment.statuses))
                    return _check_page(items, query)
        return 404, {}, _error("Not Found")

    def _paginate(self, items: list[Any], query: dict[str, list[str]], base: str) -> tuple[list[Any], str]:
        """One page of a whole list (``per_page`` at most ``page_limit``, default 30, like GitHub) and its ``Link``
        header: ``rel="next"`` and ``rel="last"`` while more pages follow."""
        if self.ignore_per_page:
            return items, ""
        per_page = min(max(int(query.get("per_page", ["30"])[0]), 1), 100, self.page_limit)
        page = max(int(query.get("page", ["1"])[0]), 1)
        last = max(1, -(-len(items) // per_page))
        links = []
        if page < last:
            others = {k: v[0] for k, v in query.items() if k != "page"}

            def link(number: int, rel: str) -> str:
                return f'<{base}?{urlencode({**others, "page": str(number)})}>; rel="{rel}"'

            links = [link(page + 1, "next"), link(last, "last")]
        return items[(page - 1) * per_page : page * per_page], ", ".join(links)

    # -- endpoints -------------------------------------------------------------------------------

    def _dispatch(self, repository: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict):
            return 422, {}, _invalid("the request body must be a JSON object")
        event_type = body.get("event_type")
        if event_type is None:
            return 422, {}, _invalid('"event_type" wasn\'t supplied.')
        if not isinstance(event_type, str) or not 1 <= len(event_type) <= MAX_EVENT_TYPE:
            return 422, {}, _invalid(f"event_type must be a string of 1 to {MAX_EVENT_TYPE} characters.")
        payload = body.get("client_payload", {})
        if not isinstance(payload, dict):
            return 422, {}, _invalid("client_payload is not an object.")
        if len(payload) > MAX_CLIENT_PAYLOAD_KEYS:
            return (
                422,
                {},
                _invalid(
                    f"client_payload has {len(payload)} top-level properties; the maximum is {MAX_CLIENT_PAYLOAD_KEYS}."
                ),
            )
        if len(json.dumps(payload).encode("utf-8")) >= MAX_CLIENT_PAYLOAD_BYTES:
            return 422, {}, _invalid("client_payload must be less than 64KB.")
        with self._lock:
            self._dispatches.append(Dispatch(repository, event_type, payload, dict(headers), time.time()))
        return 204, {}, None

    def _create_deployment(self, repository: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict):
            return 422, {}, _invalid("the request body must be a JSON object")
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            return 422, {}, _invalid('"ref" wasn\'t supplied.' if ref is None else "ref must be a string.")
        problems = _check_types(
            body,
            {
                "task": str,
                "auto_merge": bool,
                "environment": str,
                "transient_environment": bool,
                "production_environment": bool,
            },
        )
        if "description" in body and body["description"] is not None and not isinstance(body["description"], str):
            problems.append("description must be a string or null.")
        contexts = body.get("required_contexts")
        if contexts is not None and (not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts)):
            problems.append("required_contexts must be an array of strings.")
        payload = body.get("payload", {})
        if not isinstance(payload, (dict, str)):
            problems.append("payload must be an object or a string.")
        if problems:
            return 422, {}, _invalid(" ".join(problems))
        if _SHA_RE.match(ref):
            sha = ref
        elif self.refs is not None:
            if ref not in self.refs:
                return 422, {}, {"message": f"No ref found for: {ref}", "documentation_url": DOCS}
            sha = self.refs[ref]
        else:
            sha = hashlib.sha1(ref.encode("utf-8")).hexdigest()  # noqa: S324 - a fake commit id
        environment = body.get("environment", "production")
        base = f"{self.url}/repos/{repository}"
        now = _now()
        with self._lock:
            self._next_id += 1
            deployment_id = self._next_id
            data = {
                "url": f"{base}/deployments/{deployment_id}",
                "id": deployment_id,
                "node_id": f"DE_fake{deployment_id}",
                "sha": sha,
                "ref": ref,
                "task": body.get("task", "deploy"),
                "payload": payload if payload != "" else {},
                "original_environment": environment,
                "environment": environment,
                "description": body.get("description"),
                "creator": _creator(),
                "created_at": now,
                "updated_at": now,
                "statuses_url": f"{base}/deployments/{deployment_id}/statuses",
                "repository_url": base,
                "transient_environment": body.get("transient_environment", False),
                "production_environment": body.get("production_environment", environment == "production"),
                "performed_via_github_app": None,
            }
            self._deployments[deployment_id] = _Deployment(repository, data)
            answer = dict(data)
        return 201, {"Location": answer["url"]}, answer

    def _list_deployments(self, repository: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            items = [
                dict(d.data) for _, d in sorted(self._deployments.items(), reverse=True) if d.repository == repository
            ]
        for name in ("sha", "ref", "task", "environment"):
            if name in query:
                items = [d for d in items if d.get(name) == query[name][0]]
        return _check_page(items, query)

    def _create_status(self, deployment: _Deployment, body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict):
            return 422, {}, _invalid("the request body must be a JSON object")
        state = body.get("state")
        if state not in DEPLOYMENT_STATES:
            return 422, {}, _invalid(f"state must be one of {', '.join(DEPLOYMENT_STATES)}; got {state!r}.")
        problems = _check_types(
            body,
            {
                "target_url": str,
                "log_url": str,
                "description": str,
                "environment": str,
                "environment_url": str,
                "auto_inactive": bool,
            },
        )
        description = body.get("description", "")
        if isinstance(description, str) and len(description) > MAX_STATUS_DESCRIPTION:
            problems.append(f"description is too long (maximum is {MAX_STATUS_DESCRIPTION} characters).")
        if problems:
            return 422, {}, _invalid(" ".join(problems))
        log_url = str(body.get("log_url", body.get("target_url", "")))
        with self._lock:
            if "environment" in body:
                deployment.data["environment"] = body["environment"]
            status = self._add_status(deployment, state, description, log_url, body.get("environment_url", ""))
            if state == "success" and body.get("auto_inactive", True):
                for other in self._deployments.values():
                    if (
                        other is not deployment
                        and other.repository == deployment.repository
                        and other.data["id"] < deployment.data["id"]
                        and other.data["environment"] == deployment.data["environment"]
                        and not other.data["transient_environment"]
                        and not other.data["production_environment"]
                        and (not other.statuses or other.statuses[-1]["state"] != "inactive")
                    ):
                        self._add_status(other, "inactive", "", "", "")
        return 201, {"Location": status["url"]}, dict(status)

    def _add_status(
        self, deployment: _Deployment, state: str, description: str, log_url: str, environment_url: str
    ) -> dict[str, Any]:
        self._next_id += 1
        now = _now()
        status = {
            "url": f"{deployment.data['url']}/statuses/{self._next_id}",
            "id": self._next_id,
            "node_id": f"DES_fake{self._next_id}",
            "state": state,
            "creator": _creator(),
            "description": description,
            "environment": deployment.data["environment"],
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": environment_url,
            "created_at": now,
            "updated_at": now,
            "deployment_url": deployment.data["url"],
            "repository_url": deployment.data["repository_url"],
            "performed_via_github_app": None,
        }
        deployment.statuses.append(status)
        deployment.data["updated_at"] = now
        return status


def _check_types(body: dict[str, Any], types: dict[str, type]) -> list[str]:
    problems = []
    for name, kind in types.items():
        if name in body and not isinstance(body[name], kind):
            problems.append(f"{name} must be a {'boolean' if kind is bool else 'string'}.")
    return problems


class _Hold(Exception):
    """A held request: the handler closes the connection without an answer."""


def _check_page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
    """The whole list, once ``per_page`` and ``page`` are valid (``FakeGitHub._paginate`` cuts the page)."""
    try:
        int(query.get("per_page", ["30"])[0])
        int(query.get("page", ["1"])[0])
    except ValueError:
        return 422, {}, _invalid("per_page and page must be integers.")
    return 200, {}, items


def _failure(failure: _Failure) -> tuple[int, dict[str, str], Any]:
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = f"{failure.retry_after:g}"
    if failure.status in (403, 429):
        wait = failure.retry_after if failure.retry_after is not None else 1.0
        headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + wait) + 1)})
        message = failure.message or (
            "API rate limit exceeded for installation."
            if failure.status == 429
            else "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        )
    else:
        message = failure.message or ("Server Error" if failure.status >= 500 else "Injected failure")
    return failure.status, headers, _error(message)


def _error(message: str) -> dict[str, Any]:
    return {"message": message, "documentation_url": DOCS, "status": "error"}


def _invalid(detail: str) -> dict[str, Any]:
    return {"message": f"Invalid request.\n\n{detail}", "documentation_url": DOCS, "status": "422"}


def _creator() -> dict[str, Any]:
    return {"login": "fake-bot[bot]", "id": 1, "type": "Bot"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeGitHub) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, stopped relays) is expected."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or "0")
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, out_headers, body = self.server.fake.handle(self.command, self.path, headers, raw)
        except _Hold:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_DELETE = _serve
