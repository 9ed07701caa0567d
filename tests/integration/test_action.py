"""The action entry point as a runner runs it: a subprocess with INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, Emulator
from streampixel_deploy.report.outputs import OUTPUT_NAMES

from .conftest import action_inputs, interrupt_action, run_action


def _assert_masked_before_use(stdout: str, secret: str) -> None:
    lines = stdout.splitlines()
    mask_line = f"::add-mask::{secret}"
    assert mask_line in lines, "the secret was never masked"
    first_mask = lines.index(mask_line)
    for i, line in enumerate(lines):
        if secret in line and i != first_mask:
            assert i > first_mask


def test_success_writes_every_output_and_summary(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip)))
    assert run.code == 0, run.stdout + run.stderr
    assert set(run.outputs) == set(OUTPUT_NAMES)
    assert run.outputs["result"] == "approved" and run.outputs["status"] == "Approved"
    assert len(run.outputs["upload-id"]) == 24
    assert run.outputs["previous-upload-id"] == "665a2b3c4d5e6f7a8b9c0e1f"
    assert run.outputs["size-bytes"] == str(build_zip.stat().st_size)
    assert len(run.outputs["sha256"]) == 64
    assert "::group::validate" in run.stdout and "::group::follow" in run.stdout
    assert "stage: Approved" in run.stdout
    assert "Streampixel deploy: approved" in run.summary
    assert "### Pipeline timeline" in run.summary and "| Approved |" in run.summary
    assert "gh workflow run rollback.yml -f upload-id=665a2b3c4d5e6f7a8b9c0e1f" in run.summary
    _assert_masked_before_use(run.stdout, DEFAULT_API_KEY)
    assert DEFAULT_API_KEY not in run.summary and DEFAULT_API_KEY not in "".join(run.outputs.values())
    assert "```mermaid\ngantt" in run.summary and "### Build size" in run.summary


def test_debug_symbols_in_the_build_are_flagged(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    with_symbols = tmp_path / "symbols.zip"
    with zipfile.ZipFile(build_zip) as src, zipfile.ZipFile(with_symbols, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("MyGame/Binaries/Win64/MyGame-Win64-Shipping.pdb", b"\0" * 4096)
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(with_symbols)))
    assert run.code == 0, run.stdout + run.stderr
    assert "::warning title=Build size::" in run.stdout and "MyGame-Win64-Shipping.pdb" in run.stdout
    assert "> [!WARNING]" in run.summary and "debug symbols" in run.summary


def test_rejected_build(tmp_path: Path, emu: Emulator) -> None:
    bad = tmp_path / "NoExe.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Game/Content/Paks/Game.pak", b"x" * 100)
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(bad), verify_archive="off"))
    assert run.code == 1
    assert run.outputs["result"] == "rejected"
    assert run.outputs["objection"] == "Executable not found in archive"
    assert "::error title=Build rejected by Streampixel::" in run.stdout
    assert "Why Streampixel rejected the build" in run.summary
    assert "Executable not found in archive" in run.summary


def test_timed_out(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"Downloading Files": 30.0})
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.02"))
    assert run.code == 3
    assert run.outputs["result"] == "timed-out" and run.outputs["upload-id"]
    assert "timed out" in run.summary


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"project-id": ""}, "'project-id' (--project-id) is required"),
        ({"wait": "perhaps"}, "'wait' (--wait) must be true or false"),
        ({"command": "explode"}, "must be one of deploy, distribute, status"),
        ({"zip-path": "missing/*.zip"}, "matched no file"),
    ],
)
def test_input_errors_exit_2_with_summary(tmp_path: Path, emu: Emulator, over: dict[str, str], needle: str) -> None:
    emu.clear_requests()
    inputs = {**action_inputs(emu), "zip-path": "x.zip", **over}
    (tmp_path / "x.zip").write_bytes(b"PK")
    run = run_action(tmp_path, inputs)
    assert run.code == 2, run.stdout
    assert needle in run.stdout
    assert "::error title=Invalid input::" in run.stdout
    assert run.outputs["result"] == "failed"
    assert "Streampixel" in run.summary and needle.split(" (", maxsplit=1)[0].strip("'") in run.summary
    assert emu.requests() == []


def test_dry_run(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), dry_run="true"))
    assert run.code == 0, run.stdout
    assert run.outputs["result"] == "dry-run"
    assert "would host" in run.summary and "Nothing was uploaded or submitted" in run.summary
    assert not any(r["method"] == "POST" for r in emu.requests())


def test_summary_can_be_turned_off(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), summary="false", wait="false"))
    assert run.code == 0 and run.summary == "" and run.outputs["result"] == "submitted"


def test_debug_mode_still_masks(tmp_path: Path, emu: Emulator) -> None:
    run = run_action(tmp_path, action_inputs(emu, api_key="not-the-right-key-42"), {"RUNNER_DEBUG": "1"})
    assert run.code == 2  # nothing to deploy
    run = run_action(
        tmp_path, action_inputs(emu, api_key="not-the-right-key-42", file_url=emu.url + "/x.zip"), {"RUNNER_DEBUG": "1"}
    )
    assert run.code == 2  # a wrong key is configuration (issue 28.10)
    assert "Unauthorized: Invalid API Key" in run.stdout
    _assert_masked_before_use(run.stdout, "not-the-right-key-42")


def _status_of_new_build(emu: Emulator) -> str | None:
    files = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)["files"]
    return str(files[-1]["status"]) if len(files) > 1 else None


def test_cancel_writes_outputs_and_exits_130(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"Downloading Files": 60.0})
    run, took = interrupt_action(
        tmp_path,
        action_inputs(emu, zip_path=str(build_zip)),
        ready=lambda: _status_of_new_build(emu) == "Downloading Files",
    )
    assert run.code == 130 and took < 5
    assert run.outputs["result"] == "cancelled" and len(run.outputs["upload-id"]) == 24
    assert "cancelled" in run.summary


def test_demo_runs_from_the_installed_entry_point() -> None:
    exe = Path(sys.executable).with_name("streampixel-deploy")
    started = time.monotonic()
    proc = subprocess.run([str(exe), "demo"], capture_output=True, text=True, timeout=60, check=False)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert "APPROVED" in proc.stdout
    for stage in ("pending", "Downloading Files", "Extracting & Scanning", "Saving to Repository", "Distribute"):
        assert f"stage: {stage}" in proc.stderr
    assert took < 30


def test_command_test_webhook(tmp_path: Path, emu: Emulator) -> None:
    run = run_action(tmp_path, action_inputs(emu, command="test-webhook"))
    assert run.code == 1
    assert "No webhook URL configured" in run.stdout and "::error title=Not found on Streampixel::" in run.stdout
    assert run.outputs["result"] == "failed" and "No webhook URL configured" in run.summary


def test_command_test_webhook_receiver_down(tmp_path: Path) -> None:
    from streampixel_deploy.emulator import EmulatorConfig

    cfg = EmulatorConfig.default()
    cfg.users[0].projects[0].webhook_url = "http://127.0.0.1:9/hook"  # nothing listens there
    with Emulator(cfg) as hooked:
        run = run_action(tmp_path, action_inputs(hooked, command="test-webhook"))
    assert run.code == 1
    assert "The test webhook was not delivered (no connection)" in run.stdout


def test_malformed_url_is_an_input_error_with_summary(tmp_path: Path, emu: Emulator) -> None:
    run = run_action(tmp_path, {**action_inputs(emu, file_url="https://x/a.zip"), "api-url": "https://[::1/x"})
    assert run.code == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "'api-url' (--api-url) is not a valid URL" in run.stdout
    assert run.outputs["result"] == "failed" and "not a valid URL" in run.summary


def test_rollback_hint_only_when_a_build_went_live(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    not_live = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), auto_release="false"))
    assert not_live.code == 0 and "### Roll back" not in not_live.summary
    emu.configure(rate_limit_window_seconds=0)
    release = run_action(tmp_path, action_inputs(emu, command="distribute", upload_id="latest"))
    assert release.code == 0, release.stdout
    # the build made live is the newest; the rollback target is the one that was live before it
    assert release.outputs["previous-upload-id"] == "665a2b3c4d5e6f7a8b9c0e1f"
    assert release.outputs["upload-id"] == not_live.outputs["upload-id"]
    assert "### Roll back" in release.summary and "upload-id=665a2b3c4d5e6f7a8b9c0e1f" in release.summary


def test_test_webhook_dry_run_sends_nothing(tmp_path: Path, emu: Emulator) -> None:
    run = run_action(tmp_path, action_inputs(emu, command="test-webhook", dry_run="true"))
    assert run.code == 0 and run.outputs["result"] == "dry-run"
    assert not [r for r in emu.requests() if r["method"] == "POST"]


def test_build_dir_zip_is_removed_after_the_run(tmp_path: Path, emu: Emulator) -> None:
    from streampixel_deploy.build.sample import make_build_dir

    folder = make_build_dir(tmp_path / "src", pak_bytes=1024)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    run = run_action(tmp_path, action_inputs(emu, build_dir=str(folder)), {"RUNNER_TEMP": str(runner_temp)})
    assert run.code == 0, run.stdout
    assert list(runner_temp.iterdir()) == []


def test_build_dir_without_exe_names_build_dir(tmp_path: Path, emu: Emulator) -> None:
    folder = tmp_path / "NotABuild" / "Content"
    folder.mkdir(parents=True)
    (folder / "a.pak").write_bytes(b"x")
    run = run_action(tmp_path, action_inputs(emu, build_dir=str(folder.parent), dry_run="true"))
    assert run.code == 2
    assert "'build-dir' (--build-dir)" in run.stdout and "no Windows .exe" in run.stdout


def test_cancel_while_upload_file_is_in_flight_still_names_the_build(
    tmp_path: Path, emu: Emulator, build_zip: Path
) -> None:
    """The build is created but the answer is held back; a cancel then must still report its upload ID."""
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "delay", "after": True, "seconds": 20})
    run, took = interrupt_action(
        tmp_path,
        action_inputs(emu, zip_path=str(build_zip)),
        ready=lambda: _status_of_new_build(emu) is not None,  # created; the answer is still held back
    )
    assert run.code == 130 and took < 5
    assert run.outputs["result"] == "cancelled"
    files = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)["files"]
    assert run.outputs["upload-id"] == files[-1]["_id"]
