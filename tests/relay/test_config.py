"""Relay settings (flags > env > YAML > defaults), event consistency, and the CLI entry point."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.relay import RelayConfig, build_config, load_yaml, relay_main
from streampixel_deploy.relay.events import parse_envelope, status_consistent
from tests.fakegithub import FakeGitHub

from .conftest import GITHUB_TOKEN, RELAY_TOKEN, REPOSITORY, envelope

REQUIRED = {"token": RELAY_TOKEN, "github_repository": REPOSITORY, "github_token": GITHUB_TOKEN}


def test_flags_beat_env_beat_yaml_beat_defaults(tmp_path: Path) -> None:
    yaml_file = tmp_path / "relay.yaml"
    yaml_file.write_text("port: 9001\nhost: 0.0.0.0\nretry-max-seconds: 30\nevents: [build.approved]\n", "utf-8")
    env = {"STREAMPIXEL_RELAY_PORT": "9002", "STREAMPIXEL_RELAY_HOST": "::1"}
    config = build_config({**REQUIRED, "port": "9003"}, env, load_yaml(yaml_file))
    assert config.port == 9003  # flag
    assert config.host == "::1"  # env over YAML
    assert config.retry_max_seconds == 30.0 and config.events == ("build.approved",)  # YAML
    assert config.github_api_url == "https://api.github.com" and config.verify is False  # defaults


def test_config_defaults_are_the_option_table_defaults() -> None:
    """RelayConfig's own defaults (for code that builds one directly) say what the table says."""
    built = build_config(REQUIRED, {})
    direct = RelayConfig(token=RELAY_TOKEN, github_repository=REPOSITORY, github_token=GITHUB_TOKEN)
    assert dataclasses.asdict(direct) == dataclasses.asdict(built)


def test_secrets_come_from_env_files_and_never_show(tmp_path: Path) -> None:
    token_file = tmp_path / "gh-token"
    token_file.write_text(GITHUB_TOKEN + "\n", "utf-8")
    env = {
        "STREAMPIXEL_RELAY_TOKEN": RELAY_TOKEN,
        "STREAMPIXEL_RELAY_GITHUB_TOKEN_FILE": str(token_file),
        "STREAMPIXEL_RELAY_GITHUB_REPOSITORY": REPOSITORY,
        "STREAMPIXEL_API_KEY": "sp-fallback-key-000000",  # the deploy tool's variable is a documented fallback
        "STREAMPIXEL_RELAY_USER_ID": "663d0a1b2c3e4f5a6b7c8d9e",
        "STREAMPIXEL_RELAY_VERIFY": "yes",
    }
    config = build_config({}, env)
    assert config.github_token == GITHUB_TOKEN and config.token == RELAY_TOKEN and config.verify
    assert config.api_key == "sp-fallback-key-000000"
    shown = repr(config)
    assert RELAY_TOKEN not in shown and GITHUB_TOKEN not in shown and "sp-fallback" not in shown


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token": None}, "STREAMPIXEL_RELAY_TOKEN"),
        ({"github_token": None}, "STREAMPIXEL_RELAY_GITHUB_TOKEN"),
        ({"github_repository": None}, "--github-repository"),
        ({"token": "short"}, "at least 16 URL-safe characters"),
        ({"token": "has/slash/0123456789abc"}, "URL-safe"),
        ({"github_repository": "just-a-name"}, "owner/repo"),
        ({"github_api_url": "http://github.example.com"}, "must use https"),
        ({"github_api_url": "https://user:pw@api.github.com"}, "credentials"),
        ({"verify": "true"}, "verify needs Streampixel credentials"),
        ({"verify": "maybe"}, "true or false"),
        ({"port": "70000"}, "between 0 and 65535"),
        ({"events": "build.approved,build.exploded"}, "unknown events build.exploded"),
        ({"project_ids": "../etc"}, "malformed project IDs"),
        ({"retry_initial_seconds": "10", "retry_max_seconds": "1"}, "must not be below"),
    ],
)
def test_bad_settings_are_input_errors(overrides: dict[str, str | None], message: str) -> None:
    flags = {k: v for k, v in {**REQUIRED, **overrides}.items() if v is not None}
    with pytest.raises(InputError) as info:
        build_config(flags, {})
    assert message in info.value.message
    assert GITHUB_TOKEN not in info.value.message


