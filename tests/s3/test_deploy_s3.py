"""End to end: ``streampixel-deploy deploy`` with s3 hosting -> rclone serve s3 -> the emulator downloads it."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy import emulator
from streampixel_deploy.build.archive import directory_digest
from streampixel_deploy.build.sample import make_build_dir, make_build_zip
from streampixel_deploy.cli import main

from .conftest import ACCESS_KEY, SECRET_KEY, S3Server


@pytest.fixture
def emu() -> Iterator[Any]:
    cfg = emulator.EmulatorConfig.default()
    cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 0.05)
    cfg.rate_limit_window_seconds = 0  # a test may submit twice
    with emulator.Emulator(cfg) as running:
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMPIXEL_API_KEY", emulator.DEFAULT_API_KEY)
    monkeypatch.setenv("STREAMPIXEL_S3_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("STREAMPIXEL_S3_SECRET_ACCESS_KEY", SECRET_KEY)
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


def _deploy(emu: Any, s3: S3Server, bucket: str, *extra: str, endpoint: str | None = None) -> list[str]:
    """The CLI's arguments for a deploy to the emulator with s3 hosting (through ``endpoint`` when given)."""
    return [
        "deploy",
        "--json",
        "--user-id",
        emulator.DEFAULT_USER_ID,
        "--project-id",
        emulator.DEFAULT_PROJECT_ID,
        "--api-url",
        emu.api_url,
        "--poll-interval-seconds",
        "0.2",
        "--timeout-minutes",
        "2",
        "--s3-bucket",
        bucket,
        "--s3-endpoint-url",
        endpoint or s3.endpoint,
        *extra,
    ]


@pytest.mark.usefixtures("env")
def test_deploy_zip_via_s3_public_url(
    emu: Any, s3_server: S3Server, public_http: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = s3_server.new_bucket()
    zip_path = make_build_zip(tmp_path / "MyGame.zip", pak_bytes=3 << 20)
    code = main(
        _deploy(emu, s3_server, bucket, "--zip-path", str(zip_path), "--s3-public-url-base", f"{public_http}/{bucket}")
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["result"] == "approved" and out["status"] == "Approved"
    assert out["fileUrl"].startswith(f"{public_http}/{bucket}/streampixel-builds/{emulator.DEFAULT_PROJECT_ID}/")
    key = out["fileUrl"].split(f"/{bucket}/", 1)[1]
    assert key.endswith(f"/{directory_digest(zip_path)[:16]}/MyGame.zip")  # type: ignore[index]
    assert s3_server.keys(bucket) == [key, f"{key}.sha256"]
    assert out["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()


@pytest.mark.usefixtures("env")
def test_rerun_of_the_same_zip_skips_and_reports_its_sha256(
    emu: Any, s3_server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second deploy of the same zip (this time without the archive check) finds it: no upload, same sha256."""
    bucket = s3_server.new_bucket()
    zip_path = make_build_zip(tmp_path / "MyGame.zip", pak_bytes=6 << 20)
    args = _deploy(emu, s3_server, bucket, "--zip-path", str(zip_path), "--s3-presign-seconds", "600")
    assert main([*args, "--wait", "false"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*args, "--wait", "false", "--verify-archive", "off"]) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out)
    assert "skipping the upload" in captured.err
    assert second["sha256"] == first["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert len(s3_server.keys(bucket)) == 2  # one object (and its sha256) for the one build


@pytest.mark.usefixtures("env")
def test_deploy_build_dir_via_presigned_url(
    emu: Any, s3_server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = s3_server.new_bucket()
    build = make_build_dir(tmp_path, pak_bytes=2 << 20)
    code = main(_deploy(emu, s3_server, bucket, "--build-dir", str(build), "--s3-presign-seconds", "600"))
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 0, out
    assert out["result"] == "approved"
    assert "X-Amz-Signature=***" in out["fileUrl"]  # only the redacted URL is ever shown
    assert "query string" in captured.err
    key, record = s3_server.keys(bucket)
    assert record == f"{key}.sha256"
    body = s3_server.client().get_object(Bucket=bucket, Key=record)["Body"].read()
    assert body == f"{out['sha256']}  MyGame.zip\n".encode()  # the packer's sha256, recorded beside the zip


def _bad_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, b"payload")
    return path


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Game/Game.exe", "Game/../../evil.dll"], "zip-slip"),
        (["Game/Content/readme.txt", "Game/Content/Paks/Game.pak"], "no Windows .exe"),
    ],
)
def test_bad_archive_exits_2_before_any_byte_is_uploaded(
    emu: Any,
    s3_server: S3Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    expected: str,
) -> None:
    bucket = s3_server.new_bucket()
    zip_path = _bad_zip(tmp_path / "Bad.zip", names)
    code = main(_deploy(emu, s3_server, bucket, "--zip-path", str(zip_path), "--s3-presign-seconds", "600"))
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.out + captured.err
    assert s3_server.keys(bucket) == []
    assert s3_server.pending_uploads(bucket) == []
    assert not any(r.get("path", "").endswith("/upload-file") for r in emu.requests())
