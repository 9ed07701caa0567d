"""Issue 25: every S3 call runs under the run's deadline, and the ``<key>.sha256`` record is bound to the object it
describes, so a lying or stale record means an upload again and a correct sha256, never a false one."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streampixel_deploy.core.errors import WaitTimeout
from streampixel_deploy.hosting.s3 import MIB, S3Host

from .conftest import HoldingProxy, RecordingReporter, S3Server
from .test_s3_host import PART, _data_file, _download_sha256, _key, _upload


def test_a_record_with_a_wrong_sha256_is_not_believed(s3_server: S3Server, tmp_path: Path) -> None:
    """A record beside the object that names another sha256 (written by hand, by another tool): upload again."""
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 6 * MIB)
    settings = s3_server.settings(bucket, presign_seconds=60)
    S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    wrong = hashlib.sha256(b"not the build").hexdigest()
    key = _key(zip_path)
    s3_server.client().put_object(Bucket=bucket, Key=f"{key}.sha256", Body=f"{wrong}  {zip_path.name}\n".encode())

    hosted = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    assert not hosted.reused
    assert hosted.sha256 == digest == _download_sha256(hosted.url)
    again = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    assert again.reused and again.sha256 == digest  # the record written by that upload is believed


def test_an_object_overwritten_with_other_bytes_of_the_same_size_is_uploaded_again(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """The record is stale: the object under the key now holds other bytes of the same size."""
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 6 * MIB)
    settings = s3_server.settings(bucket, presign_seconds=60)
    S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    other = os.urandom(zip_path.stat().st_size)
    s3_server.client().put_object(Bucket=bucket, Key=_key(zip_path), Body=other)

    hosted = S3Host(settings, part_size=PART).host(_upload(zip_path), RecordingReporter())
    assert not hosted.reused
    assert hosted.sha256 == digest == _download_sha256(hosted.url)


def _record_get(line: bytes) -> bool:
    return line.startswith(b"GET ") and b".sha256" in line


def _zip_head(line: bytes) -> bool:
    return line.startswith(b"HEAD ") and b".zip" in line


@pytest.mark.parametrize("held", [_record_get, _zip_head], ids=["GET-record", "HEAD-object"])
def test_an_s3_call_that_never_answers_ends_at_the_deadline(
    s3_server: S3Server, tmp_path: Path, held: Callable[[bytes], bool]
) -> None:
    """A re-run whose look for an earlier upload never gets an answer: WaitTimeout at the run's deadline."""
    bucket = s3_server.new_bucket()
    zip_path, _ = _data_file(tmp_path, 1 * MIB)
    S3Host(s3_server.settings(bucket, presign_seconds=60)).host(_upload(zip_path), RecordingReporter())
    proxy = HoldingProxy(s3_server.endpoint, held)
    outcome: list[BaseException | None] = []
    try:
        host = S3Host(s3_server.settings(bucket, presign_seconds=60, endpoint_url=proxy.endpoint))
        host.prepare().result()
        end = time.monotonic() + 2.0

        def run() -> None:
            try:
                host.host(_upload(zip_path, deadline=lambda: end - time.monotonic()), RecordingReporter())
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=6.0)  # the deadline (2 s), a retry's backoff, and slack for a loaded machine
        assert not worker.is_alive(), "the S3 call held the run past its deadline"
        assert proxy.held_lines, "the proxy held nothing: the test did not test anything"
    finally:
        proxy.close()
    [error] = outcome
    assert isinstance(error, WaitTimeout), repr(error)
