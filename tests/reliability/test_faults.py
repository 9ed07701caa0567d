"""The fault suite: one row per scenario, run against the emulator's fault hooks over real HTTP.

Every transient fault must recover within the timeout; every permanent one must end with a clear message
and the right exit code; no scenario may create a duplicate build or print a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


@dataclass(frozen=True)
class Scenario:
    id: str
    faults: list[dict[str, Any]]
    exit_code: int
    new_builds: int = 1  # builds the run must leave in files[] (never more: no duplicates)
    message: str | None = None  # must appear in the output
    args: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # emulator runtime settings
    settle: float = 0.0  # wait this long before counting builds (a delayed request may still create one)


def _f(method: str, path: str, action: str, times: int = 1, **extra: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "action": action, "times": times, **extra}


PROJECT = "^/projects/[0-9a-f]{24}$"
UPLOAD = "upload-file$"
SCENARIOS = [
    Scenario("get-5xx-burst", [_f("GET", PROJECT, "status", 3, status=503)], 0),
    Scenario("get-5xx-burst-while-following", [_f("GET", PROJECT, "status", 8, status=500)], 0),
    Scenario("get-502-html", [_f("GET", PROJECT, "status", 2, status=502, body=HTML_502, content_type="text/html")], 0),
    Scenario("get-invalid-json", [_f("GET", PROJECT, "invalid_json", 2)], 0),
    Scenario("get-connection-reset", [_f("GET", PROJECT, "reset", 2)], 0),
    Scenario("get-slow-past-read-timeout", [_f("GET", PROJECT, "delay", 1, seconds=3.0)], 0),
    Scenario("post-5xx-not-handled", [_f("POST", UPLOAD, "status", 1, status=500)], 0),
    Scenario(
        "post-503-html", [_f("POST", UPLOAD, "status", 1, status=503, body=HTML_502, content_type="text/html")], 0
    ),
    Scenario("post-connection-reset-before-handling", [_f("POST", UPLOAD, "reset", 1)], 0),
    # no rate limit: only our own search for the in-flight build prevents a duplicate here
    Scenario(
        "post-slow-past-read-timeout",
        [_f("POST", UPLOAD, "delay", 1, seconds=3.0)],
        0,
        settings={"rate_limit_window_seconds": 0},
        settle=3.5,
    ),
    Scenario("post-accepted-response-500", [_f("POST", UPLOAD, "lost_response", 1, status=500)], 0),
    Scenario("post-accepted-connection-reset", [_f("POST", UPLOAD, "lost_response", 1, reset_after=True)], 0),
    Scenario("post-accepted-invalid-json", [_f("POST", UPLOAD, "invalid_json", 1, handle=True)], 0),
    Scenario("post-accepted-502-html", [_f("POST", UPLOAD, "lost_response", 1, status=502, body=HTML_502)], 0),
    Scenario(
        "upload-429-once",
        [
            _f(
                "POST",
                UPLOAD,
                "status",
                1,
                status=429,
                headers={"Retry-After": "1"},
                body='{"message": "Rate limit exceeded. Try again in 2 minutes."}',
            )
        ],
        0,
    ),
    Scenario(
        "get-permanent-500",
        [_f("GET", PROJECT, "status", -1, status=500)],
        1,
        0,
        "Internal server error",
        args=("--timeout-minutes", "0.05"),
    ),
    Scenario(
        "post-permanent-500-never-created",
        [_f("POST", UPLOAD, "status", -1, status=500)],
        1,
        0,
        "HTTP 500",
    ),
    Scenario(
        "post-permanent-400",
        [_f("POST", UPLOAD, "status", -1, status=400, body='{"message": "Invalid URL format"}')],
        1,
        0,
        "Invalid URL format",
    ),
    Scenario(
        "post-401",
        [_f("POST", UPLOAD, "status", -1, status=401, body='{"message": "Unauthorized: Invalid API Key"}')],
        2,  # a refused key is configuration (issue 28.10)
        0,
        "Unauthorized",
    ),
    Scenario(
        "connection-refused",
        [],
        1,
        0,
        "connection failed",
        args=("--api-url", "http://127.0.0.1:9/pixelStripeApi", "--timeout-minutes", "0.05"),
    ),
]


def _builds(emu: Emulator) -> int:
    for project in emu.state.dump()["projects"]:
        if project["id"] == DEFAULT_PROJECT_ID:
            return len(project["files"])
    raise AssertionError


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fault(scenario: Scenario, cli: Any, emu: Emulator, build_zip: Path) -> None:
    before = _builds(emu)
    if scenario.settings:
        emu.configure(**scenario.settings)
    for rule in scenario.faults:
        emu.add_fault(rule)
    run = cli(
        "deploy",
        "--zip-path",
        str(build_zip),
        "--http-timeout-seconds",
        "1",
        "--timeout-minutes",
        "0.5",
        *scenario.args,
    )
    output = run.out + run.err
    assert run.code == scenario.exit_code, output
    time.sleep(scenario.settle)
    assert all(rule["hits"] > 0 for rule in emu.faults()), "a fault never fired: the row tests nothing"
    assert _builds(emu) - before == scenario.new_builds, "duplicate or missing build"
    assert "Traceback" not in output
    if scenario.message:
        assert scenario.message in output
    if scenario.exit_code == 0:
        assert "APPROVED" in run.out


def test_missing_from_files_for_a_while(cli: Any, emu: Emulator, build_zip: Path) -> None:
    """The build is hidden from files[] for several polls, then appears: tolerated, and followed to the end."""
    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.core.progress import NullReporter
    from streampixel_deploy.run.context import Run
    from streampixel_deploy.run.execute import make_client
    from streampixel_deploy.run.follow import follow
    from streampixel_deploy.settings.table import build_settings

    upload_id = json.loads(cli("deploy", "--zip-path", str(build_zip), "--wait", "false", "--json").out)["uploadId"]
    emu.add_fault({"action": "hide_file", "upload_id": upload_id, "times": 4})
    raw = {"api-key": DEFAULT_API_KEY, "user-id": DEFAULT_USER_ID, "project-id": DEFAULT_PROJECT_ID}
    settings = build_settings({**raw, "api-url": emu.api_url, "poll-interval-seconds": "0.1"}, "status")
    clock = Clock(30)
    build = follow(Run(settings, NullReporter(), make_client(settings, {}, clock), clock), upload_id)
    assert build.raw_status == "Approved"
    assert not emu.faults() or all(f.get("times") == 0 for f in emu.faults())


def test_distribute_while_processing_waits_for_approval(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(stage_delays={"Downloading Files": 0.5}, rate_limit_window_seconds=0)
    upload_id = json.loads(
        cli("deploy", "--zip-path", str(build_zip), "--auto-release", "false", "--wait", "false", "--json").out
    )["uploadId"]
    run = cli("distribute", "--upload-id", upload_id, "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["live"] is True
    project = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)
    assert project["live_upload_id"] == upload_id


def test_get_429_while_following_backs_off(cli: Any, emu: Emulator, build_zip: Path) -> None:
    """The edge throttles polling (429 on GET, more than urllib3's retries): keep polling, do not fail."""
    emu.add_fault(_f("GET", PROJECT, "status", 7, status=429, body='{"message": "Too many requests"}'))
    run = cli("deploy", "--zip-path", str(build_zip), "--timeout-minutes", "0.5")
    assert run.code == 0, run.err
    assert all(rule["hits"] > 0 for rule in emu.faults())


def test_distribute_429_is_waited_out(cli: Any, emu: Emulator) -> None:
    emu.add_fault(
        _f(
            "POST",
            "distribute-file$",
            "status",
            1,
            status=429,
            headers={"Retry-After": "1"},
            body='{"message": "Rate limit exceeded. Try again in 2 minutes."}',
        )
    )
    run = cli("distribute", "--upload-id", "latest")
    assert run.code == 0, run.err
    assert "rate-limited distribute-file" in run.err


def test_processes_sharing_one_user(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    """Three deploys by one user at once: the per-user window serialises them; none fails, none duplicates."""
    emu.configure(rate_limit_window_seconds=1.0, send_retry_after=True)
    before = _builds(emu)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPIXEL_")}
    env.update(
        {
            "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
            "STREAMPIXEL_API_URL": emu.api_url,
            "STREAMPIXEL_POLL_INTERVAL_SECONDS": "0.2",
        }
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "streampixel_deploy", "deploy", "--zip-path", str(build_zip), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    ids = {json.loads(out)["uploadId"] for _, out, _ in results}
    assert len(ids) == 3 and _builds(emu) - before == 3
    assert any("rate-limited upload-file" in err for _, _, err in results)


def test_debug_shows_traceback_only_when_asked(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.add_fault(_f("GET", PROJECT, "status", -1, status=500))
    quiet = cli("status", "--timeout-minutes", "0.05")
    assert quiet.code == 1 and "Traceback" not in quiet.err
    loud = cli("--debug", "deploy", "--zip-path", str(build_zip), "--timeout-minutes", "0.05")
    assert loud.code == 1 and "Traceback" in loud.err
