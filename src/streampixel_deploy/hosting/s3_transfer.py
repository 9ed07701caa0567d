"""Moving the zip's bytes to S3 with s3transfer (locked with boto3), stoppable at any moment.

The transfer runs in s3transfer's threads; the calling thread only waits on it in short slices, reports
progress, and watches the deadline. Anything that stops the wait (``Cancelled`` or ``KeyboardInterrupt`` raised
by the signal handler, the deadline, a reporter failing, the readability check failing, the zip changing) stops the
transfer: every read of the file by a part in flight raises, s3transfer's failure clean-up aborts the multipart
upload, and the abort is then confirmed here, so no parts stay stored (and billed) in the bucket.

A transfer that *fails* (S3 or the network still failing after botocore's retries) keeps its parts instead: a
re-run of the same build resumes it (``s3_resume``). s3transfer's clean-up abort is then answered here, unsent
(a ``before-call`` hook, botocore's documented short-circuit), and the user is told what stays and why.

With a :class:`~streampixel_deploy.hosting.s3_resume.Resume`, the same kind of hook answers CreateMultipartUpload
with the unfinished upload's ID and each reused part's UploadPart with its proven ETag, so s3transfer sends only the
other parts and completes the upload with them all.

With ``sha256=True`` the zip's sha256 is taken from those same reads (``s3_sha256.OrderedSha256``), so the upload
is the only read of the file; the digest is checked to have seen every byte before the upload is completed.

Parts are sent without ``Expect: 100-continue`` (see ``_send_at_once``): that saves a round trip per part, and a
whole second per part on a server that never answers "100 Continue".

Only public interfaces are used: ``boto3.s3.transfer`` (``TransferConfig``, ``create_transfer_manager`` and its
``osutil``), s3transfer subscribers, and botocore's event hooks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streampixel_deploy.core.fileio import advise_sequential, open_fd, read_at
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting import Deadline, time_left
from streampixel_deploy.hosting.s3_errors import error_code
from streampixel_deploy.hosting.s3_resume import Resume
from streampixel_deploy.hosting.s3_sha256 import OrderedSha256, Stopped

#: How often the waiting thread wakes to report progress and look at the deadline (seconds).
TICK = 0.25
#: A part that would wait for the sha256's look-ahead reads and hashes the frontier itself (s3_sha256's pull).
PULL = True

__all__ = ["FileChanged", "Stopped", "upload"]


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
    sha256: bool = False,
    hash_limit: int = 64 << 20,
    gate: Callable[[], BaseException | None] | None = None,
    gate_wait: Callable[[], BaseException | None] | None = None,
    resume: Resume | None = None,
) -> str | None:
    """Upload ``zip_path`` (as it was at ``stat``) to ``bucket``/``key``: one PutObject up to ``part_size``, else a
    multipart upload of ``part_size`` parts, ``concurrency`` at a time. With ``sha256``: returns the file's sha256,
    taken from the upload's reads (at most ``hash_limit`` bytes read ahead of the hash are held). ``gate``: a check
    running beside the upload, looked at each tick (its error stops the upload); ``gate_wait`` waits for it before
    CompleteMultipartUpload, so the upload is never completed unless it passed. ``resume``: an unfinished upload to
    complete, sending only the parts it lacks."""
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    size = stat.st_size
    stop = threading.Event()
    pull_fd = open_fd(zip_path, os.O_RDONLY) if sha256 and PULL else None

    def pread(pos: int, count: int) -> bytes:
        data = _pread(pull_fd, pos, count) if pull_fd is not None else b""
        if len(data) != count:
            raise FileChanged  # the zip shrank under the upload
        return data

    hasher = OrderedSha256(size, hash_limit, stop.is_set, pread if pull_fd is not None else None) if sha256 else None
    watch = _Watch(size, step=part_size, reused=resume.reused_bytes if resume is not None else 0)
    aborting = threading.Event()  # set when the parts are to go (a cancel); else a failure keeps them
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
        if gate_wait is not None and (failed := gate_wait()) is not None:
            raise failed
        check_unchanged(zip_path, stat)
        if hasher is not None:
            hasher.hexdigest()  # raises unless every byte was hashed: never publish under a partial digest

    hooks = [
        ("before-call.s3.CompleteMultipartUpload", unchanged),
        ("after-call.s3.CreateMultipartUpload", watch.created),
        ("before-sign.s3.UploadPart", _send_at_once),
        ("before-call.s3.AbortMultipartUpload", lambda params, **_: None if aborting.is_set() else _answer(params, {})),
    ]
    if resume is not None:
        hooks += [
            (
                "before-call.s3.CreateMultipartUpload",
                lambda params, **_: _answer(params, {"UploadId": resume.upload_id}),
            ),
            ("before-call.s3.UploadPart", lambda params, **_: _reused_part(resume, params)),
        ]
    for event, hook in hooks:
        client.meta.events.register(event, hook)
    manager = create_transfer_manager(client, config, _guarded_osutil(stop, hasher))
    future: Any = None
    try:
        shown = watch.sent
        reporter.progress(shown, size, "upload")
        future = manager.upload(str(zip_path), bucket, key, extra_args, [watch])
        while not watch.finished.is_set():
            watch.news.wait(TICK)  # a part's worth of bytes sent, the end, or a tick
            watch.news.clear()
            time_left(deadline)
            if gate is not None and (failed := gate()) is not None:
                raise failed
            if hasher is not None and future.done():  # a part failed: free the reads waiting for the frontier
                hasher.abandon()
            if watch.sent > shown:
                shown = watch.sent
                reporter.progress(min(shown, size), size, "upload")
        future.result()
        if watch.upload_id is None:  # a single PutObject: the object exists: remove it if the zip changed
            try:
                check_unchanged(zip_path, stat)
            except FileChanged:
                client.delete_object(Bucket=bucket, Key=key)
                raise
        digest = hasher.hexdigest() if hasher is not None else None
        reporter.progress(size, size, "upload")
    except BaseException as exc:
        keep = _failed(exc)
        if not keep:
            aborting.set()
        stop.set()  # parts in flight fail at their next read of the file
        if hasher is not None:
            hasher.abandon()
        if future is not None:
            future.cancel()  # not shutdown(cancel=True): s3transfer 0.19.3 passes its arguments in the wrong order
        manager.shutdown()  # waits for the parts in flight, and for s3transfer's abort of the multipart upload
        if watch.upload_id is not None and keep:
            _say_kept(bucket, key, watch, reporter)
        elif watch.upload_id is not None:
            _confirm_abort(client, bucket, key, watch.upload_id, reporter)
        raise
    else:
        manager.shutdown()
    finally:
        for event, hook in hooks:
            client.meta.events.unregister(event, hook)
        if pull_fd is not None:
            os.close(pull_fd)
    return digest


def _failed(exc: BaseException) -> bool:
    """The transfer failed (S3 or the network, after botocore's retries): its parts are kept for a re-run. Anything
    else stopped it on purpose (a cancel, the deadline, a failed check, a changed zip): its parts go."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError, ConnectionError))


def _answer(params: dict[str, Any], parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A ``before-call`` answer: the call is not sent and returns ``parsed`` (botocore's short-circuit)."""
    from botocore.awsrequest import AWSResponse

    return AWSResponse(params.get("url", ""), 200, {}, None), parsed


def _reused_part(resume: Resume, params: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """A part the unfinished upload already holds (proven): answered with its ETag, its body never read."""
    etag = resume.reused.get(int(params.get("query_string", {}).get("partNumber", 0)))
    return None if etag is None else _answer(params, {"ETag": f'"{etag}"'})


def _say_kept(bucket: str, key: str, watch: _Watch, reporter: Reporter) -> None:
    reporter.info(
        f"The upload to s3://{bucket}/{key} failed after {watch.sent:,} of {watch.size:,} bytes were sent; its "
        f"parts stay in the bucket (multipart upload {watch.upload_id}), so that a re-run of this build sends only "
        "what is missing. A bucket lifecycle rule with AbortIncompleteMultipartUpload removes them if no re-run "
        "comes (docs/action-reference.md)."
    )


def _pread(fd: int, pos: int, count: int) -> bytes:
    """``count`` bytes at ``pos`` (fewer only at the file's end): :func:`read_at` on a descriptor the parts' threads
    share, so one read at a time where it must seek (no ``os.pread``: Windows)."""
    if hasattr(os, "pread"):
        return read_at(fd, count, pos)
    with _SEEK_LOCK:  # pragma: no cover - Windows
        return read_at(fd, count, pos)


_SEEK_LOCK = threading.Lock()


def _send_at_once(request: Any, **_: Any) -> None:
    """A part's body goes with its headers, without botocore's ``Expect: 100-continue`` (added to every PUT with a
    file body). That header buys an early refusal, before the body is sent; but CreateMultipartUpload has already
    proven the key, the secret, the region and the right to write (it needs s3:PutObject), so for parts it only
    costs: a round trip per part on any server, and a whole second per part on one that never answers "100
    Continue" (botocore then sends the body anyway). A single PutObject, which has proven nothing yet, keeps it."""
    del request.headers["Expect"]  # before signing (and botocore never signs Expect)


def check_unchanged(zip_path: Path, before: os.stat_result) -> None:
    after = zip_path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FileChanged


class _Watch:
    """An s3transfer subscriber: the size we measured, bytes sent, the multipart upload's ID, the end."""

    def __init__(self, size: int, step: int, reused: int = 0) -> None:
        self.size = size
        self.step = max(1, step)  # wake the waiting thread each time this many more bytes are sent
        self.sent = reused  # the parts an unfinished upload already holds count as sent
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
    """The file under one part's body: stops when the upload is abandoned, notices a zip that shrank, and hands
    what it reads (with its offset) to the sha256. s3transfer opens one per part and seeks it to the part's start
    before the first read; botocore seeks back there to resend a part."""

    def __init__(self, raw: Any, stop: threading.Event, hasher: OrderedSha256 | None) -> None:
        self._raw = raw
        self._stop = stop
        self._hasher = hasher
        self._pos = 0
        self._start: int | None = None  # the part's first byte: where the first read starts

    def read(self, amount: int | None = None) -> bytes:
        if self._stop.is_set():
            raise Stopped
        pos = self._pos
        if self._start is None:
            self._start = pos
        if self._hasher is not None and amount is not None:
            self._hasher.admit(pos, amount)
        data: bytes = self._raw.readall() if amount is None else self._raw.read(amount)
        while amount is not None and len(data) < amount:  # s3transfer never asks past the size we gave it
            more = self._raw.read(amount - len(data))
            if not more:
                raise FileChanged
            data += more
        self._pos = pos + len(data)
        if self._hasher is not None:
            self._hasher.feed(self._start, pos, data)
        return data

    def seek(self, where: int, whence: int = os.SEEK_SET) -> int:
        self._pos = self._raw.seek(where, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._raw.close()


def _guarded_osutil(stop: threading.Event, hasher: OrderedSha256 | None) -> Any:
    from boto3.s3.transfer import OSUtils

    class GuardedOSUtils(OSUtils):  # type: ignore[misc]  # s3transfer's documented hook for opening files
        def open(self, filename: str, mode: str) -> Any:
            raw = open(filename, mode, buffering=0)  # noqa: SIM115 - closed by s3transfer through _GuardedFile
            advise_sequential(raw.fileno())
            return _GuardedFile(raw, stop, hasher)

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
