"""Moving the zip's bytes to S3 with s3transfer (locked with boto3), stoppable at any moment.

The transfer runs in s3transfer's threads; the calling thread only waits on it in short slices, reports
progress, and watches the deadline. Anything that stops the wait (``Cancelled`` or ``KeyboardInterrupt`` raised
by the signal handler, the deadline, a reporter failing) stops the transfer: every read of the file by a part
in flight raises, s3transfer's failure clean-up aborts the multipart upload, and the abort is then confirmed
here, so no parts stay stored (and billed) in the bucket.

Only public interfaces are used: ``boto3.s3.transfer`` (``TransferConfig``, ``create_transfer_manager`` and its
``osutil``), s3transfer subscribers, and botocore's event hooks.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.hosting import Deadline, time_left
from streampixel_deploy.hosting.s3_errors import error_code

#: How often the waiting thread wakes to report progress and look at the deadline (seconds).
TICK = 0.25


class Stopped(Exception):
    """Raised inside a part's body when the upload is being abandoned (not retried by botocore)."""


class FileChanged(Exception):
    """The zip changed (size or mtime) while it was being uploaded."""


def upload(
    client: Any,
    zip_path: Path,
    stat: os.stat_result,
    bucket: str,
    key: str,
    extra_args: dict[str, Any],
    reporter: Reporter,
    *,
    part_size: int,
    concurrency: int,
    deadline: Deadline | None = None,
) -> None:
    """Upload ``zip_path`` (as it was at ``stat``) to ``bucket``/``key``: one PutObject up to ``part_size``, else a
    multipart upload of ``part_size`` parts, ``concurrency`` at a time."""
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    size = stat.st_size
    stop = threading.Event()
    watch = _Watch(size, step=part_size)
    config = TransferConfig(
        multipart_threshold=part_size + 1,
        multipart_chunksize=part_size,
        max_concurrency=concurrency,
        use_threads=True,
        preferred_transfer_client="classic",
    )

    def unchanged(**_: Any) -> None:  # just before CompleteMultipartUpload: a failure here aborts the upload
        if stop.is_set():
            raise Stopped
        check_unchanged(zip_path, stat)

    hooks = [
        ("before-call.s3.CompleteMultipartUpload", unchanged),
        ("after-call.s3.CreateMultipartUpload", watch.created),
    ]
    for event, hook in hooks:
        client.meta.events.register(event, hook)
    manager = create_transfer_manager(client, config, _guarded_osutil(stop))
    future: Any = None
    try:
        reporter.progress(0, size, "upload")
        future = manager.upload(str(zip_path), bucket, key, extra_args, [watch])
        shown = 0
        while not watch.finished.is_set():
            watch.news.wait(TICK)  # a part's worth of bytes sent, the end, or a tick
            watch.news.clear()
            time_left(deadline)
            if watch.sent > shown:
                shown = watch.sent
                reporter.progress(min(shown, size), size, "upload")
        future.result()
        if watch.upload_id is None:  # a single PutObject: the object exists, under a key naming the old digest
            try:
                check_unchanged(zip_path, stat)
            except FileChanged:
                client.delete_object(Bucket=bucket, Key=key)
                raise
        reporter.progress(size, size, "upload")
    except BaseException:
        stop.set()  # parts in flight fail at their next read of the file
        if future is not None:
            future.cancel()  # not shutdown(cancel=True): s3transfer 0.19.3 passes its arguments in the wrong order
        manager.shutdown()  # waits for the parts in flight, and for s3transfer's abort of the multipart upload
        if watch.upload_id is not None:
            _confirm_abort(client, bucket, key, watch.upload_id, reporter)
        raise
    else:
        manager.shutdown()
    finally:
        for event, hook in hooks:
            client.meta.events.unregister(event, hook)


def check_unchanged(zip_path: Path, before: os.stat_result) -> None:
    after = zip_path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FileChanged


class _Watch:
    """An s3transfer subscriber: the size we measured, bytes sent, the multipart upload's ID, the end."""

    def __init__(self, size: int, step: int) -> None:
        self.size = size
        self.step = max(1, step)  # wake the waiting thread each time this many more bytes are sent
        self.sent = 0
        self.upload_id: str | None = None
        self.finished = threading.Event()
        self.news = threading.Event()
        self._lock = threading.Lock()

    def on_queued(self, future: Any, **_: Any) -> None:
        future.meta.provide_transfer_size(self.size)  # the size the digest was taken at, not a new stat

    def on_progress(self, future: Any, bytes_transferred: int, **_: Any) -> None:
        with self._lock:  # from the transfer's threads; negative when a part is retried
            before, self.sent = self.sent, self.sent + bytes_transferred
        if self.sent // self.step > before // self.step:
            self.news.set()

    def on_done(self, future: Any, **_: Any) -> None:
        self.finished.set()  # after s3transfer's clean-up (the abort) has run
        self.news.set()

    def created(self, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        upload_id = (parsed or {}).get("UploadId")
        if isinstance(upload_id, str):
            self.upload_id = upload_id


class _GuardedFile:
    """The file under one part's body: stops when the upload is abandoned, and notices a zip that shrank."""

    def __init__(self, raw: Any, stop: threading.Event) -> None:
        self._raw = raw
        self._stop = stop

    def read(self, amount: int | None = None) -> bytes:
        if self._stop.is_set():
            raise Stopped
        data: bytes = self._raw.read() if amount is None else self._raw.read(amount)
        if amount is not None and len(data) < amount:  # s3transfer never asks past the size we gave it
            raise FileChanged
        return data

    def seek(self, where: int, whence: int = os.SEEK_SET) -> int:
        result: int = self._raw.seek(where, whence)
        return result

    def tell(self) -> int:
        result: int = self._raw.tell()
        return result

    def close(self) -> None:
        self._raw.close()


def _guarded_osutil(stop: threading.Event) -> Any:
    from boto3.s3.transfer import OSUtils

    class GuardedOSUtils(OSUtils):  # type: ignore[misc]  # s3transfer's documented hook for opening files
        def open(self, filename: str, mode: str) -> Any:
            return _GuardedFile(super().open(filename, mode), stop)

    return GuardedOSUtils()


def _confirm_abort(client: Any, bucket: str, key: str, upload_id: str, reporter: Reporter) -> None:
    """s3transfer aborts a failed multipart upload but only logs a failure to: make sure, and say so."""
    error: BaseException | None = None
    for _attempt in range(3):
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if error_code(exc) in ("NoSuchUpload", "404"):
                error = None  # already gone: s3transfer's abort got through
                break
            error = exc
            continue
        error = None
        break
    if error is not None:
        reporter.warning(
            f"The multipart upload {upload_id} of s3://{bucket}/{key} could not be aborted "
            f"({type(error).__name__}); its parts may stay stored. Abort it by hand, or add a lifecycle "
            "rule with AbortIncompleteMultipartUpload to the bucket.",
            "Multipart upload left behind",
        )
    else:
        reporter.info(f"Aborted the unfinished upload to s3://{bucket}/{key}; no parts are left behind.")
