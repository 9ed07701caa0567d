"""The request policy's rules with a fake clock: Retry-After in both forms, clamps, backoff, the deadline."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from streampixel_deploy.core.errors import Cancelled, WaitTimeout
from streampixel_deploy.core.http import STREAMPIXEL_WINDOW, Clock, Policy
from streampixel_deploy.core.ratelimit import RETRY_AFTER_CEILING, RETRY_AFTER_FLOOR, parse_retry_after
from tests.fakeclock import FakeTime

NOW = datetime(2026, 12, 2, 8, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", RETRY_AFTER_FLOOR),  # never a busy loop
        ("-5", RETRY_AFTER_FLOOR),
        ("0.2", RETRY_AFTER_FLOOR),
        ("1.5", 1.5),
        ("120", 120.0),
        ("1e9", RETRY_AFTER_CEILING),
        ("inf", RETRY_AFTER_CEILING),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
        (format_datetime(NOW + timedelta(seconds=42), usegmt=True), 42.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), RETRY_AFTER_FLOOR),
        (format_datetime(NOW + timedelta(days=3), usegmt=True), RETRY_AFTER_CEILING),
    ],
)
def test_retry_after_both_forms_clamped(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_a_429_without_a_usable_value_waits_the_documented_window_on_limited_endpoints() -> None:
    policy = Policy(rng=random.Random(1))  # noqa: S311 - jitter, not secrets
    assert policy.rate_limit_wait(None, limited=True) == STREAMPIXEL_WINDOW == 120.0
    assert policy.rate_limit_wait("soon", limited=True) == 120.0
    assert policy.rate_limit_wait("7", limited=True) == 7.0
    # other endpoints (fair use): the backoff, never under the floor
    assert RETRY_AFTER_FLOOR <= policy.rate_limit_wait(None, attempt=1, limited=False) <= policy.backoff_max


def test_backoff_is_exponential_with_equal_jitter_and_capped() -> None:
    policy = Policy(backoff=0.5, backoff_max=8.0, rng=random.Random(7))  # noqa: S311 - jitter, not secrets
    for attempt in range(1, 12):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        delay = policy.backoff_delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_a_wait_past_the_deadline_times_out_at_once() -> None:
    fake = FakeTime(100.0)
    clock = Clock(10.0, now=fake.now, pause=fake.pause)
    clock.sleep(4.0, "waiting")
    assert fake.waits == [4.0]
    with pytest.raises(WaitTimeout, match=r"timeout-minutes \(0\.166667 minutes\) ran out while waiting"):
        clock.sleep(7.0, "waiting")
    assert fake.waits == [4.0], "no sleep that ends after the deadline"


def test_sleep_at_most_stops_at_the_deadline() -> None:
    fake = FakeTime(100.0)
    clock = Clock(3.0, now=fake.now, pause=fake.pause)
    clock.sleep_at_most(10.0)
    assert fake.waits == [3.0]
    assert clock.remaining() == 0.0
    with pytest.raises(WaitTimeout):
        clock.check("polling")


def test_cancel_ends_a_wait() -> None:
    fake = FakeTime(100.0)
    clock = Clock(60.0, now=fake.now, pause=lambda seconds: True)  # the cancel event fired during the wait
    with pytest.raises(Cancelled):
        clock.sleep(5.0, "waiting")
    clock.cancel.set()
    with pytest.raises(Cancelled):
        clock.sleep_at_most(5.0)


def test_time_for_another_attempt() -> None:
    fake = FakeTime(100.0)
    clock = Clock(2.0, now=fake.now, pause=fake.pause)
    assert clock.has_time_for(1.0)
    assert not clock.has_time_for(1.6)
    assert Clock(None).has_time_for(1e9)
