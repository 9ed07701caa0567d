"""action/launch.py (the run step) and action/find_python.py (the Find Python steps), POSIX and Windows branches.

The Windows branches run here through their ``platform`` parameter: the child that waits through Ctrl+C, stderr
merged into stdout (for Windows PowerShell), the venv layout. The slow test does a real cold install.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import find_python
import launch
import setup_env

from .conftest import ROOT, runner_env

ACTION_DIR = ROOT / "action"
PYENV = Path.home() / ".pyenv" / "versions"


def _python(version: str) -> Path:
    """A pyenv Python of that minor version (this machine has 2.7 to 3.13), else skip."""
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {version} under {PYENV}")
    return found[-1]


# ---------------------------------------------------------------- find_python.py


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.9"])
def test_find_python_refuses_an_old_python_politely(tmp_path: Path, version: str) -> None:
    output = tmp_path / "out"
    done = subprocess.run(
        [str(_python(version)), str(ACTION_DIR / "find_python.py")],
        env=runner_env(GITHUB_OUTPUT=str(output)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == "", "PowerShell would turn stderr into an error record"
    assert "is older than 3.10" in done.stdout
    assert not output.exists()


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_find_python_writes_the_path_of_a_fitting_python(tmp_path: Path, version: str) -> None:
    python, output = _python(version), tmp_path / "out"
    output.write_text("earlier=1\n", encoding="utf-8")
    argv = [str(python), str(ACTION_DIR / "find_python.py")]
    done = subprocess.run(argv, env=runner_env(GITHUB_OUTPUT=str(output)), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    assert output.read_text(encoding="utf-8") == f"earlier=1\npath={python}\n"


def test_find_python_names_a_missing_module_and_the_missing_output(tmp_path: Path) -> None:
    assert "`no_such_module` module is missing" in find_python.problem((3, 12, 0), ["venv", "no_such_module"])
    assert find_python.problem((3, 10, 0), ["venv"]) == ""
    assert find_python.main({}, (3, 12, 0), []) == 1


# ---------------------------------------------------------------- launch.py: where, what, failures


def test_home_is_the_tool_cache_when_writable_else_runner_temp(tmp_path: Path) -> None:
    assert launch.home({"SP_TOOL_CACHE": str(tmp_path / "tc"), "SP_VENV_ROOT": "x"}) == (
        tmp_path / "tc" / "streampixel-deploy",
        True,
    )
    (tmp_path / "file").write_text("", encoding="utf-8")  # a tool cache that cannot hold a folder
    env = {"SP_TOOL_CACHE": str(tmp_path / "file"), "SP_VENV_ROOT": str(tmp_path / "temp")}
    assert launch.home(env) == (tmp_path / "temp" / "streampixel-deploy", False)
    assert launch.home({"SP_TOOL_CACHE": "", "SP_VENV_ROOT": str(tmp_path)}) == (tmp_path / "streampixel-deploy", False)
    for unset in ({}, {"SP_VENV_ROOT": ""}, {"SP_VENV_ROOT": "", "SP_TOOL_CACHE": ""}):
        with pytest.raises(KeyError):
            launch.home(unset)


def _snapshot(tmp_path: Path) -> Path:
    """A copy of the action (what a runner checks out): the venv's key hashes the sources, and this working tree
    may be edited while a test runs."""
    action = tmp_path / "action"
    for name in ("action", "src", "requirements"):
        shutil.copytree(ROOT / name, action / name, ignore=shutil.ignore_patterns(*setup_env.SKIP))
    return action


class Recorder:
    def __init__(self) -> None:
        self.argv: list[str] = []
        self.env: dict[str, str] = {}

    def __call__(self, argv: Sequence[str], env: Mapping[str, str]) -> int:
        self.argv, self.env = list(argv), dict(env)
        return 7


def _fake_install(argv: Sequence[str]) -> None:
    if "--target" in argv:
        exe = setup_env.uv_executable(Path(argv[argv.index("--target") + 1]))
        exe.parent.mkdir(parents=True)
        exe.write_text("", encoding="utf-8")


def _fake_venv(env_dir: Path, with_pip: bool) -> None:
    setup_env.venv_python(env_dir).parent.mkdir(parents=True)
    setup_env.venv_python(env_dir).write_text("", encoding="utf-8")
    setup_env.site_packages(env_dir).mkdir(parents=True)


def test_main_installs_then_runs_the_program_with_the_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"SP_VENV_ROOT": str(tmp_path / "temp"), "SP_TOOL_CACHE": str(tmp_path / "tc"), "INPUT_COMMAND": "status"}
    old = tmp_path / "tc" / "streampixel-deploy" / "0.0.1-py39-0000000000000000"
    old.mkdir(parents=True)
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    executor, action = Recorder(), _snapshot(tmp_path)
    code = launch.main(environ, action, run=_fake_install, make_venv=_fake_venv, executor=executor)
    assert code == 7, "the program's exit code is the step's"
    key = setup_env.venv_key(action)
    python = setup_env.venv_python(tmp_path / "tc" / "streampixel-deploy" / key / "venv")
    assert executor.argv == [str(python), "-m", "streampixel_deploy", "action"]
    assert executor.env == environ
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "::group::Install streampixel-deploy" and out[-1] == "::endgroup::"
    assert f"Removed {old} (unused for 30 days)" in out, "the tool cache is pruned"


def test_main_reports_a_failed_install_in_the_log_the_summary_and_the_result_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary.md"
    environ = {"SP_VENV_ROOT": str(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}

    def failing(argv: Sequence[str]) -> None:
        raise subprocess.CalledProcessError(3, list(argv))

    assert launch.main(environ, ROOT, run=failing, make_venv=_fake_venv, executor=Recorder()) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        "::endgroup::",
        "::error title=streampixel-deploy could not be installed::pip exited with 3 while installing the action's"
        " locked dependencies; see the log above.",
    ]
    assert summary.read_text(encoding="utf-8").startswith("## ❌ Streampixel deploy: not run\n\npip exited with 3")
    assert output.read_text(encoding="utf-8") == "result=failed\n"


def test_main_without_the_runner_environment_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert launch.main({}, ROOT, run=_fake_install, make_venv=_fake_venv, executor=Recorder()) == 1
    assert "SP_VENV_ROOT is not set" in capsys.readouterr().out


@pytest.mark.parametrize("given", ["unset", "empty"])
def test_without_a_runner_folder_nothing_is_installed_and_the_failure_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """Issue 28: empty SP_VENV_ROOT and SP_TOOL_CACHE (a runner without runner.temp) installed into
    ./streampixel-deploy of the workspace and exited 0; unset, no result output and no summary were written."""
    workspace, output, summary = tmp_path / "workspace", tmp_path / "out", tmp_path / "summary.md"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    environ = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    if given == "empty":
        environ.update(SP_VENV_ROOT="", SP_TOOL_CACHE="")
    executor = Recorder()
    assert launch.main(environ, ROOT, run=_fake_install, make_venv=_fake_venv, executor=executor) == 1
    assert executor.argv == [], "the program did not run"
    assert list(workspace.iterdir()) == [], "nothing was installed into the workspace"
    assert capsys.readouterr().out.splitlines()[-1].startswith("::error title=streampixel-deploy could not be")
    assert output.read_text(encoding="utf-8") == "result=failed\n"
    assert "SP_VENV_ROOT is not set" in summary.read_text(encoding="utf-8")


def test_a_program_that_cannot_be_started_is_reported_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary.md"
    environ = {"SP_VENV_ROOT": str(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}

    def vanished(argv: Sequence[str], env: Mapping[str, str]) -> int:
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    action = _snapshot(tmp_path)
    assert launch.main(environ, action, run=_fake_install, make_venv=_fake_venv, executor=vanished) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("::error title=streampixel-deploy could not be")
    assert not (tmp_path / "streampixel-deploy" / setup_env.venv_key(action) / "ready").exists(), "made again"
    assert output.read_text(encoding="utf-8") == "result=failed\n"
    assert summary.read_text(encoding="utf-8").startswith("## ❌ Streampixel deploy: not run\n")


def test_an_unexpected_error_while_installing_is_reported_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary.md"
    environ = {"SP_VENV_ROOT": str(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}

    def broken_venv(env_dir: Path, with_pip: bool) -> None:
        raise RuntimeError("ensurepip is broken")

    assert launch.main(environ, ROOT, run=_fake_install, make_venv=broken_venv, executor=Recorder()) == 1
    out = capsys.readouterr().out
    assert "RuntimeError: ensurepip is broken" in out.splitlines()[-1]
    assert output.read_text(encoding="utf-8") == "result=failed\n"
    assert "RuntimeError: ensurepip is broken" in summary.read_text(encoding="utf-8")


def test_when_uv_cannot_be_started_pip_installs_and_the_program_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24, on any machine: uv's binary missing where it was expected falls back to pip with a notice."""
    calls: list[list[str]] = []

    def uv_missing(argv: Sequence[str]) -> None:
        calls.append(list(argv))
        if Path(argv[0]).name.startswith("uv"):
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        _fake_install(argv)

    environ = {"SP_VENV_ROOT": str(tmp_path / "temp"), "SP_TOOL_CACHE": str(tmp_path / "tc")}
    executor = Recorder()
    assert launch.main(environ, ROOT, run=uv_missing, make_venv=_fake_venv, executor=executor) == 7
    assert executor.argv[1:] == ["-m", "streampixel_deploy", "action"]
    out = capsys.readouterr().out
    assert "::error" not in out
    assert [line for line in out.splitlines() if line.startswith("uv could not be started") and "pip instead" in line]
    assert "Installed with pip in " in out
    assert Path(calls[-1][0]).name == Path(sys.executable).name, "pip did the install"
    assert calls[-1][1:4] == ["-m", "pip", "install"]


