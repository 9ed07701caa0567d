"""deploy / distribute / status end to end: the CLI's main() against the emulator over real HTTP."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator

STAGES = ["pending", "Downloading Files", "Extracting & Scanning", "Saving to Repository", "Distribute", "Approved"]


def _json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


def _project(emu: Emulator, project_id: str = DEFAULT_PROJECT_ID) -> dict[str, Any]:
    for project in emu.state.dump()["projects"]:
        if project["id"] == project_id:
            data: dict[str, Any] = project
            return data
    raise AssertionError(project_id)


def _slow_stages(emu: Emulator) -> None:
    """Long enough per stage that a 0.1 s poll (with its back-off) sees every one."""
    emu.configure(stage_delays=dict.fromkeys(STAGES[:-1], 0.4))


def test_deploy_walks_every_stage(cli: Any, emu: Emulator, build_zip: Path) -> None:
    _slow_stages(emu)
    run = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert run.code == 0, run.err
    result = _json(run.out)
    assert result["result"] == "approved" and result["status"] == "Approved"
    assert [e["status"] for e in result["timeline"]] == STAGES
    for stage in STAGES:
        assert f"stage: {stage}" in run.err
    assert result["sha256"] and result["sizeBytes"] == build_zip.stat().st_size
    assert result["previousUploadId"] == "665a2b3c4d5e6f7a8b9c0e1f"  # the seeded approved build
    sizes = result["buildSize"]  # issue 14: the size report, from the zip's directory
    assert sizes["folders"][0]["name"] == "MyGame/" and sizes["largestFiles"] and sizes["suspects"] == []
    project = _project(emu)
    assert project["live_upload_id"] == result["uploadId"]


def test_deploy_with_file_url(cli: Any, emu: Emulator, build_zip: Path) -> None:
    url = emu.serve_file(build_zip)
    run = cli("deploy", "--file-url", url, "--json")
    assert run.code == 0, run.err
    assert _json(run.out)["fileUrl"] == url


def test_rejected_build_reports_objection(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    bad = tmp_path / "NoExe.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Game/Content/Paks/Game.pak", b"x" * 100)
    run = cli("deploy", "--zip-path", str(bad), "--verify-archive", "off", "--json")
    assert run.code == 1
    result = _json(run.out)
    assert result["result"] == "rejected" and result["status"] == "Reject"
    assert result["objection"] == "Executable not found in archive"
    assert "Executable not found in archive" in result["message"]


def test_local_check_refuses_bad_zip_before_any_request(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    bad = tmp_path / "NoExe.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Game/readme.txt", b"x")
    emu.clear_requests()
    run = cli("deploy", "--zip-path", str(bad))
    assert run.code == 2
    assert "no Windows .exe" in run.err
    assert emu.requests() == []


def test_timeout_exits_3_with_upload_id(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"Downloading Files": 30.0})
    run = cli("deploy", "--zip-path", str(build_zip), "--timeout-minutes", "0.02", "--json")
    assert run.code == 3
    result = _json(run.out)
    assert result["result"] == "timed-out" and result["uploadId"]
    assert "timeout-minutes" in result["message"]


def test_wait_false_returns_submitted(cli: Any, emu: Emulator, build_zip: Path) -> None:
    run = cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json")
    assert run.code == 0
    result = _json(run.out)
    assert result["result"] == "submitted" and result["timeline"] == []


def test_dry_run_sends_nothing_with_side_effects(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.clear_requests()
    run = cli("deploy", "--zip-path", str(build_zip), "--dry-run", "true", "--json")
    assert run.code == 0, run.err
    assert _json(run.out)["result"] == "dry-run"
    assert all(r["method"] == "GET" for r in emu.requests())
    assert len(_project(emu)["files"]) == 1


def test_rate_limit_429_is_waited_out(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(rate_limit_window_seconds=1.5)
    first = cli("deploy", "--zip-path", str(build_zip), "--wait", "false")
    assert first.code == 0
    second = cli("deploy", "--zip-path", str(build_zip), "--wait", "false")
    assert second.code == 0, second.err
    assert "rate-limited upload-file" in second.err and "waiting" in second.err
    statuses = [r["status"] for r in emu.requests() if r["path"].endswith("upload-file")]
    assert statuses == [201, 429, 201]


def test_rate_limit_without_retry_after_respects_the_timeout(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(rate_limit_window_seconds=300, send_retry_after=False)
    assert cli("deploy", "--zip-path", str(build_zip), "--wait", "false").code == 0
    run = cli("deploy", "--zip-path", str(build_zip), "--timeout-minutes", "0.05")
    assert run.code == 3
    assert "Rate limit exceeded. Try again in 2 minutes." in run.err


def test_auto_release_false_then_distribute_latest(cli: Any, emu: Emulator, build_zip: Path) -> None:
    _slow_stages(emu)
    run = cli("deploy", "--zip-path", str(build_zip), "--auto-release", "false", "--json")
    assert run.code == 0, run.err
    result = _json(run.out)
    assert [e["status"] for e in result["timeline"]] == [s for s in STAGES if s != "Distribute"]
    assert result["live"] is False and "not live" in result["message"]
    assert _project(emu)["live_upload_id"] != result["uploadId"]

    emu.configure(rate_limit_window_seconds=0)
    dist = cli("distribute", "--upload-id", "latest", "--json")
    assert dist.code == 0, dist.err
    assert "newest Approved build" in dist.err
    assert _json(dist.out)["uploadId"] == result["uploadId"]
    assert _project(emu)["live_upload_id"] == result["uploadId"]
    assert "stage: Distribute" in dist.err


def test_rollback_to_previous(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(rate_limit_window_seconds=0)
    first = _json(cli("deploy", "--zip-path", str(build_zip), "--json").out)
    second = _json(cli("deploy", "--zip-path", str(build_zip), "--json").out)
    assert second["previousUploadId"] == first["uploadId"]
    run = cli("distribute", "--upload-id", "previous", "--json")
    assert run.code == 0, run.err
    assert _json(run.out)["uploadId"] == first["uploadId"]
    assert "the Approved build before the newest one" in run.err
    assert _project(emu)["live_upload_id"] == first["uploadId"]


def test_distribute_unknown_or_rejected_is_input_error(cli: Any, emu: Emulator) -> None:
    emu.clear_requests()
    run = cli("distribute", "--upload-id", "aaaaaaaaaaaaaaaaaaaaaaaa")
    assert run.code == 2 and "is not a build of project" in run.err
    only_one = cli("distribute", "--upload-id", "previous")
    assert only_one.code == 2 and "nothing to roll back to" in only_one.err
    assert all(r["method"] == "GET" for r in emu.requests())


def test_status_table_and_single_build(cli: Any, emu: Emulator) -> None:
    run = cli("status")
    assert run.code == 0
    assert "665a2b3c4d5e6f7a8b9c0e1f" in run.out and "newest first" in run.out
    one = cli("status", "--upload-id", "latest", "--json")
    assert one.code == 0 and _json(one.out)["status"] == "Approved"


def test_projects_both_variants(cli: Any, emu: Emulator) -> None:
    run = cli("projects", "--json")
    assert run.code == 0
    names = {p["name"] for p in _json(run.out)["projects"]}
    assert {"Showroom", "Config EU"} <= names
    emu.add_fault({"method": "GET", "path": "^/projects$", "action": "status", "status": 404, "times": -1})
    fallback = cli("projects", "--json")
    assert fallback.code == 0, fallback.err
    assert {p["name"] for p in _json(fallback.out)["projects"]} == names
    assert any(r["path"].endswith("/projects/projects-status") for r in emu.requests())


def test_wrong_key_shows_server_message(cli: Any, emu: Emulator, build_zip: Path) -> None:
    run = cli("deploy", "--zip-path", str(build_zip), STREAMPIXEL_API_KEY="wrong-key-123456")
    assert run.code == 2  # a wrong key is configuration (issue 28.10)
    assert "Unauthorized: Invalid API Key" in run.err
    assert "wrong-key-123456" not in run.err + run.out


def test_html_502_becomes_clear_error(cli: Any, emu: Emulator) -> None:
    emu.add_fault(
        {
            "method": "GET",
            "path": "^/projects/",
            "action": "status",
            "status": 502,
            "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "content_type": "text/html",
            "times": -1,
        }
    )
    run = cli("status", STREAMPIXEL_TIMEOUT_MINUTES="0.1")  # a persistent 502 is retried until the deadline
    assert run.code == 1
    assert "HTTP 502" in run.err and "502 Bad Gateway" in run.err and "<h1>" not in run.err


def test_transient_5xx_on_get_is_retried(cli: Any, emu: Emulator) -> None:
    emu.add_fault({"method": "GET", "path": "^/projects/", "action": "status", "status": 503, "times": 2})
    run = cli("status")
    assert run.code == 0, run.err


def test_lost_upload_response_does_not_duplicate(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response", "status": 500})
    run = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert run.code == 0, run.err
    assert "Found the build Streampixel created" in run.err
    files = _project(emu)["files"]
    assert len(files) == 2  # the seeded build + exactly one new build
    assert _json(run.out)["uploadId"] == files[-1]["_id"]


def test_old_upload_path_fallback(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.add_fault(
        {
            "method": "POST",
            "path": "^/projects/upload-file$",
            "action": "status",
            "status": 404,
            "times": -1,
            "body": '{"message": "Not found"}',
        }
    )
    run = cli("deploy", "--zip-path", str(build_zip), "--wait", "false")
    assert run.code == 0, run.err
    assert any(r["path"].endswith("/project/upload-file") for r in emu.requests())


def test_upload_200_and_g2_distribute_shape(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(upload_status_code=200, distribute_response="g2", rate_limit_window_seconds=0)
    assert cli("deploy", "--zip-path", str(build_zip)).code == 0
    run = cli("distribute", "--upload-id", "latest")
    assert run.code == 0, run.err
    assert "region us-east-1" in run.err


def test_unknown_and_regressing_statuses_keep_waiting(cli: Any, emu: Emulator, build_zip: Path) -> None:
    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_USER_ID
    from streampixel_deploy.report.terminal import TerminalReporter
    from streampixel_deploy.run.context import Run
    from streampixel_deploy.run.execute import make_client
    from streampixel_deploy.run.follow import follow
    from streampixel_deploy.settings.table import build_settings

    emu.configure(stage_delays={"pending": 60.0})
    upload_id = _json(cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json").out)["uploadId"]
    sequence = ["Warming Caches", "Downloading Files", "pending", "extracting  &  SCANNING", "Approved"]
    emu.add_fault({"action": "status_sequence", "upload_id": upload_id, "statuses": sequence})
    settings = build_settings(
        {
            "api-key": DEFAULT_API_KEY,
            "user-id": DEFAULT_USER_ID,
            "project-id": DEFAULT_PROJECT_ID,
            "api-url": emu.api_url,
            "poll-interval-seconds": "0.1",
            "command": "status",
        },
        "status",
    )
    import io

    log = io.StringIO()
    clock = Clock(30)
    run = Run(settings, TerminalReporter(log), make_client(settings, {}, clock), clock)
    build = follow(run, upload_id)
    assert build.raw_status == "Approved"
    seen = [e.status for e in run.result.timeline]
    assert seen == ["Warming Caches", "Downloading Files", "extracting  &  SCANNING", "Approved"]
    assert "unknown status; still waiting" in log.getvalue()


def test_deploy_build_dir_is_packaged_deterministically(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    from streampixel_deploy.build.sample import make_build_dir

    folder = make_build_dir(tmp_path, pak_bytes=256 * 1024)
    emu.configure(rate_limit_window_seconds=0)
    first = cli("deploy", "--build-dir", str(folder), "--json")
    assert first.code == 0, first.err
    second = cli("deploy", "--build-dir", str(folder), "--json", "--wait", "false")
    assert _json(first.out)["sha256"] == _json(second.out)["sha256"]  # same folder, same zip
    assert "Packaged" in first.err


def test_a_packaged_zip_is_removed_even_when_the_run_does_not_wait(
    cli: Any, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emulator hosting with --wait false kept the packaged zip "for the emulator to download", a copy of the whole
    build left in the temp folder on every run (and by every rehearsal, whose emulator is gone at the end). The
    emulator serves its own link or copy from its inbox, so the zip can go."""
    from streampixel_deploy.build.sample import make_build_dir

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    folder = make_build_dir(tmp_path, pak_bytes=64 * 1024)
    run = cli("deploy", "--build-dir", str(folder), "--json", "--wait", "false")
    assert run.code == 0, run.err
    assert list(temp.glob("streampixel-build-*")) == []  # (the emulator's inbox is in temp too)
    result = _json(run.out)
    served = requests.get(result["fileUrl"], timeout=10)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == result["sha256"]


def test_wrong_key_fails_before_packaging(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    from streampixel_deploy.build.sample import make_build_dir

    folder = make_build_dir(tmp_path, pak_bytes=1024)
    run = cli("deploy", "--build-dir", str(folder), STREAMPIXEL_API_KEY="wrong-key-000000")
    assert run.code == 2 and "Unauthorized: Invalid API Key" in run.err
    assert "Packaged" not in run.err
