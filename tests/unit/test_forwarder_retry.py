"""relay/forwarder.py's retry decisions, with GitHub scripted (a requests adapter: no network) and the fake clock:
how long the forwarder waits after each answer, that it never gives up on a transient one, and what it sets aside.

The forwarder's thread runs for real; only its clock is fake, so every wait it decides is recorded exactly and
passes at once. Each test waits (in real time, bounded) for the event to be accounted for, then reads the waits.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from streampixel_deploy.relay import build_config
from streampixel_deploy.relay.forwarder import Figures, Forwarder, ProjectLookup
from streampixel_deploy.relay.log import JsonLog
from tests.fakeclock import FakeTime
from tests.forwarderkit import fake_forwarder_clock, flags, spool_with_the_event

INITIAL, MAXIMUM, FLOOR = 2.0, 60.0, 30.0  # retry-initial, retry-max and rate-limit-floor seconds
Answer = tuple[int, dict[str, str]]


class ScriptedGitHub(BaseAdapter):
    """Answers each request with the next scripted (status, headers); 204 once the script is done."""

    def __init__(self, fake: FakeTime, script: list[Answer]) -> None:
        super().__init__()
        self.fake = fake
        self.script = list(script)
        self.calls: list[tuple[float, dict[str, Any]]] = []  # (fake time, JSON body)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls.append((self.fake.now(), json.loads(request.body or b"{}")))
        status, headers = self.script.pop(0) if self.script else (204, {})
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        body = b"" if status == 204 else json.dumps({"message": f"scripted {status}"}).encode()
        response.raw = io.BufferedReader(io.BytesIO(body))
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


class Relay:
    """A forwarder on a fake clock, GitHub scripted, one event in its spool."""

    def __init__(self, tmp: Path, fake: FakeTime, script: list[Answer]) -> None:
        config = build_config(
            flags(
                tmp / "spool",
                retry_initial_seconds=f"{INITIAL:g}",
                retry_max_seconds=f"{MAXIMUM:g}",
                rate_limit_floor_seconds=f"{FLOOR:g}",
            ),
            {},
        )
        self.github = ScriptedGitHub(fake, script)
        session = requests.Session()
        session.mount("https://", self.github)
        self.spool = spool_with_the_event(tmp / "spool")
        self.log = JsonLog(io.StringIO(), level="debug")
        self.forwarder = Forwarder(config, self.spool, self.log, ProjectLookup(None), session)
        self.fake = fake

    def run_until_settled(self, timeout: float = 10.0) -> Figures:
        """Start, wait (real time) until the event is forwarded or set aside, stop; the forwarder's figures."""
        self.forwarder.start()
        deadline = time.monotonic() + timeout
        try:
            while (figures := self.forwarder.snapshot())["forwarded"] + figures["failed"] == 0:
                assert time.monotonic() < deadline, f"the event was not settled: {figures}"
                time.sleep(0.01)
        finally:
            self.forwarder.stop()
        return figures

    def attempts_at(self) -> list[float]:
        return [at for at, _ in self.github.calls]

    def waits(self) -> list[float]:
        """The waits between attempts: what the forwarder decided after each answer."""
        times = self.attempts_at()
        return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def make_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake = fake_forwarder_clock(monkeypatch)
    yield lambda script: Relay(tmp_path, fake, script)


def _backoff(attempt: int) -> tuple[float, float]:
    """The equal-jitter range of the backoff before attempt ``attempt + 1``."""
    ceiling = min(MAXIMUM, INITIAL * 2.0 ** (attempt - 1))
    return ceiling / 2, ceiling


def test_server_errors_back_off_exponentially_with_jitter_up_to_the_maximum(make_relay: Any) -> None:
    relay = make_relay([(500, {})] * 8)
    figures = relay.run_until_settled()
    assert figures["forwarded"] == 1 and figures["retries"] == 8
    waits = relay.waits()
    assert len(waits) == 8
    for attempt, wait in enumerate(waits, start=1):
        low, high = _backoff(attempt)
        assert low <= wait <= high, (attempt, wait)
    assert max(waits) <= MAXIMUM and waits[-1] >= MAXIMUM / 2  # capped, and the cap reached
    assert relay.spool.count() == 0  # delivered: out of the spool


def test_a_retry_after_is_waited_exactly(make_relay: Any) -> None:
    relay = make_relay([(503, {"Retry-After": "7"}), (429, {"Retry-After": "11"})])
    relay.run_until_settled()
    assert relay.waits() == [7.0, 11.0]


def test_a_rate_limit_naming_no_time_waits_at_least_the_floor(make_relay: Any) -> None:
    relay = make_relay([(429, {}), (403, {"X-RateLimit-Remaining": "0"}), (403, {})])
    relay.run_until_settled()
    limited, config = relay.waits()[:2], relay.waits()[2]
    assert all(FLOOR <= w <= MAXIMUM for w in limited), limited
    low, high = _backoff(3)  # a 403 without rate-limit signs is a config problem: retried on the backoff
    assert low <= config <= high
    retries = relay.log.find("github.retry")
    assert [r["status"] for r in retries] == [429, 403, 403] and retries[-1]["configProblem"] is True


def test_a_rate_limit_reset_is_waited_until_then(make_relay: Any) -> None:
    reset = int(time.time()) + 40
    relay = make_relay([(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})])
    relay.run_until_settled()
    (wait,) = relay.waits()
    assert 39.0 <= wait <= 42.0  # until the reset, plus a second


def test_a_transient_failure_is_never_given_up_on(make_relay: Any) -> None:
    relay = make_relay([(502, {"Retry-After": "1"})] * 40 + [(404, {"Retry-After": "1"})] * 5)
    figures = relay.run_until_settled()
    assert figures["forwarded"] == 1 and figures["failed"] == 0
    assert len(relay.github.calls) == 46
    bodies = [body for _, body in relay.github.calls]
    assert all(body == bodies[0] for body in bodies)  # the same dispatch each time
    assert bodies[0]["event_type"] == "streampixel.build.approved"


@pytest.mark.parametrize("status", [400, 410, 422])
def test_a_permanent_refusal_is_set_aside_at_once(make_relay: Any, status: int) -> None:
    relay = make_relay([(status, {})])
    figures = relay.run_until_settled()
    assert figures["failed"] == 1 and figures["forwarded"] == 0
    assert len(relay.github.calls) == 1 and relay.waits() == []
    assert relay.spool.count() == 0 and relay.spool.failed_count() == 1  # kept in failed/, not retried
    (failed,) = relay.log.find("event.failed")
    assert failed["status"] == status
