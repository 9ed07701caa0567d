"""Hosting on any S3-compatible service (AWS S3, R2, Spaces, GCS interoperability, MinIO, Wasabi, B2, rclone).

boto3 is imported inside the methods, so ``streampixel-deploy --help`` and ``--version`` never pay for it.

**One read or two.** The key holds the zip's digest (``<prefix>/<project-id>/<sha256[:16]>/<name>.zip``) and a
multipart upload's key is fixed when the upload is created, so the digest must be known before the first byte
is sent. That is also what makes re-runs cheap: one HEAD request shows that the 20 GB are already there, before
any of them is sent again. The one-pass alternative (upload to a staging key while hashing, then a server-side
copy to the final key) was measured against ``rclone serve s3``: CopyObject of 1 GiB took 10.2 s, a hash pass
over the same file 0.86 s. A copy also needs UploadPartCopy above 5 GB, which some S3-compatible services lack
(rclone among them), stores the build twice for a while, and cannot skip an upload that is not needed. So:

* when the caller knows the digest (``build-dir``: the packer hashes the zip while writing it and passes it as
  ``Upload(..., sha256=...)``), the file is read exactly once, by the upload;
* otherwise one sequential hash pass precedes the upload (a freshly written zip is usually still in the page
  cache). The file's size and mtime are checked again before the upload completes, so a zip rewritten in
  between is never published under a stale digest.

**The transfer** is s3transfer's (locked with boto3): ``part_size_for`` parts, ``concurrency`` in flight, parts
read from the file as the socket takes them (never held in memory), the multipart upload aborted when the
transfer fails. The main thread only waits, in short slices, so that a cancel (SIGINT, ``Cancelled``) or the
deadline stops the transfer promptly: parts in flight stop at their next read, and the upload is aborted.

**Integrity.** No per-part checksum is computed on top of the transport: https (TLS) protects the bytes on the
way (plain http is only accepted for a loopback endpoint), and the key names the sha256 of what was read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from streampixel_deploy._version import __version__
from streampixel_deploy.core.errors import HostingError
from streampixel_deploy.core.fileio import advise_sequential
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import S3Settings
from streampixel_deploy.hosting import Deadline, Hosted, Upload, s3_transfer, time_left
from streampixel_deploy.hosting.preflight import hosted_url, preflight
from streampixel_deploy.hosting.s3_errors import error_code, explain, http_status

MIB = 1024 * 1024
MAX_PARTS = 10_000
MIN_PART_SIZE = 16 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
#: How many parts are sent at once (threads; the GIL is released while sockets send).
DEFAULT_CONCURRENCY = 8
HASH_BLOCK = 8 * MIB
PROBE = b"streampixel-deploy write probe\n"
PRESIGN_WARNING = (
    "Streampixel gets a presigned URL (s3-presign-seconds > 0). Some versions of Streampixel's API docs say "
    "the file URL must end in .zip with no query string; if the build is rejected at 'Downloading Files', "
    "serve the object publicly (s3-presign-seconds: 0) or through s3-public-url-base."
)


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
    ) -> None:
        self.s = settings
        self.part_size = part_size  # None: chosen from the file size
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self._session: Any = None
        self._client_obj: Any = None
        self._bucket_region: str | None = None

    # -- the Host interface ------------------------------------------------------------------------

    def check(self, reporter: Reporter) -> None:
        """Dry-run: write a tiny probe object under the prefix, fetch it the way Streampixel would, delete it."""
        self._mask_keys(reporter)
        key = self._join(f"streampixel-deploy-probe-{uuid.uuid4().hex}.zip")
        written = False
        try:
            with self._explained("connecting") as step:
                client = self._client()
                step.doing = "writing a probe object"
                client.put_object(Bucket=self.s.bucket, Key=key, Body=PROBE, ContentType="application/zip")
                written = True
                step.doing = "checking the probe object's URL"
                url, display, signed = self._url_for(key, reporter)
                preflight(url, hosted_url(display), reporter)
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
        self._mask_keys(reporter)
        zip_path = upload.zip_path
        if zip_path is None:
            raise HostingError("S3 hosting needs a zip: set 'zip-path' (--zip-path) or 'build-dir' (--build-dir).")
        try:
            stat = zip_path.stat()
        except OSError as exc:
            raise HostingError(f"The zip {zip_path.name!r} could not be read: {exc.strerror}.") from None
        size = stat.st_size
        # boto3's import, the client and the bucket check run beside the hash pass (hashlib releases the GIL).
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-setup")
        try:
            with self._explained("checking the bucket") as step:
                ready = background.submit(self._ready_client)
                if upload.sha256 is not None:
                    reporter.debug(f"sha256 of {zip_path.name} known from packaging: {upload.sha256}.")
                    digest = upload.sha256
                else:
                    digest = self._digest(zip_path, stat, reporter, ready, upload.deadline)
                client = ready.result()
                key = self._join(upload.project_id, digest[:16], object_name(zip_path))
                step.doing = "looking for an earlier upload"
                reused = self._already_there(client, key, size, digest)
                if reused:
                    reporter.info(
                        f"s3://{self.s.bucket}/{key} already holds this build ({size:,} bytes, sha256 "
                        f"{digest[:16]}…); skipping the upload."
                    )
                else:
                    step.doing = "uploading the zip"
                    reporter.info(f"Uploading {zip_path.name} ({size:,} bytes) to s3://{self.s.bucket}/{key}.")
                    self._upload(client, zip_path, stat, key, digest, reporter, upload.deadline)
                step.doing = "making the download URL"
                url, display, signed = self._url_for(key, reporter)
                preflight(url, hosted_url(display), reporter, time_left=time_left(upload.deadline))
        except s3_transfer.FileChanged:
            raise HostingError(
                f"The zip {zip_path.name!r} changed while it was being uploaded; the upload was abandoned. "
                "Make sure nothing writes the zip during the deploy step and run it again."
            ) from None
        finally:
            background.shutdown(wait=False)
        return Hosted(url=url, display_url=display, signed=signed, sha256=digest, size_bytes=size, reused=reused)

    @contextlib.contextmanager
    def _explained(self, doing: str) -> Iterator[_Step]:
        """Turn a boto3/botocore error into a HostingError that names the step (``step.doing``) it stopped."""
        step = _Step(doing)
        try:
            yield step
        except Exception as exc:
            error = explain(exc, step.doing, self.s, self._where())
            if error is None:
                raise
            raise error from None

    # -- steps ---------------------------------------------------------------------------------------

    def _mask_keys(self, reporter: Reporter) -> None:
        for secret in (self.s.access_key_id, self.s.secret_access_key):
            if secret:
                reporter.mask(secret)

    def _client(self) -> Any:
        if self._client_obj is None:
            self._client_obj = self._make_client(self.s.region)
        return self._client_obj

    def _make_client(self, region: str | None) -> Any:
        import boto3.session
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=self.s.access_key_id,
                aws_secret_access_key=self.s.secret_access_key,
                region_name=self.s.region,
            )
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {
                "addressing_style": "path" if self.s.endpoint_url else "auto",
                "payload_signing_enabled": False,
            },
            "retries": {"mode": "standard", "max_attempts": self.max_attempts},
            "connect_timeout": 10,
            "read_timeout": 120,
            "max_pool_connections": self.concurrency + 2,
            "tcp_keepalive": True,
            "user_agent_extra": f"streampixel-deploy/{__version__}",
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }
        try:
            config = Config(**options)
        except TypeError:  # botocore < 1.36 has no checksum options (and computes none by default)
            del options["request_checksum_calculation"], options["response_checksum_validation"]
            config = Config(**options)
        return self._session.client(
            "s3",
            region_name=region or self._session.region_name or "us-east-1",
            endpoint_url=self.s.endpoint_url,
            config=config,
        )

    def _ready_client(self) -> Any:
        client = self._client()
        self._check_bucket(client)
        return client

    def _check_bucket(self, client: Any) -> None:
        """Fail before hashing gigabytes when the key, secret or bucket is wrong (listing rights are optional)."""
        from botocore.exceptions import ClientError

        try:
            prefix = f"{self.s.prefix}/" if self.s.prefix else ""
            response = client.list_objects_v2(Bucket=self.s.bucket, MaxKeys=1, Prefix=prefix)
        except ClientError as exc:
            if error_code(exc) in ("AccessDenied", "403", "NotImplemented", "Unimplemented"):
                return  # an upload-only policy without s3:ListBucket: the upload itself will tell
            raise
        self._note_region(response)

    def _digest(
        self, zip_path: Path, stat: os.stat_result, reporter: Reporter, ready: Any, deadline: Deadline | None
    ) -> str:
        """One sequential pass; stops early when the bucket check (``ready``) failed: its error says more."""
        digest = hashlib.sha256()
        done = 0
        buffer = bytearray(HASH_BLOCK)
        view = memoryview(buffer)
        reporter.progress(0, stat.st_size, "sha256")
        with zip_path.open("rb", buffering=0) as fh:
            advise_sequential(fh.fileno())
            while count := fh.readinto(buffer):
                if ready.done() and ready.exception() is not None:
                    return ""
                time_left(deadline)
                digest.update(view[:count])
                done += count
                reporter.progress(done, stat.st_size, "sha256")
        return digest.hexdigest()

    def _already_there(self, client: Any, key: str, size: int, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            head = client.head_object(Bucket=self.s.bucket, Key=key)
        except ClientError as exc:
            if http_status(exc) in (403, 404) or error_code(exc) in ("404", "403", "NoSuchKey", "NotFound"):
                return False  # absent, or no GetObject/ListBucket right to tell: upload
            raise
        self._note_region(head)
        recorded = (head.get("Metadata") or {}).get("sha256")
        return bool(head.get("ContentLength") == size and (recorded is None or recorded == digest))

    def _upload(
        self,
        client: Any,
        zip_path: Path,
        stat: os.stat_result,
        key: str,
        digest: str,
        reporter: Reporter,
        deadline: Deadline | None,
    ) -> None:
        s3_transfer.upload(
            client,
            zip_path,
            stat,
            self.s.bucket,
            key,
            {"ContentType": "application/zip", "Metadata": {"sha256": digest}},
            reporter,
            part_size=self.part_size or part_size_for(stat.st_size),
            concurrency=self.concurrency,
            deadline=deadline,
        )

    # -- URLs ------------------------------------------------------------------------------------------

    def _url_for(self, key: str, reporter: Reporter) -> tuple[str, str, bool]:
        """(url for Streampixel, url for logs, signed?)."""
        if self.s.presign_seconds > 0:
            client = self._client()
            if not self.s.endpoint_url and self._bucket_region and self._bucket_region != client.meta.region_name:
                client = self._make_client(self._bucket_region)
            url: str = client.generate_presigned_url(
                "get_object", Params={"Bucket": self.s.bucket, "Key": key}, ExpiresIn=self.s.presign_seconds
            )
            reporter.mask(url)
            display = redact_url(url)
            reporter.warning(PRESIGN_WARNING, "Presigned URL")
            credentials = self._session.get_credentials() if self._session is not None else None
            if credentials is not None and getattr(credentials, "token", None):
                reporter.warning(
                    "The URL is signed with temporary credentials (such as OIDC role credentials); it stops "
                    "working when they expire, which may be before s3-presign-seconds. Use a public URL, or "
                    "long-lived keys for signing.",
                    "Presigned URL lifetime",
                )
            return url, display, True
        url = self.public_url(key)
        return url, url, False

    def public_url(self, key: str) -> str:
        """``s3-public-url-base``/key, else path-style on a custom endpoint, else AWS virtual-host style."""
        path = quote(key, safe="/-_.~")
        if self.s.public_url_base:
            return f"{self.s.public_url_base.rstrip('/')}/{path}"
        if self.s.endpoint_url:
            return f"{self.s.endpoint_url.rstrip('/')}/{quote(self.s.bucket)}/{path}"
        region = self._bucket_region or self.s.region or "us-east-1"
        if "." in self.s.bucket:  # a dotted bucket breaks the *.s3 wildcard certificate: use path style
            return f"https://s3.{region}.amazonaws.com/{self.s.bucket}/{path}"
        return f"https://{self.s.bucket}.s3.{region}.amazonaws.com/{path}"

    # -- helpers -----------------------------------------------------------------------------------------

    def _join(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.s.prefix, *parts) if p.strip("/"))

    def _note_region(self, response: dict[str, Any]) -> None:
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = headers.get("x-amz-bucket-region")
        if region:
            self._bucket_region = region

    def _where(self) -> str:
        if self.s.endpoint_url:
            return f"bucket {self.s.bucket!r} at {self.s.endpoint_url}"
        region = self._bucket_region or self.s.region
        return f"bucket {self.s.bucket!r}" + (f" (AWS region {region})" if region else " (AWS)")
