"""The repository's own lints, as tests: schemas, actionlint, zizmor (offline, zero findings) and hadolint; the CI
workflow's matrix, which cannot run here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .conftest import ACTION, DOCKER_ACTION, DOCKER_BUILD_ACTION, EXAMPLES, ROOT, WORKFLOWS, load, tool


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def _rel(*paths: Path) -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_action_files_match_the_github_actions_schema() -> None:
    done = _run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-actions",
        *_rel(ACTION, DOCKER_ACTION, DOCKER_BUILD_ACTION),
    )
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


# The CI workflow cannot run here; its matrix is checked as data (release.yml: test_release.py).
CI = ROOT / ".github" / "workflows" / "ci.yml"


def test_ci_matrix_runs_every_os_without_bash_off_linux_and_checks_the_package() -> None:
    jobs = load(CI)["jobs"]
    check = jobs["check"]
    assert set(check["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "windows-latest", "macos-latest"}
    off_linux = [s for s in check["steps"] if s.get("if") == "runner.os != 'Linux'"]
    assert any("pytest" in s["run"] and "tests/unit" in s["run"] and "tests/integration" in s["run"] for s in off_linux)
    for step in off_linux:
        # Windows' default shell is PowerShell: one command per step reads the same there and in bash, and a
        # failing command cannot hide behind a later one (PowerShell reports only the last exit code).
        assert "shell" not in step and "\n" not in step["run"].strip(), step["name"]
        assert not set("\\$&|;`") & set(step["run"]), step["name"]
    assert any(s.get("run") == "scripts/package-check" for s in jobs["package"]["steps"])


def test_ci_tests_every_python_the_package_claims() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    claimed = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    assert "3.14" in claimed
    matrix = load(CI)["jobs"]["check"]["strategy"]["matrix"]["python"]
    assert set(matrix) == claimed, "the CI matrix and the pyproject classifiers name different Pythons"
    (lowest,) = re.findall(r'^requires-python = ">=(3\.\d+)"$', pyproject, re.M)
    assert min(matrix, key=lambda v: tuple(map(int, v.split(".")))) == lowest
