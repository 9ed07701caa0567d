"""Secrets harness: canary secrets through every kind of run; none may reach a log, an output or a summary,
except in the ``::add-mask::`` line that registers that exact value (which must come first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from tests.integration.conftest import ActionRun, run_action

CANARY_KEY = "sp-CANARY-7f3e9a1c5b2d4e6f8a0b"


@pytest.fixture
def canary_emu() -> Iterator[Emulator]:
    cfg = EmulatorConfig.default()
    cfg.users[0].api_key = CANARY_KEY
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.rate_limit_window_seconds = 0
    with Emulator(cfg) as server:
        yield server


def _no_exe(tmp: Path) -> str:
    path = tmp / "noexe.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/a.pak", b"x")
    return str(path)


ECHO_KEY = {
    "method": "GET",
    "path": "^/projects/",
    "action": "status",
    "status": 500,
    "times": -1,
    "body": json.dumps({"message": f"internal error for apiKey {CANARY_KEY}"}),
}
ECHO_HTML = {
    "method": "POST",
    "path": "upload-file",
    "action": "status",
    "status": 502,
    "times": -1,
    "content_type": "text/html",
    "body": f"<html><a href='/x?apikey={CANARY_KEY}'>retry</a> key={CANARY_KEY}</html>",
}

# id -> (extra inputs, faults, expected exit code)
SCENARIOS: dict[str, tuple[dict[str, str], list[dict[str, Any]], int]] = {
    "success": ({"zip-path": "{zip}"}, [], 0),
    "submitted": ({"zip-path": "{zip}", "wait": "false"}, [], 0),
    "dry-run": ({"zip-path": "{zip}", "dry-run": "true"}, [], 0),
    "rejected": ({"zip-path": "{noexe}", "verify-archive": "off"}, [], 1),
    "timed-out": ({"zip-path": "{zip}", "timeout-minutes": "0.01"}, [], 3),
    "input-error": ({"zip-path": "{zip}", "wait": "sometimes"}, [], 2),
    "archive-error": ({"zip-path": "{noexe}"}, [], 2),
    "server-echoes-key": ({"zip-path": "{zip}", "timeout-minutes": "0.02"}, [ECHO_KEY], 1),
    "html-echoes-key": ({"zip-path": "{zip}", "timeout-minutes": "0.02"}, [ECHO_HTML], 1),
    "distribute": ({"command": "distribute", "upload-id": "latest"}, [], 0),
    "status": ({"command": "status"}, [], 0),
}


def assert_no_leak(run: ActionRun, secret: str) -> None:
    """The secret may only appear in ``::add-mask::`` lines at or after the one that masks it exactly
    (a runner hides it from then on); never in stderr, the summary or an output."""
    lines = run.stdout.splitlines()
    mask = f"::add-mask::{secret}"
    first = lines.index(mask) if mask in lines else len(lines)
    leaks = [
        line for i, line in enumerate(lines) if secret in line and not (i >= first and line.startswith("::add-mask::"))
    ]
    assert not leaks, leaks
    assert secret not in run.stderr
    assert secret not in run.summary
    assert all(secret not in value for value in run.outputs.values())


@pytest.mark.parametrize("debug", ["0", "1"], ids=["normal", "runner-debug"])
@pytest.mark.parametrize("scenario", list(SCENARIOS), ids=list(SCENARIOS))
def test_action_never_leaks_the_key(
    scenario: str, debug: str, canary_emu: Emulator, build_zip: Path, tmp_path: Path
) -> None:
    extra, faults, code = SCENARIOS[scenario]
    if scenario == "timed-out":
        canary_emu.configure(stage_delays={"Downloading Files": 30.0})
    for fault in faults:
        canary_emu.add_fault(fault)
    values = {"zip": str(build_zip), "noexe": _no_exe(tmp_path)}
    inputs = {
        "api-key": CANARY_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": DEFAULT_PROJECT_ID,
        "api-url": canary_emu.api_url,
        "poll-interval-seconds": "0.1",
        "http-timeout-seconds": "2",
        **{k: v.format(**values) for k, v in extra.items()},
    }
    run = run_action(tmp_path, inputs, {"RUNNER_DEBUG": debug})
    assert run.code == code, run.stdout + run.stderr
    assert f"::add-mask::{CANARY_KEY}" in run.stdout.splitlines()[0]
    assert_no_leak(run, CANARY_KEY)


def test_cli_never_prints_the_key(canary_emu: Emulator, tmp_path: Path) -> None:
    canary_emu.add_fault(ECHO_KEY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPIXEL_")}
    env.update(
        {
            "STREAMPIXEL_API_KEY": CANARY_KEY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
            "STREAMPIXEL_API_URL": canary_emu.api_url,
            "STREAMPIXEL_TIMEOUT_MINUTES": "0.02",
        }
    )
    for argv in (["status", "--json"], ["--debug", "status"], ["projects"], ["status", "--api-key", CANARY_KEY]):
        proc = subprocess.run(
            [sys.executable, "-m", "streampixel_deploy", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert CANARY_KEY not in proc.stdout + proc.stderr, argv
