from __future__ import annotations

from pathlib import Path

import pytest

from streampixel_deploy.core.errors import EXIT_INPUT, InputError
from streampixel_deploy.settings.table import SPECS, build_settings, is_loopback_url

BASE = {
    "api-key": "k" * 20,
    "user-id": "663d0a1b2c3e4f5a6b7c8d9e",
    "project-id": "67944b8a3f323be4b89a2272",
    "file-url": "https://cdn.example.com/builds/MyGame.zip",
}


def settings(**over: str | None) -> object:
    raw = {**BASE, **{k.replace("_", "-"): v for k, v in over.items()}}
    return build_settings(raw, "deploy")


def test_one_name_everywhere() -> None:
    spec = {s.name: s for s in SPECS}["poll-interval-seconds"]
    assert spec.flag == "--poll-interval-seconds"
    assert spec.env == "STREAMPIXEL_POLL_INTERVAL_SECONDS"
    assert spec.input_env == "INPUT_POLL-INTERVAL-SECONDS"


def test_defaults() -> None:
    s = build_settings(BASE, "deploy")
    assert s.api_url == "https://api.streampixel.io/pixelStripeApi"
    assert s.auto_release is True and s.wait is True and s.dry_run is False
    assert s.timeout_minutes == 60 and s.poll_interval_seconds == 15


@pytest.mark.parametrize(
    ("over", "setting"),
    [
        ({"api-key": ""}, "api-key"),
        ({"user-id": None}, "user-id"),
        ({"project-id": "has space"}, "project-id"),
        ({"project-id": "../etc"}, "project-id"),
        ({"auto-release": "maybe"}, "auto-release"),
        ({"wait": "2"}, "wait"),
        ({"timeout-minutes": "0"}, "timeout-minutes"),
        ({"timeout-minutes": "abc"}, "timeout-minutes"),
        ({"timeout-minutes": "nan"}, "timeout-minutes"),
        ({"poll-interval-seconds": "1"}, "poll-interval-seconds"),
        ({"api-url": "http://api.example.com/x"}, "api-url"),
        ({"api-url": "ftp://x"}, "api-url"),
        ({"api-url": "https://api.example.com/?apikey=1"}, "api-url"),
        ({"file-url": "http://cdn.example.com/a.zip"}, "file-url"),
        ({"file-url": "https://cdn.example.com/a.zip?sig=1"}, "file-url"),
        ({"file-url": "https://drive.google.com/file/d/abc/view"}, "file-url"),
        ({"file-url": None}, "zip-path"),
        ({"file-url": None, "zip-path": "/nonexistent/x.zip"}, "zip-path"),
        ({"s3-endpoint-url": "https://s3.example.com"}, "s3-bucket"),
        ({"s3-bucket": "bucket", "s3-access-key-id": "AKIA1234"}, "s3-secret-access-key"),
        ({"s3-bucket": "bucket", "s3-presign-seconds": "-1"}, "s3-presign-seconds"),
        ({"verify-archive": "deep"}, "verify-archive"),
        ({"upload-id": "bad id!"}, "upload-id"),
    ],
)
def test_bad_input_names_the_setting(over: dict[str, str | None], setting: str) -> None:
    with pytest.raises(InputError) as info:
        build_settings({**BASE, **over}, "deploy")
    assert info.value.exit_code == EXIT_INPUT
    assert info.value.setting == setting
    assert f"'{setting}' (--{setting})" in info.value.message


def test_zip_and_file_url_are_exclusive(tmp_path: Path) -> None:
    z = tmp_path / "a.zip"
    z.write_bytes(b"x")
    with pytest.raises(InputError, match="only one build source"):
        build_settings({**BASE, "zip-path": str(z)}, "deploy")
    with pytest.raises(InputError, match="only one build source"):
        build_settings({**BASE, "build-dir": str(tmp_path)}, "deploy")


def test_zip_glob_must_match_exactly_one(tmp_path: Path) -> None:
    for name in ("a.zip", "b.zip"):
        (tmp_path / name).write_bytes(b"x")
    raw = {k: v for k, v in BASE.items() if k != "file-url"}
    with pytest.raises(InputError, match="matched 2 files"):
        build_settings({**raw, "zip-path": str(tmp_path / "*.zip")}, "deploy")
    with pytest.raises(InputError, match="matched no file"):
        build_settings({**raw, "zip-path": str(tmp_path / "*.tar")}, "deploy")
    s = build_settings({**raw, "zip-path": str(tmp_path / "a*.zip")}, "deploy")
    assert s.zip_path == tmp_path / "a.zip"
    with pytest.raises(InputError, match="is a directory"):
        build_settings({**raw, "zip-path": str(tmp_path)}, "deploy")


def test_distribute_needs_upload_id() -> None:
    with pytest.raises(InputError, match="required for distribute"):
        build_settings(BASE, "distribute")
    assert build_settings({**BASE, "upload-id": "previous"}, "distribute").upload_id == "previous"


def test_loopback_relaxations() -> None:
    s = build_settings(
        {**BASE, "api-url": "http://127.0.0.1:8080/pixelStripeApi", "poll-interval-seconds": "0.2"}, "deploy"
    )
    assert s.api_is_loopback and s.poll_interval_seconds == 0.2
    assert is_loopback_url("http://[::1]:80/x") and is_loopback_url("http://localhost/")
    assert not is_loopback_url("http://10.0.0.1/")


@pytest.mark.parametrize("text", ["true", "True", "TRUE", "yes", "1", "on"])
def test_booleans_true(text: str) -> None:
    assert build_settings({**BASE, "wait": text}, "deploy").wait is True


def test_repr_hides_the_key() -> None:
    s = build_settings(BASE, "deploy")
    assert BASE["api-key"] not in repr(s)
