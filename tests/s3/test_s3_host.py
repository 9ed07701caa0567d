"""S3Host against real S3-compatible servers (rclone serve s3): uploads, URLs, re-runs, failures, dry runs."""

from __future__ import annotations

import hashlib
import os
import re
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from streampixel_deploy.build.archive import directory_digest
from streampixel_deploy.core.errors import Cancelled, HostingError, WaitTimeout, ref
from streampixel_deploy.hosting import Upload
from streampixel_deploy.hosting.s3 import MAX_PARTS, MIB, S3Host, object_name, part_size_for
from streampixel_deploy.settings.table import S3Settings

from .conftest import (
    ACCESS_KEY,
    SECRET_KEY,
    RecordingReporter,
    S3Server,
    count_requests,
    free_port,
    needs_abort,
    needs_private_reads,
    needs_signatures,
    needs_upload_listing,
)

PART = 5 * MIB  # S3's smallest part size: a 12 MiB file makes three parts


def _data_file(tmp_path: Path, size: int, name: str = "MyGame Build.zip") -> tuple[Path, str]:
    """A zip of about ``size`` bytes (one stored entry of random data); its sha256."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        with zf.open("Game/Content/Paks/Game.pak", "w", force_zip64=True) as pak:
            left = max(0, size - 300)
            while left:
                block = os.urandom(min(left, 1 << 20))
                pak.write(block)
                left -= len(block)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _upload(zip_path: Path, project: str = "p", **extra: Any) -> Upload:
    """What deploy hands the host: the zip and its directory digest (from the archive check)."""
    return Upload(zip_path, project, directory_digest=directory_digest(zip_path), **extra)


def _key(zip_path: Path, project: str = "p", prefix: str = "builds/") -> str:
    return f"{prefix}{project}/{directory_digest(zip_path)[:16]}/{object_name(zip_path)}"  # type: ignore[index]


def _download_sha256(url: str) -> str:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.status_code
    return hashlib.sha256(response.content).hexdigest()


def test_multipart_upload_with_presigned_url(s3_server: S3Server, tmp_path: Path, reporter: RecordingReporter) -> None:
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 12 * MIB + 123)
    host = S3Host(s3_server.settings(bucket, presign_seconds=900), part_size=PART, concurrency=3)
    parts_sent = count_requests(host._client(), "UploadPart")

    hosted = host.host(_upload(zip_path, "proj-1"), reporter)

    assert len(parts_sent) == 3
    assert hosted.sha256 == digest
    assert hosted.size_bytes == zip_path.stat().st_size
    assert hosted.signed and not hosted.reused
    key = _key(zip_path, "proj-1")
    assert s3_server.keys(bucket) == [key, f"{key}.sha256"]
    assert s3_server.pending_uploads(bucket) == []
    # The URL Streampixel gets downloads the same bytes with plain HTTP.
    assert _download_sha256(hosted.url) == digest
    # It was masked before anything could print it, and only the redacted form is shown.
    masked = [i for i, (kind, value) in enumerate(reporter.events) if kind == "mask" and value == hosted.url]
    first_warning = min(i for i, (kind, _) in enumerate(reporter.events) if kind == "warning")
    assert masked and masked[0] < first_warning
    assert "X-Amz-Signature=***" in hosted.display_url and "X-Amz-Credential=***" in hosted.display_url
    assert any("query string" in w for w in reporter.messages("warning"))
    shown = " ".join(m for k, m in reporter.events if k != "mask")
    assert hosted.url not in shown and SECRET_KEY not in shown and ACCESS_KEY not in shown
    progress = reporter.messages("progress")
    assert progress[-1] == f"upload:{hosted.size_bytes}/{hosted.size_bytes}"


def test_public_path_style_url_downloads(open_s3_server: S3Server, tmp_path: Path) -> None:
    """A public-read bucket on a custom endpoint: path-style URL, ends in .zip, no query string."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 11 * MIB)
    hosted = S3Host(open_s3_server.settings(bucket), part_size=PART).host(_upload(zip_path), RecordingReporter())

    assert hosted.url == f"{open_s3_server.endpoint}/{bucket}/{_key(zip_path)}"
    assert hosted.display_url == hosted.url and not hosted.signed
    assert _download_sha256(hosted.url) == digest


def test_small_file_single_put(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 300_000, "b.zip")
    host = S3Host(open_s3_server.settings(bucket, prefix=""))
    puts = count_requests(host._client(), "PutObject")
    hosted = host.host(_upload(zip_path), RecordingReporter())
    assert len(puts) == 2  # the zip in one request, then its sha256 beside it
    assert open_s3_server.keys(bucket) == [_key(zip_path, prefix=""), f"{_key(zip_path, prefix='')}.sha256"]
    assert hosted.url.endswith(f"/{bucket}/{_key(zip_path, prefix='')}")
    assert hosted.sha256 == digest
    assert _download_sha256(hosted.url) == digest


