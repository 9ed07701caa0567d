"""Secrets and logs against inputs built to leak: URLs with credentials, short and multi-line keys, API strings
that try to become workflow commands, and inputs that cannot be read. Each runs the action (or the CLI) as a
subprocess against the real emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streampixel_deploy.emulator import DEFAULT_USER_ID, Emulator, EmulatorConfig
from tests.integration.conftest import ActionRun, action_inputs, run_action

PASSWORD = "hunter2-URL-PASSWORD"


def _leaks(run: ActionRun, secret: str) -> list[str]:
    """Where the secret shows outside an ``::add-mask::`` line."""
    found = [line for line in run.stdout.splitlines() if secret in line and not line.startswith("::add-mask::")]
    found += [f"stderr: {line}" for line in run.stderr.splitlines() if secret in line]
    found += [f"summary: {line}" for line in run.summary.splitlines() if secret in line]
    found += [f"output {k}" for k, v in run.outputs.items() if secret in v]
    return found


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("file-url", f"https://builder:{PASSWORD}@cdn.example.com/MyGame.zip"),
        ("s3-endpoint-url", f"https://AKIA:{PASSWORD}@minio.example.com"),
        ("s3-public-url-base", f"https://u:{PASSWORD}@cdn.example.com/builds"),
    ],
)
def test_credentials_in_a_url_setting_are_refused(
    name: str, value: str, emu: Emulator, build_zip: Path, tmp_path: Path
) -> None:
    inputs = action_inputs(emu, dry_run="true")
    if name == "file-url":
        inputs["file-url"] = value
    else:
        inputs.update({"zip-path": str(build_zip), "s3-bucket": "builds", name: value})
    run = run_action(tmp_path, inputs)
    assert run.code == 2, run.stdout[-1500:]
    assert f"'{name}' (--{name})" in run.stdout
    assert "credentials" in run.stdout.lower()
    assert not _leaks(run, PASSWORD)
    assert not [r for r in emu.requests() if r["method"] == "POST"], "nothing was sent"


@pytest.fixture
def keyed_emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    cfg = EmulatorConfig.default()
    cfg.users[0].api_key = request.param
    cfg.users[0].projects[0].name = f"Showroom {request.param.splitlines()[0]}"
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    with Emulator(cfg) as server:
        yield server


def _echo(secret: str) -> dict[str, object]:
    return {
        "method": "GET",
        "path": "^/projects/",
        "action": "status",
        "times": -1,
        "status": 500,
        "body": json.dumps({"message": f"internal error for key {secret}"}),
    }


@pytest.mark.parametrize("keyed_emu", ["k9z"], indirect=True)
def test_a_short_key_is_masked_and_scrubbed(keyed_emu: Emulator, tmp_path: Path) -> None:
    keyed_emu.add_fault(_echo("k9z"))
    inputs = action_inputs(keyed_emu, api_key="k9z", command="status", timeout_minutes="0.05")
    run = run_action(tmp_path, inputs)
    assert run.code == 1
    assert "::add-mask::k9z" in run.stdout.splitlines()
    assert not _leaks(run, "k9z")


MULTI = "first-line-SECRET-aaaa\nsecond-line-SECRET-bbbb"


@pytest.mark.parametrize("keyed_emu", [MULTI], indirect=True)
def test_each_line_of_a_multi_line_key_is_masked_and_scrubbed(keyed_emu: Emulator, tmp_path: Path) -> None:
    keyed_emu.add_fault(_echo("first-line-SECRET-aaaa and second-line-SECRET-bbbb"))
    run = run_action(tmp_path, action_inputs(keyed_emu, api_key=MULTI, command="status", timeout_minutes="0.05"))
    lines = run.stdout.splitlines()
    assert "::add-mask::first-line-SECRET-aaaa" in lines and "::add-mask::second-line-SECRET-bbbb" in lines
    for part in MULTI.splitlines():
        assert not _leaks(run, part)


CANARY = "sp-projects-CANARY-0123456789"


@pytest.mark.parametrize("keyed_emu", [CANARY], indirect=True)
def test_projects_text_output_is_scrubbed(keyed_emu: Emulator) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "GITHUB_"))}
    env.update(
        {
            "STREAMPIXEL_API_KEY": CANARY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_API_URL": keyed_emu.api_url,
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "projects"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Showroom" in proc.stdout
    assert CANARY not in proc.stdout + proc.stderr


def test_free_text_scrubbing_covers_every_secret_query_parameter(emu: Emulator, tmp_path: Path) -> None:
    body = (
        "<html>retry at https://edge.example/x?token=tok-SECRET-1&sig=sig-SECRET-2&X-Amz-Signature=amz-SECRET-3</html>"
    )
    emu.add_fault(
        {
            "method": "GET",
            "path": "^/projects/",
            "action": "status",
            "times": -1,
            "status": 400,
            "body": body,
            "content_type": "text/html",
        }
    )
    run = run_action(tmp_path, action_inputs(emu, command="status"))
    assert run.code == 1
    for secret in ("tok-SECRET-1", "sig-SECRET-2", "amz-SECRET-3"):
        assert not _leaks(run, secret), secret


def test_an_api_status_cannot_become_a_workflow_command(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    emu.configure(stage_delays={"pending": 0.3})
    first = run_action(tmp_path, action_inputs(emu, zip_path=str(build_zip), wait="false"))
    upload_id = first.outputs["upload-id"]
    evil = "Downloading Files\n::warning title=pwned::injected\n::set-output name=result::approved"
    emu.add_fault(
        {
            "action": "status_sequence",
            "upload_id": upload_id,
            "statuses": [evil, "Reject"],
            "objection": "bad | `x` <b>y</b>\n::error::z",
        }
    )
    run = run_action(tmp_path, action_inputs(emu, command="status", upload_id=upload_id))
    run2 = run_action(tmp_path, action_inputs(emu, command="distribute", upload_id=upload_id, timeout_minutes="0.05"))
    for r in (run, run2):
        commands = [line for line in r.stdout.splitlines() if line.lstrip().startswith("::")]
        assert not [c for c in commands if "pwned" in c or "set-output" in c or c.startswith("::error::z")], commands
        table_rows = [line for line in r.summary.splitlines() if line.startswith("|")]
        assert all(line.count("|") == table_rows[0].count("|") for line in table_rows if "---" not in line), table_rows


def test_an_api_key_that_is_not_utf8_is_an_input_error(emu: Emulator, build_zip: Path, tmp_path: Path) -> None:
    env = {
        k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "INPUT_", "GITHUB_"))
    }
    inputs = action_inputs(emu, zip_path=str(build_zip))
    inputs.pop("api-key")
    env.update({f"INPUT_{k.upper()}".encode(): v.encode() for k, v in inputs.items()})
    env[b"INPUT_API-KEY"] = b"sp-\xff\xfe-not-utf8"
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "action"], env=env, capture_output=True, timeout=60, check=False
    )
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 2, out[-1500:]
    assert "'api-key' (--api-key)" in out and "Unexpected error" not in out


def test_an_unusably_long_zip_path_is_an_input_error(emu: Emulator, tmp_path: Path) -> None:
    run = run_action(tmp_path, action_inputs(emu, zip_path="build/" + "x" * 5000 + ".zip"))
    assert run.code == 2, run.stdout[-1500:]
    assert "'zip-path' (--zip-path)" in run.stdout and "Unexpected error" not in run.stdout
