"""The repository's own lints, as tests: schemas, actionlint, zizmor (offline, zero findings) and hadolint."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import ACTION, DOCKER_ACTION, EXAMPLES, ROOT, WORKFLOWS, tool


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def _rel(*paths: Path) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_action_files_match_the_github_actions_schema() -> None:
    done = _run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", *_rel(ACTION, DOCKER_ACTION))
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_and_examples_match_the_github_workflows_schema() -> None:
    assert WORKFLOWS and EXAMPLES
    done = _run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *_rel(*WORKFLOWS, *EXAMPLES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_is_clean() -> None:
    # Run from the root so `uses: ./` is checked against action.yml's inputs; shellcheck is used when on PATH.
    done = _run(tool("actionlint"), "-no-color", *_rel(*WORKFLOWS, *EXAMPLES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline_has_no_findings() -> None:
    # The repository (workflows and action metadata it collects) plus the examples, which it does not collect.
    done = _run(tool("zizmor"), "--offline", "--no-progress", ".", *_rel(*EXAMPLES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_hadolint_is_clean() -> None:
    done = _run(tool("hadolint"), "--no-color", "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
