"""action.yml, docker/action.yml and the workflows agree with the program and follow the repository's rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.report.outputs import OUTPUT_NAMES
from streampixel_deploy.settings.table import SPECS

from .conftest import (
    ACTION,
    DOCKER_ACTION,
    DOCKER_BUILD_ACTION,
    EXAMPLES,
    EXPRESSION,
    PUBLISHED_IMAGE,
    ROOT,
    WORKFLOWS,
    composite_step,
    load,
)

# None is marked required: a rehearsal (api-url: emulator) runs without them; the program requires them otherwise.
REQUIRED: set[str] = set()
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
# Until the first release, the examples pin a commit of main (README, "Before the first release: pin a commit").
OWN_ACTION = re.compile(r"^streampixel-deploy/streampixel-deploy(/docker)?@[0-9a-f]{40} # main, \d{4}-\d{2}-\d{2}$")


#: Defaults that are expressions the runner evaluates, not the program's own (the CLI has no workflow token).
RUNNER_DEFAULTS = {"github-token": "${{ github.token }}"}


def _inputs(path: Path) -> dict[str, dict[str, Any]]:
    inputs: dict[str, dict[str, Any]] = load(path)["inputs"]
    return inputs


def test_action_inputs_are_the_settings_table() -> None:
    assert list(_inputs(ACTION)) == [spec.name for spec in SPECS]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_input_default_and_required_match_the_program(spec: Any) -> None:
    declared = _inputs(ACTION)[spec.name]
    # The one default the runner supplies: the workflow token (issue 28.8); the program itself has none.
    expected = RUNNER_DEFAULTS.get(spec.name, spec.default)
    assert declared.get("default") == expected, "the docs would promise a default the program does not use"
    assert bool(declared.get("required")) == (spec.name in REQUIRED)
    assert declared["description"].strip()


def test_every_input_reaches_the_program_as_input_env() -> None:
    env: dict[str, str] = composite_step("run")["env"]
    mapped = {name: value for name, value in env.items() if name.startswith("INPUT_")}
    assert mapped == {spec.input_env: "${{ inputs." + spec.name + " }}" for spec in SPECS}
    assert all("-" in spec.input_env for spec in SPECS if "-" in spec.name), "hyphens must be kept, as a runner does"


def test_action_outputs_are_the_published_outputs() -> None:
    outputs: dict[str, dict[str, str]] = load(ACTION)["outputs"]
    assert list(outputs) == list(OUTPUT_NAMES)
    for name, spec in outputs.items():
        # the run step's id on Linux and macOS, or on Windows (step ids are unique, one of the pair runs)
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} || steps.run-windows.outputs.{name} }}}}"
        assert spec["description"].strip()


@pytest.mark.parametrize("path", [DOCKER_ACTION, DOCKER_BUILD_ACTION], ids=lambda p: str(p.relative_to(ROOT)))
def test_docker_actions_have_the_same_inputs_and_outputs(path: Path) -> None:
    composite, docker = load(ACTION), load(path)
    assert list(docker["inputs"]) == list(composite["inputs"])
    for name, spec in composite["inputs"].items():
        theirs = docker["inputs"][name]
        assert theirs.get("default") == spec.get("default") and theirs.get("required") == spec.get("required")
        assert theirs["description"] == " ".join(spec["description"].split())
    assert list(docker["outputs"]) == list(composite["outputs"])


def test_docker_action_runs_the_published_major_tag() -> None:
    runs = load(DOCKER_ACTION)["runs"]
    assert runs == {"using": "docker", "image": f"docker://{PUBLISHED_IMAGE}:1", "args": ["action"]}


def test_docker_build_action_builds_the_root_dockerfile() -> None:
    runs = load(DOCKER_BUILD_ACTION)["runs"]
    assert runs == {"using": "docker", "image": "../../Dockerfile", "args": ["action"]}
    assert (DOCKER_BUILD_ACTION.parent / runs["image"]).resolve() == ROOT / "Dockerfile"


def test_ci_smoke_tests_the_docker_action_built_from_the_checkout() -> None:
    # The published image exists only after a release: CI runs the same action files against this commit's build.
    steps = load(ROOT / ".github" / "workflows" / "docker.yml")["jobs"]["smoke"]["steps"]
    assert "./docker/build" in [step.get("uses") for step in steps]


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"].get("steps", []))
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


ALL_FILES = [ACTION, DOCKER_ACTION, DOCKER_BUILD_ACTION, *WORKFLOWS, *EXAMPLES]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expression_inside_run_scripts(path: Path) -> None:
    for step in _steps(load(path)):
        assert "${{" not in step.get("run", ""), f"step {step.get('name')!r} expands an expression inside run:"


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS, *EXAMPLES], ids=lambda p: str(p.relative_to(ROOT)))
def test_remote_actions_are_pinned_by_full_sha_with_a_version_comment(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s+(.+?)\s*$", line)
        if not match or match.group(1).startswith(("./", "$/")):
            continue
        ref = match.group(1)
        assert PINNED_USES.match(ref) or (path in EXAMPLES and OWN_ACTION.match(ref)), f"{path.name}: {ref}"


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in [ACTION, *WORKFLOWS, *EXAMPLES]:
        for action, sha in re.findall(r"uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})", path.read_text(encoding="utf-8")):
            pins.setdefault(action, set()).add(sha)
    assert pins and all(len(shas) == 1 for shas in pins.values()), pins


@pytest.mark.parametrize("path", [*WORKFLOWS, *EXAMPLES], ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_permissions_timeouts_and_credentials(path: Path) -> None:
    doc = load(path)
    assert doc["permissions"] == {}, "grant permissions per job, none at the top"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"job {name} has no permissions block"
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout-minutes"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"job {name} persists the checkout token"


def test_self_test_covers_success_and_expected_failure() -> None:
    jobs = load(ROOT / ".github" / "workflows" / "self-test.yml")["jobs"]
    local = [step for job in jobs.values() for step in job["steps"] if step.get("uses") == "./"]
    assert {step["id"] for step in local} >= {"deploy", "rejected", "invalid"}
    failing = [step for step in local if step.get("continue-on-error")]
    checks = " ".join(str(step.get("env", {})) for step in jobs["expected-failures"]["steps"])
    assert failing and all(f"steps.{step['id']}.outcome" in checks for step in failing)


def test_composite_steps_are_bash_or_powershell_and_env_only() -> None:
    for step in load(ACTION)["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == ("powershell" if "runner.os == 'Windows'" in step["if"] else "bash")
            for value in step.get("env", {}).values():
                assert not isinstance(value, str) or "${{" not in value or EXPRESSION.match(value), value
