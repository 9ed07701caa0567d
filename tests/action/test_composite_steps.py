"""The composite action's bash steps, run the way a runner runs them (bash, env mapped from action.yml)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy import _version

from .conftest import ACTION, EXPRESSION, ROOT, bash, composite_step, load, runner_env

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX shell stubs; self-test.yml runs the composite action on windows-latest"
)


def _run_step(
    step: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], str]:
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    env = {**env, "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        [bash(), "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, output.read_text(encoding="utf-8")


def _resolve(step: dict[str, Any], context: dict[str, str]) -> dict[str, str]:
    """The step's env: as a runner evaluates it, for the simple ``${{ a.b.c }}`` expressions it uses."""
    env = {}
    for name, value in step.get("env", {}).items():
        match = EXPRESSION.match(str(value))
        env[name] = context.get(match.group(1), "") if match else str(value)
    return env


def test_find_python_step_picks_a_python_3_10_or_newer(tmp_path: Path) -> None:
    done, output = _run_step(composite_step("python"), runner_env(), tmp_path)
    assert done.returncode == 0, done.stderr
    path = re.fullmatch(r"path=(.+)\n", output)
    assert path, output
    check = [path.group(1), "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 10))"]
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_find_python_step_leaves_it_to_setup_python_when_none_fits(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("python3", "python", "py"):  # an old Python: fails the version check
        (fake / name).write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
        (fake / name).chmod(0o755)
    done, output = _run_step(composite_step("python"), runner_env(PATH=str(fake)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert output == "path=\n"
    assert "actions/setup-python will provide one" in done.stdout
    setup = composite_step("setup-python")
    assert setup["if"] == "steps.python.outputs.path == ''"
    assert setup["with"]["update-environment"] is False


def test_install_step_reuses_a_finished_venv_keyed_by_version_and_lock(tmp_path: Path) -> None:
    lock = (ROOT / "requirements" / "runtime.txt").read_bytes() + (ROOT / "requirements" / "build.txt").read_bytes()
    key = f"{_version.__version__}-{hashlib.sha256(lock).hexdigest()[:16]}"
    venv = tmp_path / "temp" / "streampixel-deploy" / key / "venv"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    python.parent.mkdir(parents=True)
    python.write_text("", encoding="utf-8")
    (venv.parent / "ready").write_text(key, encoding="utf-8")
    step = composite_step("install")
    context = {
        "steps.python.outputs.path || steps.setup-python.outputs.python-path": sys.executable,
        "github.action_path": str(ROOT),
        "runner.temp": str(tmp_path / "temp"),
    }
    done, output = _run_step(step, runner_env(**_resolve(step, context)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Reusing the venv {venv} (key {key})" in done.stdout
    assert output == f"python={python}\n"


def _run_program(tmp_path: Path, inputs: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    step = composite_step("run")
    defaults = {name: str(spec.get("default", "")) for name, spec in load(ACTION)["inputs"].items()}
    context = {f"inputs.{name}": value for name, value in {**defaults, **inputs}.items()}
    context["steps.install.outputs.python"] = sys.executable
    return _run_step(step, runner_env(**_resolve(step, context)), tmp_path)


def test_run_step_passes_hyphenated_inputs_through_bash(tmp_path: Path) -> None:
    key = "sp-test-key-3f9a1c0e5b7d"
    inputs = {"api-key": key, "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": "67944b8a3f323be4b89a2272"}
    done, output = _run_program(tmp_path, {**inputs, "command": "distribute"})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"::add-mask::{key}", "INPUT_API-KEY did not reach the program (or was not masked first)"
    assert any(line.startswith("::error title=Invalid input::") and "'upload-id'" in line for line in lines)
    assert re.search(r"^result<<(.+)\nfailed\n\1$", output, re.MULTILINE), output
    assert key not in output


@pytest.mark.parametrize(("name", "value"), [("wait", "maybe"), ("verify-archive", "thorough")])
def test_run_step_reports_the_input_by_its_action_name(tmp_path: Path, name: str, value: str) -> None:
    inputs = {"api-key": "k", "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": "67944b8a3f323be4b89a2272"}
    done, _ = _run_program(tmp_path, {**inputs, "zip-path": "missing.zip", name: value, "command": "status"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"'{name}'" in done.stdout
