"""Hosting on any S3-compatible service (AWS S3, R2, Spaces, GCS interoperability, MinIO, Wasabi, B2, rclone).

boto3 is imported inside the methods, so ``streampixel-deploy --help`` and ``--version`` never pay for it.

**One read or two.** The key holds the zip's digest (``<prefix>/<project-id>/<sha256[:16]>/<name>.zip``) and a
multipart upload's key is fixed when the upload is created, so the digest must be known before the first byte
is sent. That is also what makes re-runs cheap: one HEAD request shows that the 20 GB are already there, before
any of them is sent again. The one-pass alternative (upload to a staging key while hashing, then a server-side
copy to the final key) was measured against ``rclone serve s3``: CopyObject of 1 GiB took 10.2 s, a hash pass
over the same file 0.86 s. A copy also needs UploadPartCopy above 5 GB, which some S3-compatible services lack
(rclone among them), stores the build twice for a while, and cannot skip an upload that is not needed. So:

* when the digest is already known (``build-dir``: the packer hashes the zip while writing it and records it,
  see :func:`streampixel_deploy.build.packaging.known_sha256`), the file is read exactly once, by the upload;
* otherwise one sequential hash pass precedes the upload (a freshly written zip is usually still in the page
  cache). The file's size and mtime are checked again before the upload completes, so a zip rewritten in
  between is never published under a stale digest.

**Memory.** Parts are never held in memory: a part's request body is a window on the file, read with
``os.pread`` in 1 MiB blocks as the socket takes them. Memory is about ``concurrency`` x 1 MiB whatever the
size of the file or of its parts, so the part size only has to respect S3's 10,000-part limit.

**Integrity.** No per-part checksum is computed on top of the transport: https (TLS) protects the bytes on the
way (plain http is only accepted for a loopback endpoint), and the key names the sha256 of what was read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import quote

from streampixel_deploy._version import __version__
from streampixel_deploy.core.errors import HostingError
from streampixel_deploy.core.redact import redact_url, scrub
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPEC_BY_NAME, S3Settings
from streampixel_deploy.hosting import Hosted

MIB = 1024 * 1024
MAX_PARTS = 10_000
MIN_PART_SIZE = 16 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
#: How many parts are sent at once (threads; the GIL is released while sockets send).
DEFAULT_CONCURRENCY = 8
#: Size of the blocks a part's body is read and sent in.
SEND_BLOCK = MIB
HASH_BLOCK = 8 * MIB
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


def object_name(zip_path: Path) -> str:
    """``<name>.zip`` with only URL-safe characters (the public URL must end in .zip)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", zip_path.stem).strip(".-") or "build"
    return f"{stem}.zip"


class _Stopped(Exception):
    """Raised inside a part's body when the upload is being abandoned (not retried by botocore)."""


class _FileChanged(Exception):
    """The zip shrank while it was being uploaded."""


