"""The action with S3 hosting, as a runner runs it: storage keys and presigned signatures never leak, and a
cancellation during the upload aborts the multipart upload and still reports."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy import emulator
from streampixel_deploy.build.sample import make_build_zip
from tests.integration.conftest import ActionRun, interrupt_action, run_action
from tests.reliability.test_secrets import assert_no_leak

from .conftest import ACCESS_KEY, SECRET_KEY, S3Server, needs_abort, needs_signatures

SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-fA-F]{16,}")


@pytest.fixture
def emu() -> Iterator[Any]:
    cfg = emulator.EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.rate_limit_window_seconds = 0
    with emulator.Emulator(cfg) as running:
        yield running


def _inputs(emu: Any, s3: S3Server, bucket: str, **over: str) -> dict[str, str]:
    return {
        "api-key": emulator.DEFAULT_API_KEY,
        "user-id": emulator.DEFAULT_USER_ID,
        "project-id": emulator.DEFAULT_PROJECT_ID,
        "api-url": emu.api_url,
        "poll-interval-seconds": "0.1",
        "timeout-minutes": "1",
        "s3-bucket": bucket,
        "s3-endpoint-url": s3.endpoint,
        "s3-access-key-id": ACCESS_KEY,
        "s3-secret-access-key": SECRET_KEY,
        **{k.replace("_", "-"): v for k, v in over.items()},
    }


def _no_storage_leak(run: ActionRun) -> None:
    for secret in (SECRET_KEY, ACCESS_KEY, emulator.DEFAULT_API_KEY):
        assert_no_leak(run, secret)
    lines = run.stdout.splitlines()
    for text in [
        *[line for line in lines if not line.startswith("::add-mask::")],
        run.stderr,
        run.summary,
        *run.outputs.values(),
    ]:
        assert not SIGNATURE.search(text), text


@pytest.mark.parametrize("debug", ["0", "1"])
def test_presigned_deploy_never_leaks(s3_server: S3Server, emu: Any, tmp_path: Path, debug: str) -> None:
    bucket = s3_server.new_bucket()
    zip_path = make_build_zip(tmp_path / "Game.zip", pak_bytes=32 * 1024)
    run = run_action(
        tmp_path,
        _inputs(emu, s3_server, bucket, zip_path=str(zip_path), s3_presign_seconds="600"),
        {"RUNNER_DEBUG": debug},
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["result"] == "approved"
    assert "X-Amz-Signature=***" in run.outputs["file-url"] and "(signed URL, redacted)" in run.summary
    assert any(line.startswith("::add-mask::http") for line in run.stdout.splitlines())
    assert "::warning" in run.stdout and "query string" in run.stdout
    _no_storage_leak(run)


@pytest.mark.parametrize("case", ["wrong-secret", "missing-bucket", "dry-run"])
def test_storage_failures_never_leak(s3_server: S3Server, emu: Any, tmp_path: Path, case: str) -> None:
    bucket = s3_server.new_bucket()
    zip_path = make_build_zip(tmp_path / "Game.zip", pak_bytes=1024)
    over: dict[str, str] = {"zip_path": str(zip_path), "s3_presign_seconds": "600"}
    if case == "wrong-secret":
        needs_signatures(secret=True)
        over["s3_secret_access_key"] = SECRET_KEY[::-1]
    elif case == "missing-bucket":
        bucket = "no-such-bucket-here"
    else:
        over["dry_run"] = "true"
    run = run_action(tmp_path, _inputs(emu, s3_server, bucket, **over), {"RUNNER_DEBUG": "1"})
    assert run.code == (0 if case == "dry-run" else 1), run.stdout
    assert not [r for r in emu.requests() if r["method"] == "POST"]
    _no_storage_leak(run)
    if case == "wrong-secret":
        assert SECRET_KEY[::-1] not in run.stdout.replace(f"::add-mask::{SECRET_KEY[::-1]}", "")


def test_cancel_during_upload_aborts_multipart(s3_server: S3Server, emu: Any, tmp_path: Path) -> None:
    needs_abort()
    bucket = s3_server.new_bucket()
    big = tmp_path / "Big.zip"
    block = os.urandom(1 << 20)
    with zipfile.ZipFile(big, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ" + b"\0" * 1024)
        with zf.open("Game/Content/Paks/Game.pak", "w", force_zip64=True) as pak:
            for _ in range(400):
                pak.write(block)
    run, took = interrupt_action(
        tmp_path,
        # presigned: rclone refuses anonymous reads, which is now found before the upload (issue 28)
        _inputs(emu, s3_server, bucket, zip_path=str(big), s3_presign_seconds="600"),
        ready=lambda: bool(s3_server.pending_uploads(bucket)),
    )
    assert run.code == 130, run.stdout
    assert took < 5
    assert s3_server.pending_uploads(bucket) == []
    assert s3_server.keys(bucket) == []
    assert run.outputs["result"] == "cancelled"
    assert "cancelled" in run.summary
    assert not [r for r in emu.requests() if r["method"] == "POST"]
