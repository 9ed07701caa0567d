"""The tolerant reader (issue 25) without a server: IDs, counts, dates, envelopes, failure bodies, 429 headers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from streampixel_deploy.api.client import _parse
from streampixel_deploy.api.models import Build, Project
from streampixel_deploy.core.errors import ApiError, BadResponse
from streampixel_deploy.core.http import Reply
from streampixel_deploy.core.ratelimit import RETRY_AFTER_CEILING, rate_limit_delay
from streampixel_deploy.core.readers import as_id, as_int, parse_when

NOW = datetime(2026, 5, 2, 9, 0, 0, tzinfo=timezone.utc)


def _reply(body: object, status: int = 200) -> Reply:
    return Reply(status, {}, json.dumps(body).encode(), "https://api.example/x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("665a2b", "665a2b"),
        (" 665a2b ", "665a2b"),
        (1765069234000123, "1765069234000123"),
        (12.0, "12"),
        ({"$oid": "665a"}, "665a"),
        ("", None),
        (True, None),
        (None, None),
        (1.5, None),
        ([], None),
    ],
)
def test_ids_are_strings_or_numbers(value: object, expected: str | None) -> None:
    assert as_id(value) == expected


def test_counts_may_be_strings() -> None:
    assert [as_int(v) for v in (3, "3", " 20 ", 2.0, "x", None, True, 2.5)] == [3, 3, 20, 2, None, None, None, None]


@pytest.mark.parametrize(
    ("value", "iso", "exact"),
    [
        ("2026-04-30T19:00:00.000Z", "2026-04-30T19:00:00+00:00", True),
        ("2026-04-30T19:00:00", "2026-04-30T19:00:00+00:00", True),
        ("2026-04-30", "2026-04-30T00:00:00+00:00", False),
        (1777575600000, "2026-04-30T19:00:00+00:00", True),
        ("1777575600", "2026-04-30T19:00:00+00:00", True),
        ("Thu, 30 Apr 2026 19:00:00 GMT", "2026-04-30T19:00:00+00:00", True),
    ],
)
def test_dates_in_every_form(value: object, iso: str, exact: bool) -> None:
    when, is_exact = parse_when(value)
    assert when is not None and when.isoformat() == iso and is_exact is exact


@pytest.mark.parametrize("value", ["soon", "", None, 12, True, float("nan")])
def test_what_is_not_a_date_is_unknown(value: object) -> None:
    assert parse_when(value)[0] is None


def test_a_day_does_not_order_two_builds_of_that_day() -> None:
    first, second, earlier = (
        Build.from_json({"_id": i, "status": "Approved", "date": d})
        for i, d in ((1, "2026-04-30"), (2, "2026-04-30"), (3, "2026-04-29T23:59:59Z"))
    )
    assert first is not None and second is not None and earlier is not None
    assert not first.certainly_newer(second) and not second.certainly_newer(first)
    assert first.certainly_newer(earlier) and first.id == "1"


def test_an_envelope_is_unwrapped_and_ids_read() -> None:
    data = _parse(_reply({"success": True, "data": {"files": [{"_id": 7, "url": "u", "status": "pending"}]}}), "x")
    project = Project.from_json(data, fallback_id="p")
    assert [b.id for b in project.files] == ["7"]
    assert _parse(_reply({"success": True, "data": [1]}), "x")["data"] == [1]
    upload = _parse(_reply({"success": True, "message": "queued", "data": {"uploadId": 5}}), "x")
    assert upload == {"message": "queued", "uploadId": 5}


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "message": "Access denied"},
        {"success": "false", "message": "Access denied"},
        {"ok": False, "error": "Access denied"},
        {"status": "error", "error": {"message": "Access denied"}},
        {"success": False, "data": {}, "message": "Access denied"},
    ],
)
def test_a_2xx_that_says_it_failed_is_an_error_with_its_words(body: dict[str, object]) -> None:
    with pytest.raises(ApiError) as caught:
        _parse(_reply(body), "distribute the build")
    assert "Access denied" in str(caught.value) and caught.value.server_message == "Access denied"
    assert not isinstance(caught.value, BadResponse)


def test_test_webhooks_own_success_is_not_a_failure_of_the_request() -> None:
    body = {"success": False, "message": "Webhook endpoint returned non-2xx status", "statusCode": "500"}
    assert _parse(_reply(body), "send a test webhook", judge=False) == body


def test_a_body_that_cannot_be_understood_is_quoted() -> None:
    with pytest.raises(BadResponse) as caught:
        _parse(Reply(200, {}, b"<html>Bad gateway apikey=sekrit</html>", "u"), "read project")
    assert "Bad gateway" in str(caught.value) and "sekrit" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "Sat, 02 May 2026 09:00:30 GMT"}, 30.0),
        ({"RateLimit-Reset": "12"}, 12.0),
        ({"RateLimit": '"default";r=0;t=9'}, 9.0),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 20)}, 20.0),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp() * 1000) + 5000)}, 5.0),
        ({"X-RateLimit-Reset": "15"}, 15.0),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 86400)}, RETRY_AFTER_CEILING),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) - 60)}, 1.0),
        ({"Retry-After": "3", "X-RateLimit-Reset": "99"}, 3.0),
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
    ],
)
def test_every_common_rate_limit_header(headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_delay(headers, now=NOW) == expected
