"""A build folder packaged on Windows: the rehearsal is approved and the zip is byte for byte Linux's.

Text-mode reads (``os.open`` without ``O_BINARY``) once made every ``deploy --build-dir`` on Windows exit 2
("changed while it was being zipped"). scripts/windows-lane packages the same sample folder with the Linux CLI
first and passes that zip's sha256 here (``SP_LANE_LINUX_SHA256``), so the comparison is made in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streampixel_deploy.build.sample import make_build_dir, make_build_zip


def _rehearse(tmp_path: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "deploy", "--api-url", "emulator", "--json", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_a_build_folder_rehearsal_is_approved_with_linux_s_zip(tmp_path: Path) -> None:
    top = make_build_dir(tmp_path)  # the same seed and sizes as the lane's Linux reference
    result = _rehearse(tmp_path, "--build-dir", str(top))
    assert result["result"] == "approved"
    linux = os.environ.get("SP_LANE_LINUX_SHA256")
    if not linux:
        pytest.skip("the Linux zip's sha256 comes from scripts/windows-lane (SP_LANE_LINUX_SHA256)")
    assert result["sha256"] == linux


def test_a_zip_rehearsal_is_approved(tmp_path: Path) -> None:
    result = _rehearse(tmp_path, "--zip-path", str(make_build_zip(tmp_path / "MyGame-1.0.zip")))
    assert result["result"] == "approved" and result["rehearsal"] is True
