"""Hostile servers against the one deadline: ``timeout-minutes`` bounds the whole run, reads and waits included.

Each case runs the action entry point as a subprocess (the environment a runner gives it) against the real
emulator with a fault rule, and asserts what a release job would see: it ends within ``timeout-minutes`` plus
5 s with exit 3 (outputs and summary written) or succeeds, and no endpoint that answered 429 gets more than
one request per second.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import Emulator
from tests.integration.conftest import ActionRun, action_inputs, run_action

PROJECT = "^/projects/[0-9a-f]{24}$"
UPLOAD = "upload-file$"
DISTRIBUTE = "distribute-file$"
RATE_LIMITED = '{"message": "Rate limit exceeded. Try again in 2 minutes."}'
SLACK = 5.0


def _rule(method: str, path: str, action: str, times: int = -1, **extra: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "action": action, "times": times, **extra}


def _timed(tmp_path: Path, inputs: dict[str, str]) -> tuple[ActionRun, float]:
    started = time.monotonic()
    run = run_action(tmp_path, inputs)
    return run, time.monotonic() - started


def _assert_timed_out(run: ActionRun, took: float, limit_seconds: float) -> None:
    assert run.code == 3, (run.code, run.stderr[-2000:])
    assert took <= limit_seconds + SLACK, f"the run took {took:.1f}s; timeout-minutes allows {limit_seconds:.0f}s"
    assert run.outputs["result"] == "timed-out"
    assert "timeout-minutes" in run.stderr + run.stdout
    assert "Traceback" not in run.stderr + run.stdout
    assert run.summary.strip(), "the summary is written on a timeout too"


def _requests_per_second(emu: Emulator, path_end: str) -> tuple[int, float]:
    """How many requests hit the endpoint, and the shortest gap between two of them."""
    times = [
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in emu.requests() if r["path"].endswith(path_end)
    ]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    return len(times), min(gaps) if gaps else float("inf")


@pytest.mark.parametrize("command", ["deploy", "distribute"])
def test_retry_after_zero_on_every_post_is_not_a_busy_loop(
    command: str, emu: Emulator, build_zip: Path, tmp_path: Path
) -> None:
    """Case 1: a 429 with ``Retry-After: 0`` every time. Old code: ~1,000 POSTs a second until the timeout."""
    path = UPLOAD if command == "deploy" else DISTRIBUTE
    if command == "distribute":
        first = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip)))
        assert first.code == 0, first.stderr
        emu.clear_requests()
    emu.add_fault(
        _rule("POST", path, "status", status=429, headers={"Retry-After": "0"}, body=RATE_LIMITED),
    )
    inputs = action_inputs(emu, command=command, timeout_minutes="0.1")
    if command == "deploy":
        inputs["zip-path"] = str(build_zip)
    else:
        inputs["upload-id"] = "latest"
    run, took = _timed(tmp_path, inputs)
    _assert_timed_out(run, took, 6)
    count, shortest_gap = _requests_per_second(emu, path.rstrip("$"))
    assert 1 <= count <= 8, f"{count} requests in {took:.1f}s"
    assert shortest_gap >= 0.95, f"two requests {shortest_gap:.3f}s apart"


def test_retry_after_http_date_is_honoured(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 2: an HTTP-date Retry-After 2 s ahead is waited (old code ignored it and wanted 120 s)."""
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    emu.add_fault(_rule("POST", UPLOAD, "status", 1, status=429, headers={"Retry-After": when}, body=RATE_LIMITED))
    run, took = _timed(tmp_path, action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.5"))
    assert run.code == 0, run.stderr[-2000:]
    assert run.outputs["result"] == "approved"
    assert took < 20


def test_huge_retry_after_ends_at_once_as_timed_out(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 2: ``Retry-After: 1e9`` is the ceiling (300 s), past a 6 s timeout: timed-out now, not after 6 s."""
    emu.add_fault(_rule("POST", UPLOAD, "status", status=429, headers={"Retry-After": "1e9"}, body=RATE_LIMITED))
    run, took = _timed(tmp_path, action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.1"))
    _assert_timed_out(run, took, 6)
    count, _ = _requests_per_second(emu, "upload-file")
    assert count == 1


def test_every_get_rate_limited_ends_at_the_timeout(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 3: every GET answers 429 with ``Retry-After: 30`` and timeout-minutes is 0.25. Old code: 120 s."""
    emu.add_fault(_rule("GET", PROJECT, "status", status=429, headers={"Retry-After": "30"}, body=RATE_LIMITED))
    run, took = _timed(tmp_path, action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.25"))
    _assert_timed_out(run, took, 15)
    count, _ = _requests_per_second(emu, "/projects/" + emu.requests()[0]["path"].rsplit("/", 1)[-1])
    assert count <= 2


def test_a_get_never_answered_ends_at_the_timeout(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 4: the project read is never answered; http-timeout 5 s, timeout-minutes 0.1. Old code: 29 s."""
    emu.add_fault(_rule("GET", PROJECT, "delay", seconds=600))
    inputs = action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.1", http_timeout_seconds="5")
    run, took = _timed(tmp_path, inputs)
    _assert_timed_out(run, took, 6)


def test_a_trickling_body_ends_at_the_timeout(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 5: the answer arrives one byte every 2 s, so no single read times out. Old code: never ends."""
    emu.add_fault(_rule("GET", PROJECT, "trickle", seconds=2.0))
    inputs = action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.1", http_timeout_seconds="5")
    run, took = _timed(tmp_path, inputs)
    _assert_timed_out(run, took, 6)


def test_a_trickling_poll_ends_at_the_timeout(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Case 5 while following: the build is submitted, then every poll trickles; exit 3 with the upload ID."""
    emu.configure(stage_delays={"pending": 600})
    emu.add_fault(_rule("GET", PROJECT, "trickle", seconds=2.0))
    # the first read (credentials and project) is answered normally; later ones trickle
    emu.clear_faults()
    emu.add_faults(
        [
            _rule("GET", PROJECT, "status", 1, status=200, body=_project_json(emu)),
            _rule("GET", PROJECT, "trickle", seconds=2.0),
        ]
    )
    inputs = action_inputs(emu, zip_path=str(build_zip), timeout_minutes="0.15", http_timeout_seconds="60")
    run, took = _timed(tmp_path, inputs)
    _assert_timed_out(run, took, 9)
    assert run.outputs["upload-id"], "the submitted build is named in the outputs"


def _project_json(emu: Emulator) -> str:
    import json

    import requests

    from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID

    response = requests.get(
        f"{emu.api_url}/projects/{DEFAULT_PROJECT_ID}",
        params={"userId": DEFAULT_USER_ID, "apikey": DEFAULT_API_KEY},
        timeout=10,
    )
    emu.clear_requests()
    return json.dumps(response.json())
