"""One ``repository_dispatch`` call and what its answer means for the event.

``POST {api}/repos/{owner}/{repo}/dispatches`` with ``{"event_type", "client_payload"}``, the headers GitHub
documents (``Authorization: Bearer``, ``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28``, a User-Agent) and the answer ``204 No Content`` on success.

Outcomes: any 2xx delivers. 5xx, 429, a rate-limited 403, 408, transport errors and timeouts are worth
retrying, after ``Retry-After`` / ``x-ratelimit-reset`` when GitHub sends them. 401/403/404 mean the token
or the repository setting is wrong: the event is kept and retried (slowly) so nothing is lost while the
operator fixes the setting. 400/410/413/422 are about the event itself and will never succeed: it is set
aside in ``failed/``.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import requests

from streampixel_deploy.core.http import make_session
from streampixel_deploy.core.redact import redact_url

API_VERSION = "2022-11-28"
PERMANENT = frozenset({400, 410, 413, 422})
CONFIG = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Outcome:
    kind: str  # "delivered" | "retry" | "failed"
    status: int  # HTTP status, 0 when there was no answer
    detail: str
    #: seconds GitHub asked us to wait (Retry-After, rate limit reset), None when it said nothing
    wait: float | None = None
    rate_limited: bool = False
    config_problem: bool = False


class GitHubDispatcher:
    def __init__(
        self,
        api_url: str,
        owner: str,
        repo: str,
        token: str,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/repos/{owner}/{repo}/dispatches"
        self._token = token
        self._timeout = (min(10.0, timeout), timeout)
        # No transport-level retries: the forwarder owns the retry policy (and the spool owns durability).
        self.session = session or make_session()

    def close(self) -> None:
        self.session.close()

    def dispatch(self, event_type: str, client_payload: dict[str, Any]) -> Outcome:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Content-Type": "application/json",
        }
        body = json.dumps({"event_type": event_type, "client_payload": client_payload}, separators=(",", ":"))
        try:
            response = self.session.post(
                self.url, data=body.encode("utf-8"), headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return Outcome("retry", 0, f"no answer from {redact_url(self.url)}: {type(exc).__name__}")
        with response:
            return classify(response.status_code, response.headers, response.text)


def classify(status: int, headers: Any, text: str) -> Outcome:
    message = _message(text)
    if 200 <= status < 300:
        return Outcome("delivered", status, "accepted" if status == 204 else f"accepted with HTTP {status}")
    retry_after = parse_retry_after(headers.get("Retry-After"))
    remaining = headers.get("x-ratelimit-remaining")
    rate_limited = status == 429 or (
        status == 403 and (remaining == "0" or "rate limit" in message.lower() or retry_after is not None)
    )
    if rate_limited:
        wait = retry_after
        if wait is None and remaining == "0":
            wait = _reset_wait(headers.get("x-ratelimit-reset"))
        return Outcome("retry", status, f"rate limited by GitHub: {message}", wait, rate_limited=True)
    if status >= 500 or status in (408, 409):
        return Outcome("retry", status, f"GitHub answered HTTP {status}: {message}", retry_after)
    if status in CONFIG:
        hint = {
            401: "the GitHub token is invalid or expired",
            403: "the GitHub token may not create dispatches in this repository (it needs contents: write)",
            404: "the repository does not exist or the token cannot see it",
        }[status]
        return Outcome(
            "retry", status, f"GitHub answered HTTP {status} ({hint}): {message}", retry_after, config_problem=True
        )
    if status in PERMANENT:
        return Outcome("failed", status, f"GitHub refused the event (HTTP {status}): {message}")
    if 300 <= status < 400:
        return Outcome(
            "retry",
            status,
            f"GitHub answered with a redirect (HTTP {status}); check github-api-url",
            config_problem=True,
        )
    return Outcome("retry", status, f"GitHub answered HTTP {status}: {message}", retry_after)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), capped at one hour."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), 3600.0)


def _reset_wait(value: str | None) -> float | None:
    try:
        reset = float(value or "")
    except ValueError:
        return None
    return min(max(reset - time.time(), 0.0) + 1.0, 3600.0)


def _message(text: str) -> str:
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:300]
    snippet = " ".join(text.split())
    return (snippet[:120] + "…") if len(snippet) > 120 else (snippet or "(empty body)")