def test_http_is_allowed_for_a_loopback_github_only() -> None:
    config = build_config({**REQUIRED, "github_api_url": "http://127.0.0.1:8123/api/v3/"}, {})
    assert config.github_api_url == "http://127.0.0.1:8123/api/v3"


def test_unknown_yaml_keys_are_refused(tmp_path: Path) -> None:
    yaml_file = tmp_path / "relay.yaml"
    yaml_file.write_text("github_repo: octo/game\n", "utf-8")
    with pytest.raises(InputError, match="unknown setting 'github_repo'"):
        load_yaml(yaml_file)


def test_relay_main_exits_2_on_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("STREAMPIXEL_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("STREAMPIXEL_RELAY_GITHUB_TOKEN", GITHUB_TOKEN)
    assert relay_main(["--github-repository", REPOSITORY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("InputError: The relay needs STREAMPIXEL_RELAY_TOKEN")
    assert GITHUB_TOKEN not in err


@pytest.mark.parametrize(
    ("event", "status", "now", "ok"),
    [
        ("build.approved", "Approved", "Approved", True),
        ("build.approved", "Approved", "Distribute", True),  # redistributed since
        ("build.approved", "Approved", "pending", False),
        ("build.rejected", "Reject", "Approved", False),
        ("build.rejected", "Reject", "Reject", True),
        ("build.downloading", "Downloading Files", "Saving to Repository", True),
        ("build.downloading", "Downloading Files", "Reject", True),
        ("build.saving", "Saving to Repository", "Downloading Files", False),
        ("build.approved", "Reject", "Reject", False),  # the event and its status disagree
    ],
)
def test_status_consistency(event: str, status: str, now: str, ok: bool) -> None:
    assert status_consistent(parse_envelope(envelope(event=event, status=status)), now) is ok


@pytest.mark.usefixtures("sighup_default")
@pytest.mark.parametrize(
    "sig", ["SIGTERM", pytest.param("SIGHUP", marks=pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX"))]
)
def test_the_cli_runs_forwards_and_stops_on_sigterm(tmp_path: Path, sig: str) -> None:
    """The entry point as a process: JSON lines on stderr, no secret in them, exit 0 on SIGTERM, and on SIGHUP (a
    closed terminal: it used to end the relay with no clean-up, core/foreground.py)."""
    with FakeGitHub(token=GITHUB_TOKEN) as github:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPIXEL_")}
        env.update({"STREAMPIXEL_RELAY_TOKEN": RELAY_TOKEN, "STREAMPIXEL_RELAY_GITHUB_TOKEN": GITHUB_TOKEN})
        argv = [
            sys.executable,
            "-c",
            "import sys; from streampixel_deploy.relay import relay_main; sys.exit(relay_main(sys.argv[1:]))",
            "--port=0",
            f"--github-repository={REPOSITORY}",
            f"--github-api-url={github.url}",
            f"--spool-dir={tmp_path / 'spool'}",
        ]
        proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 15
            listen = None
            while listen is None and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stderr], [], [], 0.2)
                if ready:
                    line = proc.stderr.readline()
                    lines.append(line)
                    if '"relay.started"' in line:
                        listen = json.loads(line)["listen"]
            assert listen, lines
            response = requests.post(f"{listen}/webhook/{RELAY_TOKEN}", json=envelope(event="webhook.test"), timeout=5)
            assert response.status_code == 202
            (dispatch,) = github.wait_for_dispatches(1)
            assert dispatch.event_type == "streampixel.webhook.test"
            proc.send_signal(signal.Signals[sig])
            assert proc.wait(10) == 0
            lines.extend(proc.stderr.readlines())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    records = [json.loads(line) for line in lines if line.strip()]  # every line is one JSON object
    messages = [r["msg"] for r in records]
    assert messages[-1] == "relay.stopped" and "relay.stopping" in messages and "event.forwarded" in messages
    text = "".join(lines)
    assert RELAY_TOKEN not in text and GITHUB_TOKEN not in text