def test_public_url_base(s3_server: S3Server, public_http: str, tmp_path: Path) -> None:
    """A CDN or custom domain in front of a private bucket: the URL is built on s3-public-url-base."""
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 6 * MIB)
    base = f"{public_http}/{bucket}"
    hosted = S3Host(s3_server.settings(bucket, public_url_base=base), part_size=PART).host(
        _upload(zip_path), RecordingReporter()
    )
    assert hosted.url == f"{base}/{_key(zip_path)}"
    assert "?" not in hosted.url
    assert _download_sha256(hosted.url) == digest


def test_private_object_without_presign_is_a_clear_error(s3_server: S3Server, tmp_path: Path) -> None:
    """rclone with --auth-key refuses anonymous GETs: the user learns it now, not 10 minutes into Streampixel."""
    needs_private_reads()
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 1000, "c.zip")
    with pytest.raises(HostingError, match=r"without credentials.*s3-presign-seconds"):
        S3Host(s3_server.settings(bucket)).host(_upload(zip_path), RecordingReporter())


def test_rerun_skips_the_upload(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 12 * MIB)
    settings = s3_server.settings(bucket, presign_seconds=60)
    first = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())

    again = S3Host(settings, part_size=PART)
    sent = count_requests(
        again._client(), "UploadPart", "PutObject", "CreateMultipartUpload", "HeadObject", "GetObject"
    )
    reporter = RecordingReporter()
    second = again.host(_upload(zip_path), reporter)

    assert second.reused and not first.reused
    assert sent == ["HeadObject", "GetObject"]  # the zip's size and its recorded sha256; no upload
    assert second.sha256 == first.sha256 == digest  # the sha256 output without reading the zip
    assert not any(p.startswith("sha256:") for p in reporter.messages("progress"))
    assert any("already holds this build" in m and "skipping the upload" in m for m in reporter.messages("info"))
    assert _download_sha256(second.url) == digest


def test_same_key_different_size_is_uploaded_again(s3_server: S3Server, tmp_path: Path) -> None:
    """A truncated object under the digest's key (an interrupted copy by hand, say) is not trusted."""
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 2 * MIB, "d.zip")
    key = _key(zip_path)
    s3_server.client().put_object(Bucket=bucket, Key=key, Body=b"truncated")
    s3_server.client().put_object(Bucket=bucket, Key=f"{key}.sha256", Body=f"{digest}  d.zip\n".encode())
    hosted = S3Host(s3_server.settings(bucket, presign_seconds=60)).host(_upload(zip_path), RecordingReporter())
    assert not hosted.reused
    assert _download_sha256(hosted.url) == digest


class _Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Cancelled("Cancelled by SIGINT."), KeyboardInterrupt(), _Boom("disk on fire")])
def test_failure_mid_upload_aborts_the_multipart_upload(
    s3_server: S3Server, tmp_path: Path, error: BaseException
) -> None:
    needs_abort()
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 24 * MIB)

    def fail_once_started(done: int, total: int | None, label: str) -> None:
        if label == "upload" and done > 0:
            raise error

    reporter = RecordingReporter(on_progress=fail_once_started)
    host = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART, concurrency=2)
    with pytest.raises(type(error)):
        host.host(_upload(zip_path), reporter)

    assert s3_server.pending_uploads(bucket) == []
    assert s3_server.keys(bucket) == []
    assert s3_server.leftover_files(bucket) == []
    assert any("Aborted the unfinished upload" in m for m in reporter.messages("info"))


