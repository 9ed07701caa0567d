"""Hosting on any S3-compatible service (AWS S3, R2, Spaces, GCS interoperability, MinIO, Wasabi, B2, rclone).

boto3 is imported in the background (:meth:`S3Host.prepare`, started when the host is chosen, so the import runs
beside the archive check and the project read), never by ``--help`` or ``--version``; the client, the region and
the URLs are ``s3_bucket``'s.

**One read.** The key is ``<prefix>/<project-id>/<id>/<name>.zip``, where ``<id>`` is the first 16 hex digits of
the zip's *directory digest* (``build.archive.directory_digest``: the central directory, which lists every
entry's name, sizes, CRC-32 and offset, and the end records; the archive check reads it anyway). So the key is
known before the upload, and a re-run finds the build (a HEAD, and a GET of its sha256 record) before sending any
of it again. The sha256 (the ``sha256`` output) is taken from the upload's own reads, in file order, while parts
go out in parallel (``s3_sha256``); when the packer already knows it (``build-dir``) nothing hashes the file.

A multipart upload's metadata is fixed when it starts, before the sha256 is known, so the digest is stored next to
the object once the upload is complete: ``<key>.sha256`` (``sha256sum`` format), bound to the object by its ETag
and size (``s3_record``). A re-run skips the upload when the object has the zip's size and a record bound to it as
it is now; it sets the ``sha256`` output from it. A stale or foreign record means an upload again.

**Before gigabytes, and round trips.** The one listing, of this key's unfinished multipart uploads, runs beside
the HEAD; a failure of it that proves no setting wrong lets the deploy go on (``s3_resume``). Before a multipart
upload is completed, the build's record is written with a placeholder and fetched the way Streampixel will fetch
the build (a private bucket found now, not after the upload); that check runs beside the first parts and stops the
upload if it fails. The record is written beside the final URL check (``s3_later``), bound by the ETag that
CompleteMultipartUpload answered, beside the HEAD that reads the object (``s3_record.record``); the record and its
placeholder go without ``Expect: 100-continue``. So after the last part: Complete, then one round trip.

**Resume.** A run that died part way (killed, the network gone, the transfer failed after its retries) leaves its
parts in the bucket; the re-run finds that unfinished upload by the listing, proves each part holds this build's
bytes (its MD5 against the local bytes at its offsets) and sends only the others (``s3_resume``). A cancel (SIGINT,
SIGTERM, ``Cancelled``), the deadline, a failed check or a changed zip abort the upload instead.

**Time.** Every call, the parts included, runs under the run's deadline (``s3_deadline``): each attempt waits at
most the time left. Without a directory digest (a file that is not a zip, with ``verify-archive: off``) the whole
file is hashed first and ``<id>`` is its sha256.

**The transfer** is s3transfer's (locked with boto3): ``part_size_for`` parts, ``concurrency`` in flight, parts
read from the file as the socket takes them (never held in memory beyond the sha256's bounded look-ahead; a part
that would wait for it hashes the frontier itself instead, so no connection idles mid-body). The main thread only
waits, in short slices, so that a cancel or the deadline stops the transfer promptly: parts in flight stop at their
next read (``s3_transfer``).

**Integrity.** No per-part checksum is computed on top of the transport: https (TLS) protects the bytes on the
way (plain http is only accepted for a loopback endpoint), and the sha256 is of what was read and sent.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from streampixel_deploy._version import __version__
from streampixel_deploy.core.errors import HostingError
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting import (
    Deadline,
    Hosted,
    Upload,
    s3_deadline,
    s3_record,
    s3_resume,
    s3_transfer,
    time_left,
)
from streampixel_deploy.hosting.preflight import hosted_url, preflight
from streampixel_deploy.hosting.s3_bucket import READ_TIMEOUT, BucketAccess
from streampixel_deploy.hosting.s3_errors import explain
from streampixel_deploy.hosting.s3_later import Later
from streampixel_deploy.hosting.s3_sha256 import read_through
from streampixel_deploy.settings.table import S3Settings

MIB = 1024 * 1024
MAX_PARTS = 10_000
#: awscli's part size.
MIN_PART_SIZE = 8 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
#: How many parts are sent at once (threads; the GIL is released while sockets send).
DEFAULT_CONCURRENCY = 8
#: Bytes read ahead of the sha256 (parts beyond the one being hashed) held at most; see s3_sha256. It is most of
#: the client's memory (docs/benchmarks.md gives the peak RSS).
HASH_AHEAD = 32 * MIB
PROBE = b"streampixel-deploy write probe\n"
#: How long a failed upload waits for the readability check's PUT before removing the placeholder (seconds).
PROBE_GRACE = 2.0


def part_size_for(size: int, minimum: int = MIN_PART_SIZE) -> int:
    """The smallest whole-MiB part size >= ``minimum`` that fits ``size`` bytes in S3's 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    part = max(minimum, -(-needed // MIB) * MIB)
    if part > MAX_PART_SIZE:
        raise HostingError(f"The zip is {size:,} bytes, more than S3's 10,000 parts of 5 GiB can hold.")
    return part


