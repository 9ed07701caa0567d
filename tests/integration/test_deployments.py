"""GitHub Deployments from the action, against a fake GitHub API that checks the documented contract."""

from __future__ import annotations

import zipfile
from pathlib import Path

from streampixel_deploy.emulator import Emulator
from tests.fakegithub import FakeGitHub

from .conftest import FAKE_GITHUB_TOKEN, action_inputs, run_action

TOKEN = FAKE_GITHUB_TOKEN


def _runner_env(gh: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_API_URL": gh.url,
        "GITHUB_REPOSITORY": "acme/showroom",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
    }


def test_deploy_creates_deployment_with_statuses(
    tmp_path: Path, emu: Emulator, build_zip: Path, github: FakeGitHub
) -> None:
    inputs = action_inputs(emu, zip_path=str(build_zip), github_token=TOKEN, environment="streampixel-prod")
    run = run_action(tmp_path, inputs, _runner_env(github))
    assert run.code == 0, run.stdout
    [deployment] = github.deployments
    assert deployment["environment"] == "streampixel-prod"
    assert deployment["sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert deployment["payload"]["streampixel"]["uploadId"] == run.outputs["upload-id"]
    states = [s["state"] for s in github.statuses(deployment["id"])]
    assert states == ["in_progress", "success"]
    final = github.statuses(deployment["id"])[-1]
    assert final["log_url"] == "https://github.com/acme/showroom/actions/runs/4242"
    assert TOKEN not in run.stdout.replace(f"::add-mask::{TOKEN}", "") and TOKEN not in run.summary


def test_rollback_creates_its_own_deployment(tmp_path: Path, emu: Emulator, github: FakeGitHub) -> None:
    inputs = action_inputs(emu, command="distribute", upload_id="latest", github_token=TOKEN, environment="prod")
    run = run_action(tmp_path, inputs, _runner_env(github))
    assert run.code == 0, run.stdout
    [deployment] = github.deployments
    assert deployment["payload"]["streampixel"]["command"] == "distribute"
    assert [s["state"] for s in github.statuses(deployment["id"])] == ["in_progress", "success"]


def test_rejected_build_marks_failure(tmp_path: Path, emu: Emulator, github: FakeGitHub) -> None:
    bad = tmp_path / "NoExe.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Game/a.pak", b"x")
    inputs = action_inputs(emu, zip_path=str(bad), verify_archive="off", github_token=TOKEN, environment="prod")
    run = run_action(tmp_path, inputs, _runner_env(github))
    assert run.code == 1
    [deployment] = github.deployments
    statuses = github.statuses(deployment["id"])
    assert [s["state"] for s in statuses] == ["in_progress", "failure"]
    assert "Executable not found" in statuses[-1]["description"]


def test_auto_release_false_is_inactive(tmp_path: Path, emu: Emulator, build_zip: Path, github: FakeGitHub) -> None:
    inputs = action_inputs(emu, zip_path=str(build_zip), auto_release="false", github_token=TOKEN, environment="prod")
    run = run_action(tmp_path, inputs, _runner_env(github))
    assert run.code == 0
    [deployment] = github.deployments
    assert [s["state"] for s in github.statuses(deployment["id"])] == ["in_progress", "inactive"]


def test_github_trouble_is_only_a_warning(tmp_path: Path, emu: Emulator, build_zip: Path, github: FakeGitHub) -> None:
    inputs = action_inputs(emu, zip_path=str(build_zip), github_token="ghs_wrong_token_000", environment="prod")
    run = run_action(tmp_path, inputs, _runner_env(github))
    assert run.code == 0
    assert "::warning title=GitHub deployment::" in run.stdout and "Bad credentials" in run.stdout


def test_without_token_nothing_changes(tmp_path: Path, emu: Emulator, build_zip: Path, github: FakeGitHub) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), environment="prod"), _runner_env(github))
    assert run.code == 0
    assert github.requests == []
    assert "set both to record a GitHub deployment" in run.stdout


def _zip(tmp_path: Path, version: str) -> str:
    from streampixel_deploy.build.sample import make_build_zip

    return str(make_build_zip(tmp_path / f"MyGame-{version}.zip", pak_bytes=4096 + len(version)))


def test_previous_is_the_build_that_was_live_before(tmp_path: Path, emu: Emulator, github: FakeGitHub) -> None:
    """Issue 11, case 3: deploy v1, deploy v2, roll back to v1, deploy v3: the build live before v3 is v1 (by
    date the newest approved build before v3 is v2, which was not live)."""
    env = _runner_env(github)
    emu.configure(rate_limit_window_seconds=0)

    def deploy(version: str) -> dict[str, str]:
        inputs = action_inputs(emu, zip_path=_zip(tmp_path, version), github_token=TOKEN, environment="prod")
        run = run_action(tmp_path, inputs, env)
        assert run.code == 0, run.stdout[-1500:]
        return run.outputs

    v1 = deploy("1")["upload-id"]
    v2 = deploy("2")["upload-id"]
    back = run_action(
        tmp_path,
        action_inputs(emu, command="distribute", upload_id="previous", github_token=TOKEN, environment="prod"),
        env,
    )
    assert back.code == 0 and back.outputs["upload-id"] == v1, back.stdout[-1500:]
    third = run_action(
        tmp_path, action_inputs(emu, zip_path=_zip(tmp_path, "3"), github_token=TOKEN, environment="prod"), env
    )
    assert third.code == 0, third.stdout[-1500:]
    assert third.outputs["previous-upload-id"] == v1 != v2
    assert "was live before this run (GitHub deployment history)" in third.summary
    # and a rollback now goes back to v1, the build live before v3
    again = run_action(
        tmp_path,
        action_inputs(emu, command="distribute", upload_id="previous", github_token=TOKEN, environment="prod"),
        env,
    )
    assert again.code == 0 and again.outputs["upload-id"] == v1, again.stdout[-1500:]


def test_without_deployments_the_hint_says_what_it_is(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip)))
    assert run.code == 0
    assert "newest approved build before this one (by date" in run.summary
