"""Rehearsal (issue 14, part 2): ``api-url: emulator`` runs the real pipeline against an embedded emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from streampixel_deploy.report.outputs import OUTPUT_NAMES

from .conftest import run_action


def test_the_action_rehearses_without_an_account(tmp_path: Path, build_zip: Path) -> None:
    # What a new user's workflow gives before any account exists: no key, no IDs, no hosting.
    run = run_action(tmp_path, {"api-url": "emulator", "zip-path": str(build_zip), "timeout-minutes": "2"})
    assert run.code == 0, run.stdout + run.stderr
    assert set(run.outputs) == set(OUTPUT_NAMES) and all(
        run.outputs[name] for name in OUTPUT_NAMES if name != "objection"
    )
    assert run.outputs["result"] == "approved" and run.outputs["status"] == "Approved"
    assert "(rehearsal)" in run.summary and "Nothing was sent to Streampixel" in run.summary
    assert "Rehearsal" in run.stdout and "127.0.0.1" in run.outputs["file-url"]


def test_a_rehearsal_keeps_the_given_ids_and_leaves_real_services_out(tmp_path: Path, build_zip: Path) -> None:
    inputs = {
        "api-url": "emulator",
        "api-key": "sk_live_not_a_real_key_0123456789",
        "user-id": "663d0a1b2c3e4f5a6b7c8d9e",
        "project-id": "6790aaaabbbbccccddddeeee",
        "zip-path": str(build_zip),
        "s3-bucket": "my-real-bucket",
        "github-token": "ghp_notreal0123456789",
        "environment": "production",
    }
    run = run_action(tmp_path, inputs)
    assert run.code == 0, run.stdout + run.stderr
    left_out = next(line for line in run.stdout.splitlines() if "Left out in a rehearsal" in line)
    # github-token is the workflow token by default in the action, never the user's own choice to report
    assert "s3-bucket" in left_out and "environment" in left_out and "github-token" not in left_out
    assert "my-real-bucket" not in run.outputs["file-url"]
    key = "sk_live_not_a_real_key_0123456789"
    assert [line for line in run.stdout.splitlines() if key in line] == [f"::add-mask::{key}"]  # masked like any key
    assert key not in run.summary


def test_the_cli_rehearses_too(tmp_path: Path, build_zip: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "streampixel_deploy",
            "deploy",
            "--api-url",
            "emulator",
            "--zip-path",
            str(build_zip),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["rehearsal"] is True and result["result"] == "approved"
    assert result["message"].startswith("Rehearsal (embedded emulator; made up: user-id, project-id, api-key): ")


def test_the_sample_build_command_gives_a_folder_that_rehearses(tmp_path: Path) -> None:
    # Issue 28.2: examples/rehearse.yml expects a packaged build at Build/Windows; its header gives this command.
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "streampixel_deploy", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)

    folder = tmp_path / "Build" / "Windows"
    made = cli("demo", "--make-build", str(folder))
    assert made.returncode == 0, made.stderr
    assert (folder / "MyGame.exe").is_file() and "synthetic packaged build" in made.stdout
    again = cli("demo", "--make-build", str(folder))  # never over what is there
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    proc = cli("deploy", "--api-url", "emulator", "--build-dir", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == "approved"


def _action_defaults() -> dict[str, str]:
    """What action.yml passes for inputs the user did not set: every input's default."""
    import yaml

    meta = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text(encoding="utf-8"))
    return {name: str(spec["default"]) for name, spec in meta["inputs"].items() if "default" in spec}


def test_a_rehearsal_reports_only_what_the_user_set_and_what_it_made_up(tmp_path: Path, build_zip: Path) -> None:
    # Issue 28.4: action.yml passes s3-prefix and s3-presign-seconds at their defaults, and the rehearsal said they
    # were "left out" though the user set neither. Issue 28.5: a typo (`projectid:`) never reaches the program, so
    # the rehearsal must say which of user, project and key it made up.
    inputs = {
        **_action_defaults(),
        "api-url": "emulator",
        "zip-path": str(build_zip),
        "user-id": "663d0a1b2c3e4f5a6b7c8d9e",
    }
    run = run_action(tmp_path, inputs)
    assert run.code == 0, run.stdout + run.stderr
    assert "Left out in a rehearsal" not in run.stdout
    made_up = [line for line in run.stdout.splitlines() if "made up" in line.lower()]
    assert made_up and all("project-id, api-key" in line and "user-id" not in line for line in made_up)
    assert "project-id" in run.summary and "made up" in run.summary


def test_several_rehearsed_projects_may_reuse_a_built_in_project_id(tmp_path: Path, build_zip: Path) -> None:
    # Issue 28.13: "Unexpected error (EmulatorConfigError: duplicate project id)" when a second project's ID was one
    # of the emulator's built-in projects.
    from streampixel_deploy.emulator import EmulatorConfig

    built_in = [project.id for project in EmulatorConfig.default().users[0].projects]
    ids = "\n".join(["6790aaaabbbbccccddddeeee", *built_in])
    run = run_action(tmp_path, {"api-url": "emulator", "zip-path": str(build_zip), "project-id": ids})
    assert run.code == 0, run.stdout + run.stderr
    assert "Unexpected error" not in run.stdout + run.stderr
    assert [row["projectId"] for row in json.loads(run.outputs["results"])] == ids.split("\n")


def test_a_rehearsal_reaches_no_other_host_for_the_live_build_s_zip(tmp_path: Path, build_zip: Path) -> None:
    # The comparison with the live build (issue 29) reads the seeded build's zip: in a rehearsal its URL stays on
    # loopback (the built-in seed named builds.example.com, which a rehearsal on a runner would have looked up).
    argv = ["deploy", "--api-url", "emulator", "--zip-path", str(build_zip), "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    # a rehearsal's earlier builds have no zip: no comparison is tried (no request), and the log says why
    assert json.loads(proc.stdout).get("changes") is None and "example.com" not in proc.stdout
    assert "a rehearsal's earlier builds have no zip to read" in proc.stderr


def test_the_demo_says_nothing_a_rehearsal_cannot_act_on(tmp_path: Path) -> None:
    """The first thing a new user runs: no advice to give a GitHub token (a rehearsal reads no history, whatever it
    is given) and no failed connection (the seeded live build's zip leads nowhere by design)."""
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    assert "github-token" not in said and "connection failed" not in said, said
    assert "a rehearsal reads no GitHub deployment history" in said, said
