"""hosting/s3_transfer.upload against an S3 kept in memory (botocore's ``before-send`` answers every request: no
network, no server): the parts s3transfer sends in parallel, the sha256 taken from their reads, the progress the
user sees, and what is left in the bucket when a part fails, the abort fails, the deadline passes or the zip
changes."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from streampixel_deploy.core.errors import WaitTimeout
from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.hosting.s3_transfer import FileChanged, upload
from tests.fakeclock import FakeTime

boto3 = pytest.importorskip("boto3")
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

MIB = 1 << 20
PART = 5 * MIB  # s3transfer's smallest part
BUCKET, KEY = "builds", "p/MyGame.zip"


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def _xml(tag: str, **fields: str) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><{tag}>{inner}</{tag}>'.encode()


def _headers(request: Any) -> dict[str, str]:
    return {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}


class MemoryS3:
    """Answers a boto3 client's S3 calls from memory. ``fail(operation, part_number)`` may return an HTTP status
    to answer instead (with an S3 error body); ``on_part(part_number)`` runs as a part's body has been read."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "s3",
            endpoint_url="http://s3.memory.test",
            aws_access_key_id="AKIAMEMORY",
            aws_secret_access_key="memory-secret",
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"total_max_attempts": 1, "mode": "standard"},  # one try: the code under test retries
                request_checksum_calculation="when_required",
            ),
        )
        self.client.meta.events.register("before-send.s3", self._answer)
        self.lock = threading.Lock()
        self.caller = threading.current_thread()
        self.calls: list[str] = []
        self.from_caller: list[str] = []  # the calls made from upload()'s own thread (not s3transfer's)
        self.parts: dict[int, bytes] = {}
        self.part_headers: list[dict[str, str]] = []
        self.objects: dict[str, bytes] = {}
        self.uploads: set[str] = set()  # started, neither completed nor aborted
        self.fail: Callable[[str, int], int | None] = lambda operation, part: None
        self.on_part: Callable[[int], None] = lambda part: None

    def _answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        part = int(query.get("partNumber", "0"))
        body = request.body
        data = body.read() if hasattr(body, "read") else (body or b"")
        with self.lock:
            self.calls.append(operation)
            if threading.current_thread() is self.caller:
                self.from_caller.append(operation)
        if part:
            self.on_part(part)
        status = self.fail(operation, part)
        if status is not None:
            error = _xml("Error", Code="InternalError" if status >= 500 else "NoSuchUpload", Message="scripted")
            return AWSResponse(request.url, status, {}, _Body(error))
        headers: dict[str, str] = {}
        content = b""
        with self.lock:
            if operation == "CreateMultipartUpload":
                upload_id = f"upload-{len(self.uploads) + len(self.calls)}"
                self.uploads.add(upload_id)
                content = _xml("InitiateMultipartUploadResult", Bucket=BUCKET, Key=KEY, UploadId=upload_id)
            elif operation == "UploadPart":
                self.parts[part] = bytes(data)
                self.part_headers.append(_headers(request))
                headers["ETag"] = f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's ETag
            elif operation == "CompleteMultipartUpload":
                self.uploads.discard(query["uploadId"])
                self.objects[KEY] = b"".join(self.parts[n] for n in sorted(self.parts))
                content = _xml("CompleteMultipartUploadResult", Bucket=BUCKET, Key=KEY, ETag='"x-1"')
            elif operation == "AbortMultipartUpload":
                if query["uploadId"] not in self.uploads:
                    error = _xml("Error", Code="NoSuchUpload", Message="gone")
                    return AWSResponse(request.url, 404, {}, _Body(error))
                self.uploads.discard(query["uploadId"])
                return AWSResponse(request.url, 204, {}, _Body(b""))
            elif operation == "PutObject":
                self.objects[KEY] = bytes(data)
                self.part_headers.append(_headers(request))
                headers["ETag"] = '"put"'
            elif operation == "DeleteObject":
                self.objects.pop(KEY, None)
                return AWSResponse(request.url, 204, {}, _Body(b""))
        return AWSResponse(request.url, 200, headers, _Body(content))


class Said(NullReporter):
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.progressed: list[tuple[int, int | None]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str, title: str | None = None) -> None:
        self.lines.append(("warning", message))

    def progress(self, done: int, total: int | None, label: str) -> None:
        self.progressed.append((done, total))


