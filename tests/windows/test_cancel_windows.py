"""Cancellation on Windows, the way a runner does it: Ctrl+C, then Ctrl+Break 7.5 s later, then a kill 2.5 s after.

The runner sends each event to the step's console (``FreeConsole``, ``AttachConsole(pid)``, ignore the event itself,
``GenerateConsoleCtrlEvent(event, 0)``: every process on that console). Here the CLI runs on a console of its own
(``CREATE_NEW_CONSOLE``, hidden) and a small sender process does exactly that. ``Popen.send_signal(CTRL_C_EVENT)``
would send to the child's process group instead, and Windows ignores Ctrl+C in a new process group.

The run waits with the default 15 s poll, where ``threading.Event.wait`` is not interrupted by Ctrl+C on Windows:
the old code ended about 14 s after the signal, after the runner's kill. Under Wine, Ctrl+C is delivered; Wine's
server does not implement ``CTRL_BREAK_EVENT`` (``GenerateConsoleCtrlEvent`` fails in the sender), and those tests
skip saying so: only a real Windows runner shows Ctrl+Break.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator
from tests.integration import conftest as integration
from tests.integration.conftest import ACTION_ARGV, ActionRun, _collect, _runner, action_inputs, parse_github_output

emu, build_zip = integration.emu, integration.build_zip  # the fixtures

pytestmark = pytest.mark.skipif(sys.platform != "win32", reason="Windows console control events (Windows only)")

CTRL_C, CTRL_BREAK = 0, 1
#: The issue's bound is 1 s for the wait to end and 5 s for the outputs; the exit is bounded generously (a loaded
#: machine or Wine is slow to start the sender) and the measured figures are printed (pytest -rP or -s).
EXIT_LIMIT = 5.0

#: The runner's way of sending a console control event (actions/runner ProcessInvoker.SendCtrlSignal).
_SENDER = r"""
import ctypes, signal, sys
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
pid, event = int(sys.argv[1]), int(sys.argv[2])
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sender is on the console too: it ignores its own event
signal.signal(signal.SIGBREAK, signal.SIG_IGN)
kernel32.FreeConsole()
for step, call in (
    ("AttachConsole", lambda: kernel32.AttachConsole(pid)),
    ("GenerateConsoleCtrlEvent", lambda: kernel32.GenerateConsoleCtrlEvent(event, 0)),
):
    if not call():
        print(f"{step} failed with Windows error {ctypes.get_last_error()}", flush=True)
        sys.exit(3)
