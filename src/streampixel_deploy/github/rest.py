"""The one way this program calls the GitHub REST API: Deployments (a run's record) and ``repository_dispatch``
(the relay).

Every request carries the headers GitHub documents (``Authorization: Bearer``,
``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version``) and goes through the request policy of
``core/http.py`` (:class:`~streampixel_deploy.core.http.Http`) under :data:`GITHUB_POLICY`. Each answer is
classified into an :class:`Answer`:

- any 2xx is ``ok``;
- 429, a rate-limited 403 (``x-ratelimit-remaining: 0``, "rate limit" in the message, or a ``Retry-After``),
  5xx, 408, 409 and no answer at all are ``retry``, after ``Retry-After`` (parsed by
  :func:`core.ratelimit.parse_retry_after`, the one parser) or the ``x-ratelimit-reset`` time when GitHub sends
  one; a rate limit that names no time waits GitHub's documented minute (the caller's policy window);
- 401/403/404 are ``retry`` with ``config_problem``: the token or the repository setting is wrong, and the
  operator can fix it;
- 400/410/413/422 are ``failed``: about the request itself, they will never succeed.

A list's next page is the ``Link`` header's ``rel="next"`` URL (:attr:`Answer.next_url`).

Messages never hold the token or a URL's query (:func:`core.redact.redact_url`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import requests

from streampixel_deploy.core.http import Clock, Http, Policy, RequestFailed
from streampixel_deploy.core.ratelimit import RETRY_AFTER_CEILING, parse_retry_after
from streampixel_deploy.core.redact import redact_url

API_VERSION = "2022-11-28"
#: GitHub's documented wait after a secondary rate limit that sends no Retry-After: at least one minute.
GITHUB_RATE_LIMIT_WINDOW = 60.0
GITHUB_POLICY = Policy(
    service="GitHub",
    attempts=3,
    backoff=1.0,
    backoff_max=30.0,
    rate_limit_window=GITHUB_RATE_LIMIT_WINDOW,
    window_on_every_429=True,
    connect_timeout=10.0,
    request_budget=30.0,
)
_LINK = re.compile(r'<(?P<url>[^>]*)>\s*;[^,]*?\brel\s*=\s*"?(?P<rel>[^",;]*)"?')
PERMANENT = frozenset({400, 410, 413, 422})
CONFIG = frozenset({401, 403, 404})
_HINTS = {
    401: "the GitHub token is invalid or expired",
    403: "the GitHub token lacks a permission this call needs ({needs})",
    404: "the repository does not exist or the token cannot see it",
}


@dataclass(frozen=True)
class Answer:
    """What one GitHub answer means for the caller (see the module docstring)."""

    kind: Literal["ok", "retry", "failed"]
    status: int  # the HTTP status, 0 when no answer came
    detail: str  # one sentence for a log line or a warning
    #: GitHub's own ``message`` (or the start of a body that was not GitHub's JSON)
    message: str = ""
    #: seconds GitHub asked us to wait (Retry-After, rate-limit reset); None when it said nothing
    wait: float | None = None
    rate_limited: bool = False
    config_problem: bool = False
    data: Any = None
    #: a list's next page (the ``Link`` header's ``rel="next"``), None on the last page
    next_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class GitHubRest:
    """Authenticated calls to one GitHub API (``https://api.github.com`` or GHES ``https://HOST/api/v3``)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        session: requests.Session,
        clock: Clock | None = None,
        policy: Policy = GITHUB_POLICY,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.session = session
        self.clock = clock or Clock()
        self.policy = policy

    def repo_url(self, repository: str, *path: str) -> str:
        """``{api}/repos/{owner}/{repo}/{path...}``, each path segment quoted."""
        owner, _, name = repository.partition("/")
        segments = [quote(owner, safe=""), quote(name, safe=""), *(quote(p, safe="") for p in path)]
        return f"{self.api_url}/repos/" + "/".join(segments)

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def call(
        self,
        method: str,
        url: str,
        *,
        doing: str,
        json_body: Any = None,
        repeatable: bool = False,
        retry: bool = True,
        budget: float | None = None,
        clock: Clock | None = None,
        needs: str = "",
    ) -> Answer:
        """One request under the policy (``retry=False``: one attempt, the caller owns retries), classified.

        No answer at all is an ``Answer("retry", 0, ...)``; ``WaitTimeout`` and ``Cancelled`` from the clock
        go to the caller. ``needs`` names the permission a 403 points at.
        """
        http = Http(self.session, self.policy, clock or self.clock)
        try:
            reply = http.send(
                method,
                url,
                what=doing,
                repeatable=repeatable,
                json_body=json_body,
                headers=self.headers(),
                budget=budget,
                retry=retry,
            )
        except RequestFailed as failure:
            return Answer("retry", 0, f"no answer from {redact_url(url)}: {failure.reason}")
        return classify(reply.status, reply.headers, reply.text, needs=needs)


def classify(status: int, headers: Mapping[str, str], text: str, needs: str = "", now: float | None = None) -> Answer:
    """What an answer of ``status`` with ``headers`` and body ``text`` means (see the module docstring)."""
    data = _json(text)
    lower = {k.lower(): v for k, v in headers.items()}
    if 200 <= status < 300:
        detail = "accepted" if status in (201, 204) else f"accepted with HTTP {status}"
        return Answer("ok", status, detail, data=data, next_url=next_link(lower.get("link")))
    message = _message(data, text)
    retry_after = parse_retry_after(lower.get("retry-after"))
    remaining = lower.get("x-ratelimit-remaining")
    rate_limited = status == 429 or (
        status == 403 and (remaining == "0" or "rate limit" in message.lower() or retry_after is not None)
    )
    if rate_limited:
        wait = retry_after
        if wait is None and remaining == "0":
            wait = reset_wait(lower.get("x-ratelimit-reset"), now)
        return Answer("retry", status, f"rate limited by GitHub: {message}", message, wait, rate_limited=True)
    if status >= 500 or status in (408, 409):
        return Answer("retry", status, f"GitHub answered HTTP {status}: {message}", message, retry_after)
    if status in CONFIG:
        hint = _HINTS[status].format(needs=needs or "see the call's documentation")
        detail = f"GitHub answered HTTP {status} ({hint}): {message}"
        return Answer("retry", status, detail, message, retry_after, config_problem=True)
    if status in PERMANENT:
        return Answer("failed", status, f"GitHub refused the request (HTTP {status}): {message}", message)
    if 300 <= status < 400:
        detail = f"GitHub answered with a redirect (HTTP {status}); check the GitHub API URL"
        return Answer("retry", status, detail, message, config_problem=True)
    return Answer("retry", status, f"GitHub answered HTTP {status}: {message}", message, retry_after)


def next_link(value: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (RFC 8288, as GitHub sends it), or None."""
    for match in _LINK.finditer(value or ""):
        if "next" in match["rel"].lower().split():
            return match["url"]
    return None


def reset_wait(value: str | None, now: float | None = None) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (epoch seconds) plus one, at most the Retry-After ceiling."""
    try:
        reset = float(value or "")
    except ValueError:
        return None
    current = time.time() if now is None else now
    return min(max(reset - current, 0.0) + 1.0, RETRY_AFTER_CEILING)


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _message(data: object, text: str) -> str:
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:300]
    snippet = " ".join(text.split())
    return (snippet[:120] + "…") if len(snippet) > 120 else (snippet or "(empty body)")
