"""Issue 28 item 8: the default rollback target is the build that was live before, not the newest approved by date.

The action's defaults now read the GitHub deployment history: ``github-token`` defaults to the workflow token and
``environment`` to ``streampixel``. Where the history cannot be read (no permission: the Deployments API answers
403/404; no token: the CLI) the run says so, in the log and in the job summary, with the exact fix, and names the
by-date guess for what it is. Against the emulator and the fake GitHub REST server of tests/fakegithub.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.emulator import Emulator
from tests.fakegithub import FakeGitHub

from .conftest import ActionRun, action_inputs, cli_process, emulator_env, run_action
from .test_deployments import TOKEN
from .test_deployments import _runner_env as _env

BY_HISTORY = "was live before this run (GitHub deployment history)"
PERMISSION_FIX = "deployments: write"


def _zip(tmp_path: Path, version: str) -> str:
    return str(make_build_zip(tmp_path / f"MyGame-{version}.zip", pak_bytes=4096 + len(version)))


def _ok(run: ActionRun) -> dict[str, str]:
    assert run.code == 0, run.stdout[-2000:]
    return run.outputs


def test_a_b_rollback_to_a_then_c_names_a_with_the_default_inputs(
    tmp_path: Path, emu: Emulator, github: FakeGitHub
) -> None:
    """Only the token a workflow passes by default (`github-token: ${{ github.token }}`), no environment given:
    deploy A, B; roll back to A; deploy C -> previous-upload-id is A (B is newer by date, but was rolled back from)."""
    env = _env(github)
    emu.configure(rate_limit_window_seconds=0)

    def deploy(version: str) -> dict[str, str]:
        return _ok(run_action(tmp_path, action_inputs(emu, zip_path=_zip(tmp_path, version), github_token=TOKEN), env))

    a = deploy("A")["upload-id"]
    b = deploy("B")["upload-id"]
    back = _ok(run_action(tmp_path, action_inputs(emu, command="distribute", upload_id=a, github_token=TOKEN), env))
    assert back["upload-id"] == a
    c = run_action(tmp_path, action_inputs(emu, zip_path=_zip(tmp_path, "C"), github_token=TOKEN), env)
    assert _ok(c)["previous-upload-id"] == a != b
    assert BY_HISTORY in c.summary
    assert {d["environment"] for d in github.deployments} == {"streampixel"}
    # and the default rollback (`previous`) goes back to A, the build live before C
    again = run_action(
        tmp_path, action_inputs(emu, command="distribute", upload_id="previous", github_token=TOKEN), env
    )
    assert _ok(again)["upload-id"] == a


@pytest.mark.parametrize("status", [403, 404])
def test_no_permission_says_so_with_the_permissions_line(
    tmp_path: Path, emu: Emulator, github: FakeGitHub, status: int
) -> None:
    """The workflow token without `deployments:` (GitHub answers 403, or 404 on a private repository): the by-date
    guess is named as such, in the log and in the summary, with the `permissions:` line that fixes it."""
    emu.configure(rate_limit_window_seconds=0)
    env = _env(github)
    first = _ok(run_action(tmp_path, action_inputs(emu, zip_path=_zip(tmp_path, "1")), env))
    github.deny_deployments(status)
    run = run_action(tmp_path, action_inputs(emu, zip_path=_zip(tmp_path, "2"), github_token=TOKEN), env)
    assert _ok(run)["previous-upload-id"] == first["upload-id"]
    assert BY_HISTORY not in run.summary
    assert "by date" in run.summary and PERMISSION_FIX in run.summary and "permissions:" in run.summary
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1, warnings  # one warning, not one per GitHub call
    assert PERMISSION_FIX in warnings[0] and "by date" in warnings[0]
    assert TOKEN not in run.summary and TOKEN not in run.stdout.replace(f"::add-mask::{TOKEN}", "")


def test_the_cli_without_a_token_names_the_guess_and_the_flag(emu: Emulator, build_zip: Path) -> None:
    """The CLI has no workflow token: previousUploadId is the newest approved build by date, and the run says so
    (and which flag reads the history instead)."""
    code, result, printed = cli_process(emulator_env(emu), "deploy", "--zip-path", str(build_zip))
    assert code == 0, printed[-2000:]
    assert result["previousUploadId"] == "665a2b3c4d5e6f7a8b9c0e1f"
    assert result["previousUploadIdFrom"] == "date"
    assert "--github-token" in printed and "by date" in printed
