"""core/waits.py through the run's Clock and the follower, on a fake clock: every wait longer than about 10 s says
what it waits for and until when (a UTC clock time and the seconds left), then a short line at least every 30 s.

Time is fake (tests/fakeclock.py), so the gaps between lines are exact, not measured."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.api.models import Project
from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.waits import REPEAT_EVERY
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.follow import follow
from streampixel_deploy.settings.table import build_settings
from tests.fakeclock import FakeTime, Heard

PROJECT = "67944b8a3f323be4b89a2272"
BUILD = "665a2b3c4d5e6f7a8b9c0e1f"
#: what a line that starts a wait must hold: a clock time and the seconds left
UNTIL = re.compile(r"until \d\d:\d\d:\d\d UTC \((\d+) s left\)")


@dataclass
class Statuses:
    """Get Project as a function of fake time: the build's status from each moment on."""

    fake: FakeTime
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def get_project(self, project_id: str) -> Project:
        now = self.fake.now()
        status = [s for at, s in self.timeline if at <= now][-1]
        files = [{"_id": BUILD, "url": "https://cdn.example.com/b.zip", "status": status}]
        return Project.from_json({"_id": project_id, "name": "Showroom", "files": files}, fallback_id=project_id)


def _following(timeline: list[tuple[float, str]], budget: float = 1800.0) -> tuple[Run, Heard]:
    fake = FakeTime()
    heard = Heard(fake)
    raw = {"api-key": "k" * 20, "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": PROJECT, "command": "status"}
    clock = Clock(budget, now=fake.now, pause=fake.pause)  # the follower speaks through the run's reporter
    client = cast(StreampixelClient, Statuses(fake, timeline))
    return Run(build_settings(raw, "status"), heard, client, clock), heard


def test_a_long_sleep_says_what_for_and_until_when_then_repeats() -> None:
    fake = FakeTime()
    lines: list[tuple[float, str]] = []
    clock = Clock(600, now=fake.now, pause=fake.pause, tell=lambda line: lines.append((fake.now(), line)))
    clock.sleep(120, "upload-file", waiting_for="the rate limit on upload-file to pass")
    assert fake.now() == 120
    first = lines[0][1]
    assert first.startswith("Waiting for the rate limit on upload-file to pass until ")
    assert (match := UNTIL.search(first)) is not None and match.group(1) == "120"
    assert [t for t, _ in lines] == [0, 30, 60, 90]
    assert [UNTIL.search(line).group(1) for _, line in lines[1:]] == ["90", "60", "30"]  # type: ignore[union-attr]
    assert all(line.startswith("Still waiting for the rate limit") for _, line in lines[1:])


def test_a_short_sleep_says_nothing_and_is_one_pause() -> None:
    fake = FakeTime()
    lines: list[str] = []
    Clock(600, now=fake.now, pause=fake.pause, tell=lines.append).sleep(8, "read project p")
    assert lines == [] and fake.waits == [8]


def test_a_backoff_names_the_next_try_by_default() -> None:
    fake = FakeTime()
    lines: list[str] = []
    Clock(600, now=fake.now, pause=fake.pause, tell=lines.append).sleep(25, "read project p")
    assert lines[0].startswith("Waiting for another try to read project p until ")


def test_after_approved_the_wait_for_a_distribution_is_said_and_repeated() -> None:
    """The issue's 86 s: Approved with autoRelease, no Distribute stage seen; the follower keeps following for the
    distribution, and said nothing until "whether it is live yet is unknown"."""
    run, heard = _following([(0.0, "Saving to Repository"), (20.0, "Approved")])
    follow(run, BUILD, expect_distribution=True)
    assert run.distributed is None  # live unknown, as before: only the silence changed
    approved = next(i for i, (_, line) in enumerate(heard.lines) if line == "stage Approved")
    said = heard.lines[approved + 1][1]
    assert said.startswith("Waiting for a Distribute stage") and UNTIL.search(said), heard.lines
    assert heard.longest_silence() <= REPEAT_EVERY, heard.lines


def test_a_slow_build_is_followed_out_loud_until_the_deadline() -> None:
    run, heard = _following([(0.0, "pending"), (400.0, "Approved")])
    follow(run, BUILD)
    first = heard.lines[1][1]  # after the first stage line
    assert first.startswith(f"Waiting for build {BUILD} to be approved until "), heard.lines
    assert (match := UNTIL.search(first)) is not None and int(match.group(1)) == 1800
    assert heard.longest_silence() <= REPEAT_EVERY, heard.lines
    assert any(line.startswith(f"Still waiting for build {BUILD}") for _, line in heard.lines)


def test_after_distribute_file_the_settle_is_said() -> None:
    run, heard = _following([(0.0, "Approved")])
    follow(run, BUILD, after_distribute=True)
    lines = [line for _, line in heard.lines]
    assert any(line.startswith("Waiting for a Distribute stage (still listed Approved") for line in lines), lines
    assert heard.longest_silence() <= REPEAT_EVERY, heard.lines
