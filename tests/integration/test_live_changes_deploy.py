"""What changed since the live build (issue 29), end to end: deploys against the emulator whose live build's
``url`` points at a real file server on 127.0.0.1 (tests/integration/test_live_changes.py has the server)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator, EmulatorConfig
from tests.integration.conftest import FAST_STAGE, emulator_env, run_action
from tests.integration.test_live_changes import NEW, OLD, Host, _handler, _zip
from tests.localhttp import serve


@pytest.fixture
def live_emu(tmp_path: Path) -> Iterator[tuple[Emulator, Host]]:
    state = Host()
    with serve(_handler(state)) as base:
        state.files["/showroom/Showroom-1.0.0.zip"] = _zip(tmp_path / "old.zip", OLD).read_bytes()
        cfg = EmulatorConfig.default()
        cfg.stage_delays = dict.fromkeys(cfg.stage_delays, FAST_STAGE)
        cfg.rate_limit_window_seconds = 0.3
        project = next(p for u in cfg.users for p in u.projects if p.id == DEFAULT_PROJECT_ID)
        project.files[0]["url"] = f"{base}/showroom/Showroom-1.0.0.zip?X-Amz-Signature=s3cr3t"
        with Emulator(cfg) as server:
            yield server, state


def test_deploy_shows_what_changed_since_the_live_build(tmp_path: Path, live_emu: tuple[Emulator, Host]) -> None:
    emu, state = live_emu
    new = _zip(tmp_path / "MyGame-2.zip", NEW)
    env = emulator_env(emu)
    inputs = {
        "api-key": env["STREAMPIXEL_API_KEY"],
        "user-id": env["STREAMPIXEL_USER_ID"],
        "project-id": env["STREAMPIXEL_PROJECT_ID"],
        "api-url": env["STREAMPIXEL_API_URL"],
        "poll-interval-seconds": "0.1",
        "timeout-minutes": "1",
        "zip-path": str(new),
    }
    run = run_action(tmp_path, inputs)
    assert run.code == 0, run.stderr + run.stdout
    assert "### What changed since the live build" in run.summary
    assert "1 file(s) added, 1 removed, 2 changed" in run.summary
    assert "s3cr3t" not in run.summary + run.stdout + run.stderr
    fetched = state.sent
    print(f"\ne2e deploy: {fetched:,} bytes of the live build's zip read ({len(state.requests)} request(s))")


def test_deploy_goes_on_when_the_live_build_is_gone(
    tmp_path: Path, live_emu: tuple[Emulator, Host], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu, state = live_emu
    state.files.clear()  # the presign expired: 404
    from streampixel_deploy.cli import main

    for key in [k for k in os.environ if k.startswith(("STREAMPIXEL_", "INPUT_", "GITHUB_"))]:
        monkeypatch.delenv(key)
    for key, value in emulator_env(emu).items():
        monkeypatch.setenv(key, value)
    code = main(["deploy", "--zip-path", str(_zip(tmp_path / "MyGame-2.zip", NEW)), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result: dict[str, Any] = json.loads(out)
    assert result["result"] == "approved"
    assert result["changes"] == {
        "against": "665a2b3c4d5e6f7a8b9c0e1f",
        "compared": False,
        "fetchedBytes": 0,
        "requests": 1,
        "problem": "the live build's zip is gone (HTTP 404)",
    }
