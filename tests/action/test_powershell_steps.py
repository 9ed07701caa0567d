"""The composite action's PowerShell steps (the Windows twins in action.yml), parsed since none can run here.

No PowerShell exists on this machine (nor in Debian or PyPI), so each ``shell: powershell`` (or ``pwsh``) script
of the action files is parsed with tree-sitter-powershell (requirements/dev.txt): no syntax error, and every
environment variable it reads (``$env:X``, ``${env:X}``) is one that the step's ``env:`` sets or one that the
runner sets in every job (RUNNER_ALWAYS). An unset ``$env:X`` is an empty string in PowerShell, not an error: a
typo would run ``& "" ...`` on a Windows runner and nowhere else. Reading the environment any other way
(``[Environment]::GetEnvironmentVariable``, the ``Env:`` drive) is refused, so that the check cannot be walked
around. The negative cases below show that each check can fail.

The examples' ``pwsh`` packaging steps are not checked: the grammar (0.26) knows neither the backtick line
continuation nor native arguments of the form ``-name=value``, both of which their RunUAT call uses.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import ACTION, DOCKER_ACTION, DOCKER_BUILD_ACTION, ROOT, composite_step, load

tree_sitter = pytest.importorskip("tree_sitter", reason="tree-sitter is in requirements/dev.txt (scripts/bootstrap)")
tree_sitter_powershell = pytest.importorskip("tree_sitter_powershell", reason="in requirements/dev.txt")

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
SHELLS = ("powershell", "pwsh")

# Set by the runner in every job, on every OS (GitHub's "Default environment variables"). Not those it sets only
# sometimes: GITHUB_BASE_REF and GITHUB_HEAD_REF (pull requests), RUNNER_DEBUG (debug logging),
# ACTIONS_ID_TOKEN_REQUEST_* (id-token: write).
RUNNER_ALWAYS = frozenset({
    "CI",
    "GITHUB_ACTION", "GITHUB_ACTION_PATH", "GITHUB_ACTION_REPOSITORY", "GITHUB_ACTIONS", "GITHUB_ACTOR",
    "GITHUB_ACTOR_ID", "GITHUB_API_URL", "GITHUB_ENV", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH",
    "GITHUB_GRAPHQL_URL", "GITHUB_JOB", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_REF", "GITHUB_REF_NAME",
    "GITHUB_REF_PROTECTED", "GITHUB_REF_TYPE", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER", "GITHUB_REPOSITORY_OWNER_ID", "GITHUB_RETENTION_DAYS", "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_SERVER_URL", "GITHUB_SHA", "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
    "GITHUB_TRIGGERING_ACTOR", "GITHUB_WORKFLOW", "GITHUB_WORKFLOW_REF", "GITHUB_WORKFLOW_SHA", "GITHUB_WORKSPACE",
    "RUNNER_ARCH", "RUNNER_ENVIRONMENT", "RUNNER_NAME", "RUNNER_OS", "RUNNER_TEMP", "RUNNER_TOOL_CACHE",
})  # fmt: skip

ENV_VARIABLE = re.compile(r"^\$\{?env:([^}]+)\}?$", re.IGNORECASE)
OTHER_ENV_READS = re.compile(r"GetEnvironmentVariable|(?<![$\w])env:", re.IGNORECASE)


def _nodes(node: Any) -> list[Any]:
    found, stack = [], [node]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(reversed(node.children))
    return found


def problems(script: str, env: set[str]) -> list[str]:
    """What is wrong with one PowerShell script whose environment holds ``env`` (and RUNNER_ALWAYS)."""
    tree = PARSER.parse(script.encode("utf-8"))
    found = []
    for node in _nodes(tree.root_node):
        where = f"line {node.start_point[0] + 1}"
        if node.type == "ERROR" or node.is_missing:
            found.append(f"{where}: syntax error at {node.text.decode()[:40]!r}")
        elif node.type == "variable":
            match = ENV_VARIABLE.match(node.text.decode())
            if match and match.group(1).upper() not in {name.upper() for name in env} | RUNNER_ALWAYS:
                found.append(f"{where}: reads $env:{match.group(1)}, which nothing sets")
        elif not node.children and OTHER_ENV_READS.search(node.text.decode()):
            found.append(f"{where}: reads the environment other than by $env:NAME: {node.text.decode()!r}")
    if tree.root_node.has_error and not found:
        found.append("syntax error")
    return found


def _steps(runs: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """(id, script, the names its env sets) of the PowerShell steps of an action's ``runs``."""
    return [
        (str(step.get("id") or index), step["run"], set(step.get("env") or {}))
        for index, step in enumerate(runs.get("steps") or [])
        if step.get("shell") in SHELLS and "run" in step
    ]


