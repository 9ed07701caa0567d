"""Issues 26 and 28: what must not fail a deploy, and what must fail it before gigabytes are sent.

* A bucket listing that fails (s3rver answers ListObjectsV2 with MaxKeys=1 with a 500 when more than one key
  matches, and has no ListMultipartUploads, the listing used since issue 29) is only a hint: the deploy goes on,
  and a re-run still skips.
* A private bucket is found before the upload is completed: a small object (the build's ``.sha256`` record, written
  with a placeholder) is fetched the way Streampixel will fetch the build, beside the first parts.
* The dry run's message says a test object was uploaded, never the build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streampixel_deploy.core.errors import HostingError
from streampixel_deploy.hosting.s3 import MIB, S3Host

from .conftest import HoldingProxy, RecordingReporter, S3Server, count_requests, needs_private_reads, s3_error
from .test_s3_host import PART, _data_file, _download_sha256, _upload


def _listing(line: bytes) -> bool:
    """The one listing before an upload: ListMultipartUploads of the key (``GET /bucket?uploads&prefix=...``)."""
    return line.startswith(b"GET ") and b"?uploads" in line


def test_a_listing_that_fails_does_not_fail_the_deploy(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * MIB)
    proxy = HoldingProxy(
        open_s3_server.endpoint,
        held=lambda _line: False,
        answer=lambda line: (
            s3_error(500, "InternalError", "We encountered an internal error.") if _listing(line) else None
        ),
    )
    try:
        settings = open_s3_server.settings(bucket, endpoint_url=proxy.endpoint)
        first = S3Host(settings, max_attempts=2).host(_upload(zip_path), RecordingReporter())
        again = S3Host(settings, max_attempts=2).host(_upload(zip_path), RecordingReporter())
        assert any(_listing(line) for line in proxy.held_lines), "the listing was not refused: nothing was tested"
    finally:
        proxy.close()
    assert not first.reused and first.sha256 == digest
    assert again.reused and again.sha256 == digest  # re-runs still skip
    assert _download_sha256(first.url.replace(proxy.endpoint, open_s3_server.endpoint)) == digest


@pytest.mark.parametrize(
    ("status", "code", "match"),
    [
        (403, "InvalidAccessKeyId", "does not know the access key ID"),
        (404, "NoSuchBucket", "does not exist"),
    ],
)
def test_a_listing_that_proves_the_settings_wrong_still_stops_the_deploy(
    open_s3_server: S3Server, tmp_path: Path, status: int, code: str, match: str
) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 3 * MIB)
    proxy = HoldingProxy(
        open_s3_server.endpoint,
        held=lambda _line: False,
        answer=lambda line: s3_error(status, code, "no") if _listing(line) else None,
    )
    try:
        host = S3Host(open_s3_server.settings(bucket, endpoint_url=proxy.endpoint), max_attempts=1)
        sent = count_requests(host._client(), "PutObject", "CreateMultipartUpload", "UploadPart")
        with pytest.raises(HostingError, match=match):
            host.host(_upload(zip_path), RecordingReporter())
    finally:
        proxy.close()
    assert sent == []


def test_a_private_bucket_is_found_before_the_upload(s3_server: S3Server, tmp_path: Path) -> None:
    """rclone with --auth-key refuses anonymous GETs, like a private bucket: found before the upload is completed
    (the check runs beside its first parts, and CompleteMultipartUpload waits for it), nothing left behind."""
    needs_private_reads()
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 3 * PART)
    host = S3Host(s3_server.settings(bucket), part_size=PART)
    sent = count_requests(host._client(), "CreateMultipartUpload", "UploadPart", "PutObject", "CompleteMultipartUpload")
    with pytest.raises(HostingError, match=r"without credentials.*s3-presign-seconds") as info:
        host.host(_upload(zip_path), RecordingReporter())
    assert "CompleteMultipartUpload" not in sent
    assert sent.count("PutObject") == 1  # the small test object only
    assert "The build was uploaded" not in str(info.value)
    assert "not uploaded" in str(info.value)
    assert s3_server.keys(bucket) == []  # the placeholder removed, the parts aborted
    assert s3_server.pending_uploads(bucket) == []


def test_the_probe_object_becomes_the_record(open_s3_server: S3Server, tmp_path: Path) -> None:
    """The test object is the build's .sha256 record with a placeholder: the real record replaces it, nothing else
    is left in the bucket, and a re-run still skips."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    settings = open_s3_server.settings(bucket)
    first = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    again = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    assert not first.reused and again.reused and again.sha256 == first.sha256 == digest
    assert len(open_s3_server.keys(bucket)) == 2


def test_the_dry_run_says_a_test_object_was_uploaded(s3_server: S3Server) -> None:
    needs_private_reads()
    bucket = s3_server.new_bucket()
    with pytest.raises(HostingError, match=r"answers HTTP 40[03] without credentials") as info:
        S3Host(s3_server.settings(bucket)).check(RecordingReporter())
    message = str(info.value)
    assert "The build was uploaded" not in message and "test object" in message
