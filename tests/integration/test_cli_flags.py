"""Booleans on the command line work as bare flags too (issue 12: `deploy --dry-run` was a usage error)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--dry-run"], "dry-run"),
        (["--dry-run", "true"], "dry-run"),
        (["--dry-run=true"], "dry-run"),
        (["--dry-run=false", "--no-wait"], "submitted"),
        (["--no-dry-run", "--wait", "false"], "submitted"),
    ],
)
def test_boolean_flags(flags: list[str], expected: str, cli: Any, build_zip: Path) -> None:
    run = cli("deploy", "--zip-path", str(build_zip), *flags, "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["result"] == expected


def test_a_boolean_flag_still_refuses_nonsense(cli: Any, build_zip: Path) -> None:
    run = cli("deploy", "--zip-path", str(build_zip), "--dry-run=perhaps")
    assert run.code == 2 and "'dry-run' (--dry-run) must be true or false" in run.err


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (["deploy", "--projectid", "x"], "--project-id"),
        (["deploy", "--wait-for", "5"], "--wait"),
        (["status", "--uploadid=abc"], "--upload-id"),
        (["deploi"], "deploy"),
    ],
)
def test_a_typo_gets_the_nearest_flag_or_command(typed: list[str], meant: str) -> None:
    # Issue 28.12: a bare argparse error ("unrecognized arguments: --projectid x") left the user to find the flag.
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", *typed], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert f"did you mean {meant}?" in proc.stderr.lower(), proc.stderr