def powershell_steps() -> list[tuple[str, str, set[str]]]:
    """Every PowerShell step of the action files, named ``file:step``."""
    found = []
    for path in (ACTION, DOCKER_ACTION, DOCKER_BUILD_ACTION):
        runs = load(path)["runs"]
        found += [(f"{path.relative_to(ROOT).as_posix()}:{n}", s, e) for n, s, e in _steps(runs)]
    return found


STEPS = powershell_steps()


def test_the_windows_steps_of_action_yml_are_found() -> None:
    """So that the test below cannot pass by checking nothing (docker/*.yml run an image: no steps of theirs)."""
    assert [name for name, _, _ in STEPS] == ["action.yml:python-windows", "action.yml:run-windows"]


@pytest.mark.parametrize(("name", "script", "env"), STEPS, ids=[name for name, _, _ in STEPS])
def test_each_powershell_step_parses_and_reads_only_variables_that_are_set(
    name: str, script: str, env: set[str]
) -> None:
    assert problems(script, env) == []


RUN_WINDOWS = composite_step("run-windows")
GOOD, GOOD_ENV = RUN_WINDOWS["run"], set(RUN_WINDOWS["env"])


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (GOOD.replace("$env:SP_PYTHON", "$env:SP_PYTHN", 1), "reads $env:SP_PYTHN, which nothing sets"),
        (
            GOOD.replace("$env:SP_ACTION_PATH", "$env:GITHUB_ACTION_PTH"),
            "reads $env:GITHUB_ACTION_PTH, which nothing sets",
        ),
        ('Write-Output "${env:SP_SECRET}"\n', "line 1: reads $env:SP_SECRET, which nothing sets"),
        ("if ($LASTEXITCODE -eq 0 { exit 0 }\n", "syntax error"),
        ("foreach ($c in @('py', 'python') {\n  & $c\n}\n", "syntax error"),
        ('& "$env:SP_PYTHON\n', "syntax error"),
        ("$p = [Environment]::GetEnvironmentVariable('SP_PYTHON')\n", "reads the environment other than by $env:"),
        ("$p = (Get-Item Env:SP_PYTHON).Value\n", "reads the environment other than by $env:"),
    ],
    ids=["typo", "runner-typo", "braces", "paren", "brace", "quote", "dotnet", "drive"],
)
def test_the_check_finds_what_a_windows_runner_would_trip_on(script: str, expected: str) -> None:
    assert problems(GOOD, GOOD_ENV) == []
    found = problems(script, GOOD_ENV)
    assert any(expected in line for line in found), found


def test_env_names_are_case_insensitive_as_on_windows() -> None:
    assert problems("& $ENV:sp_python\nexit $env:Runner_Temp.Length\n", {"SP_PYTHON"}) == []


def test_runner_always_names_only_variables_every_job_has() -> None:
    assert all(re.fullmatch(r"(GITHUB|RUNNER)_[A-Z_]+|CI", name) for name in RUNNER_ALWAYS)
    assert not {"RUNNER_DEBUG", "GITHUB_BASE_REF", "GITHUB_HEAD_REF", "GITHUB_TOKEN"} & RUNNER_ALWAYS
