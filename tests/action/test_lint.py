"""The repository's own lints, as tests: schemas, actionlint, zizmor (offline, zero findings) and hadolint; the CI
workflow's matrix, which cannot run here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

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


RUNNER_OS = {"ubuntu": "Linux", "windows": "Windows", "macos": "macOS"}  # runs-on label -> runner.os


def _runs_on(step: dict[str, Any], runner_os: str) -> bool:
    """Whether ``step`` runs on ``runner_os``: it has no ``if:``, or one that compares runner.os (``==``/``!=``,
    joined by ``||``), the only kind this workflow uses; any other fails the test, to be taught here."""
    condition = step.get("if")
    if condition is None:
        return True
    results = []
    for part in str(condition).split("||"):
        match = re.fullmatch(r"\s*runner\.os\s*(==|!=)\s*'(\w+)'\s*", part)
        assert match, f"an if: this test cannot read: {condition!r}"
        results.append((runner_os == match[2]) == (match[1] == "=="))
    return any(results)


def test_ci_runs_the_whole_check_on_linux_and_the_suites_without_bash_elsewhere() -> None:
    jobs = load(CI)["jobs"]
    check = jobs["check"]
    labels = check["strategy"]["matrix"]["os"]
    assert {RUNNER_OS[label.split("-")[0]] for label in labels} == {"Linux", "Windows", "macOS"}
    for label in labels:
        runner_os = RUNNER_OS[label.split("-")[0]]
        steps = [s for s in check["steps"] if "run" in s and _runs_on(s, runner_os)]
        runs = [str(s["run"]).strip() for s in steps]
        if runner_os == "Linux":
            assert any(r.split()[0] == "scripts/check" for r in runs), label
            continue
        tests = [r for r in runs if "pytest" in r.split()]
        assert any("tests/unit" in r.split() and "tests/integration" in r.split() for r in tests), label
        before = [r.split() for r in runs[: runs.index(tests[0])]]
        assert any("install" in r and "--require-hashes" in r for r in before), (label, "locked dependencies")
        assert any("install" in r and "." in r for r in before), (label, "the package under test")
        for step in steps:
            # Windows' default shell is PowerShell: one command per step reads the same there and in bash, and a
            # failing command cannot hide behind a later one (PowerShell reports only the last exit code); the
            # repository's scripts/ are bash.
            run = str(step["run"]).strip()
            assert "shell" not in step and "\n" not in run, (label, step["name"])
            assert not set("\\$&|;`") & set(run) and not run.startswith("scripts/"), (label, step["name"])
    package = [str(s.get("run", "")).split() for s in jobs["package"]["steps"] if _runs_on(s, "Linux")]
    assert ["scripts/package-check"] in [r[:1] for r in package]


def test_ci_tests_every_python_the_package_claims() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    claimed = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    assert "3.14" in claimed
    matrix = load(CI)["jobs"]["check"]["strategy"]["matrix"]["python"]
    assert set(matrix) == claimed, "the CI matrix and the pyproject classifiers name different Pythons"
    (lowest,) = re.findall(r'^requires-python = ">=(3\.\d+)"$', pyproject, re.M)
    assert min(matrix, key=lambda v: tuple(map(int, v.split(".")))) == lowest