# ---------------------------------------------------------------- launch.py: running the program


def _wrapper(tmp_path: Path, platform: str, child: str) -> list[str]:
    script = tmp_path / "wrapper.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(ACTION_DIR)!r})\n"
        "import launch\n"
        "print('wrapper', os.getpid(), flush=True)\n"
        f"sys.exit(launch.execute([sys.executable, '-c', {child!r}], dict(os.environ), {platform!r}))\n",
        encoding="utf-8",
    )
    return [sys.executable, str(script)]


@pytest.mark.skipif(sys.platform == "win32", reason="exec replaces the process on POSIX only")
def test_on_posix_the_program_replaces_the_launcher(tmp_path: Path) -> None:
    child = "import os, sys; print('child', os.getpid(), os.environ['INPUT_X']); sys.exit(5)"
    done = subprocess.run(
        _wrapper(tmp_path, "linux", child), env=runner_env(INPUT_X="kept"), capture_output=True, text=True, check=False
    )
    assert done.returncode == 5
    wrapper, child_line = done.stdout.splitlines()
    assert child_line == f"child {wrapper.split()[1]} kept", "same process: the runner's signals reach the program"


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to one process, as a POSIX test")
def test_the_windows_branch_waits_for_the_program_through_ctrl_c(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = (
        "import os, pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(130))\n"
        f"pathlib.Path({str(ready)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(_wrapper(tmp_path, "win32", child), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the child did not start"
        wrapper_pid = int(proc.stdout.readline().split()[1])  # type: ignore[union-attr]
        assert int(ready.read_text()) != wrapper_pid, "on Windows the program is a child"
        os.kill(wrapper_pid, signal.SIGINT)  # Ctrl+C reaches the launcher ...
        time.sleep(0.3)
        assert proc.poll() is None, "the launcher must keep waiting for the program"
        os.kill(int(ready.read_text()), signal.SIGINT)  # ... and the program, which ends the run itself
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]


def test_merge_stderr_sends_everything_to_stdout() -> None:
    code = (
        f"import sys, subprocess; sys.path.insert(0, {str(ACTION_DIR)!r}); import launch; launch.merge_stderr();"
        "print('own', file=sys.stderr, flush=True);"
        "subprocess.run([sys.executable, '-c', 'import sys; sys.stderr.write(\"child\\\\n\")'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""
    assert done.stdout.split() == ["own", "child"]


# ---------------------------------------------------------------- a real cold install


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["auto", "pip"])
def test_a_cold_tool_cache_installs_and_runs_the_program_and_a_warm_one_reuses_it(
    tmp_path: Path, installer: str
) -> None:
    """launch.py end to end with the real installers (PyPI, or the lane's local wheels) from an empty tool cache:
    a rehearsal (`api-url: emulator`, `command: status`) from the new venv, then the same from the warm cache.

    Issue 24: on Windows the cold install looked for uv in ``Scripts`` while pip put it in ``bin`` and failed with
    ``[WinError 2]`` (``result=failed``) instead of using uv (or pip)."""
    tool_cache = tmp_path / "tc"
    tool_cache.mkdir()
    output, summary = tmp_path / "out", tmp_path / "summary.md"
    env = runner_env(
        SP_VENV_ROOT=str(tmp_path / "temp"),
        SP_TOOL_CACHE=str(tool_cache),
        SP_INSTALLER=installer,
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
        **{"INPUT_API-URL": "emulator", "INPUT_COMMAND": "status", "INPUT_TIMEOUT-MINUTES": "2"},
    )
    argv = [sys.executable, str(_snapshot(tmp_path) / "action" / "launch.py")]
    times = []
    for _ in ("cold", "warm"):
        output.write_text("", encoding="utf-8")
        started = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=280, check=False)
        times.append(time.monotonic() - started)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "::error" not in done.stdout, done.stdout
        assert re.search(r"^result<<(.+)\nok\n\1$", output.read_text(encoding="utf-8"), re.MULTILINE), done.stdout
        assert "Rehearsal" in done.stdout, "the program ran from the venv"
        if len(times) == 1:
            used = "pip" if installer == "pip" else "uv"
            assert f"Installed with {used} in " in done.stdout, done.stdout
            assert "pip instead" not in done.stdout, "uv itself must work here: a fallback would hide its failure"
        else:
            assert "Reusing the venv" in done.stdout and "Installed with" not in done.stdout, done.stdout
    print(f"\nlaunch.py ({installer}, {sys.platform}): cold {times[0]:.1f} s, warm {times[1]:.1f} s")
