"""Several projects and a run that ends before any project ran (issue 28): the ``results`` output (and ``--json``'s
``results``) hold one row per project, each failed with the run's error, not one row whose projectId is
"id1\\nid2"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streampixel_deploy.emulator import Emulator

from .conftest import cli_process, emulator_env, run_action
from .test_several_projects import PROJECTS, _inputs


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"timeout-minutes": "soon"}, "'timeout-minutes'"),  # refused with the settings
        ({"zip-path": "missing/MyGame-*.zip"}, "'zip-path'"),  # refused with the settings (no such zip)
        # refused once the run started: a GitHub deployment without the runner's GITHUB_REPOSITORY
        ({"github-token": "ghp_" + "x" * 36, "environment": "production"}, "'github-token'"),
    ],
    ids=["setting", "zip", "started"],
)
def test_the_action_gives_each_project_its_row_with_the_error(
    emu: Emulator, build_zip: Path, tmp_path: Path, broken: dict[str, str], named: str
) -> None:
    run = run_action(tmp_path, _inputs(emu, build_zip, PROJECTS[:2], **broken))
    assert run.code == 2, run.stdout + run.stderr
    rows = json.loads(run.outputs["results"])
    assert [(r["projectId"], r["result"]) for r in rows] == [(p, "failed") for p in PROJECTS[:2]], rows
    assert run.outputs["result"] == "failed"
    assert named in run.summary


def test_the_cli_json_gives_each_project_its_row_with_the_error(emu: Emulator, build_zip: Path) -> None:
    """Refused once the run started (a GitHub deployment without the runner's repository): --json's results too."""
    env = {k: v for k, v in emulator_env(emu).items() if k != "STREAMPIXEL_PROJECT_ID"}
    flags = ["--github-token", "ghp_" + "x" * 36, "--environment", "production"]
    code, result, _log = cli_process(
        env, "deploy", "--zip-path", str(build_zip), "--project-id", ",".join(PROJECTS[:2]), *flags
    )
    assert code == 2
    rows = result["results"]
    assert [(r["projectId"], r["result"], r["exitCode"]) for r in rows] == [(p, "failed", 2) for p in PROJECTS[:2]]
    assert all("GITHUB_REPOSITORY" in r["message"] for r in rows), rows
