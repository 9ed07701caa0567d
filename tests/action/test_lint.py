"""The repository's own lints, as tests: schemas, actionlint, zizmor (offline, zero findings) and hadolint; the
release and CI workflows' order and grants, which cannot run here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

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


# The release and CI workflows cannot run here; their order and grants are checked as data.
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
CI = ROOT / ".github" / "workflows" / "ci.yml"
IMAGE = "ghcr.io/streampixel-deploy/streampixel-deploy"


def _steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]


def _needs(jobs: dict[str, Any], name: str) -> set[str]:
    """Every job ``name`` waits for, directly or not."""
    direct = jobs[name].get("needs", [])
    found = set([direct] if isinstance(direct, str) else direct)
    for other in list(found):
        found |= _needs(jobs, other)
    return found


def test_release_publishes_the_one_checked_build_to_pypi_with_trusted_publishing() -> None:
    jobs = load(RELEASE)["jobs"]
    build, pypi = jobs["build"], jobs["pypi"]
    assert any("scripts/package-check --outdir dist" in s.get("run", "") for s in build["steps"])
    (upload,) = _steps_using(build, "actions/upload-artifact")
    (download,) = _steps_using(pypi, "actions/download-artifact")
    assert upload["with"]["name"] == download["with"]["name"]
    assert pypi["environment"]["name"] == "pypi"
    assert pypi["permissions"] == {"id-token": "write"}, "trusted publishing needs id-token: write and nothing else"
    (publish,) = _steps_using(pypi, "pypa/gh-action-pypi-publish")
    assert publish["with"]["attestations"] is True
    assert not any("password" in s.get("with", {}) for s in pypi["steps"]), "no API token: trusted publishing"


def test_release_pushes_the_image_with_provenance_and_its_three_tags() -> None:
    doc = load(RELEASE)
    assert doc["env"]["IMAGE"] == IMAGE
    image = doc["jobs"]["image"]
    (push,) = _steps_using(image, "docker/build-push-action")
    assert push["with"]["push"] is True and push["with"]["provenance"] and push["with"]["sbom"] is True
    (attest,) = _steps_using(image, "actions/attest-build-provenance")
    assert attest["with"]["push-to-registry"] is True
    (meta,) = _steps_using(image, "docker/metadata-action")
    tags = meta["with"]["tags"]
    for part in ("version", "minor", "major"):
        assert f"needs.build.outputs.{part} }}}}" in tags, f"no X.Y.Z / X.Y / X tag from {part}"


def test_the_docker_action_runs_the_image_release_publishes() -> None:
    docker_image = str(load(DOCKER_ACTION)["runs"]["image"])
    if not docker_image.startswith("docker://"):
        pytest.skip(f"docker/action.yml builds {docker_image} (not a published image yet)")
    name, _, tag = docker_image.removeprefix("docker://").rpartition(":")
    assert name == IMAGE and tag.isdigit(), f"docker/action.yml runs {docker_image}: release.yml pushes {IMAGE}:X"


def test_release_moves_the_major_tag_only_after_pypi_and_the_smoked_image() -> None:
    jobs = load(RELEASE)["jobs"]
    assert {"build", "pypi", "image", "smoke"} <= _needs(jobs, "major-tag")
    assert "image" in _needs(jobs, "smoke")
    assert jobs["major-tag"]["permissions"] == {"contents": "write"}
    assert jobs["smoke"]["permissions"] == {"packages": "read"}


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
