"""The job summary of real action runs against the emulator (issue 28, item 14 and the hostile-status caps), read
back with a CommonMark parser as GitHub would render it."""

from __future__ import annotations

import copy
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator, EmulatorConfig
from tests.summary_view import cells, error_class_names, headers, markup_from_data

from .conftest import FAST_STAGE, action_inputs, run_action

SEEDED = "665a2b3c4d5e6f7a8b9c0e1f"  # the emulator's approved build
SIGNATURE = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
SIGNED = (
    "https://builds.s3.us-east-1.amazonaws.com/showroom/Showroom-1.0.0.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAEXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T011530Z"
    f"&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature={SIGNATURE}"
)


def test_a_signed_build_url_renders_redacted_as_plain_text(tmp_path: Path, emu: Emulator) -> None:
    body = {
        "id": DEFAULT_PROJECT_ID,
        "name": "Showroom",
        "files": [{"_id": SEEDED, "url": SIGNED, "status": "Approved", "date": "2026-12-07T01:00:00.000Z"}],
    }
    emu.add_fault(
        {
            "method": "GET",
            "path": "^/projects/",
            "action": "status",
            "times": -1,
            "status": 200,
            "body": json.dumps(body),
        }
    )
    run = run_action(tmp_path, action_inputs(emu, command="status", upload_id=SEEDED))
    assert run.code == 0, run.stdout + run.stderr
    assert markup_from_data(run.summary) == [], run.summary
    assert cells(run.summary)["File URL"] == redact_url(SIGNED)
    for secret in (SIGNATURE, "ASIAEXAMPLE", "FwoGZXIvYXdzEXAMPLE"):
        assert secret not in run.summary


def test_a_rejection_leads_with_its_reason_in_plain_words(tmp_path: Path, emu: Emulator) -> None:
    bad = tmp_path / "NoExe.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Game/Content/Paks/Game.pak", b"x" * 100)
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(bad), verify_archive="off"))
    assert run.code == 1 and run.outputs["result"] == "rejected"
    reason = run.summary.index("Executable not found in archive")
    assert reason < run.summary.index("\n|"), run.summary  # before any table
    assert "rejected" in run.summary[:reason].lower()
    assert not [name for name in error_class_names() if name in run.summary], run.summary
    assert "| | |" not in run.summary  # no empty header row


def test_a_short_run_has_an_axis_in_seconds_and_tables_with_headers(
    tmp_path: Path, emu: Emulator, build_zip: Path
) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip)))
    assert run.code == 0, run.stdout + run.stderr
    axis = re.search(r"^    axisFormat (.*)$", run.summary, re.MULTILINE)
    assert axis and "%L" in axis.group(1), run.summary  # the whole run takes about a second here
    found = headers(run.summary)
    assert found and all(found), found


def test_a_distribute_that_does_not_wait_says_how_to_undo(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    emu.configure(rate_limit_window_seconds=0)
    deployed = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip)))
    assert deployed.code == 0, deployed.stdout
    live = deployed.outputs["upload-id"]
    run = run_action(tmp_path, action_inputs(emu, command="distribute", upload_id=SEEDED, wait="false"))
    assert run.code == 0 and run.outputs["result"] == "submitted", run.stdout
    assert run.outputs["previous-upload-id"] == live
    assert "### Roll back" in run.summary, run.summary
    assert f"upload-id: {live}" in run.summary and f"--upload-id {live}" in run.summary


@pytest.fixture
def two() -> Iterator[Emulator]:
    config = EmulatorConfig.default()
    config.stage_delays = dict.fromkeys(config.stage_delays, FAST_STAGE)
    config.rate_limit_window_seconds = 0
    other = copy.deepcopy(config.users[0].projects[0])
    other.id, other.name, other.files, other.live_upload_id = DEFAULT_PROJECT_ID[:-1] + "3", "Region 2", [], None
    config.users[0].projects.append(other)
    with Emulator(config) as emu:
        yield emu


def test_two_projects_that_both_went_well_say_so(tmp_path: Path, two: Emulator, build_zip: Path) -> None:
    projects = f"{DEFAULT_PROJECT_ID}\n{DEFAULT_PROJECT_ID[:-1]}3"
    run = run_action(tmp_path, action_inputs(two, zip_path=str(build_zip), project_id=projects, auto_release="false"))
    assert run.code == 0, run.stdout + run.stderr
    assert "All 2 projects approved" in run.summary, run.summary
    assert "Worst" not in run.summary


def test_hostile_statuses_keep_the_summary_and_the_chart_within_limits(
    tmp_path: Path, emu: Emulator, build_zip: Path
) -> None:
    emu.configure(rate_limit_window_seconds=0)
    first = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), wait="false"))
    upload_id = first.outputs["upload-id"]
    filler = "Extracting_&_Scanning *now* <b>|</b> "
    hostile = [f"{i:03d} " + (filler * (6000 // len(filler) + 1))[:5996] for i in range(100)]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": [*hostile, "Approved"]})
    run = run_action(tmp_path, action_inputs(emu, command="distribute", upload_id=upload_id))
    assert run.code == 0, run.stdout[-3000:]
    size = len(run.summary.encode("utf-8"))
    assert size <= 900 * 1024, size
    chart = re.search(r"```mermaid\n.*?\n```", run.summary, re.DOTALL)
    assert chart and len(chart.group(0)) <= 40_000, len(chart.group(0)) if chart else run.summary[:3000]
    assert "cut" in run.summary
    assert "099 Extracting" in run.summary  # every stage is there, each cut short
    assert markup_from_data(run.summary) == [], run.summary
