"""Statuses in the dashboard's words and undocumented ones, over real HTTP (issue 11, cases 2 and 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streampixel_deploy.api.models import live_label
from streampixel_deploy.emulator import Emulator


def _submitted(cli: Any, build_zip: Path) -> str:
    run = cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json")
    assert run.code == 0, run.err
    return str(json.loads(run.out)["uploadId"])


def _follow(emu: Emulator, upload_id: str) -> Any:
    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.core.progress import NullReporter
    from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID
    from streampixel_deploy.run.context import Run
    from streampixel_deploy.run.execute import make_client
    from streampixel_deploy.run.follow import follow
    from streampixel_deploy.settings.table import build_settings

    raw = {"api-key": DEFAULT_API_KEY, "user-id": DEFAULT_USER_ID, "project-id": DEFAULT_PROJECT_ID}
    settings = build_settings({**raw, "api-url": emu.api_url, "poll-interval-seconds": "0.1"}, "status")
    clock = Clock(30)
    run = Run(settings, NullReporter(), make_client(settings, {}, clock), clock)
    return follow(run, upload_id), run.result


def test_dashboard_labels_reach_approved_and_say_live(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 30.0})
    upload_id = _submitted(cli, build_zip)
    labels = ["Queued", "Downloading", "Extracting and Scanning", "Distributing to the Servers", "Current Live Build"]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": labels})
    build, result = _follow(emu, upload_id)
    assert live_label(build.raw_status) is True
    assert [e.status for e in result.timeline] == labels  # every label recognised, none "unknown"


def test_archived_is_approved_but_not_live(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 30.0})
    upload_id = _submitted(cli, build_zip)
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Queued", "Archived"]})
    build, _ = _follow(emu, upload_id)
    assert build.raw_status == "Archived" and live_label(build.raw_status) is False


def test_an_undocumented_failure_ends_with_its_reason(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 30.0})
    upload_id = _submitted(cli, build_zip)
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": ["Failed"]})
    run = cli("status", "--upload-id", upload_id, "--json")
    assert run.code == 1, "a rejected build is exit 1 for status too (the table of results)"
    result = json.loads(run.out)
    assert result["result"] == "rejected" and result["status"] == "Failed"
