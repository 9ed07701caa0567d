"""relay/forwarder.py with ``verify`` on, on the fake clock: what the relay does with each answer of Streampixel's
Get Project (the event matches, does not match, or Streampixel cannot answer) and how long it waits in between.

The forwarder's thread runs for real; its clock is fake (every wait it decides is recorded and passes at once), the
project lookup answers from a script, and GitHub is a requests adapter that accepts every dispatch (no network).
Each test waits, in real time and bounded, for the event to be accounted for, then reads what happened.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from streampixel_deploy.relay import build_config
from streampixel_deploy.relay.events import Envelope
from streampixel_deploy.relay.forwarder import Figures, Forwarder, ProjectLookup, Verdict
from streampixel_deploy.relay.log import JsonLog
from tests.fakeclock import FakeTime
from tests.forwarderkit import ENVELOPE, fake_forwarder_clock, flags, spool_with_the_event

INITIAL, MAXIMUM, RECHECK = 2.0, 60.0, 7.0  # retry-initial, retry-max and verify-recheck seconds
OK = Verdict("ok", project_name="Showroom")
MISMATCH = Verdict("mismatch", "the build is not Approved in the project")
UNREACHABLE = Verdict("error", "Streampixel did not answer")


class ScriptedLookup(ProjectLookup):
    """Get Project's verdicts in turn (the last one repeated), each look recorded at the fake time."""

    def __init__(self, fake: FakeTime, verdicts: list[Verdict]) -> None:
        super().__init__(None)
        self.fake = fake
        self.verdicts = verdicts
        self.looks: list[float] = []

    def verify(self, envelope: Envelope) -> Verdict:
        assert envelope.project_id == ENVELOPE["projectId"]
        self.looks.append(self.fake.now())
        return self.verdicts[min(len(self.looks), len(self.verdicts)) - 1]

    def waits(self) -> list[float]:
        return [later - earlier for earlier, later in itertools.pairwise(self.looks)]


class AcceptingGitHub(BaseAdapter):
    """Answers every dispatch 204 and keeps its JSON body."""

    def __init__(self) -> None:
        super().__init__()
        self.dispatches: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.dispatches.append(json.loads(request.body or b"{}"))
        response = requests.Response()
        response.status_code = 204
        response.raw = io.BytesIO(b"")
        response.url, response.request = request.url or "", request
        return response

    def close(self) -> None:
        pass


class VerifyingRelay:
    """A forwarder with verify on, one event in its spool."""

    def __init__(self, tmp: Path, fake: FakeTime, verdicts: list[Verdict], recheck: float = RECHECK) -> None:
        settings = flags(
            tmp / "spool",
            verify="true",
            api_key="sp-relay-test-key",
            user_id="664f00000000000000000001",
            verify_recheck_seconds=f"{recheck:g}",
            retry_initial_seconds=f"{INITIAL:g}",
            retry_max_seconds=f"{MAXIMUM:g}",
        )
        self.github = AcceptingGitHub()
        session = requests.Session()
        session.mount("https://", self.github)
        self.spool = spool_with_the_event(tmp / "spool")
        self.log = JsonLog(io.StringIO(), level="debug")
        self.lookup = ScriptedLookup(fake, verdicts)
        self.forwarder = Forwarder(build_config(settings, {}), self.spool, self.log, self.lookup, session)

    def run_until(self, done: Callable[[Figures], bool]) -> Figures:
        """Start, wait (real time, bounded) until ``done(figures)``, stop; the forwarder's figures then."""
        self.forwarder.start()
        deadline = time.monotonic() + 10
        try:
            while not done(figures := self.forwarder.snapshot()):
                assert time.monotonic() < deadline, f"not settled: {figures}, {len(self.lookup.looks)} looks"
                time.sleep(0.01)
        finally:
            self.forwarder.stop()
        return self.forwarder.snapshot()


def _settled(figures: dict[str, Any]) -> bool:
    return bool(figures["forwarded"] or figures["failed"] or figures["dropped"])


