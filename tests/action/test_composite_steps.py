"""The composite action's run steps: bash on Linux/macOS, Windows PowerShell on Windows, each pair kept equal.

The bash steps run here the way a runner runs them (``bash --noprofile --norc -eo pipefail`` with the env mapped
from action.yml). No PowerShell
exists on this machine (nor in Debian or PyPI), so the PowerShell steps are read: a few lines that only find a
Python or run action/launch.py, ASCII, with the same env as their sh twin (test_powershell_steps.py parses them
and checks the variables they read).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import setup_env

from .conftest import ACTION, EXPRESSION, ROOT, composite_step, load, runner_env

PAIRS = [("python", "python-windows"), ("run", "run-windows")]
POSIX_IF, WINDOWS_IF = "runner.os != 'Windows'", "runner.os == 'Windows'"


SHELLS = {"bash": ["--noprofile", "--norc", "-eo", "pipefail"], "dash": ["-e"]}  # as the runner starts them


def _shell(name: str) -> list[str]:
    found = shutil.which(name)
    if not found:
        pytest.skip(f"no {name} on PATH")
    return [found, *SHELLS[name]]


def _run_step(
    step: dict[str, Any], env: dict[str, str], tmp_path: Path, using: str = "bash"
) -> tuple[subprocess.CompletedProcess[str], str]:
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    done = subprocess.run(
        [*_shell(using), "-c", step["run"]],
        env={**env, "GITHUB_OUTPUT": str(output)},
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


# ---------------------------------------------------------------- shape


def test_every_run_step_is_sh_off_windows_and_powershell_on_windows() -> None:
    steps = [s for s in load(ACTION)["runs"]["steps"] if "run" in s]
    assert [s["id"] for s in steps] == ["python", "python-windows", "run", "run-windows"]
    for step in steps:
        windows = step["id"].endswith("-windows")
        assert step["if"] == (WINDOWS_IF if windows else POSIX_IF)
        assert step["shell"] == ("powershell" if windows else "bash"), "Windows needs no bash"
        for value in step.get("env", {}).values():
            assert "${{" not in str(value) or EXPRESSION.match(str(value)), value
        assert "${{" not in step["run"], "inputs and contexts reach a script only through env"


@pytest.mark.parametrize(("posix", "windows"), PAIRS)
def test_each_pair_has_the_same_env_and_name(posix: str, windows: str) -> None:
    a, b = composite_step(posix), composite_step(windows)
    assert a["env"] == b["env"], "the INPUT_* list (and the rest) must stay equal in both steps"
    assert b["name"] == a["name"] + " (Windows)"


def test_the_run_steps_map_every_input_and_find_their_python() -> None:
    inputs = load(ACTION)["inputs"]
    env = composite_step("run")["env"]
    mapped = {k[len("INPUT_") :].lower(): v for k, v in env.items() if k.startswith("INPUT_")}
    assert mapped == {name: f"${{{{ inputs.{name} }}}}" for name in inputs}
    python = "steps.python.outputs.path || steps.python-windows.outputs.path || steps.setup-python.outputs.python-path"
    assert env["SP_PYTHON"] == f"${{{{ {python} }}}}"
    assert env["SP_TOOL_CACHE"] == "${{ runner.tool_cache }}" and env["SP_VENV_ROOT"] == "${{ runner.temp }}"
    setup = composite_step("setup-python")
    assert setup["if"] == "steps.python.outputs.path == '' && steps.python-windows.outputs.path == ''"
    assert setup["with"]["update-environment"] is False


@pytest.mark.parametrize("step_id", ["python-windows", "run-windows"])
def test_powershell_steps_are_tiny_ascii_and_call_only_the_checked_files(step_id: str) -> None:
    script = composite_step(step_id)["run"]
    assert script.isascii(), "Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page"
    lines = [line.strip() for line in script.strip().splitlines()]
    assert len(lines) <= 10
    # Native stderr must not stop the step (the runner prepends $ErrorActionPreference = 'stop').
    assert lines[0] == "$ErrorActionPreference = 'Continue'"
    assert lines[-1] in ("exit 0", "exit $LASTEXITCODE"), "the step's result is the script's exit code"
    calls = re.findall(r"^\s*&\s+(\S+)\s+\"\$env:SP_ACTION_PATH\\action\\(\w+\.py)\"$", script, re.MULTILINE)
    assert calls, script
    for _, name in calls:
        assert (ROOT / "action" / name).is_file()
    assert "2>" not in script, "redirecting a native command's stderr makes error records in PowerShell 5.1"
    assert not re.search(r"\b(bash|sh|cmd)\b", script)


def test_the_windows_find_step_tries_the_py_launcher_first() -> None:
    assert "foreach ($candidate in @('py', 'python', 'python3'))" in composite_step("python-windows")["run"]


# ---------------------------------------------------------------- the bash steps, run


def test_find_python_step_picks_a_python_3_10_or_newer(tmp_path: Path) -> None:
    step = composite_step("python")
    env = runner_env(**_resolve(step, {"github.action_path": str(ROOT)}))
    done, output = _run_step(step, env, tmp_path)
    assert done.returncode == 0, done.stderr
    path = re.fullmatch(r"path=(.+)\n", output)
    assert path, output
    check = [path.group(1), "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 10))"]
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_find_python_step_skips_old_ones_and_leaves_it_to_setup_python(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    old = sorted((Path.home() / ".pyenv" / "versions").glob("3.9.*/bin/python"))
    for name in ("python3", "python", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10"):
        if old and name == "python3":
            (fake / name).symlink_to(old[-1])  # a real Python 3.9: find_python.py says why it does not fit
        else:
            (fake / name).write_text(f"#!{_shell('bash')[0]}\nexit 1\n", encoding="utf-8")
            (fake / name).chmod(0o755)
    step = composite_step("python")
    env = runner_env(PATH=str(fake), **_resolve(step, {"github.action_path": str(ROOT)}))  # bash runs by its path
    done, output = _run_step(step, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert output == ""
    assert done.stdout.splitlines()[-1] == "No Python 3.10 or newer on PATH; actions/setup-python will provide one."
    if old:
        assert "is older than 3.10" in done.stdout


def _ready_venv(tmp_path: Path) -> Path:
    """A finished venv under the tool cache whose python is this test's interpreter (streampixel_deploy on it)."""
    key = setup_env.venv_key(ROOT)
    root = tmp_path / "tc" / "streampixel-deploy" / key
    python = setup_env.venv_python(root / "venv")
    python.parent.mkdir(parents=True)
    python.write_text(f'#!{_shell("bash")[0]}\nexec "{sys.executable}" "$@"\n', encoding="utf-8")  # not dash
    python.chmod(0o755)
    (root / "ready").write_text(key, encoding="utf-8")
    return python


