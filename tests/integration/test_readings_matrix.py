"""deploy, status, rollback and the relay under every answer shape of issue 25 (docs/emulator.md).

Like test_profile_matrix.py, but over the shapes a tolerant reader must read: one emulator setting at a time,
and the ``loose`` profile that serves them all at once. Each reading runs the CLI as a subprocess (deploy twice,
the second through the rate limit in that reading's header form, then status and a rollback to ``previous``),
and a real build's webhooks through the relay with ``verify`` on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from tests.fakegithub import FakeGitHub
from tests.integration.conftest import cli_process, emulator_env
from tests.integration.test_profile_matrix import _live
from tests.relay.conftest import BUILD_EVENTS, GITHUB_TOKEN, RELAY_TOKEN, REPOSITORY, Stack, free_port

SEED = "665a2b3c4d5e6f7a8b9c0e1f"  # the default project's live build, the oldest

#: reading -> (profile, settings)
READINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "envelope": ("default", {"response_envelope": "success-data"}),
    "numeric-ids": ("default", {"id_type": "number"}),
    "string-numbers": ("default", {"number_format": "string", "max_page_size": 1}),
    "epoch-ms-dates": ("default", {"date_format": "epoch-ms", "files_order": "newest-first"}),
    "date-only-dates": ("default", {"date_format": "date-only", "files_order": "newest-first"}),
    "listing-lag": ("default", {"listing_lag_seconds": 0.3}),  # listed while it is still distributed
    "failure-bodies": ("default", {"error_bodies": "200-success-false"}),
    "null-webhook-ids": ("default", {"webhook_upload_id": "null-early"}),
    "retry-after-date": ("default", {"rate_limit_header": "retry-after-date"}),
    "ratelimit-reset": ("default", {"rate_limit_header": "ratelimit-reset"}),
    "x-ratelimit-reset": ("default", {"rate_limit_header": "x-ratelimit-reset"}),
    "loose": ("loose", {}),
}


def _config(reading: str) -> EmulatorConfig:
    profile, settings = READINGS[reading]
    cfg = EmulatorConfig.default(profile=profile)
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.stage_delays["Distribute"] = 1.0  # seen by a 0.1 s poll even on a loaded machine: "live" needs it seen
    # the second deploy runs in this process right after the first (a new process could start after the window
    # closed on a loaded CI machine, and meet no 429); waiting out the rest costs a few seconds
    cfg.rate_limit_window_seconds = 5.0
    cfg.send_retry_after = True
    for name, value in settings.items():
        setattr(cfg, name, value)
    return cfg


@pytest.fixture(params=list(READINGS))
def reading(request: pytest.FixtureRequest) -> Iterator[tuple[str, Emulator]]:
    with Emulator(_config(request.param)) as emu:
        yield request.param, emu


def _cli_here(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    """``cli_process`` in this process: no start-up between the call and its first request."""
    from streampixel_deploy.cli import main

    for key in [k for k in os.environ if k.startswith(("STREAMPIXEL_", "GITHUB_", "INPUT_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out or "{}"), err + out


def test_deploy_status_and_rollback(
    reading: tuple[str, Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name, emu = reading
    env = emulator_env(emu)
    ids = []
    # the second upload-file meets the rate limit the first one started: its header form is honoured
    for version, wait in (("1", "false"), ("22", "true")):
        zip_path = make_build_zip(tmp_path / f"MyGame-{version}.zip", pak_bytes=4096 + len(version))
        code, result, err = _cli_here(env, monkeypatch, capsys, "deploy", "--zip-path", str(zip_path), "--wait", wait)
        assert code == 0, err
        ids.append(result["uploadId"])
    assert result["result"] == "approved" and result["live"] is True, result
    assert _live(emu) == ids[1]
    files = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)["files"]
    assert [f["_id"] for f in files] == [SEED, *ids], "a duplicate build"
    assert any(r["status"] == 429 for r in emu.requests()), "the rate limit was not met"
    emu.wait_for_status(ids[0], "Approved")

    code, result, err = cli_process(env, "status")
    assert code == 0, err
    assert {b["uploadId"] for b in result["builds"]} == {SEED, *ids}
    code, result, err = cli_process(env, "status", "--upload-id", ids[0])
    assert code == 0 and result["result"] == "approved", err

    code, result, err = cli_process(env, "distribute", "--upload-id", "previous")
    if name == "date-only-dates":  # two builds of one day: no order to act on
        assert code == 2 and "upload-id" in result["message"], result
        assert _live(emu) == ids[1]
        code, result, err = cli_process(env, "distribute", "--upload-id", ids[0])
    assert code == 0, err
    assert result["result"] == "approved" and result["uploadId"] == ids[0] and result["live"] is True
    assert _live(emu) == ids[0]


def test_projects_are_all_listed(reading: tuple[str, Emulator]) -> None:
    _, emu = reading
    code, result, err = cli_process(emulator_env(emu), "projects")
    assert code == 0, err
    assert len(result["projects"]) == 2


def test_the_relay_forwards_a_whole_build(reading: tuple[str, Emulator], tmp_path: Path) -> None:
    name, _ = reading
    port = free_port()
    cfg = _config(name)
    cfg.users[0].projects[0].webhook_url = f"http://127.0.0.1:{port}/webhook/{RELAY_TOKEN}"
    with Emulator(cfg) as emu, FakeGitHub(token=GITHUB_TOKEN, repositories=[REPOSITORY]) as github:
        stack = Stack(emu, github, port, tmp_path / "spool", tmp_path)
        try:
            # a build listed late is re-read once after verify-recheck-seconds: it must cover the listing lag
            stack.relay(verify="true", verify_recheck_seconds="1")
            client = StreampixelClient(emu.api_url, DEFAULT_API_KEY, DEFAULT_USER_ID)  # reads every shape
            file_url = emu.serve_file(make_build_zip(tmp_path / "MyGame.zip", pak_bytes=4096))
            upload_id = client.upload_file(DEFAULT_PROJECT_ID, file_url, auto_release=True)
            client.session.close()
            emu.wait_for_status(upload_id, "Approved")
            dispatches = github.wait_for_dispatches(len(BUILD_EVENTS))
            assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
            assert {d.client_payload["uploadId"] for d in dispatches[1:]} == {upload_id}
        finally:
            for relay in stack.relays:
                relay.stop()
            stack.session.close()
