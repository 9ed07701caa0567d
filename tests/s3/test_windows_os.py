"""The real program with the POSIX-only ``os`` functions removed before it starts (as on Windows' Python):
packaging, hashing, the S3 upload and both archive checks (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy import emulator
from streampixel_deploy.build.sample import make_build_dir, make_build_zip
from tests.integration.conftest import cli_process, emulator_env
from tests.s3.conftest import ACCESS_KEY, SECRET_KEY, S3Server

MODE = Path(__file__).resolve().parents[1] / "windows_os"


@pytest.fixture
def emu() -> Iterator[emulator.Emulator]:
    cfg = emulator.EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.stage_delays["Distribute"] = 0.4
    with emulator.Emulator(cfg) as running:
        yield running


def _run(emu: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    env = emulator_env(emu)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(MODE), os.environ.get("PYTHONPATH", "")) if p)
    if "--s3-bucket" in args:
        env.update({"STREAMPIXEL_S3_ACCESS_KEY_ID": ACCESS_KEY, "STREAMPIXEL_S3_SECRET_ACCESS_KEY": SECRET_KEY})
    return cli_process(env, *args)


def test_the_mode_removes_the_posix_only_functions() -> None:
    env = dict(os.environ, PYTHONPATH=str(MODE))
    probe = "import os; print(hasattr(os, 'pread'), hasattr(os, 'sched_getaffinity'), hasattr(os, 'posix_fadvise'))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_build_dir_to_s3_without_posix_os(emu: Any, s3_server: S3Server, tmp_path: Path) -> None:
    """Packaging (parallel reads), hashing and the S3 multipart upload, then both archive checks."""
    bucket = s3_server.new_bucket()
    build = make_build_dir(tmp_path, pak_bytes=20 << 20)  # big enough for a multipart upload
    code, out, err = _run(
        emu,
        "deploy",
        "--build-dir",
        str(build),
        "--verify-archive",
        "full",
        "--s3-bucket",
        bucket,
        "--s3-endpoint-url",
        s3_server.endpoint,
        "--s3-presign-seconds",
        "600",
    )
    assert code == 0, err[-2000:]
    assert out["result"] == "approved" and len(out["sha256"]) == 64
    key, record = s3_server.keys(bucket)
    assert record == f"{key}.sha256"
    assert s3_server.client().get_object(Bucket=bucket, Key=record)["Body"].read().startswith(out["sha256"].encode())


def test_zip_path_checks_without_posix_os(emu: Any, tmp_path: Path) -> None:
    zip_path = make_build_zip(tmp_path / "MyGame.zip", pak_bytes=1 << 20)
    for mode in ("quick", "full"):
        code, out, err = _run(emu, "deploy", "--zip-path", str(zip_path), "--verify-archive", mode, "--dry-run", "true")
        assert code == 0, err[-2000:]
        assert out["result"] == "dry-run"
