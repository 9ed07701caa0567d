"""run/submit.py with a fake client and a fake clock: after upload-file's answer is lost, the listing window decides
between "found", "absent" (only then sent again), and "not confirmed" (never a second build on a guess).

The client lists each build from its own moment of fake time; every wait moves that time, so a two-minute window
runs in microseconds and the time of every read and every send is known exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.api.models import Project
from streampixel_deploy.core.errors import (
    EXIT_TIMEOUT,
    ApiError,
    RateLimited,
    StreampixelDeployError,
    TransportError,
    WaitTimeout,
)
from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.submit import MIN_LOOKS, NotConfirmed, find_created, listing_window, submit
from streampixel_deploy.settings.table import build_settings
from tests.fakeclock import FakeTime

PROJECT = "67944b8a3f323be4b89a2272"
FILE_URL = "https://cdn.example.com/builds/MyGame.zip"
OLD_ID = "665a2b3c4d5e6f7a8b9c0e1f"  # there before the run, with the same fileUrl (a re-deploy of one zip)
POLL = 15.0  # the default poll interval: the window is the whole 120 s
WINDOW = 120.0


@dataclass
class Listed:
    id: str
    url: str = FILE_URL
    at: float = 0.0  # listed in files[] from this moment on


def _answering(now: float) -> Exception | None:
    return None


@dataclass
class FakeClient:
    """Streampixel as a function of fake time: files[] lists each build from its moment; reads fail while
    ``failing(now)`` says so; upload-file answers from ``sends`` in turn (an exception is raised, an ID accepted)."""

    fake: FakeTime
    builds: list[Listed] = field(default_factory=list)
    sends: list[str | Exception] = field(default_factory=list)
    failing: Callable[[float], Exception | None] = _answering
    reads: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)

    def get_project(self, project_id: str) -> Project:
        now = self.fake.now()
        self.reads.append(now)
        if (error := self.failing(now)) is not None:
            raise error
        files = [{"_id": b.id, "url": b.url, "status": "pending"} for b in self.builds if b.at <= now]
        return Project.from_json({"_id": project_id, "name": "Showroom", "files": files}, fallback_id=project_id)

    def last_look(self, project_id: str, seconds: float = 1.5) -> Project:
        return self.get_project(project_id)

    def upload_file(self, project_id: str, file_url: str, auto_release: bool, retry: bool = True) -> str:
        now = self.fake.now()
        self.sent.append(now)
        answer = self.sends.pop(0)
        if isinstance(answer, Exception):
            raise answer
        self.builds.append(Listed(answer, file_url, now))
        return answer


class Said(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def warning(self, message: str, title: str | None = None) -> None:
        self.lines.append(message)


def _run(client: FakeClient, budget: float = 3600.0, **settings: str) -> Run:
    raw = {
        "api-key": "k" * 20,
        "user-id": "663d0a1b2c3e4f5a6b7c8d9e",
        "project-id": PROJECT,
        "file-url": FILE_URL,
        **settings,
    }
    fake = client.fake
    clock = Clock(budget, now=fake.now, pause=fake.pause)
    return Run(build_settings(raw, "deploy"), Said(), cast(StreampixelClient, client), clock)


def _client(**kwargs: Any) -> FakeClient:
    fake = FakeTime()
    return FakeClient(fake, [Listed(OLD_ID, at=-1.0)], **kwargs)


# --- the listing window ---------------------------------------------------------------------------------------


def test_the_window_is_two_minutes_at_the_real_apis_poll_floor_and_24_polls_below_it() -> None:
    assert listing_window(_run(_client()).settings) == WINDOW
    emulator = {"api-url": "http://127.0.0.1:9/api", "poll-interval-seconds": "2"}  # polling faster than 5 s
    assert listing_window(_run(_client(), 3600.0, **emulator).settings) == 48.0


def test_a_build_listed_late_in_the_window_is_found() -> None:
    client = _client()
    client.builds.append(Listed("aaaaaaaaaaaaaaaaaaaaaaaa", at=110.0))
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == ("aaaaaaaaaaaaaaaaaaaaaaaa", True)
    assert client.reads[-1] == 120.0  # the first read after it was listed (reads every 15 s)


def test_absent_only_after_a_read_made_once_the_window_ended() -> None:
    client = _client()
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == (None, True)
    assert client.reads[-1] >= WINDOW > client.reads[-2]  # proof from a read after the window; then at once
    assert len(client.reads) >= MIN_LOOKS
    assert client.fake.t == client.reads[-1]  # no wait after the proof


def test_a_zero_window_still_looks_min_looks_times() -> None:
    client = _client()
    assert find_created(_run(client), FILE_URL, {OLD_ID}, 0.0) == (None, True)
    assert len(client.reads) == MIN_LOOKS


def test_builds_from_before_the_run_or_of_another_file_are_not_ours() -> None:
    client = _client()
    client.builds.append(Listed("bbbbbbbbbbbbbbbbbbbbbbbb", url="https://cdn.example.com/builds/Other.zip", at=5.0))
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == (None, True)
    # the same file, listed with its query dropped and its path percent-encoded, is ours
    client.builds.append(Listed("cccccccccccccccccccccccc", url="https://cdn.example.com/builds/My%47ame.zip?x=1"))
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW)[0] == "cccccccccccccccccccccccc"


def test_two_new_builds_with_our_file_are_unsettled() -> None:
    client = _client()
    client.builds += [Listed("aaaaaaaaaaaaaaaaaaaaaaaa", at=20.0), Listed("bbbbbbbbbbbbbbbbbbbbbbbb", at=20.0)]
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == (None, False)


def test_failing_reads_settle_nothing_until_one_after_the_window_answers() -> None:
    client = _client(failing=lambda now: TransportError("reset") if now < 200 else None)
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == (None, True)
    assert client.reads[-1] == 210.0  # the first read that answered


def test_the_deadline_leaves_it_unsettled_without_waiting_past_it() -> None:
    client = _client()
    run = _run(client, budget=50.0)
    assert find_created(run, FILE_URL, {OLD_ID}, WINDOW) == (None, False)
    assert client.fake.t <= 50.0 and client.reads[-1] <= 50.0


def test_a_read_cut_by_the_deadline_is_unsettled() -> None:
    client = _client(failing=lambda now: WaitTimeout("timeout-minutes ran out") if now >= 30 else None)
    assert find_created(_run(client), FILE_URL, {OLD_ID}, WINDOW) == (None, False)


# --- submit -----------------------------------------------------------------------------------------------------


def test_a_lost_answer_whose_build_appears_is_not_sent_again() -> None:
    client = _client(sends=[TransportError("connection reset")])
    client.builds.append(Listed("aaaaaaaaaaaaaaaaaaaaaaaa", at=40.0))
    assert submit(_run(client), FILE_URL, {OLD_ID}) == "aaaaaaaaaaaaaaaaaaaaaaaa"
    assert client.sent == [0.0]


def test_a_lost_answer_is_sent_again_only_after_the_window_proved_nothing_was_created() -> None:
    client = _client(sends=[ApiError("bad gateway", 500), "dddddddddddddddddddddddd"])
    run = _run(client)
    assert submit(run, FILE_URL, {OLD_ID}) == "dddddddddddddddddddddddd"
    assert client.sent[0] == 0.0 and client.sent[1] >= WINDOW
    assert any("submitting again (attempt 2)" in line for line in cast(Said, run.reporter).lines)


@pytest.mark.parametrize(
    "lost",
    [TransportError("read timed out", in_flight=True), ApiError("gateway timeout", 504)],
    ids=["read timeout", "gateway 504"],
)
def test_a_request_that_may_still_run_on_the_server_is_given_longer(lost: StreampixelDeployError) -> None:
    client = _client(sends=[lost, "dddddddddddddddddddddddd"])
    run = _run(client)
    assert submit(run, FILE_URL, {OLD_ID}) == "dddddddddddddddddddddddd"
    assert client.sent[1] >= WINDOW + 2 * run.settings.http_timeout_seconds + 5


def test_the_deadline_ending_the_search_is_a_timeout_and_nothing_is_resent() -> None:
    client = _client(sends=[TransportError("connection reset")])
    with pytest.raises(NotConfirmed) as caught:
        submit(_run(client, budget=60.0), FILE_URL, {OLD_ID})
    assert caught.value.exit_code == EXIT_TIMEOUT
    assert "Submitted, not confirmed" in caught.value.message and "no duplicate" in caught.value.message
    assert client.sent == [0.0]


def test_two_candidates_are_not_confirmed_a_failure_not_a_timeout() -> None:
    client = _client(sends=[TransportError("connection reset")])
    client.builds += [Listed("aaaaaaaaaaaaaaaaaaaaaaaa", at=10.0), Listed("bbbbbbbbbbbbbbbbbbbbbbbb", at=10.0)]
    with pytest.raises(NotConfirmed) as caught:
        submit(_run(client), FILE_URL, {OLD_ID})
    assert caught.value.exit_code != EXIT_TIMEOUT
    assert client.sent == [0.0]


def test_a_rate_limited_send_waits_what_streampixel_asked_then_sends() -> None:
    limited = RateLimited("slow down", 429)
    limited.retry_after = 42.0
    client = _client(sends=[limited, "dddddddddddddddddddddddd"])
    assert submit(_run(client), FILE_URL, {OLD_ID}) == "dddddddddddddddddddddddd"
    assert client.sent == [0.0, 42.0]