def test_a_failing_part_keeps_the_parts_says_so_and_the_rerun_resumes(s3_server: S3Server, tmp_path: Path) -> None:
    """Issue 29: a transfer that fails (the network, after the retries) keeps its parts, says so, and the re-run
    sends only the parts that are missing."""
    from botocore.exceptions import EndpointConnectionError

    needs_upload_listing()
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 16 * MIB)
    host = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART, concurrency=1, max_attempts=1)

    def drop_part_3(request: Any, **_: Any) -> None:
        if "partNumber=3" in request.url:
            raise EndpointConnectionError(endpoint_url=s3_server.endpoint)

    host._client().meta.events.register("before-send.s3.UploadPart", drop_part_3)
    reporter = RecordingReporter()
    with pytest.raises(HostingError, match="Could not reach the S3 endpoint while uploading the zip"):
        host.host(_upload(zip_path), reporter)
    assert len(s3_server.pending_uploads(bucket)) == 1
    assert s3_server.keys(bucket) == []  # the record's placeholder removed all the same
    assert any("stay in the bucket" in m and "AbortIncompleteMultipartUpload" in m for m in reporter.messages("info"))

    again = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART, concurrency=1)
    parts = count_requests(again._client(), "UploadPart")
    hosted = again.host(_upload(zip_path), RecordingReporter())
    assert len(parts) == 2  # parts 3 and 4 of 4: the two sent before are reused
    assert (
        hosted.sha256 == digest
        and _download_sha256(
            s3_server.client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": _key(zip_path)})
        )
        == digest
    )
    assert s3_server.pending_uploads(bucket) == []


@pytest.mark.parametrize("size", [12 * MIB, 1 * MIB], ids=["multipart", "single-put"])
def test_zip_changed_during_upload(s3_server: S3Server, tmp_path: Path, size: int) -> None:
    """A zip rewritten between the hash and the upload is never published under the old digest's key."""
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, size)

    def rewrite(done: int, total: int | None, label: str) -> None:
        if label == "upload":
            with zip_path.open("ab") as fh:
                fh.write(b"more")

    host = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART)
    with pytest.raises(HostingError, match="changed while it was being uploaded"):
        host.host(_upload(zip_path), RecordingReporter(on_progress=rewrite))
    assert s3_server.pending_uploads(bucket) == []
    assert s3_server.keys(bucket) == []


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"secret_access_key": "not-the-secret-0000"}, "secret access key does not match"),
        ({"access_key_id": "UNKNOWNKEY0000000"}, "does not know the access key ID"),
    ],
)
def test_wrong_credentials(
    s3_server: S3Server, tmp_path: Path, changes: dict[str, str], match: str, reporter: RecordingReporter
) -> None:
    needs_signatures(secret="secret" in match)
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 1000, "e.zip")
    settings = s3_server.settings(bucket, **changes)
    host = S3Host(settings)
    uploads = count_requests(host._client(), "PutObject", "CreateMultipartUpload")
    with pytest.raises(HostingError, match=match) as info:
        host.host(_upload(zip_path), reporter)
    message = str(info.value)
    assert "s3-access-key-id" in message or "s3-secret-access-key" in message
    for secret in (settings.access_key_id, settings.secret_access_key, SECRET_KEY):
        assert secret and secret not in message
    assert uploads == []  # the bucket check failed first
    with pytest.raises(HostingError, match=match):
        S3Host(settings).check(RecordingReporter())


def test_missing_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    zip_path, _ = _data_file(tmp_path, 1000, "f.zip")
    settings = s3_server.settings("no-such-bucket-here")
    with pytest.raises(HostingError, match=r"'no-such-bucket-here'.*does not exist.*" + re.escape(ref("s3-bucket"))):
        S3Host(settings).host(_upload(zip_path), RecordingReporter())
    with pytest.raises(HostingError, match="does not exist"):
        S3Host(settings).check(RecordingReporter())


