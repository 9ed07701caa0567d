"""github/rest.py: what each GitHub answer means, and that calls go through the one request policy."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from streampixel_deploy.core.http import Clock
from streampixel_deploy.github.rest import GITHUB_POLICY, GitHubRest, classify, reset_wait
from tests.fakeclock import FakeTime


@pytest.mark.parametrize(
    ("status", "headers", "kind", "wait", "rate_limited", "config_problem"),
    [
        (204, {}, "ok", None, False, False),
        (201, {}, "ok", None, False, False),
        (503, {}, "retry", None, False, False),
        (502, {"Retry-After": "7"}, "retry", 7.0, False, False),
        (500, {"Retry-After": "0"}, "retry", 1.0, False, False),  # never a busy loop: the policy's floor
        (429, {"Retry-After": "3"}, "retry", 3.0, True, False),
        (429, {"retry-after": "99999"}, "retry", 300.0, True, False),  # clamped like every Retry-After
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}, "retry", 11.0, True, False),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, "retry", 1.0, True, False),
        (401, {}, "retry", None, False, True),  # a wrong token is kept (and retried) until the operator fixes it
        (403, {}, "retry", None, False, True),
        (404, {}, "retry", None, False, True),
        (301, {}, "retry", None, False, True),
        (422, {}, "failed", None, False, False),
        (400, {}, "failed", None, False, False),
    ],
)
def test_answers_are_classified(
    status: int, headers: dict[str, str], kind: str, wait: float | None, rate_limited: bool, config_problem: bool
) -> None:
    answer = classify(status, headers, '{"message": "m"}', now=990.0)
    assert (answer.kind, answer.wait, answer.rate_limited, answer.config_problem) == (
        kind,
        wait,
        rate_limited,
        config_problem,
    )


def test_a_secondary_rate_limit_without_headers_is_a_rate_limit_with_no_time() -> None:
    body = '{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}'
    answer = classify(403, {}, body)
    assert answer.rate_limited and answer.wait is None  # the caller's policy window applies (60 s for GitHub)
    assert GITHUB_POLICY.rate_limit_window == 60.0


def test_messages_are_githubs_and_permission_hints_name_the_call() -> None:
    answer = classify(403, {}, '{"message": "Resource not accessible by integration"}', needs="deployments: write")
    assert answer.message == "Resource not accessible by integration"
    assert "deployments: write" in answer.detail
    assert classify(502, {}, "<html> bad   gateway </html>").message == "<html> bad gateway </html>"
    assert classify(201, {}, '{"id": 7}').data == {"id": 7}


def test_retry_after_may_be_an_http_date() -> None:
    answer = classify(429, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, "")
    assert answer.wait == 300.0  # far away: the ceiling


def test_reset_wait() -> None:
    assert reset_wait("1010", now=1000.0) == 11.0
    assert reset_wait("soon") is None
    assert reset_wait(None) is None


class _Response:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, url: str) -> None:
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers)
        self.raw = io.BufferedReader(io.BytesIO(body))
        self.url = url

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Session(requests.Session):
    """Answers from a script, recording what was sent; no network."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes] | Exception]) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        return _Response(status, headers, body, str(url))


def _rest(session: _Session, fake: FakeTime) -> GitHubRest:
    clock = Clock(600.0, now=fake.now, pause=fake.pause)
    return GitHubRest("https://ghe.example.com/api/v3/", "ghs_token_0000", session, clock)


def test_calls_carry_githubs_headers_and_build_quoted_urls() -> None:
    session, fake = _Session([(201, {}, b'{"id": 5}')]), FakeTime()
    rest = _rest(session, fake)
    url = rest.repo_url("octo-org/game", "deployments", "5", "statuses")
    assert url == "https://ghe.example.com/api/v3/repos/octo-org/game/deployments/5/statuses"
    answer = rest.call("POST", url, doing="create", json_body={"a": 1})
    assert answer.ok and answer.data == {"id": 5}
    (sent,) = session.sent
    assert sent["headers"]["Authorization"] == "Bearer ghs_token_0000"
    assert sent["headers"]["X-GitHub-Api-Version"] == "2022-11-28"
    assert sent["headers"]["Accept"] == "application/vnd.github+json"
    assert sent["json"] == {"a": 1} and sent["allow_redirects"] is False


def test_a_429_without_retry_after_waits_githubs_window_then_repeats() -> None:
    session, fake = _Session([(429, {}, b'{"message": "slow down"}'), (204, {}, b"")]), FakeTime()
    answer = _rest(session, fake).call("POST", "https://ghe.example.com/api/v3/x", doing="post")
    assert answer.ok and fake.waits == [60.0] and len(session.sent) == 2


def test_retry_false_is_one_attempt_and_no_answer_is_a_retry_without_the_token() -> None:
    session, fake = _Session([(503, {}, b"")]), FakeTime()
    rest = _rest(session, fake)
    answer = rest.call("POST", "https://ghe.example.com/api/v3/x", doing="post", repeatable=True, retry=False)
    assert answer.kind == "retry" and answer.status == 503 and fake.waits == []

    session.answers.append(requests.ConnectionError("refused"))
    answer = rest.call("POST", "https://ghe.example.com/api/v3/x?token=abc", doing="post", retry=False)
    assert answer.kind == "retry" and answer.status == 0
    assert "abc" not in answer.detail and "ghs_token_0000" not in answer.detail


def test_a_small_budget_bounds_each_request() -> None:
    session, fake = _Session([(204, {}, b"")]), FakeTime()
    _rest(session, fake).call("POST", "https://ghe.example.com/api/v3/x", doing="post", budget=2.0, retry=False)
    assert session.sent[0]["timeout"] == (2.0, 2.0)