def _run_program(
    tmp_path: Path, inputs: dict[str, str], using: str = "bash"
) -> tuple[subprocess.CompletedProcess[str], str]:
    _ready_venv(tmp_path)
    step = composite_step("run")
    defaults = {name: str(spec.get("default", "")) for name, spec in load(ACTION)["inputs"].items()}
    context = {f"inputs.{name}": value for name, value in {**defaults, **inputs}.items()}
    python = "steps.python.outputs.path || steps.python-windows.outputs.path || steps.setup-python.outputs.python-path"
    context.update({
        python: sys.executable,
        "github.action_path": str(ROOT),
        "runner.temp": str(tmp_path / "temp"),
        "runner.tool_cache": str(tmp_path / "tc"),
    })  # fmt: skip
    return _run_step(step, runner_env(**_resolve(step, context)), tmp_path, using)


def test_dash_would_drop_the_hyphenated_inputs_hence_bash(tmp_path: Path) -> None:
    """Why the POSIX steps are bash and not `sh`: dash (Debian's and Ubuntu's sh) passes on only the variables
    whose names are shell identifiers, and every input but `command`, `wait` and `environment` has a hyphen."""
    inputs = {"api-key": "k", "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": "67944b8a3f323be4b89a2272"}
    done, _ = _run_program(tmp_path, {**inputs, "command": "status"}, using="dash")
    assert "'api-key' (--api-key) is required" in done.stdout, "dash now keeps INPUT_API-KEY: sh would do"


@pytest.mark.skipif(sys.platform == "win32", reason="the bash step")
def test_run_step_reuses_the_venv_and_passes_hyphenated_inputs(tmp_path: Path) -> None:
    key = "sp-test-key-3f9a1c0e5b7d"
    inputs = {"api-key": key, "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": "67944b8a3f323be4b89a2272"}
    done, output = _run_program(tmp_path, {**inputs, "command": "distribute"})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("Reusing the venv ")
    assert lines[3] == f"::add-mask::{key}", "INPUT_API-KEY did not reach the program (or was not masked first)"
    assert any(line.startswith("::error title=Invalid input::") and "'upload-id'" in line for line in lines)
    assert re.search(r"^result<<(.+)\nfailed\n\1$", output, re.MULTILINE), output
    assert key not in output


@pytest.mark.skipif(sys.platform == "win32", reason="the bash step")
@pytest.mark.parametrize(("name", "value"), [("wait", "maybe"), ("verify-archive", "thorough")])
def test_run_step_reports_the_input_by_its_action_name(tmp_path: Path, name: str, value: str) -> None:
    inputs = {"api-key": "k", "user-id": "663d0a1b2c3e4f5a6b7c8d9e", "project-id": "67944b8a3f323be4b89a2272"}
    done, _ = _run_program(tmp_path, {**inputs, "zip-path": "missing.zip", name: value, "command": "status"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"'{name}'" in done.stdout
