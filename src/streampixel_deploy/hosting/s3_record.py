"""The sha256 recorded beside an uploaded build: ``<key>.sha256``, in ``sha256sum`` format, bound to the object.

A multipart upload's metadata is fixed when the upload is created, before the sha256 (taken from the upload's
own reads) is known, so it is written as a small object once the upload is complete. Its presence is what makes
a re-run skip the upload, and only when it is bound to the object as it is now: the record's own metadata holds
the object's ETag and size as they were read (HEAD) right after the upload. An object overwritten since (other
bytes, even of the same size, change its ETag), or a record without that binding (written by hand, by another
tool, or by a version before it) is not believed: the build is uploaded again and a new record written, so the
``sha256`` output is never one the object does not have.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting.s3_errors import error_code, http_status
from streampixel_deploy.hosting.s3_later import Later

SUFFIX = ".sha256"
HEX64 = re.compile(r"[0-9a-f]{64}")
#: the record's metadata (``x-amz-meta-…``) that binds it to the object
ETAG = "object-etag"
SIZE = "object-size"


def recorded_sha256(
    client: Any, bucket: str, key: str, size: int, note: Callable[[dict[str, Any]], None] | None = None
) -> str | None:
    """The sha256 recorded beside an earlier upload of this build (same key, same size, the same object), else None.

    ``note`` sees the HEAD response (the bucket's region header)."""
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
        if note is not None:
            note(head)
        if head.get("ContentLength") != size:
            return None  # a truncated or different object under the key: upload again
        response = client.get_object(Bucket=bucket, Key=key + SUFFIX)
        with contextlib.closing(response["Body"]) as body:
            text = body.read(256).decode("ascii", "replace")
    except ClientError as exc:
        if http_status(exc) in (403, 404) or error_code(exc) in ("404", "403", "NoSuchKey", "NotFound"):
            return None  # absent (or the upload never finished), or no right to tell: upload
        raise
    if binding(response.get("Metadata")) != (_etag(head), str(size)):
        return None  # a record of other bytes (the object was overwritten), or one nothing binds to it
    recorded = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return recorded if HEX64.fullmatch(recorded) else None


def record(
    client: Any, bucket: str, key: str, sha256: str, name: str, size: int, reporter: Reporter, etag: str | None = None
) -> None:
    """Store the sha256 beside the uploaded zip, bound to the object as it is now (its ETag and size); a failure
    is a warning (the build is hosted all the same; the next run uploads it again).

    ``etag``: the ETag CompleteMultipartUpload answered, the object's on AWS S3: the record is written at once,
    bound to it, beside the HEAD that reads the object (one round trip after the upload, not two). A server whose
    HEAD shows another ETag for the object (rclone gives the whole file's MD5) gets the record again, bound to
    that one. Without ``etag`` the object is read (HEAD) first."""

    def put(bound: str) -> None:
        client.put_object(
            Bucket=bucket,
            Key=key + SUFFIX,
            Body=f"{sha256}  {name}\n".encode(),
            ContentType="text/plain",
            Metadata={ETAG: bound, SIZE: str(size)},
        )

    try:
        reading = Later("s3-record-head", lambda _: client.head_object(Bucket=bucket, Key=key))
        if etag:
            put(etag)
        head = reading.result(reporter)
        if head.get("ContentLength") != size:
            raise RuntimeError(f"the object holds {head.get('ContentLength')} bytes, not {size}")
        if not etag or _etag(head) not in ("", etag):
            put(_etag(head))
    except Exception as exc:
        reporter.warning(
            f"The build's sha256 could not be stored beside it at s3://{bucket}/{key}{SUFFIX} "
            f"({type(exc).__name__}); the build is hosted, but the next run of it will upload it again. "
            "Grant s3:PutObject under the prefix.",
            "S3 sha256 not stored",
        )


class Completed:
    """The ETag that CompleteMultipartUpload answers for ``key`` on ``client`` while the ``with`` block runs (None
    when it answered none, or the upload was a single PutObject)."""

    EVENT = "after-call.s3.CompleteMultipartUpload"

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key
        self.etag: str | None = None

    def _seen(self, parsed: Mapping[str, Any], **_: Any) -> None:
        if parsed.get("Key") in (None, self.key) and parsed.get("ETag"):
            self.etag = _etag(parsed)

    def __enter__(self) -> Completed:
        self.client.meta.events.register(self.EVENT, self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister(self.EVENT, self._seen)


def hold(client: Any, bucket: str, record_key: str, name: str) -> None:
    """Write the record's placeholder (no sha256, no binding: never believed) before a build's upload, as the small
    object whose URL is checked first; the record written after the upload replaces it. Not cached, so a CDN in
    front of the bucket never serves the placeholder later."""
    client.put_object(
        Bucket=bucket,
        Key=record_key,
        Body=f"pending  {name}\n".encode(),
        ContentType="text/plain",
        CacheControl="no-store",
    )


def binding(metadata: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(ETag, size) a record's metadata binds it to; None without them. Keys are read in any case (S3 lowers
    them, some servers capitalise them)."""
    lower = {k.lower(): v for k, v in (metadata or {}).items()}
    etag, size = lower.get(ETAG), lower.get(SIZE)
    return (etag.strip('"'), size) if etag and size else None


def _etag(head: Mapping[str, Any]) -> str:
    return str(head.get("ETag") or "").strip('"')