def _zip(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "MyGame.zip"
    path.write_bytes(os.urandom(size))
    return path


def _upload(s3: MemoryS3, path: Path, reporter: Said, **kwargs: Any) -> str | None:
    options: dict[str, Any] = {"part_size": PART, "concurrency": 3, "sha256": True, **kwargs}
    return upload(s3.client, path, path.stat(), BUCKET, KEY, {}, reporter, **options)


def test_parallel_parts_make_the_file_and_its_sha256(tmp_path: Path) -> None:
    path = _zip(tmp_path, 4 * PART + 12345)
    s3, reporter = MemoryS3(), Said()
    digest = _upload(s3, path, reporter, hash_limit=PART)  # one part ahead of the hash at most: parts wait
    data = path.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    assert s3.objects[KEY] == data and sorted(s3.parts) == [1, 2, 3, 4, 5]
    assert s3.calls.count("CompleteMultipartUpload") == 1 and s3.uploads == set()
    assert all("expect" not in h for h in s3.part_headers)  # parts go without waiting for 100-continue
    done = [d for d, _ in reporter.progressed]
    assert reporter.progressed[0] == (0, len(data)) and reporter.progressed[-1] == (len(data), len(data))
    assert done == sorted(done)  # what the user sees only goes forward


def test_a_small_zip_is_one_put_that_asks_before_sending(tmp_path: Path) -> None:
    path = _zip(tmp_path, PART // 2)
    s3 = MemoryS3()
    assert _upload(s3, path, Said()) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert s3.calls == ["PutObject"] and s3.objects[KEY] == path.read_bytes()
    assert s3.part_headers[0].get("expect") == "100-continue"


def test_a_failed_part_keeps_the_upload_for_a_rerun_and_says_so(tmp_path: Path) -> None:
    path = _zip(tmp_path, 3 * PART)
    s3, reporter = MemoryS3(), Said()
    s3.fail = lambda operation, part: 500 if part == 2 else None
    with pytest.raises(ClientError):
        _upload(s3, path, reporter)
    assert "CompleteMultipartUpload" not in s3.calls and "AbortMultipartUpload" not in s3.calls
    assert len(s3.uploads) == 1  # kept: a re-run resumes it (s3_resume)
    (kept,) = [m for kind, m in reporter.lines if kind == "info"]
    assert "stay in the bucket" in kept and "AbortIncompleteMultipartUpload" in kept


def test_a_cancel_aborts_the_upload_and_says_nothing_is_left(tmp_path: Path) -> None:
    path = _zip(tmp_path, 3 * PART)
    s3, reporter = MemoryS3(), Said()
    sent = threading.Event()
    s3.on_part = lambda part: sent.set()

    def cancel_once_sent(done: int, total: int | None, label: str) -> None:
        if sent.is_set():
            raise KeyboardInterrupt  # what the signal handler raises in the waiting thread

    reporter.progress = cancel_once_sent  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        _upload(s3, path, reporter)
    assert "CompleteMultipartUpload" not in s3.calls and s3.uploads == set()
    assert ("info", f"Aborted the unfinished upload to s3://{BUCKET}/{KEY}; no parts are left behind.") in (
        reporter.lines
    )


def test_an_abort_that_keeps_failing_is_a_warning_with_what_to_do(tmp_path: Path) -> None:
    path = _zip(tmp_path, 3 * PART)
    s3, reporter = MemoryS3(), Said()
    sent = threading.Event()
    s3.on_part = lambda part: sent.set()
    s3.fail = lambda operation, part: 500 if operation == "AbortMultipartUpload" else None
    with pytest.raises(WaitTimeout):
        _upload(s3, path, reporter, deadline=lambda: 0.0 if sent.is_set() else 60.0)
    assert s3.from_caller == ["AbortMultipartUpload"] * 3  # after s3transfer's own abort, three tries more
    (warning,) = [m for kind, m in reporter.lines if kind == "warning"]
    assert "could not be aborted" in warning and "AbortIncompleteMultipartUpload" in warning
    assert len(s3.uploads) == 1  # indeed left behind, as the warning says


def test_the_deadline_stops_the_upload_and_aborts_it(tmp_path: Path) -> None:
    path = _zip(tmp_path, 4 * PART)
    s3 = MemoryS3()
    sent = threading.Event()
    s3.on_part = lambda part: sent.set()
    with pytest.raises(WaitTimeout, match="ran out while uploading"):
        _upload(s3, path, Said(), deadline=lambda: 0.0 if sent.is_set() else 60.0)
    assert "CompleteMultipartUpload" not in s3.calls and s3.uploads == set()


def test_a_zip_changed_during_the_upload_is_not_completed(tmp_path: Path) -> None:
    path = _zip(tmp_path, 3 * PART)
    s3 = MemoryS3()
    stat = path.stat()

    def rewrite(part: int) -> None:  # the packer writes the zip again while it is uploaded
        if part == 1:
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    s3.on_part = rewrite
    with pytest.raises(FileChanged):
        upload(s3.client, path, stat, BUCKET, KEY, {}, Said(), part_size=PART, concurrency=3, sha256=True)
    assert "CompleteMultipartUpload" not in s3.calls and s3.uploads == set() and KEY not in s3.objects


def test_a_single_put_of_a_changed_zip_is_deleted(tmp_path: Path) -> None:
    path = _zip(tmp_path, PART // 2)
    s3 = MemoryS3()
    stat = path.stat()
    original = s3._answer

    def put_then_touch(request: Any, event_name: str, **kwargs: Any) -> AWSResponse:
        response = original(request, event_name, **kwargs)
        if event_name.endswith("PutObject"):
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        return response

    s3.client.meta.events.unregister("before-send.s3", original)
    s3.client.meta.events.register("before-send.s3", put_then_touch)
    with pytest.raises(FileChanged):
        upload(s3.client, path, stat, BUCKET, KEY, {}, Said(), part_size=PART, concurrency=3)
    assert s3.calls == ["PutObject", "DeleteObject"] and KEY not in s3.objects


# -- the clock: every attempt waits at most the time left (s3_deadline), the waiting loop stops at the deadline ------


def _taking(clock: FakeTime, seconds: float) -> Callable[[int], None]:
    """An ``on_part`` that moves the fake clock as each part is sent."""

    def part_sent(_part: int) -> None:
        clock.pause(seconds)

    return part_sent


def _timeouts(s3: MemoryS3) -> list[tuple[str, float]]:
    """(operation, read timeout) of each attempt that is sent, as s3_deadline set it (call inside
    ``s3_deadline.under``: its hook runs first, then this record, then the memory S3's answer)."""
    seen: list[tuple[str, float]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        seen.append((event_name.rsplit(".", 1)[-1], request.context.get("read_timeout")))

    s3.client.meta.events.unregister("before-send.s3", s3._answer)
    s3.client.meta.events.register("before-send.s3", record)
    s3.client.meta.events.register("before-send.s3", s3._answer)
    return seen


def test_each_part_waits_at_most_the_time_left_on_the_clock(tmp_path: Path) -> None:
    from streampixel_deploy.hosting import s3_deadline

    path = _zip(tmp_path, 4 * PART)
    clock, s3 = FakeTime(), MemoryS3()
    s3.on_part = _taking(clock, 20.0)  # each part takes 20 s of the run's time (one part at a time)
    left = lambda: 100.0 - clock.now()  # noqa: E731 - the run's deadline on the fake clock
    with s3_deadline.under(s3.client, left, read_timeout=60.0):
        seen = _timeouts(s3)
        _upload(s3, path, Said(), concurrency=1, deadline=left)
    parts = [timeout for operation, timeout in seen if operation == "UploadPart"]
    assert parts == [60.0, 60.0, 60.0, 40.0]  # the client's own 60 s until less than that is left
    assert s3.objects[KEY] == path.read_bytes()


def test_the_clock_running_out_between_parts_stops_the_upload_and_aborts_it(tmp_path: Path) -> None:
    from streampixel_deploy.hosting import s3_deadline

    path = _zip(tmp_path, 6 * PART)
    clock, s3 = FakeTime(), MemoryS3()
    s3.on_part = _taking(clock, 20.0)
    left = lambda: 50.0 - clock.now()  # noqa: E731
    with s3_deadline.under(s3.client, left, read_timeout=60.0), pytest.raises(WaitTimeout):
        seen = _timeouts(s3)
        _upload(s3, path, Said(), concurrency=1, deadline=left)
    assert [op for op, _ in seen].count("UploadPart") == 3  # the third attempt finds none left: never sent
    # the abort still goes out once the deadline has passed, bounded by CLEANUP_SECONDS
    assert ("AbortMultipartUpload", s3_deadline.CLEANUP_SECONDS) in seen
    assert "CompleteMultipartUpload" not in s3.calls and s3.uploads == set()


# -- resuming: the reused parts are answered without being sent ----------------------------------------------------


def test_a_resume_sends_only_the_missing_parts_and_completes_with_all(tmp_path: Path) -> None:
    from streampixel_deploy.hosting.s3_resume import Resume

    path = _zip(tmp_path, 4 * PART + 100)
    data = path.read_bytes()
    s3, reporter = MemoryS3(), Said()
    s3.uploads.add("upload-before")
    reused = {n: data[(n - 1) * PART : n * PART] for n in (1, 3)}  # what a run that died left
    s3.parts.update(reused)
    etags = {n: hashlib.md5(b).hexdigest() for n, b in reused.items()}  # noqa: S324 - S3's ETag
    resume = Resume("upload-before", etags, 2 * PART)
    assert _upload(s3, path, reporter, sha256=False, resume=resume) is None
    assert s3.calls.count("UploadPart") == 3 and "CreateMultipartUpload" not in s3.calls  # parts 2, 4, 5
    assert s3.objects[KEY] == data and s3.uploads == set()
    assert reporter.progressed[0] == (2 * PART, len(data))  # the reused parts count as done from the start
