"""Issue 29 part 1: a re-run after the first run died part way sends only what is missing, against a real S3 server
(rclone serve s3; SP_S3_SERVER=moto too) behind a proxy that paces, counts request-body bytes and cuts connections.

* a kill (SIGKILL of the deploy's process) at about half way: the re-run sends at most 60% of the zip's bytes;
* the network cut for good at half way (the first run fails after its retries): the same;
* a different build never reuses another's parts: other bytes under the same key (the parts are proven by their
  MD5s, not trusted by the key), or the same name under its own key: every byte is sent, the object is the new zip.

Each test prints the bytes each run sent (``-s``), the figures in the closing note of issue 29.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streampixel_deploy.build.archive import directory_digest
from streampixel_deploy.core.errors import HostingError
from streampixel_deploy.hosting import Upload
from streampixel_deploy.hosting.s3 import MIB, S3Host

from .conftest import (
    ACCESS_KEY,
    SECRET_KEY,
    HoldingProxy,
    RecordingReporter,
    S3Server,
    count_requests,
    needs_abort,
    s3_error,
)
from .s3_proxy import CountingProxy
from .test_deploy_s3 import _deploy
from .test_s3_host import _data_file, _key

PART = 5 * MIB
SIZE = 120 * MIB  # 24 parts: two in flight at a time lose at most 10 MiB (8%) when the run dies
CONCURRENCY = 2
LIMIT = 0.60  # the bound for a re-run, as a share of the zip's bytes
OTHER_BUILD = 8 * PART  # enough parts for another build's half to be left behind; no share is measured


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[CountingProxy]:
    needs_abort()
    counting = CountingProxy(s3_server.endpoint)
    yield counting
    counting.close()


def _host(s3_server: S3Server, proxy: CountingProxy, bucket: str, **options: int) -> S3Host:
    settings = s3_server.settings(bucket, endpoint_url=proxy.endpoint, presign_seconds=60)
    return S3Host(settings, part_size=PART, concurrency=CONCURRENCY, **options)


def _object(s3_server: S3Server, bucket: str, key: str) -> bytes:
    data: bytes = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _rerun(
    s3_server: S3Server, proxy: CountingProxy, bucket: str, upload: Upload, label: str
) -> tuple[int, str | None]:
    """The same deploy again through the proxy (the network back): the body bytes it sent, and its sha256."""
    proxy.restore()
    hosted = _host(s3_server, proxy, bucket).host(upload, RecordingReporter())
    sent = proxy.body_bytes
    size = upload.zip_path.stat().st_size  # type: ignore[union-attr]
    print(f"\n{label}: re-run sent {sent:,} of {size:,} bytes ({sent / size:.1%})")
    return sent, hosted.sha256


def test_a_rerun_after_a_kill_at_half_way_sends_only_what_is_missing(
    s3_server: S3Server, proxy: CountingProxy, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, SIZE)
    size = zip_path.stat().st_size
    half = proxy.when(size // 2)
    given = {
        "endpoint": proxy.endpoint,
        "bucket": bucket,
        "prefix": "builds",
        "access_key": s3_server.access_key or ACCESS_KEY,
        "secret_key": s3_server.secret_key or SECRET_KEY,
        "zip": str(zip_path),
        "project": "p",
        "digest": directory_digest(zip_path),
        "part_size": PART,
        "concurrency": CONCURRENCY,
    }
    child = Path(__file__).with_name("resume_child.py")
    with subprocess.Popen([sys.executable, str(child), json.dumps(given)], stderr=subprocess.PIPE) as deploy:
        try:
            reached = half.wait(120)
            os.kill(deploy.pid, signal.SIGKILL)
        finally:
            deploy.kill()
            _, errors = deploy.communicate(timeout=30)
    assert reached, f"the first run never reached half way: {errors.decode()[-2000:]}"
    assert deploy.returncode == -signal.SIGKILL
    first = proxy.body_bytes
    print(f"\nkill at half way: the first run sent {first:,} bytes before the kill")
    assert len(s3_server.pending_uploads(bucket)) == 1  # what the killed run left: its parts

    sent, sha256 = _rerun(
        s3_server, proxy, bucket, Upload(zip_path, "p", directory_digest=directory_digest(zip_path)), "kill"
    )

    assert sent <= LIMIT * size
    assert sha256 == digest
    assert _object(s3_server, bucket, _key(zip_path)) == zip_path.read_bytes()
    assert s3_server.pending_uploads(bucket) == []


def _cut_at_half(s3_server: S3Server, proxy: CountingProxy, bucket: str, upload: Upload) -> int:
    """The first run, with the network to S3 cut for good at half way: it fails after its retries."""
    size = upload.zip_path.stat().st_size  # type: ignore[union-attr]
    proxy.cut_at(size // 2)
    reporter = RecordingReporter()
    with pytest.raises(HostingError, match=r"S3 failed while uploading the zip"):
        _host(s3_server, proxy, bucket, max_attempts=2).host(upload, reporter)
    assert len(s3_server.pending_uploads(bucket)) == 1
    return proxy.body_bytes


def test_a_rerun_after_the_network_was_cut_at_half_way_sends_only_what_is_missing(
    s3_server: S3Server, proxy: CountingProxy, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, SIZE)
    upload = Upload(zip_path, "p", directory_digest=directory_digest(zip_path))
    first = _cut_at_half(s3_server, proxy, bucket, upload)
    print(f"\ncut at half way: the first run sent {first:,} bytes")

    sent, sha256 = _rerun(s3_server, proxy, bucket, upload, "cut")

    assert sent <= LIMIT * zip_path.stat().st_size
    assert sha256 == digest
    assert _object(s3_server, bucket, _key(zip_path)) == zip_path.read_bytes()
    assert s3_server.pending_uploads(bucket) == []


@pytest.mark.parametrize("same_key", [True, False], ids=["same-key", "same-name"])
def test_a_different_build_never_reuses_anothers_parts(
    s3_server: S3Server, proxy: CountingProxy, tmp_path: Path, same_key: bool
) -> None:
    """Build A dies half way; build B (other bytes, the same file name) is deployed. Under the same key (a digest
    that names both: the parts are proven by their bytes, never trusted by the key) or under its own, B sends all
    of its bytes and the object is B."""
    bucket = s3_server.new_bucket()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    old, _ = _data_file(tmp_path / "a", OTHER_BUILD)
    _cut_at_half(s3_server, proxy, bucket, Upload(old, "p", directory_digest=directory_digest(old)))
    new, digest = _data_file(tmp_path / "b", OTHER_BUILD)
    assert new.name == old.name and new.read_bytes() != old.read_bytes()
    named_by = directory_digest(old if same_key else new)
    key = _key(old) if same_key else _key(new)

    sent, sha256 = _rerun(
        s3_server,
        proxy,
        bucket,
        Upload(new, "p", directory_digest=named_by),
        f"other build, {'same key' if same_key else 'same name'}",
    )

    size = new.stat().st_size
    assert sent >= size  # every byte of B was sent: none of A's parts was reused
    assert sha256 == digest == hashlib.sha256(_object(s3_server, bucket, key)).hexdigest()
    assert _object(s3_server, bucket, key) == new.read_bytes()
    # under the same key A's upload was aborted (not B's); under B's own key A's stays for A's own re-run
    assert len(s3_server.pending_uploads(bucket)) == (0 if same_key else 1)


def test_older_unfinished_uploads_of_the_key_are_aborted_and_the_newest_resumed(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """What is kept stays bounded: of several unfinished uploads of this key (runs that died one after another),
    the newest is resumed and the older ones are aborted."""
    needs_abort()
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 4 * PART)
    data, key, client = zip_path.read_bytes(), _key(zip_path), s3_server.client()
    started = []
    for parts in (1, 2):  # the older upload holds part 1, the newer parts 1 and 2
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        for number in range(1, parts + 1):
            body = data[(number - 1) * PART : number * PART]
            client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        started.append(upload_id)
    host = S3Host(s3_server.settings(bucket, presign_seconds=60), part_size=PART, concurrency=2)
    parts_sent = count_requests(host._client(), "UploadPart")
    reporter = RecordingReporter()

    hosted = host.host(Upload(zip_path, "p", directory_digest=directory_digest(zip_path)), reporter)

    assert len(parts_sent) == -(-len(data) // PART) - 2  # all but parts 1 and 2: the newer upload's
    assert any(started[0] in m and "older unfinished upload" in m for m in reporter.messages("info"))
    assert hosted.sha256 == digest and _object(s3_server, bucket, key) == data
    assert s3_server.pending_uploads(bucket) == []


def test_parts_that_cannot_be_listed_mean_a_new_upload_not_a_failed_deploy(s3_server: S3Server, tmp_path: Path) -> None:
    """No s3:ListMultipartUploadParts (ListParts answered 403): the deploy uploads everything, as before issue 29."""
    needs_abort()
    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    data, key, client = zip_path.read_bytes(), _key(zip_path), s3_server.client()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=data[:PART])

    def list_parts(line: bytes) -> bytes | None:
        return s3_error(403, "AccessDenied", "no") if line.startswith(b"GET ") and b"uploadId=" in line else None

    proxy = HoldingProxy(s3_server.endpoint, held=lambda _line: False, answer=list_parts)
    try:
        host = S3Host(s3_server.settings(bucket, endpoint_url=proxy.endpoint, presign_seconds=60), part_size=PART)
        parts_sent = count_requests(host._client(), "UploadPart")
        hosted = host.host(Upload(zip_path, "p", directory_digest=directory_digest(zip_path)), RecordingReporter())
    finally:
        proxy.close()
    assert proxy.held_lines, "ListParts was not refused: nothing was tested"
    assert len(parts_sent) == -(-len(data) // PART)  # every part: nothing could be proven
    assert hosted.sha256 == digest and _object(s3_server, bucket, key) == data


def test_the_whole_cli_killed_half_way_then_run_again_sends_only_what_is_missing(
    s3_server: S3Server, proxy: CountingProxy, tmp_path: Path
) -> None:
    """What a runner that dies does: SIGKILL of ``streampixel-deploy deploy`` itself (not a process running only its
    S3 step) at half way through the zip, then the same command again. The CLI's own parts (8 MiB, 8 in flight) may
    lose up to 64 MiB at the kill, so the bound is 80% of a 256 MiB zip; without resuming it is over 100%."""
    from streampixel_deploy import emulator

    bucket = s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 256 * MIB)
    size = zip_path.stat().st_size
    cfg = emulator.EmulatorConfig.default()
    cfg.rate_limit_window_seconds = 0
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("STREAMPIXEL_", "GITHUB_", "INPUT_"))},
        "STREAMPIXEL_API_KEY": emulator.DEFAULT_API_KEY,
        "STREAMPIXEL_S3_ACCESS_KEY_ID": s3_server.access_key or ACCESS_KEY,
        "STREAMPIXEL_S3_SECRET_ACCESS_KEY": s3_server.secret_key or SECRET_KEY,
    }
    with emulator.Emulator(cfg) as emu:
        argv = [
            sys.executable,
            "-m",
            "streampixel_deploy",
            *_deploy(emu, s3_server, bucket, "--wait", "false", "--zip-path", str(zip_path), endpoint=proxy.endpoint),
            "--s3-presign-seconds",
            "3600",
        ]
        half = proxy.when(size // 2)
        with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as first:
            try:
                reached = _wait_while_running(half, first)
            finally:
                first.kill()  # SIGKILL: the runner dying, at half way (or the test failing)
                output, _ = first.communicate(timeout=30)
        assert reached, f"the first run never reached half way: {output.decode()[-2000:]}"
        assert first.returncode == -signal.SIGKILL
        assert len(s3_server.pending_uploads(bucket)) == 1  # what the killed CLI left: its parts
        assert not any("upload-file" in r["path"] for r in emu.requests()), "nothing was submitted before the kill"

        proxy.restore()
        again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
    sent = proxy.body_bytes
    print(f"\nthe whole CLI killed at half way: the re-run sent {sent:,} of {size:,} bytes ({sent / size:.1%})")
    assert again.returncode == 0, again.stderr[-3000:]
    result = json.loads(again.stdout)
    assert result["sha256"] == digest
    assert sent <= 0.80 * size
    (key,) = [k for k in s3_server.keys(bucket) if k.endswith(".zip")]
    assert _object(s3_server, bucket, key) == zip_path.read_bytes()
    assert s3_server.pending_uploads(bucket) == []


def _wait_while_running(event: threading.Event, process: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """Wait for ``event`` while ``process`` runs: False at once when it ended first (a failure to show)."""
    deadline = time.monotonic() + timeout
    while not event.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            return event.is_set()
    return True
