"""action/setup_env.py, the composite action's install step: venv key, reuse, the pip commands, failures.

pip and venv creation are replaced by recorders here (no network, no 20 s install); the real install runs in
test_act.py's act run of the self-test workflow.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import setup_env
from streampixel_deploy import _version

from .conftest import ROOT


@pytest.fixture
def action(tmp_path: Path) -> Path:
    """A copy of what the script reads from the action's folder, so that tests may change it."""
    dest = tmp_path / "action"
    (dest / "requirements").mkdir(parents=True)
    for name in ("runtime.txt", "build.txt"):
        shutil.copy2(ROOT / "requirements" / name, dest / "requirements" / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in setup_env.BUILD_FILES:
        shutil.copy2(ROOT / name, dest / name)
    return dest


class Pip:
    """Records the commands; fails the command whose index is ``fail_at`` with exit code 3."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_at = fail_at

    def __call__(self, argv: Sequence[str]) -> None:
        self.calls.append(list(argv))
        if len(self.calls) - 1 == self.fail_at:
            raise subprocess.CalledProcessError(3, list(argv))


def fake_venv(env_dir: Path) -> None:
    python = setup_env.venv_python(env_dir)
    python.parent.mkdir(parents=True)
    python.write_text("", encoding="utf-8")


def test_the_script_lives_where_action_yml_calls_it() -> None:
    assert setup_env.ACTION_ROOT == ROOT
    assert Path(setup_env.__file__).resolve() == ROOT / "action" / "setup_env.py"


def test_key_is_the_version_and_the_sha256_of_both_locks() -> None:
    lock = (ROOT / "requirements" / "runtime.txt").read_bytes() + (ROOT / "requirements" / "build.txt").read_bytes()
    assert setup_env.venv_key(ROOT) == f"{_version.__version__}-{hashlib.sha256(lock).hexdigest()[:16]}"


def test_a_changed_lock_or_version_gets_a_new_key(action: Path) -> None:
    before = setup_env.venv_key(action)
    with (action / "requirements" / "build.txt").open("a", encoding="utf-8") as fh:
        fh.write("# relocked\n")
    after_lock = setup_env.venv_key(action)
    (action / "src" / "streampixel_deploy" / "_version.py").write_text('__version__ = "9.9.9"\n', encoding="utf-8")
    after_version = setup_env.venv_key(action)
    assert len({before, after_lock, after_version}) == 3
    assert after_version.startswith("9.9.9-")


def test_a_version_file_without_a_version_is_a_setup_error(action: Path) -> None:
    (action / "src" / "streampixel_deploy" / "_version.py").write_text("VERSION = 1\n", encoding="utf-8")
    with pytest.raises(setup_env.SetupError, match="no __version__"):
        setup_env.venv_key(action)


@pytest.mark.parametrize(
    ("platform", "expected"), [("win32", "Scripts/python.exe"), ("linux", "bin/python"), ("darwin", "bin/python")]
)
def test_venv_python_per_platform(tmp_path: Path, platform: str, expected: str) -> None:
    assert setup_env.venv_python(tmp_path, platform) == tmp_path / expected


def test_cold_install_creates_the_venv_installs_locked_then_package_and_marks_it_ready(
    action: Path, tmp_path: Path
) -> None:
    pip, said = Pip(), list[str]()
    python = setup_env.install(action, tmp_path / "temp", run=pip, make_venv=fake_venv, say=said.append)
    key = setup_env.venv_key(action)
    root = tmp_path / "temp" / "streampixel-deploy" / key
    assert python == setup_env.venv_python(root / "venv")
    stage = root / "source"
    runtime, build = action / "requirements" / "runtime.txt", action / "requirements" / "build.txt"
    pip_install = [str(python), "-m", "pip", "install", "--quiet"]
    assert pip.calls == [
        [*pip_install, "--require-hashes", "-r", str(runtime), "-r", str(build)],
        [*pip_install, "--no-deps", "--no-build-isolation", str(stage)],
    ]
    # The package is built from a copy: the sources and the files pyproject.toml names, without caches.
    assert (stage / "src" / "streampixel_deploy" / "__main__.py").is_file()
    assert all((stage / name).is_file() for name in setup_env.BUILD_FILES)
    assert not list(stage.rglob("__pycache__"))
    assert (root / "ready").read_text(encoding="utf-8") == key + "\n"
    assert said[0].startswith(f"Creating the venv {root / 'venv'} (key {key}) with Python ")
    assert said[-1].startswith("Installed in ")


def test_a_finished_venv_is_reused_without_running_pip(action: Path, tmp_path: Path) -> None:
    first = setup_env.install(action, tmp_path, run=Pip(), make_venv=fake_venv, say=lambda _: None)
    pip, said = Pip(), list[str]()

    def no_venv(env_dir: Path) -> None:
        raise AssertionError(f"a finished venv was made again: {env_dir}")

    again = setup_env.install(action, tmp_path, run=pip, make_venv=no_venv, say=said.append)
    assert again == first
    assert pip.calls == []
    assert said == [f"Reusing the venv {first.parent.parent} (key {setup_env.venv_key(action)})"]


def test_a_half_made_venv_is_removed_and_made_again(action: Path, tmp_path: Path) -> None:
    root = tmp_path / "streampixel-deploy" / setup_env.venv_key(action)
    fake_venv(root / "venv")  # a Python but no ready mark: an earlier install died half-way
    (root / "leftover").write_text("from the earlier attempt", encoding="utf-8")
    pip = Pip()
    setup_env.install(action, tmp_path, run=pip, make_venv=fake_venv, say=lambda _: None)
    assert len(pip.calls) == 2
    assert not (root / "leftover").exists()
    assert (root / "ready").is_file()


@pytest.mark.parametrize("fail_at", [0, 1])
def test_a_pip_failure_removes_the_venv_and_raises(action: Path, tmp_path: Path, fail_at: int) -> None:
    with pytest.raises(setup_env.SetupError, match="pip exited with 3 while installing"):
        setup_env.install(action, tmp_path, run=Pip(fail_at), make_venv=fake_venv, say=lambda _: None)
    assert list((tmp_path / "streampixel-deploy").iterdir()) == []


def test_main_writes_the_venv_python_to_github_output(action: Path, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n", encoding="utf-8")
    environ = {"SP_VENV_ROOT": str(tmp_path / "temp"), "GITHUB_OUTPUT": str(output)}
    assert setup_env.main(environ, action, run=Pip(), make_venv=fake_venv) == 0
    python = setup_env.venv_python(tmp_path / "temp" / "streampixel-deploy" / setup_env.venv_key(action) / "venv")
    assert output.read_text(encoding="utf-8") == f"earlier=1\npython={python}\n"


def test_main_reports_a_failed_install_in_the_log_and_the_job_summary(
    action: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, summary = tmp_path / "github_output", tmp_path / "summary.md"
    environ = {"SP_VENV_ROOT": str(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    assert setup_env.main(environ, action, run=Pip(fail_at=0), make_venv=fake_venv) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == (
        "::error title=streampixel-deploy could not be installed::pip exited with 3 while installing the action's"
        " locked dependencies; see the log above."
    )
    assert summary.read_text(encoding="utf-8").startswith("## ❌ Streampixel deploy: not run\n\npip exited with 3")
    assert not output.exists()


def test_main_without_the_runner_environment_says_what_is_missing(
    action: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup_env.main({"GITHUB_OUTPUT": "unused"}, action, run=Pip(), make_venv=fake_venv) == 1
    assert "SP_VENV_ROOT is not set" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="the composite step is run through bash")
def test_action_yml_runs_this_script_and_nothing_else() -> None:
    from .conftest import composite_step

    step = composite_step("install")
    assert step["run"] == '"$SP_PYTHON" "$SP_ACTION_PATH/action/setup_env.py"'
    assert step["env"]["SP_ACTION_PATH"] == "${{ github.action_path }}"
