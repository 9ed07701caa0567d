"""Where the action face puts its temporary files (the zip it packages from ``build-dir``).

A runner gives every step ``RUNNER_TEMP``, a folder it empties after the job. Inside a Docker action the runner
passes its own host path, which does not exist in the container: the action must then package into the
system's temporary folder (``TMPDIR``, else ``/tmp``) instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streampixel_deploy import action
from streampixel_deploy.build.sample import make_build_dir
from streampixel_deploy.emulator import Emulator

from .conftest import action_inputs, run_action


def _unusable(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":  # a Docker action: the runner's host path, absent in the container
        return tmp_path / "home" / "runner" / "work" / "_temp"
    not_a_folder = tmp_path / "runner-temp-file"
    not_a_folder.write_bytes(b"")
    return not_a_folder


@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_build_dir_is_packaged_in_the_system_temp_when_runner_temp_is_unusable(
    tmp_path: Path, emu: Emulator, kind: str
) -> None:
    folder = make_build_dir(tmp_path / "src", pak_bytes=1024)
    system_temp = tmp_path / "tmp"
    system_temp.mkdir()
    env = {"RUNNER_TEMP": str(_unusable(tmp_path, kind)), "TMPDIR": str(system_temp)}

    run = run_action(tmp_path, action_inputs(emu, build_dir=str(folder)), env)

    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["result"] == "approved"
    assert "Packaged " in run.stdout and int(run.outputs["size-bytes"]) > 0
    assert list(system_temp.iterdir()) == [], "the packaged zip must be removed after the run"


def test_runner_temp_is_used_when_it_is_a_writable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(runner_temp))
    assert action.runner_temp(os.environ) == str(runner_temp)


@pytest.mark.parametrize("value", ["", "missing", "a-file"])
def test_runner_temp_is_ignored_when_absent_or_unusable(tmp_path: Path, value: str) -> None:
    env = {"RUNNER_TEMP": str(_unusable(tmp_path, value)) if value else ""}
    assert action.runner_temp(env) is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_runner_temp_is_ignored_when_read_only(tmp_path: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    try:
        assert action.runner_temp({"RUNNER_TEMP": str(read_only)}) is None
    finally:
        read_only.chmod(0o700)