def test_unreachable_endpoint(tmp_path: Path) -> None:
    zip_path, _ = _data_file(tmp_path, 1000, "g.zip")
    settings = S3Settings(
        bucket="b",
        prefix="",
        region=None,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        public_url_base=None,
        presign_seconds=0,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(HostingError, match=r"Could not reach the S3 endpoint.*" + re.escape(ref("s3-endpoint-url"))):
        S3Host(settings, max_attempts=1).host(_upload(zip_path), RecordingReporter())


def test_check_proves_write_and_download_without_leaving_anything(
    s3_server: S3Server, public_http: str, reporter: RecordingReporter
) -> None:
    bucket = s3_server.new_bucket()
    S3Host(s3_server.settings(bucket, public_url_base=f"{public_http}/{bucket}")).check(reporter)
    assert any("reachable and writable" in m for m in reporter.messages("info"))
    assert s3_server.keys(bucket) == []

    presigned = RecordingReporter()
    S3Host(s3_server.settings(bucket, presign_seconds=60)).check(presigned)
    assert presigned.messages("mask") and s3_server.keys(bucket) == []


def test_check_reports_a_private_bucket(s3_server: S3Server) -> None:
    needs_private_reads()
    bucket = s3_server.new_bucket()
    with pytest.raises(HostingError, match=r"answers HTTP 40[03] without credentials"):
        S3Host(s3_server.settings(bucket)).check(RecordingReporter())
    assert s3_server.keys(bucket) == []


# -- pure rules (no server) -------------------------------------------------------------------------------


def test_part_size_rule() -> None:
    assert part_size_for(1) == 8 * MIB
    assert part_size_for(24 * 1000**3) == 8 * MIB
    assert part_size_for(100 * 1000**3) == 10 * MIB  # 10,000 parts of 8 MiB hold 78 GiB
    for size in (200 * 1000**3, 1000**4, 5 * 1000**4):
        part = part_size_for(size)
        assert part % MIB == 0 and -(-size // part) <= MAX_PARTS
        assert part - MIB < -(-size // MAX_PARTS)  # the smallest whole MiB that fits
    with pytest.raises(HostingError, match="10,000 parts"):
        part_size_for(60 * 1000**4)


def _aws(**changes: Any) -> S3Settings:
    base = S3Settings("my-bucket", "builds", "eu-west-3", None, None, 0, None, None)
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (_aws(), "https://my-bucket.s3.eu-west-3.amazonaws.com/builds/p/abc/My%20Game.zip"),
        (_aws(region=None), "https://my-bucket.s3.us-east-1.amazonaws.com/builds/p/abc/My%20Game.zip"),
        (_aws(bucket="my.dotted.bucket"), "https://s3.eu-west-3.amazonaws.com/my.dotted.bucket/builds/p/abc/My%20Game.zip"),
        (_aws(endpoint_url="https://acc.r2.cloudflarestorage.com/"), "https://acc.r2.cloudflarestorage.com/my-bucket/builds/p/abc/My%20Game.zip"),
        (_aws(public_url_base="https://cdn.example.com/x"), "https://cdn.example.com/x/builds/p/abc/My%20Game.zip"),
    ],
)  # fmt: skip
def test_public_url_forms(settings: S3Settings, url: str) -> None:
    assert S3Host(settings).public_url("builds/p/abc/My Game.zip") == url


def test_object_name_is_url_safe() -> None:
    assert object_name(Path("My Game (final).ZIP")) == "My-Game-final.zip"
    assert object_name(Path("..zip")) == "build.zip"


def test_zip_from_build_dir_is_read_once(open_s3_server: S3Server, tmp_path: Path) -> None:
    """The packer hashed the zip while writing it: hosting uploads it without hashing it again."""
    from streampixel_deploy.build.packaging import package_dir
    from streampixel_deploy.build.sample import make_build_dir
    from streampixel_deploy.core.progress import NullReporter

    bucket = open_s3_server.new_bucket()
    zip_path = tmp_path / "MyGame.zip"
    packed = package_dir(make_build_dir(tmp_path / "src", pak_bytes=1 << 20), zip_path, NullReporter())
    reporter = RecordingReporter()
    hosted = S3Host(open_s3_server.settings(bucket)).host(_upload(zip_path, sha256=packed.sha256), reporter)
    assert hosted.sha256 == packed.sha256
    assert not any(p.startswith("sha256:") for p in reporter.messages("progress"))
    assert _download_sha256(hosted.url) == packed.sha256
    # The same zip given as zip-path (no sha256 known): the same object, found, and its recorded sha256.
    again = S3Host(open_s3_server.settings(bucket)).host(_upload(zip_path), RecordingReporter())
    assert again.reused and again.url == hosted.url and again.sha256 == packed.sha256
    assert open_s3_server.keys(bucket) == [_key(zip_path), f"{_key(zip_path)}.sha256"]


def test_deadline_during_upload_aborts_and_times_out(s3_server: S3Server, tmp_path: Path) -> None:
    """timeout-minutes runs out mid-upload: the transfer stops at once and no parts stay stored."""
    needs_abort()
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 60 * MIB)  # 12 parts, 2 at a time, 0.3 s each: > 1.8 s
    host = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART, concurrency=2)
    host._client().meta.events.register("before-send.s3.UploadPart", lambda **_: time.sleep(0.3))
    reporter = RecordingReporter()
    started = time.monotonic()
    end = started + 1.0
    with pytest.raises(WaitTimeout, match=re.escape(ref("timeout-minutes")) + r" ran out while uploading"):
        host.host(_upload(zip_path, deadline=lambda: end - time.monotonic()), reporter)
    assert time.monotonic() - started < 2.5  # stopped within a tick and a part in flight, not at the end
    assert any(m.startswith("upload:") and not m.startswith("upload:0/") for m in reporter.messages("progress"))
    assert s3_server.pending_uploads(bucket) == []
    assert s3_server.keys(bucket) == []
    assert s3_server.leftover_files(bucket) == []
    assert any("Aborted the unfinished upload" in m for m in reporter.messages("info"))
