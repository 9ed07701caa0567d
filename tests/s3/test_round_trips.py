"""Issue 26: the round trips around the body on a slow link. After CompleteMultipartUpload the ``.sha256`` record
is written at once, bound by Complete's own ETag, beside the HEAD that reads the object and the URL's 1-byte GET
(one round trip, not a HEAD and then a PUT); the record and its placeholder go without ``Expect: 100-continue``
(each would wait a round trip for "100 Continue")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from streampixel_deploy.hosting import s3_record
from streampixel_deploy.hosting.s3 import S3Host

from .conftest import HoldingProxy, RecordingReporter, S3Server, s3_error
from .test_one_read import PART, RecordingProxy, _data_file, _key, _upload


def test_small_puts_go_at_once_and_re_runs_skip(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    proxy = RecordingProxy(open_s3_server.endpoint)
    try:
        settings = replace(open_s3_server.settings(bucket), endpoint_url=proxy.endpoint)
        hosted = S3Host(settings, part_size=PART, concurrency=3).host(_upload(zip_path), RecordingReporter())
    finally:
        proxy.close()
    assert hosted.sha256 == digest and not hosted.reused
    puts = proxy.operations("PutObject")
    assert len(puts) >= 2  # the placeholder, then the record (twice where HEAD shows another ETag than Complete)
    assert [p.headers.get("expect") for p in puts] == [None] * len(puts)
    again = S3Host(open_s3_server.settings(bucket), part_size=PART).host(_upload(zip_path), RecordingReporter())
    assert again.reused and again.sha256 == digest  # the record as HEAD shows the object is believed


def test_the_record_does_not_wait_for_the_head(open_s3_server: S3Server, tmp_path: Path) -> None:
    """Every HEAD of the build's object is refused (403): the record, bound by CompleteMultipartUpload's ETag, is
    written all the same, because it was sent beside the HEAD, not after it."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    head = f"HEAD /{bucket}/{_key(zip_path)} ".encode()
    refused = s3_error(403, "AccessDenied", "no HEAD here")
    proxy = HoldingProxy(
        open_s3_server.endpoint, lambda line: False, lambda line: refused if line.startswith(head) else None
    )
    reporter = RecordingReporter()
    try:
        settings = replace(open_s3_server.settings(bucket), endpoint_url=proxy.endpoint)
        hosted = S3Host(settings, part_size=PART, concurrency=3).host(_upload(zip_path), reporter)
    finally:
        proxy.close()
    assert hosted.sha256 == digest and len(proxy.held_lines) == 2  # the look before the upload, the one after
    assert any("could not be stored" in m for m in reporter.messages("warning"))  # the HEAD's refusal is said
    client = open_s3_server.client()
    record = client.get_object(Bucket=bucket, Key=_key(zip_path) + s3_record.SUFFIX)
    assert record["Body"].read().decode() == f"{digest}  {zip_path.name.replace(' ', '-')}\n"
    assert s3_record.binding(record["Metadata"]) is not None
