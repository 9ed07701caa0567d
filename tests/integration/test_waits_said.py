"""Silent waits against a real emulator (issue 28, item 7): after Approved with autoRelease, the follower waits for
a Distribute stage; it says what it waits for and until when, and a short line at least every 30 s.

The emulator answers over real HTTP; the run's time is fake (tests/fakeclock.py), so the wait's minute passes at
once and the gaps between lines are exact."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.core import waits
from streampixel_deploy.core.http import Clock, Http, Policy, Reply, make_session
from streampixel_deploy.core.waits import REPEAT_EVERY
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.execute import make_client
from streampixel_deploy.run.follow import follow
from streampixel_deploy.settings.table import build_settings
from tests.fakeclock import FakeTime, Heard
from tests.localhttp import QuietHandler, serve

TIMEOUT = 30.0  # a safety net only: every wait below ends on an event


def test_the_wait_for_a_distribution_after_approved_is_said(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 600.0})  # the real pipeline stays put; the fault below is what is read
    upload_id = json.loads(cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json").out)["uploadId"]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Approved"] * 100})
    run, _ = fake_time_run(emu, build_zip)
    heard = run.reporter
    assert isinstance(heard, Heard)
    follow(run, upload_id, expect_distribution=True)
    assert run.distributed is None
    lines = [line for _, line in heard.lines]
    assert lines[0] == "stage Approved"
    assert re.fullmatch(
        r"Waiting for a Distribute stage \(Approved, not yet seen being distributed\) until \d\d:\d\d:\d\d UTC "
        r"\(60 s left\)\.",
        lines[1],
    ), lines
    assert sum(line.startswith("Still waiting for a Distribute stage") for line in lines) >= 1, lines
    assert heard.longest_silence() <= REPEAT_EVERY, heard.lines


def fake_time_run(emu: Emulator, build_zip: Path, **given: str) -> tuple[Run, FakeTime]:
    """A deploy's run against the emulator (real HTTP) on fake time: every wait passes at once, every line is heard."""
    raw = {
        "api-key": DEFAULT_API_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": DEFAULT_PROJECT_ID,
        "api-url": emu.api_url,
        "zip-path": str(build_zip),
        **given,
    }
    settings = build_settings(raw, "deploy")
    fake = FakeTime(1000.0)
    heard = Heard(fake)
    clock = Clock(settings.timeout_seconds, now=fake.now, pause=fake.pause)
    return Run(settings, heard, make_client(settings, {}, clock, heard), clock), fake


class Holding(QuietHandler):
    """Holds its answer until the client has said twice that it waits for it."""

    heard = threading.Event()

    def do_GET(self) -> None:
        Holding.heard.wait(TIMEOUT)
        self.answer(200, b'{"ok": true}')


@pytest.mark.parametrize("thread", ["main", "other"])
def test_an_answer_held_past_the_threshold_is_waited_for_out_loud(monkeypatch: pytest.MonkeyPatch, thread: str) -> None:
    """A request the server holds is a wait too (up to http-timeout-seconds): said once it lasts longer than the
    threshold, repeated while it lasts, on the main thread and on a project's thread alike. (The thresholds are
    shortened so that the test waits for the lines, not for 40 s.)"""
    monkeypatch.setattr(waits, "ANNOUNCE_AFTER", 0.2)
    monkeypatch.setattr(waits, "REPEAT_EVERY", 0.2)
    Holding.heard.clear()
    lines: list[str] = []

    def tell(line: str) -> None:
        lines.append(line)
        if len(lines) >= 2:
            Holding.heard.set()

    with serve(Holding) as url:
        http = Http(make_session(), Policy(request_budget=TIMEOUT), Clock(60), on_wait=tell)
        replies: list[Reply] = []

        def call() -> None:
            replies.append(http.send("GET", url, what="read project p", repeatable=True))

        if thread == "main":
            call()
        else:
            worker = threading.Thread(target=call)
            worker.start()
            worker.join(TIMEOUT)
    assert replies[0].status == 200
    assert re.fullmatch(
        r"Waiting for Streampixel's answer to read project p until \d\d:\d\d:\d\d UTC \(\d+ s left\)\.", lines[0]
    )
    assert lines[1].startswith("Still waiting for Streampixel's answer to read project p: until ")
