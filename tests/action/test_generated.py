"""What scripts/gen-action-docs derives from action.yml is committed and current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from streampixel_deploy.report.outputs import OUTPUT_NAMES
from streampixel_deploy.settings.table import SPECS

from .conftest import ACTION, DOCKER_ACTION, ROOT

SCRIPT = ROOT / "scripts" / "gen-action-docs"
DOC = ROOT / "docs" / "action-reference.md"


def _gen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_reference_table_and_docker_action_are_up_to_date() -> None:
    done = _gen("--check")
    assert done.returncode == 0, done.stderr


def test_table_has_a_row_per_input_and_output() -> None:
    table = _gen("--print").stdout
    for spec in SPECS:
        assert f"| `{spec.name}` | " in table
    for name in OUTPUT_NAMES:
        assert f"| `{name}` | " in table
    assert "| `api-key` | no |" in table and "| `command` | no | `deploy` |" in table


def test_check_fails_with_a_diff_when_action_yml_changes(tmp_path: Path) -> None:
    action, doc, docker = tmp_path / "action.yml", tmp_path / "reference.md", tmp_path / "docker-action.yml"
    text = ACTION.read_text(encoding="utf-8")
    action.write_text(text.replace("Key prefix inside the bucket.", "Key prefix inside the S3 bucket."), "utf-8")
    shutil.copy(DOC, doc)
    shutil.copy(DOCKER_ACTION, docker)
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    paths = ("--action", action, "--doc", doc, "--docker-action", docker, "--readme", readme)

    stale = _gen(*paths, "--check")
    assert stale.returncode == 1
    assert "+| `s3-prefix` | no | `streampixel-builds` | Key prefix inside the S3 bucket. |" in stale.stderr
    assert "+    description: Key prefix inside the S3 bucket." in stale.stderr

    assert _gen(*paths).returncode == 0
    assert _gen(*paths, "--check").returncode == 0
    assert "Key prefix inside the S3 bucket." in doc.read_text(encoding="utf-8")
    assert "Key prefix inside the S3 bucket." in readme.read_text(encoding="utf-8")
    assert doc.read_text(encoding="utf-8").startswith(DOC.read_text(encoding="utf-8").split("<!--")[0])