print("sent", flush=True)
"""


def _under_wine() -> bool:
    if sys.platform != "win32":
        raise AssertionError("Windows only")
    import ctypes

    return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


def _sender(pid: int, event: int) -> str | None:
    """Run the sender: None once ``event`` is sent to ``pid``'s console, else why it was not."""
    sent = subprocess.run(
        [sys.executable, "-c", _SENDER, str(pid), str(event)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if sent.returncode == 0 and "sent" in sent.stdout:
        return None
    return f"{sent.stdout.strip()} {sent.stderr.strip()[-500:]}".strip()


def _send(proc: subprocess.Popen[str], event: int) -> tuple[float, float]:
    """Send ``event`` to ``proc``'s console; returns when the sender started and when it ended (time.monotonic):
    the event arrived in between. Skips when Wine cannot send it."""
    started = time.monotonic()
    why = _sender(proc.pid, event)
    ended = time.monotonic()
    if why is not None:
        if event == CTRL_BREAK and _under_wine():
            proc.kill()
            proc.communicate()
            pytest.skip(
                f"Wine cannot deliver CTRL_BREAK_EVENT ({why}: its server implements only CTRL_C_EVENT); "
                "a real Windows runner is needed"
            )
        pytest.fail(f"the harness could not send the console event: {why}")
    return started, ended


def _start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """``argv`` on a console of its own (hidden), as the runner's step is, with pipes for its output."""
    if sys.platform != "win32":
        raise AssertionError("Windows only")
    info = subprocess.STARTUPINFO(dwFlags=subprocess.STARTF_USESHOWWINDOW, wShowWindow=0)  # SW_HIDE
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        creationflags=subprocess.CREATE_NEW_CONSOLE,
        startupinfo=info,
    )


def _downloading(emu: Emulator) -> bool:
    return any(f["status"] == "Downloading Files" for p in emu.state.dump()["projects"] for f in p["files"])


def _waiting(proc: subprocess.Popen[str], emu: Emulator) -> None:
    """Until the run follows the pipeline (held in Downloading Files), and is in its 15 s poll wait."""
    deadline = time.monotonic() + 90
    while not _downloading(emu):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the moment to cancel never came: {out[-1500:]} {err[-1500:]}")
        time.sleep(0.05)
    time.sleep(1.0)  # the poll that saw Downloading Files has returned: the run sleeps its 15 s


def _cancel(proc: subprocess.Popen[str], event: int, output: Path) -> tuple[str, str, float, float | None]:
    """Send ``event``; returns stdout, stderr, and the seconds to the exit and to the outputs saying ``cancelled``,
    counted from the sender's start (at most that long after the event; the sender's own start-up included)."""
    started, sent = _send(proc, event)
    written: float | None = None
    while proc.poll() is None and time.monotonic() < started + 30:
        if written is None and parse_github_output(output.read_text(encoding="utf-8")).get("result") == "cancelled":
            written = time.monotonic() - started
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
    exited = time.monotonic() - started
    stdout, stderr = proc.communicate()
    if written is None and parse_github_output(output.read_text(encoding="utf-8")).get("result") == "cancelled":
        written = exited  # written between the last look and the exit
    name = "Ctrl+C" if event == CTRL_C else "Ctrl+Break"
    print(
        f"{name}: the sender took {sent - started:.2f} s; from its start: exit after {exited:.2f} s, "
        f"outputs after {'never' if written is None else f'{written:.2f} s'}"
    )
    return stdout, stderr, exited, written


def _assert_cancelled(run: ActionRun, exited: float, written: float | None) -> None:
    assert run.code == 130, f"exit {run.code} after {exited:.1f}s: {run.stderr[-2000:]}"
    assert exited <= EXIT_LIMIT, f"the process ended {exited:.1f}s after the signal (the runner kills at 10 s)"
    assert written is not None and written <= EXIT_LIMIT, f"outputs written after {written}s"
    assert run.outputs["result"] == "cancelled"
    assert len(run.outputs["upload-id"]) == 24
    assert "cancelled" in run.summary
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("event", [CTRL_C, CTRL_BREAK], ids=["ctrl-c", "ctrl-break"])
def test_the_action_cancels_within_seconds_with_the_default_poll(
    event: int, tmp_path: Path, emu: Emulator, build_zip: Path
) -> None:
    """With the default 15 s poll the old code ended ~14 s after Ctrl+C (Ctrl+Break: no handler, killed, no
    outputs); the runner kills the step 10 s after Ctrl+C."""
    emu.configure(stage_delays={"Downloading Files": 120.0})
    inputs = action_inputs(emu, zip_path=str(build_zip), poll_interval_seconds="15", timeout_minutes="10")
    env, run_dir = _runner(tmp_path, inputs, None)
    proc = _start(ACTION_ARGV, env, tmp_path)
    _waiting(proc, emu)
    stdout, stderr, exited, written = _cancel(proc, event, run_dir / "output")
    _assert_cancelled(_collect(proc.returncode, stdout, stderr, run_dir), exited, written)


def test_the_cli_cancels_within_seconds_with_the_default_poll(tmp_path: Path, emu: Emulator, build_zip: Path) -> None:
    """The CLI face, with the default poll (no flag): exit 130, the outputs and the summary of a runner written."""
    emu.configure(stage_delays={"Downloading Files": 120.0})
    env, run_dir = _runner(tmp_path, {}, None)
    env.update(
        {
            "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
            "STREAMPIXEL_API_URL": emu.api_url,
        }
    )
    argv = [sys.executable, "-m", "streampixel_deploy", "deploy", "--zip-path", str(build_zip), "--json"]
    proc = _start(argv, env, tmp_path)
    _waiting(proc, emu)
    stdout, stderr, exited, written = _cancel(proc, CTRL_C, run_dir / "output")
    run = _collect(proc.returncode, stdout, stderr, run_dir)
    _assert_cancelled(run, exited, written)
    assert "Cancelled" in stderr


@pytest.mark.skipif("STREAMPIXEL_TEST_WINE" not in os.environ, reason="checks the harness under Wine only")
def test_wine_delivers_ctrl_c_but_not_ctrl_break() -> None:
    """What the skips above rest on: under Wine the sender delivers Ctrl+C and fails at Ctrl+Break. If Wine learns
    Ctrl+Break, this fails, and the Ctrl+Break test runs for real."""
    probe = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = _start([sys.executable, "-c", probe], dict(os.environ), Path.cwd())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    why = _sender(proc.pid, CTRL_BREAK)
    assert why is not None and "GenerateConsoleCtrlEvent failed" in why, why
    _send(proc, CTRL_C)
    assert proc.wait(30) == 42
    proc.communicate()


def test_ctrl_c_during_a_held_request(tmp_path: Path, emu: Emulator) -> None:
    """A request the server holds: its socket read once blocked the main thread, and Ctrl+C (handled there only
    when the read ended) ended the run 57.9 s later under Wine. Requests now run beside a sliced wait."""
    emu.add_fault({"method": "GET", "path": "^/projects", "action": "delay", "seconds": 20, "times": -1})
    env, run_dir = _runner(tmp_path, {}, None)
    env.update({"STREAMPIXEL_API_KEY": DEFAULT_API_KEY, "STREAMPIXEL_USER_ID": DEFAULT_USER_ID})
    env.update({"STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID, "STREAMPIXEL_API_URL": emu.api_url})
    proc = _start([sys.executable, "-m", "streampixel_deploy", "projects"], env, tmp_path)
    time.sleep(6)  # started (a few seconds under Wine), and waiting for the held answer
    assert proc.poll() is None
    _, stderr, exited, _ = _cancel(proc, CTRL_C, run_dir / "output")
    assert proc.returncode == 130, stderr[-2000:]
    assert exited <= EXIT_LIMIT, f"the process ended {exited:.1f}s after Ctrl+C"