@dataclass
class _Step:
    """What S3Host is doing, for the message of an error met on the way."""

    doing: str


def object_name(zip_path: Path) -> str:
    """``<name>.zip`` with only URL-safe characters (the public URL must end in .zip)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", zip_path.stem).strip(".-") or "build"
    return f"{stem}.zip"


class S3Host:
    """Put the zip in an S3-compatible bucket and give Streampixel its public (or presigned) URL."""

    name = "s3"

    def __init__(
        self,
        settings: S3Settings,
        *,
        part_size: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = 5,
        hash_ahead: int = HASH_AHEAD,
    ) -> None:
        self.s = settings
        self.part_size = part_size  # None: chosen from the file size
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self.hash_ahead = hash_ahead
        self.access = BucketAccess(settings, concurrency=self.concurrency, max_attempts=self.max_attempts)

    def prepare(self) -> Future[Any]:
        """Import boto3 and make the client in a background thread (no request is sent); ``host`` waits for it."""
        return self.access.prepare()

    def public_url(self, key: str) -> str:
        return self.access.public_url(key)

    def _client(self) -> Any:
        return self.access.client()

    # -- the Host interface ------------------------------------------------------------------------

    def check(self, reporter: Reporter) -> None:
        """Dry-run: write a tiny probe object under the prefix, fetch it the way Streampixel would, delete it."""
        self.access.mask_keys(reporter)
        key = self.access.join(f"streampixel-deploy-probe-{uuid.uuid4().hex}.zip")
        written = False
        try:
            with self._explained("connecting") as step:
                client = self._client()
                step.doing = "writing a probe object"
                client.put_object(Bucket=self.s.bucket, Key=key, Body=PROBE, ContentType="application/zip")
                written = True
                step.doing = "checking the probe object's URL"
                url, display, signed = self.access.url_for(key, reporter)
                preflight(url, hosted_url(display, test_object=True), reporter)
        finally:
            if written:
                self._delete_probe(key, reporter)
        how = "a presigned URL" if signed else f"public URLs like {display}"
        reporter.info(f"S3 bucket {self.s.bucket!r} is reachable and writable; Streampixel would get {how}.")

    def _delete_probe(self, key: str, reporter: Reporter) -> None:
        try:
            self._client().delete_object(Bucket=self.s.bucket, Key=key)
        except Exception as exc:
            reporter.warning(
                f"The probe object s3://{self.s.bucket}/{key} could not be deleted ({type(exc).__name__}); "
                "delete it by hand, or grant s3:DeleteObject.",
                "S3 probe left behind",
            )

    def host(self, upload: Upload, reporter: Reporter) -> Hosted:
        self.access.mask_keys(reporter)
        zip_path = upload.zip_path
        if zip_path is None:
            raise HostingError("S3 hosting needs a zip: set 'zip-path' (--zip-path) or 'build-dir' (--build-dir).")
        try:
            stat = zip_path.stat()
        except OSError as exc:
            raise HostingError(f"The zip {zip_path.name!r} could not be read: {exc.strerror}.") from None
        size = stat.st_size
        ready = self.prepare()
        session = requests.Session()  # the test object's check and the build's: one connection
        session.headers["User-Agent"] = f"streampixel-deploy/{__version__}"
        try:
            with session, self._explained("checking the bucket") as step:
                client = ready.result()
                with s3_deadline.under(client, upload.deadline, READ_TIMEOUT):
                    known, ident = upload.sha256, upload.directory_digest
                    if ident is None:  # not a zip (verify-archive: off), or a caller without the digest: hash first
                        known = known or read_through(zip_path, size, {}, True, reporter, upload.deadline)[1]
                        if known is None:  # shorter than it was a moment ago
                            raise s3_transfer.FileChanged
                        ident = known
                    key = self.access.join(upload.project_id, ident[:16], object_name(zip_path))
                    # the listing (of this key's unfinished uploads) beside the look for a finished one
                    listing = Later(
                        "s3-listing",
                        lambda said: s3_resume.unfinished(client, self.s.bucket, key, said, self.access.note_region),
                    )
                    step.doing = "looking for an earlier upload"
                    recorded = s3_record.recorded_sha256(client, self.s.bucket, key, size, self.access.note_region)
                    step.doing = "checking the bucket"
                    unfinished = listing.result(reporter)
                    reused = recorded is not None and known in (None, recorded)
                    recording: Later[None] | None = None
                    if reused and recorded is not None:
                        sha256 = recorded
                        self._abort_all(client, key, unfinished, reporter)
                        reporter.info(
                            f"s3://{self.s.bucket}/{key} already holds this build ({size:,} bytes, sha256 "
                            f"{sha256[:16]}…); skipping the upload."
                        )
                    else:
                        step.doing = "uploading the zip"
                        sha256, etag = self._send(
                            client, zip_path, stat, key, known, unfinished, reporter, session, upload.deadline
                        )
                        name = object_name(zip_path)
                        recording = Later(
                            "s3-record",
                            lambda said: s3_record.record(client, self.s.bucket, key, sha256, name, size, said, etag),
                        )
                    step.doing = "making the download URL"
                    url, display, signed = self.access.url_for(key, reporter)
                    left = time_left(upload.deadline)
                    preflight(url, hosted_url(display), reporter, session, time_left=left)
                    if not reused and recording is not None:  # the record beside the URL check: one round trip
                        recording.result(reporter)
        except s3_transfer.FileChanged:
            raise HostingError(
                f"The zip {zip_path.name!r} changed while it was being uploaded; the upload was abandoned. "
                "Make sure nothing writes the zip during the deploy step and run it again."
            ) from None
        return Hosted(url=url, display_url=display, signed=signed, sha256=sha256, size_bytes=size, reused=reused)

    def _send(
        self,
        client: Any,
        zip_path: Path,
        stat: os.stat_result,
        key: str,
        known: str | None,
        unfinished: list[str],
        reporter: Reporter,
        session: Any,
        deadline: Deadline | None,
    ) -> tuple[str, str | None]:
        """Upload the zip, resuming this build's unfinished upload when one proves to be; its sha256: ``known``
        (vouched for by the caller, or taken by the proving read), else taken from the upload's reads; and the ETag
        CompleteMultipartUpload answered (None for a single PutObject)."""
        size = stat.st_size
        part_size = self.part_size or part_size_for(size)
        multipart = size > part_size
        # a multipart upload proves the URL first, beside its first parts (never completed unless it passed)
        probe = self._check_readable(client, key, zip_path, reporter, session, deadline) if multipart else None
        try:
            resume = None
            if not multipart:  # one PutObject: nothing to resume
                self._abort_all(client, key, unfinished, reporter)
            elif unfinished:
                resume, proven = s3_resume.prepare(
                    client, self.s.bucket, key, unfinished, zip_path, size, part_size, known is None, reporter, deadline
                )
                known = known or proven
            reporter.info(f"Uploading {zip_path.name} ({size:,} bytes) to s3://{self.s.bucket}/{key}.")
            with s3_record.Completed(client, key) as completed:
                digest = s3_transfer.upload(
                    client,
                    zip_path,
                    stat,
                    self.s.bucket,
                    key,
                    {"ContentType": "application/zip"},
                    reporter,
                    part_size=part_size,
                    concurrency=self.concurrency,
                    deadline=deadline,
                    sha256=known is None,
                    hash_limit=self.hash_ahead,
                    gate=probe.failed if probe is not None else None,
                    gate_wait=probe.future.exception if probe is not None else None,
                    resume=resume,
                )
            if probe is not None:
                probe.result(reporter)
        except BaseException:
            if probe is not None:
                self._remove_placeholder(client, key, probe, reporter)
            raise
        sha256 = known or digest
        if sha256 is None:
            raise RuntimeError("the upload returned no sha256")
        return sha256, completed.etag

    def _abort_all(self, client: Any, key: str, unfinished: list[str], reporter: Reporter) -> None:
        for upload_id in unfinished:
            s3_resume.abort(client, self.s.bucket, key, upload_id, reporter, "nothing will resume it")

    @contextlib.contextmanager
    def _explained(self, doing: str) -> Iterator[_Step]:
        """Turn a boto3/botocore error into a HostingError that names the step (``step.doing``) it stopped."""
        step = _Step(doing)
        try:
            yield step
        except Exception as exc:
            error = explain(exc, step.doing, self.s, self.access.where())
            if error is None:
                raise
            raise error from None

    # -- steps ---------------------------------------------------------------------------------------

    def _check_readable(
        self, client: Any, key: str, zip_path: Path, reporter: Reporter, session: Any, deadline: Deadline | None
    ) -> Later[None]:
        """Before a multipart upload is completed, prove that Streampixel could fetch the build: write the build's
        record with a placeholder (a small object that the real record replaces, so nothing is left behind) and
        fetch it the way Streampixel will fetch the build. This runs beside the upload's first parts (its four
        round trips overlap them); the upload stops at its next tick when it fails, and is never completed before
        it has passed, so a private bucket costs a few parts, aborted, not the whole upload."""
        record_key = key + s3_record.SUFFIX
        url, display, _ = self.access.url_for(record_key, reporter, warn=False)  # signed (and masked) here
        left = time_left(deadline)

        def check(said: Reporter) -> None:
            with self._explained("checking that Streampixel can read the bucket"):
                s3_record.hold(client, self.s.bucket, record_key, object_name(zip_path))
                preflight(url, hosted_url(display, test_object=True), said, session, time_left=left)

        return Later("s3-readable", check)

    def _remove_placeholder(self, client: Any, key: str, probe: Later[None], reporter: Reporter) -> None:
        """The upload did not happen: remove the record's placeholder when allowed (it is never believed anyway)."""
        with contextlib.suppress(BaseException):
            probe.future.exception(timeout=PROBE_GRACE)  # its PUT first, so that the delete comes after it
        record_key = key + s3_record.SUFFIX
        try:
            client.delete_object(Bucket=self.s.bucket, Key=record_key)
        except Exception as exc:
            reporter.debug(
                f"The placeholder s3://{self.s.bucket}/{record_key} stays ({type(exc).__name__}); it is harmless."
            )