@pytest.fixture
def make_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., VerifyingRelay]]:
    fake = fake_forwarder_clock(monkeypatch)
    yield lambda verdicts, **kw: VerifyingRelay(tmp_path, fake, verdicts, **kw)


def test_a_matching_event_is_forwarded_at_once_with_the_project_name(make_relay: Any) -> None:
    relay = make_relay([OK])
    figures = relay.run_until(_settled)
    assert figures["forwarded"] == 1 and figures["dropped"] == {}
    assert relay.lookup.waits() == []
    (dispatch,) = relay.github.dispatches
    assert dispatch["client_payload"]["projectName"] == "Showroom"
    assert relay.spool.count() == 0


def test_a_mismatch_is_read_again_once_after_the_recheck_then_dropped(make_relay: Any) -> None:
    relay = make_relay([MISMATCH])
    figures = relay.run_until(_settled)
    assert figures["dropped"] == {"verify-mismatch": 1} and figures["forwarded"] == 0
    assert relay.lookup.waits() == [RECHECK]  # two looks, the recheck between them
    assert relay.github.dispatches == []
    assert relay.spool.count() == 0 and relay.spool.failed_count() == 0  # acknowledged and dropped, not kept
    (dropped,) = relay.log.find("event.dropped")
    assert dropped["reason"] == "verify-mismatch" and dropped["detail"] == MISMATCH.reason


def test_a_project_that_lagged_the_webhook_matches_on_the_recheck(make_relay: Any) -> None:
    relay = make_relay([MISMATCH, OK])
    figures = relay.run_until(_settled)
    assert figures["forwarded"] == 1 and figures["dropped"] == {}
    assert relay.lookup.waits() == [RECHECK]


def test_no_recheck_when_it_is_zero(make_relay: Any) -> None:
    relay = make_relay([MISMATCH, OK], recheck=0)
    figures = relay.run_until(_settled)
    assert figures["dropped"] == {"verify-mismatch": 1}
    assert len(relay.lookup.looks) == 1


def test_streampixel_unreachable_is_retried_on_the_backoff_then_forwarded(make_relay: Any) -> None:
    relay = make_relay([UNREACHABLE] * 9 + [OK])
    figures = relay.run_until(_settled)
    assert figures["forwarded"] == 1 and figures["dropped"] == {}
    waits = relay.lookup.waits()
    assert len(waits) == 9
    for attempt, wait in enumerate(waits, start=1):
        ceiling = min(MAXIMUM, INITIAL * 2.0 ** (attempt - 1))
        assert ceiling / 2 <= wait <= ceiling, (attempt, wait)  # exponential, equal jitter, capped
    assert waits[-1] >= MAXIMUM / 2
    assert [r["attempt"] for r in relay.log.find("verify.retry")] == list(range(1, 10))


def test_an_outage_never_loses_the_event(make_relay: Any) -> None:
    """However long Streampixel cannot answer, the event is neither forwarded nor dropped: stopping the relay
    leaves it in the spool for the next start."""
    relay = make_relay([UNREACHABLE])
    figures = relay.run_until(lambda _: len(relay.lookup.looks) >= 200)
    assert len(relay.lookup.looks) >= 200
    assert figures["forwarded"] == 0 and figures["dropped"] == {} and figures["failed"] == 0
    assert relay.github.dispatches == []
    assert relay.spool.count() == 1


def test_a_long_wait_is_said_in_the_log_and_repeated_while_it_lasts(make_relay: Any) -> None:
    """A wait over 10 s (here the recheck, 75 s) says what it waits for and until when, then a line at least every
    30 s: the relay's log is never silent through a wait, as a run's is not."""
    relay = make_relay([MISMATCH, OK], recheck=75.0)
    figures = relay.run_until(_settled)
    assert figures["forwarded"] == 1
    said = [entry["detail"] for entry in relay.log.find("wait")]
    assert said[0].startswith("Waiting for another try to read the project again (verify-recheck-seconds) until ")
    assert said[0].endswith("(75 s left).")
    assert len(said) >= 3, said  # at 0 s, then at 30 s and 60 s of the 75