class _Window:
    """A read-only, seekable view of ``length`` bytes of a file at ``offset``: one part's request body."""

    def __init__(self, fd: int, offset: int, length: int, stop: threading.Event) -> None:
        self._fd = fd
        self._offset = offset
        self._length = length
        self._stop = stop
        self.pos = 0

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._stop.is_set():
            raise _Stopped
        remaining = self._length - self.pos
        count = remaining if size is None or size < 0 else min(size, remaining)
        if count <= 0:
            return b""
        data = os.pread(self._fd, count, self._offset + self.pos)
        if len(data) != count:
            raise _FileChanged
        self.pos += count
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self._length}[whence]
        self.pos = max(0, min(self._length, base + offset))
        return self.pos

    def tell(self) -> int:
        return self.pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


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
        doing = "connecting"
        written = False
        try:
            client = self._client()
            doing = "writing a probe object"
            client.put_object(
                Bucket=self.s.bucket, Key=key, Body=b"streampixel-deploy write probe\n", ContentType="application/zip"
            )
            written = True
            doing = "checking the probe object's URL"
            url, display, signed = self._url_for(key, reporter)
            self._preflight(url, display, reporter)
        except Exception as exc:
            error = self._explain(exc, doing)
            if error is None:
                raise
            raise error from None
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

    def host(self, zip_path: Path | None, project_id: str, reporter: Reporter) -> Hosted:
        self._mask_keys(reporter)
        if zip_path is None:
            raise HostingError("S3 hosting needs a zip: set 'zip-path' (--zip-path) or 'build-dir' (--build-dir).")
        try:
            stat = zip_path.stat()
        except OSError as exc:
            raise HostingError(f"The zip {zip_path.name!r} could not be read: {exc.strerror}.") from None
        size = stat.st_size
        doing = "checking the bucket"
        # boto3's import, the client and the bucket check run beside the hash pass (hashlib releases the GIL).
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-setup")
        try:
            ready = background.submit(self._ready_client)
            digest = self._digest(
                zip_path, stat, reporter, give_up=lambda: ready.done() and ready.exception() is not None
            )
            client = ready.result()
            key = self._join(project_id, digest[:16], object_name(zip_path))
            doing = "looking for an earlier upload"
            reused = self._already_there(client, key, size, digest)
            if reused:
                reporter.info(
                    f"s3://{self.s.bucket}/{key} already holds this build ({size:,} bytes, sha256 {digest[:16]}…); "
                    "skipping the upload."
                )
            else:
                doing = "uploading the zip"
                reporter.info(f"Uploading {zip_path.name} ({size:,} bytes) to s3://{self.s.bucket}/{key}.")
                self._upload(client, zip_path, stat, key, digest, reporter)
            doing = "making the download URL"
            url, display, signed = self._url_for(key, reporter)
            self._preflight(url, display, reporter)
        except HostingError:
            raise
        except _FileChanged:
            raise HostingError(
                f"The zip {zip_path.name!r} changed while it was being uploaded; the upload was abandoned. "
                "Make sure nothing writes the zip during the deploy step and run it again."
            ) from None
        except Exception as exc:
            error = self._explain(exc, doing)
            if error is None:
                raise
            raise error from None
        finally:
            background.shutdown(wait=False)
        return Hosted(url=url, display_url=display, signed=signed, sha256=digest, size_bytes=size, reused=reused)

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
        client = self._session.client(
            "s3",
            region_name=region or self._session.region_name or "us-east-1",
            endpoint_url=self.s.endpoint_url,
            config=config,
        )
        _widen_send_blocks(client)
        return client

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
            if _code(exc) in ("AccessDenied", "403", "NotImplemented", "Unimplemented"):
                return  # an upload-only policy without s3:ListBucket: the upload itself will tell
            raise
        self._note_region(response)

    def _digest(
        self, zip_path: Path, stat: os.stat_result, reporter: Reporter, give_up: Callable[[], bool] = lambda: False
    ) -> str:
        from streampixel_deploy.build.packaging import known_sha256, remember_sha256

        known = known_sha256(zip_path)
        if known is not None:
            reporter.debug(f"sha256 of {zip_path.name} known from packaging: {known}.")
            return known
        digest = hashlib.sha256()
        done = 0
        buffer = bytearray(HASH_BLOCK)
        view = memoryview(buffer)
        reporter.progress(0, stat.st_size, "sha256")
        with zip_path.open("rb", buffering=0) as fh:
            _advise_sequential(fh.fileno())
            while count := fh.readinto(buffer):
                if give_up():  # the bucket check failed: its error says more than a finished hash would
                    return ""
                digest.update(view[:count])
                done += count
                reporter.progress(done, stat.st_size, "sha256")
        result = digest.hexdigest()
        remember_sha256(zip_path, result)
        return result

    def _already_there(self, client: Any, key: str, size: int, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            head = client.head_object(Bucket=self.s.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) in (403, 404) or _code(exc) in ("404", "403", "NoSuchKey", "NotFound"):
                return False  # absent, or no GetObject/ListBucket right to tell: upload
            raise
        self._note_region(head)
        recorded = (head.get("Metadata") or {}).get("sha256")
        return bool(head.get("ContentLength") == size and (recorded is None or recorded == digest))

    def _upload(
        self, client: Any, zip_path: Path, stat: os.stat_result, key: str, digest: str, reporter: Reporter
    ) -> None:
        size = stat.st_size
        part_size = self.part_size or part_size_for(size)
        fd = os.open(zip_path, os.O_RDONLY)
        try:
            _advise_sequential(fd)
            if size <= part_size:
                body = _Window(fd, 0, size, threading.Event())
                reporter.progress(0, size, "upload")
                client.put_object(
                    Bucket=self.s.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=size,
                    ContentType="application/zip",
                    Metadata={"sha256": digest},
                )
                try:
                    _check_unchanged(zip_path, stat)
                except _FileChanged:
                    client.delete_object(Bucket=self.s.bucket, Key=key)  # its key names another digest
                    raise
                reporter.progress(size, size, "upload")
                return
            self._multipart(client, fd, zip_path, stat, key, digest, part_size, reporter)
        finally:
            os.close(fd)

    def _multipart(
        self,
        client: Any,
        fd: int,
        zip_path: Path,
        stat: os.stat_result,
        key: str,
        digest: str,
        part_size: int,
        reporter: Reporter,
    ) -> None:
        size = stat.st_size
        created = client.create_multipart_upload(
            Bucket=self.s.bucket, Key=key, ContentType="application/zip", Metadata={"sha256": digest}
        )
        upload_id: str = created["UploadId"]
        stop = threading.Event()
        pending: dict[Future[dict[str, Any]], _Window] = {}
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="s3-part")
        try:
            parts: list[dict[str, Any]] = []
            queue = _windows(fd, size, part_size, stop)
            done_bytes = shown = 0
            reporter.progress(0, size, "upload")
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < 2 * self.concurrency:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    number, window = item
                    future = pool.submit(self._put_part, client, key, upload_id, number, window)
                    pending[future] = window
                finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    window = pending.pop(future)
                    parts.append(future.result())
                    done_bytes += len(window)
                now = done_bytes + sum(w.pos for w in pending.values())
                if now > shown:
                    shown = now
                    reporter.progress(min(shown, size), size, "upload")
            _check_unchanged(zip_path, stat)
            parts.sort(key=lambda p: int(p["PartNumber"]))
            client.complete_multipart_upload(
                Bucket=self.s.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            self._abort(client, key, upload_id, pending, reporter)
            raise
        finally:
            pool.shutdown(wait=False)

    def _put_part(self, client: Any, key: str, upload_id: str, number: int, window: _Window) -> dict[str, Any]:
        response = client.upload_part(
            Bucket=self.s.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=window,
            ContentLength=len(window),
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _abort(
        self, client: Any, key: str, upload_id: str, pending: dict[Future[dict[str, Any]], _Window], reporter: Reporter
    ) -> None:
        """Abort the multipart upload so that no orphan parts stay stored (and billed) in the bucket."""
        running = [f for f in pending if not f.done()]
        if running:  # parts in flight stop at their next block; let them end so that none lands after the abort
            wait(running, timeout=15)
        error: BaseException | None = None
        for _attempt in range(3):
            try:
                client.abort_multipart_upload(Bucket=self.s.bucket, Key=key, UploadId=upload_id)
            except Exception as exc:
                if _code(exc) in ("NoSuchUpload", "404"):
                    error = None  # already gone (an earlier attempt got through)
                    break
                error = exc
                continue
            error = None
            if all(f.done() for f in running):
                break
            wait(running, timeout=15)  # a part still in flight may land after an abort: abort again
        if error is not None:
            reporter.warning(
                f"The multipart upload {upload_id} of s3://{self.s.bucket}/{key} could not be aborted "
                f"({type(error).__name__}); its parts may stay stored. Abort it by hand, or add a lifecycle "
                "rule with AbortIncompleteMultipartUpload to the bucket.",
                "Multipart upload left behind",
            )
        else:
            reporter.info(f"Aborted the unfinished upload to s3://{self.s.bucket}/{key}; no parts are left behind.")

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

    def _preflight(self, url: str, display: str, reporter: Reporter) -> None:
        """Fetch the first byte the way Streampixel starts its download: 200/206, no redirect, not HTML."""
        if not url.startswith(("https://", "http://")):
            raise HostingError(
                f"The build's URL {display} is not an http(s) URL; check {SPEC_BY_NAME['s3-public-url-base'].label()}."
            )
        headers = {"Range": "bytes=0-0", "User-Agent": f"streampixel-deploy/{__version__}"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only, checked above
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=20) as response:
                status = response.status
                ctype = (response.headers.get("Content-Type") or "").lower()
        except urllib.error.HTTPError as exc:
            status, ctype = exc.code, ""
        except (OSError, ValueError) as exc:
            reporter.warning(
                f"Could not fetch {display} to check it ({type(exc).__name__}); make sure Streampixel can reach it.",
                "Download URL not checked",
            )
            return
        base = SPEC_BY_NAME["s3-public-url-base"].label()
        presign = SPEC_BY_NAME["s3-presign-seconds"].label()
        if 300 <= status < 400:
            raise HostingError(
                f"The build's URL {display} redirects (HTTP {status}); Streampixel needs a direct download. "
                f"Point {base} at the final host."
            )
        if 400 <= status < 500:
            raise HostingError(
                f"The build was uploaded but its URL {display} answers HTTP {status} without credentials, so "
                "Streampixel could not download it. Make the objects under the prefix publicly readable (a "
                f"bucket policy allowing s3:GetObject), put a CDN in front and set {base}, or set {presign} "
                "to give Streampixel a presigned URL."
            )
        if status not in (200, 206):
            reporter.warning(f"{display} answered HTTP {status} to a 1-byte download.", "Download URL")
        elif "text/html" in ctype:
            raise HostingError(
                f"The build's URL {display} returns an HTML page, not the zip; check {base} points at the bucket."
            )
        else:
            reporter.debug(f"{display} answers HTTP {status}.")

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

    def _explain(self, exc: BaseException, doing: str) -> HostingError | None:
        """A HostingError that says what to do, for a boto3/botocore error; None for anything else."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            CredentialRetrievalError,
            NoCredentialsError,
            PartialCredentialsError,
            SSLError,
        )

        labels = {n: SPEC_BY_NAME[n].label() for n in SPEC_BY_NAME if n.startswith("s3-")}
        keys = f"{labels['s3-access-key-id']} and {labels['s3-secret-access-key']}"
        where = self._where()
        if isinstance(exc, _Stopped):
            return HostingError(f"The upload was abandoned while {doing}.")
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
            return HostingError(
                f"No usable S3 credentials were found while {doing}. Set {keys}, or give the job AWS credentials "
                "(aws-actions/configure-aws-credentials with OIDC, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."
            )
        if isinstance(exc, SSLError):
            return HostingError(
                f"TLS failed while {doing} with {where}. Check {labels['s3-endpoint-url']} and the CA bundle "
                "(AWS_CA_BUNDLE) if the endpoint uses a private certificate."
            )
        if isinstance(exc, ConnectionError):
            return HostingError(
                f"Could not reach the S3 endpoint while {doing} ({type(exc).__name__}) for {where}. Check "
                f"{labels['s3-endpoint-url']} and that this runner can reach it."
            )
        if isinstance(exc, ClientError):
            code, status = _code(exc), _status(exc)
            said = _server_message(exc, self.s)
            if code == "InvalidAccessKeyId":
                return HostingError(
                    f"S3 does not know the access key ID used while {doing} ({where}). Check "
                    f"{labels['s3-access-key-id']}, or the credentials the workflow configures."
                )
            if code == "SignatureDoesNotMatch":
                return HostingError(
                    f"S3 rejected the request signature while {doing} ({where}): the secret access key does not "
                    f"match the access key ID. Check {labels['s3-secret-access-key']}."
                )
            if code in ("ExpiredToken", "TokenRefreshRequired", "InvalidToken", "ExpiredTokenException"):
                return HostingError(
                    f"The S3 credentials have expired or are invalid ({code}) while {doing}. Refresh them "
                    "(re-run aws-actions/configure-aws-credentials, or raise its role-duration-seconds)."
                )
            if code == "NoSuchBucket" or (status == 404 and doing == "checking the bucket"):
                return HostingError(
                    f"The {where} does not exist. Create it, or fix {labels['s3-bucket']}"
                    + (f" or {labels['s3-endpoint-url']}." if self.s.endpoint_url else f" or {labels['s3-region']}.")
                )
            if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
                return HostingError(
                    f"The bucket {self.s.bucket!r} is in another region than the one used ({code}) while "
                    f"{doing}. Set {labels['s3-region']} to the bucket's region."
                )
            if code in ("AccessDenied", "403", "AllAccessDisabled", "AccountProblem") or status == 403:
                prefix = f"{self.s.prefix}/*" if self.s.prefix else "*"
                return HostingError(
                    f"Access denied while {doing} ({where}). The credentials need s3:PutObject, s3:GetObject and "
                    f"s3:AbortMultipartUpload on arn:aws:s3:::{self.s.bucket}/{prefix} (and s3:DeleteObject for a "
                    f"dry run). If the key or secret is wrong, fix {keys}.{said}"
                )
            if (status is not None and status >= 500) or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
                return HostingError(
                    f"The S3 service failed while {doing} ({code or 'HTTP ' + str(status)}); run the step again "
                    f"later.{said}"
                )
            return HostingError(f"S3 refused {doing} ({where}): {code or 'HTTP ' + str(status)}.{said}")
        if isinstance(exc, BotoCoreError):
            return HostingError(f"S3 failed while {doing} ({where}): {scrub(str(exc))}")
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _windows(fd: int, size: int, part_size: int, stop: threading.Event) -> Iterator[tuple[int, _Window]]:
    for number, offset in enumerate(range(0, size, part_size), start=1):
        yield number, _Window(fd, offset, min(part_size, size - offset), stop)


def _check_unchanged(zip_path: Path, before: os.stat_result) -> None:
    after = zip_path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise _FileChanged


def _advise_sequential(fd: int) -> None:
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def _widen_send_blocks(client: Any) -> None:
    """Have urllib3 read request bodies in 1 MiB blocks instead of 16 KiB (far fewer Python-level sends).

    botocore offers no setting for this; the pool manager's connection keywords are the documented urllib3
    way. Without them (another botocore layout) uploads still work, only with more CPU.
    """
    http = getattr(getattr(client, "_endpoint", None), "http_session", None)
    manager = getattr(http, "_manager", None)
    pool_kw = getattr(manager, "connection_pool_kw", None)
    if isinstance(pool_kw, dict):
        pool_kw["blocksize"] = SEND_BLOCK


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) else None


def _server_message(exc: BaseException, settings: S3Settings) -> str:
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", "") or "").strip()
    if not message:
        return ""
    for secret in (settings.access_key_id, settings.secret_access_key):
        if secret:
            message = message.replace(secret, "***")
    return f" S3 said: {scrub(message)[:300]}"
