"""Cancellation as a runner does it: SIGINT (then SIGTERM, then SIGKILL a few seconds later).

On the first signal the outputs and the summary say ``cancelled`` before any clean-up; clean-up is bounded
(5 s in all, the GitHub deployment update included); a second signal ends the process at once; every command
exits 130 on SIGINT or SIGTERM, with a message.

Every test here sends POSIX signals to a child process, which Windows cannot do (``send_signal(SIGINT)`` raises,
SIGTERM is TerminateProcess): the Windows cancels, Ctrl+C and Ctrl+Break to the child's console, are
tests/windows/test_cancel_windows.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator
from tests.integration.conftest import ACTION_ARGV, ActionRun, _collect, _runner, action_inputs
from tests.localhttp import serve

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="POSIX signals to a child: on Windows send_signal(SIGINT) raises and SIGTERM is TerminateProcess "
    "(tests/windows/test_cancel_windows.py sends Ctrl+C and Ctrl+Break instead)",
)

CLEANUP_LIMIT = 5.0


class _SlowGitHub(BaseHTTPRequestHandler):
    """Creates deployments and takes the first status; every later status update trickles in forever."""

    statuses = 0
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/deployments"):
            return self._json(201, {"id": 7, "url": "x"})
        with self.lock:
            type(self).statuses += 1
            first = type(self).statuses == 1
        if first:
            return self._json(201, {"state": "in_progress"})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "4096")
        self.end_headers()
        try:
            for _ in range(4096):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass
        return None

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def slow_github() -> Iterator[str]:
    _SlowGitHub.statuses = 0
    with serve(_SlowGitHub) as url:
        yield url


def _start(tmp_path: Path, inputs: dict[str, str], extra: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    env, run_dir = _runner(tmp_path, inputs, extra)
    proc = subprocess.Popen(
        ACTION_ARGV, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    return proc, run_dir


def _wait_for(predicate: object, proc: subprocess.Popen[str], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the moment to cancel never came: {out[-1500:]} {err[-1500:]}")
        time.sleep(0.02)


def _finish(proc: subprocess.Popen[str], run_dir: Path, limit: float = 20.0) -> tuple[ActionRun, float]:
    started = time.monotonic()
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the process did not end within {limit}s of the signal")
    return _collect(proc.returncode, stdout, stderr, run_dir), time.monotonic() - started


def _deploy_with_deployments(
    tmp_path: Path, emu: Emulator, build_zip: Path, github: str
) -> tuple[subprocess.Popen[str], Path]:
    emu.configure(stage_delays={"Downloading Files": 60.0})
    inputs = action_inputs(emu, zip_path=str(build_zip), github_token="ghp_cancel_test_token", environment="prod")
    extra = {"GITHUB_API_URL": github, "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "a" * 40, "GITHUB_RUN_ID": "1"}
    proc, run_dir = _start(tmp_path, inputs, extra)
    _wait_for(lambda: _SlowGitHub.statuses >= 1 and _downloading(emu), proc)
    return proc, run_dir


def _downloading(emu: Emulator) -> bool:
    return any(f["status"] == "Downloading Files" for p in emu.state.dump()["projects"] for f in p["files"])


def test_cleanup_is_bounded_and_outputs_come_first(
    tmp_path: Path, emu: Emulator, build_zip: Path, slow_github: str
) -> None:
    """The deployment update after a cancel trickles in forever: old code never ended (no outputs, no summary)."""
    proc, run_dir = _deploy_with_deployments(tmp_path, emu, build_zip, slow_github)
    proc.send_signal(signal.SIGINT)
    run, took = _finish(proc, run_dir)
    assert run.code == 130
    assert took <= CLEANUP_LIMIT + 1.0, f"clean-up took {took:.1f}s"
    assert run.outputs["result"] == "cancelled"
    assert len(run.outputs["upload-id"]) == 24
    assert "cancelled" in run.summary
    assert run.summary.count("| Result |") == 1, "one summary, not one per publish"


def test_a_second_signal_ends_the_process_at_once(
    tmp_path: Path, emu: Emulator, build_zip: Path, slow_github: str
) -> None:
    proc, run_dir = _deploy_with_deployments(tmp_path, emu, build_zip, slow_github)
    proc.send_signal(signal.SIGINT)
    _wait_for(lambda: _SlowGitHub.statuses >= 2, proc, limit=5.0)  # clean-up is now stuck in the update
    proc.send_signal(signal.SIGINT)
    run, took = _finish(proc, run_dir)
    assert run.code == 130
    assert took < 1.0, f"the second signal took {took:.2f}s to end the process"
    assert run.outputs["result"] == "cancelled", "written on the first signal"


@pytest.mark.parametrize("gap", [0.0, 0.05, 0.3])
def test_sigint_then_sigterm_exits_130(tmp_path: Path, emu: Emulator, build_zip: Path, gap: float) -> None:
    emu.configure(stage_delays={"Downloading Files": 60.0})
    proc, run_dir = _start(tmp_path, action_inputs(emu, zip_path=str(build_zip)), {})
    _wait_for(lambda: _downloading(emu), proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(gap)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    run, _ = _finish(proc, run_dir)
    assert run.code == 130, run.stderr[-2000:]
    assert run.outputs["result"] == "cancelled"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("command", ["projects", "status", "deploy"])
def test_every_command_exits_130_with_a_message(
    command: str, sig: signal.Signals, emu: Emulator, build_zip: Path
) -> None:
    emu.add_fault({"method": "GET", "path": "^/projects", "action": "delay", "seconds": 60, "times": -1})
    argv = [sys.executable, "-m", "streampixel_deploy", command]
    if command == "deploy":
        argv += ["--zip-path", str(build_zip)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "GITHUB_"))}
    env.update(
        {
            "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
            "STREAMPIXEL_API_URL": emu.api_url,
        }
    )
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # started, and waiting for the first answer: the fault holding it back was hit (a fixed 1.5 s sleep was too
    # short under load: the signal came during the imports)
    _wait_for(lambda: any(rule["hits"] for rule in emu.faults()), proc)
    _cancelled_with_a_message(proc, sig)


def _cancelled_with_a_message(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Send ``sig``; the process ends within 10 s with exit 130 and says so, without a traceback."""
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Cancelled" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("command", ["demo", "rehearsal"])
def test_a_signal_leaves_nothing_behind_in_the_temp_folder(
    command: str, sig: signal.Signals, tmp_path: Path, build_zip: Path
) -> None:
    """The demo and a rehearsal start an embedded emulator, whose inbox holds a link to the build. The demo took no
    signal handlers: SIGTERM killed it with its temp folders on disk (SIGINT ended it without a word on stderr)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    argv = [sys.executable, "-m", "streampixel_deploy", "demo"]
    if command == "rehearsal":
        argv = [*argv[:-1], "deploy", "--api-url", "emulator", "--zip-path", str(build_zip)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "GITHUB_"))}
    proc = subprocess.Popen(
        argv, env={**env, "TMPDIR": str(temp)}, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "Build hosted at" in line:
            break
    assert list(temp.glob("streampixel-emulator-inbox-*/*/*.zip")), "".join(seen)
    _cancelled_with_a_message(proc, sig)
    assert sorted(p.name for p in temp.iterdir()) == []
