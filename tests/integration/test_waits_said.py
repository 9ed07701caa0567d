"""Silent waits against a real emulator (issue 28, item 7): after Approved with autoRelease, the follower waits for
a Distribute stage; it says what it waits for and until when, and a short line at least every 30 s.

The emulator answers over real HTTP; the run's time is fake (tests/fakeclock.py), so the wait's minute passes at
once and the gaps between lines are exact."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.settings import build_settings
from streampixel_deploy.core.waits import REPEAT_EVERY
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.execute import make_client
from streampixel_deploy.run.follow import follow
from tests.fakeclock import FakeTime, Heard


def test_the_wait_for_a_distribution_after_approved_is_said(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 600.0})  # the real pipeline stays put; the fault below is what is read
    upload_id = json.loads(cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json").out)["uploadId"]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Approved"] * 100})
    raw = {
        "api-key": DEFAULT_API_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": DEFAULT_PROJECT_ID,
        "api-url": emu.api_url,
        "zip-path": str(build_zip),
    }
    settings = build_settings(raw, "deploy")
    fake = FakeTime()
    heard = Heard(fake)
    clock = Clock(settings.timeout_seconds, now=fake.now, pause=fake.pause)
    run = Run(settings, heard, make_client(settings, {}, clock, heard), clock)
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
