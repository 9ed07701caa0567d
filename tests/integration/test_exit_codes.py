"""One table of exit codes (issue 28.10): the code, the CLI's help, action.yml and the docs say the same, and the
configuration mistakes a user makes first (a wrong API key, no S3 credentials) exit 2 like any other setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.core import errors

from .conftest import run_action

ROOT = Path(__file__).resolve().parents[2]
CODES = {
    errors.EXIT_OK: "success",
    errors.EXIT_FAILED: "failed",
    errors.EXIT_INPUT: "invalid input or configuration",
    errors.EXIT_TIMEOUT: "timed out",
    errors.EXIT_CANCELLED: "cancelled",
}


def test_every_place_that_lists_the_exit_codes_lists_the_same_ones() -> None:
    from streampixel_deploy.cli import build_parser

    places = {
        "cli --help": build_parser().epilog or "",
        "README.md": re.search(r"^Exit codes:.*?(?:\n\n)", (ROOT / "README.md").read_text(), re.S | re.M).group(0),  # type: ignore[union-attr]
        "docs/action-reference.md": (ROOT / "docs/action-reference.md")
        .read_text()
        .split("## Exit codes and results")[1]
        .split("\n## ")[0],
        "action.yml": (ROOT / "action.yml").read_text().split("\noutputs:")[1],
        "core/errors.py": errors.__doc__ or "",
    }
    for where, text in places.items():
        said = {int(code) for code in re.findall(r"(?<![\d.])(0|1|2|3|130)(?![\d.])", text)}
        assert set(CODES) <= said, f"{where} does not name every exit code: {sorted(set(CODES) - said)}"
        for code, meaning in CODES.items():
            assert re.search(rf"(?<![\d.]){code}(?![\d.])[^\n]{{0,40}}{re.escape(meaning)}", text, re.I), (
                f"{where}: exit code {code} is not described as {meaning!r}"
            )


def test_a_wrong_api_key_is_a_configuration_error(cli: Any, build_zip: Path) -> None:
    run = cli("deploy", "--zip-path", str(build_zip), STREAMPIXEL_API_KEY="sk_wrong_0123456789abcdef")
    assert run.code == errors.EXIT_INPUT, run.err
    assert "api-key" in run.err


def test_missing_s3_credentials_are_a_configuration_error(
    tmp_path: Path, build_zip: Path, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import action_inputs

    inputs = action_inputs(
        emu, **{"zip-path": str(build_zip), "s3-bucket": "builds", "s3-endpoint-url": "http://127.0.0.1:9"}
    )
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    run = run_action(tmp_path, inputs, env)
    assert run.code == errors.EXIT_INPUT, run.stdout
    assert "S3 credentials" in run.stdout and run.outputs["result"] == "failed"
