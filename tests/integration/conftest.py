"""Real servers on 127.0.0.1: the emulator, plus helpers to run the CLI and the action entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.cli import main
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from tests.fakegithub import FakeGitHub

FAST_STAGE = 0.05
FAKE_GITHUB_TOKEN = "ghs_FAKE_deploy_token_1234567890"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    cfg = EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, FAST_STAGE)
    cfg.stage_delays["Distribute"] = 0.4  # long enough for a 0.1 s poll to see: "live" needs it seen
    cfg.rate_limit_window_seconds = 0.3
    cfg.send_retry_after = True
    with Emulator(cfg) as server:
        yield server


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub REST API (tests/fakegithub.py) whose one valid token is :data:`FAKE_GITHUB_TOKEN`."""
    with FakeGitHub(token=FAKE_GITHUB_TOKEN) as gh:
        yield gh


@pytest.fixture
def build_zip(tmp_path: Path) -> Path:
    return make_build_zip(tmp_path / "MyGame-1.0.zip", pak_bytes=64 * 1024)


@dataclass
class Run:
    code: int
    out: str
    err: str


def emulator_env(emu: Emulator) -> dict[str, str]:
    """The STREAMPIXEL_* settings of a run against ``emu`` (fast polling, a one-minute deadline)."""
    return {
        "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
        "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
        "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
        "STREAMPIXEL_API_URL": emu.api_url,
        "STREAMPIXEL_POLL_INTERVAL_SECONDS": "0.1",
        "STREAMPIXEL_TIMEOUT_MINUTES": "1",
    }


def cli_process(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    """``python -m streampixel_deploy ARGS --json`` as a subprocess with only ``env``'s settings (no runner, no
    STREAMPIXEL_* of ours): the exit code, the JSON result and everything it printed besides."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "GITHUB_", "INPUT_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", *args, "--json"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout or "{}"), proc.stderr + proc.stdout


@pytest.fixture
def base_env(emu: Emulator) -> dict[str, str]:
    return emulator_env(emu)


@pytest.fixture
def cli(
    base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[object]:
    """Run ``main(argv)`` in-process with the STREAMPIXEL_* environment of the emulator."""
    for key in [k for k in os.environ if k.startswith(("STREAMPIXEL_", "INPUT_", "GITHUB_"))]:
        monkeypatch.delenv(key)
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)

    def run(*argv: str, **env: str) -> Run:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        no_unshown_refs(captured.out, captured.err)
        return Run(code, captured.out, captured.err)

    yield run


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def parse_github_output(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT per the runner's file-command format (``name<<DELIM`` heredocs or ``name=value``)."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            i += 1
            while lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
        i += 1
    return outputs


def _runner(tmp_path: Path, inputs: dict[str, str], extra_env: dict[str, str] | None) -> tuple[dict[str, str], Path]:
    """The environment a runner gives an action step, and the folder holding its output and summary files."""
    run_dir = tmp_path / f"runner-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir()
    (run_dir / "output").touch()
    (run_dir / "summary").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "INPUT_", "GITHUB_"))}
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    env.update(
        {
            "GITHUB_OUTPUT": str(run_dir / "output"),
            "GITHUB_STEP_SUMMARY": str(run_dir / "summary"),
            "GITHUB_ACTIONS": "true",
            "RUNNER_TEMP": str(run_dir),
        }
    )
    env.update(extra_env or {})
    return env, run_dir


def no_unshown_refs(*texts: str) -> None:
    """A setting a lower layer named (``core.errors.ref``) always reaches the user as the face's label."""
    for text in texts:
        assert "\u2039" not in text, f"a setting reference reached the user unlabelled: {text!r}"


def _collect(code: int, stdout: str, stderr: str, run_dir: Path) -> ActionRun:
    run = ActionRun(
        code,
        stdout,
        stderr,
        parse_github_output((run_dir / "output").read_text(encoding="utf-8")),
        (run_dir / "summary").read_text(encoding="utf-8"),
    )
    no_unshown_refs(stdout, stderr, run.summary, *run.outputs.values())
    return run


ACTION_ARGV = [sys.executable, "-m", "streampixel_deploy", "action"]


def run_action(tmp_path: Path, inputs: dict[str, str], extra_env: dict[str, str] | None = None) -> ActionRun:
    """Run ``python -m streampixel_deploy action`` as a subprocess, with the environment a runner gives."""
    env, run_dir = _runner(tmp_path, inputs, extra_env)
    proc = subprocess.run(ACTION_ARGV, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    return _collect(proc.returncode, proc.stdout, proc.stderr, run_dir)


def interrupt_action(
    tmp_path: Path, inputs: dict[str, str], ready: Callable[[], bool], wait: float = 60.0
) -> tuple[ActionRun, float]:
    """Start the action, send SIGINT (how a runner cancels) once ``ready()`` is true; returns the run and the
    seconds it took to exit after the signal. The process is always stopped."""
    if sys.platform == "win32":
        # Popen.send_signal on Windows takes only CTRL_C_EVENT / CTRL_BREAK_EVENT (console process groups).
        pytest.skip("cancelling with SIGINT is POSIX: Windows cannot send it to a child process (Linux and macOS CI)")
    env, run_dir = _runner(tmp_path, inputs, None)
    proc = subprocess.Popen(
        ACTION_ARGV, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + wait
        while not ready():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the moment to cancel never came (or the action ended first)")
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        stdout, stderr = proc.communicate(timeout=15)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return _collect(proc.returncode, stdout, stderr, run_dir), took


def action_inputs(emu: Emulator, **over: str) -> dict[str, str]:
    inputs = {
        "api-key": DEFAULT_API_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": DEFAULT_PROJECT_ID,
        "api-url": emu.api_url,
        "poll-interval-seconds": "0.1",
        "timeout-minutes": "1",
    }
    inputs.update({k.replace("_", "-"): v for k, v in over.items()})
    return inputs
