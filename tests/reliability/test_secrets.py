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

from streampixel_deploy.emulator import DEFAULT_API_KEY as DEFAULT_API_KEY_
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
    # the upload answer is lost (5xx echoing the key); the deadline ends the search for the build: timed-out
    "server-echoes-key": ({"zip-path": "{zip}", "timeout-minutes": "0.02"}, [ECHO_KEY], 1),
    "html-echoes-key": ({"zip-path": "{zip}", "timeout-minutes": "0.02"}, [ECHO_HTML], 3),
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

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streampixel_deploy", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    for argv, code in ((["status", "--json"], 0), (["projects"], 0), (["status", "--api-key", CANARY_KEY], 0)):
        proc = run(*argv)
        assert proc.returncode == code, (argv, proc.stderr)
        assert CANARY_KEY not in proc.stdout + proc.stderr, argv
    canary_emu.add_fault(ECHO_KEY)
    for argv in (["status", "--json"], ["--debug", "status"], ["status", "--debug"]):
        proc = run(*argv)
        assert proc.returncode == 1, (argv, proc.stderr)
        assert "internal error for apiKey ***" in proc.stdout + proc.stderr, argv
        assert CANARY_KEY not in proc.stdout + proc.stderr, argv


SIGNED = (
    "https://bucket.s3.amazonaws.com/b/Game.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIACANARY0000000000%2F20261128%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)


def test_signed_url_from_files_is_redacted(tmp_path: Path) -> None:
    """A build submitted with a presigned URL: status/distribute print its fileUrl without the signature."""
    cfg = EmulatorConfig.default()
    cfg.users[0].projects[0].files.append(
        {"_id": "a" * 24, "url": SIGNED, "status": "Approved", "date": "2026-11-01T00:00:00.000Z", "objection": None}
    )
    with Emulator(cfg) as emu:
        inputs = {
            "api-key": DEFAULT_API_KEY_,
            "user-id": DEFAULT_USER_ID,
            "project-id": DEFAULT_PROJECT_ID,
            "api-url": emu.api_url,
            "command": "status",
            "upload-id": "a" * 24,
        }
        run = run_action(tmp_path, inputs)
        cli = subprocess.run(
            [sys.executable, "-m", "streampixel_deploy", "status", "--upload-id", "a" * 24],
            env={
                **os.environ,
                "STREAMPIXEL_API_KEY": DEFAULT_API_KEY_,
                "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
                "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
                "STREAMPIXEL_API_URL": emu.api_url,
            },
            capture_output=True,
            text=True,
            check=False,
        )
    assert run.code == 0 and cli.returncode == 0, cli.stderr
    assert "X-Amz-Signature=***" in run.outputs["file-url"]
    for text in (run.stdout, run.summary, *run.outputs.values(), cli.stdout, cli.stderr):
        assert "0123456789abcdef0123456789abcdef" not in text and "AKIACANARY" not in text
