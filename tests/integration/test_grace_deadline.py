"""A grace that outlasts the run: the build is already Approved and the follower waits a while more for a Distribute
stage (after distribute-file, or with autoRelease); when timeout-minutes ends that wait, the run ends with what it
knows (approved, whether it is live unknown), not with a timeout that says the build was "still Approved".

Found as a flaky test_profile_matrix case (strict): the brief Distribute stage was missed between polls under load,
the settle after distribute-file (60 s) ran into the run's 1-minute deadline and the rollback exited 3.

The emulator answers over real HTTP; the follower's time is fake (tests/fakeclock.py) except in the last test, which
runs the CLI for real with a 6-second timeout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import Emulator
from streampixel_deploy.run.follow import follow
from tests.fakeclock import Heard
from tests.integration.test_waits_said import fake_time_run


def _always_approved(cli: Any, emu: Emulator, build_zip: Path) -> str:
    """A submitted build that every read of the project lists as Approved (never Distribute)."""
    emu.configure(stage_delays={"pending": 600.0})  # the real pipeline stays put; the fault below is what is read
    upload_id: str = json.loads(cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json").out)[
        "uploadId"
    ]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Approved"] * 1000})
    return upload_id


@pytest.mark.parametrize("grace", ["after-distribute-file", "auto-release"])
def test_a_grace_cut_by_the_deadline_ends_approved_with_live_unknown(
    cli: Any, emu: Emulator, build_zip: Path, grace: str
) -> None:
    upload_id = _always_approved(cli, emu, build_zip)
    # 30 s to run: shorter than either grace (60 s; 8 polls of 10 s)
    run, fake = fake_time_run(emu, build_zip, **{"timeout-minutes": "0.5", "poll-interval-seconds": "10"})
    heard, clock = run.reporter, run.clock
    assert isinstance(heard, Heard)
    if grace == "after-distribute-file":
        build = follow(run, upload_id, after_distribute=True)
    else:
        build = follow(run, upload_id, expect_distribution=True)
    assert build.id == upload_id and build.raw_status == "Approved"
    assert run.distributed is None, "live or not is unknown: no Distribute stage was seen"
    assert fake.now() <= clock.deadline, "the run ended by its deadline"
    lines = [line for _, line in heard.lines]
    waiting = [line for line in lines if line.startswith("Waiting for a Distribute stage")]
    assert waiting, lines
    # the wait says it ends when the run does, not at a grace's end the run never reaches
    assert re.search(r"until \d\d:\d\d:\d\d UTC \(30 s left\)\.$", waiting[0]), waiting


def test_a_rollback_whose_distribution_is_never_seen_ends_approved_at_the_deadline(
    cli: Any, emu: Emulator, build_zip: Path
) -> None:
    """The CLI end to end: distribute-file of an Approved build the listing keeps calling Approved, 6 s to run."""
    deployed = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert deployed.code == 0, deployed.err
    upload_id = json.loads(deployed.out)["uploadId"]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Approved"] * 1000})
    done = cli(
        "distribute",
        "--upload-id",
        upload_id,
        "--timeout-minutes",
        "0.1",
        "--poll-interval-seconds",
        "0.5",
        "--json",
    )
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["result"] == "approved" and result["uploadId"] == upload_id, result
    assert "no Distribute stage observed" in done.err, done.err
