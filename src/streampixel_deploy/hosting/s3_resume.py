"""Resuming an interrupted multipart upload: the parts already in the bucket are reused once proven to hold this
build's bytes.

**Finding it.** The listing that runs before every upload (beside the HEAD that looks for a finished one, so it
costs no round trip of its own) is ListMultipartUploads with the object's key as the prefix: it proves the key,
secret, bucket and region (or fails the deploy when it proves one wrong, see :data:`SETTINGS_WRONG`) and names any
unfinished upload of this key. Anything else that goes wrong with it (no ``s3:ListBucketMultipartUploads``, a
server without the call: s3rver) only means nothing is resumed.

**Proving it** (:func:`prepare`, only when there is one): ListParts, then one sequential read of the zip that
takes the MD5 of the local bytes at each listed part's offsets, with the part size the upload uses, and compares
it with the part's ETag (the MD5 of a part's bytes on AWS without SSE-KMS/SSE-C, on R2, MinIO, rclone, moto). The
same read takes the zip's sha256 when nothing vouches for it, since the reused parts are never read by the upload.
Every listed part must prove: a part of other bytes or another size (another build under the same key, another part
size) means the upload is not this build's, and it is aborted (some servers, rclone among them, refuse to replace a
part that was sent). An ETag that is not an MD5 (SSE-KMS) proves nothing: the upload starts again.

**Bounds.** Older unfinished uploads of the same key (the newest is the one tried) are aborted. What a cancelled,
failed or lost run leaves is said in docs/action-reference.md, with the bucket lifecycle rule that removes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting import Deadline
from streampixel_deploy.hosting.s3_errors import error_code, http_status
from streampixel_deploy.hosting.s3_sha256 import read_through

#: Error codes of the listing that prove a setting wrong: the deploy stops there (any other failure of it does not).
SETTINGS_WRONG = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "NoSuchBucket",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidToken",
        "ExpiredTokenException",
    }
)
#: rclone answers a bucket that never had an upload with NoSuchUpload instead of an empty list.
NONE_LISTED = frozenset({"NoSuchUpload"})
MD5_HEX = re.compile(r"[0-9a-f]{32}")
#: ListParts pages read at most (1,000 parts a page: S3's 10,000 parts).
MAX_PAGES = 10


@dataclass(frozen=True)
class Part:
    """A part as ListParts gives it."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class Resume:
    """An unfinished upload of this build: its ID and the parts proven to hold this build's bytes (number -> ETag)."""

    upload_id: str
    reused: dict[int, str]
    reused_bytes: int


def unfinished(
    client: Any, bucket: str, key: str, reporter: Reporter, note: Callable[[dict[str, Any]], None]
) -> list[str]:
    """The IDs of the unfinished multipart uploads of exactly ``key``, newest first; [] when the listing fails for
    a reason that proves no setting wrong (it is then only a hint, see the module's docstring)."""
    from botocore.exceptions import ClientError

    try:
        response = client.list_multipart_uploads(Bucket=bucket, Prefix=key)
    except ClientError as exc:
        code = error_code(exc)
        if code in NONE_LISTED:
            return []
        if code in SETTINGS_WRONG or http_status(exc) == 404:
            raise
        reporter.debug(f"The listing of unfinished uploads failed ({code or http_status(exc)}); going on without it.")
        return []
    note(response)
    uploads = [u for u in response.get("Uploads") or [] if u.get("Key") == key and u.get("UploadId")]
    # S3 lists one key's uploads oldest first: that order breaks ties of Initiated (moto's are whole seconds)
    ranked = sorted(enumerate(uploads), key=lambda iu: (str(iu[1].get("Initiated") or ""), iu[0]), reverse=True)
    return [str(u["UploadId"]) for _, u in ranked]


def prepare(
    client: Any,
    bucket: str,
    key: str,
    upload_ids: list[str],
    zip_path: Path,
    size: int,
    part_size: int,
    want_sha256: bool,
    reporter: Reporter,
    deadline: Deadline | None,
) -> tuple[Resume | None, str | None]:
    """The newest of ``upload_ids`` as a :class:`Resume` when every part it holds proves to be this build's (the
    others, and that one when it does not prove, are aborted); and the zip's sha256 when ``want_sha256`` and the
    proving read took it (the upload then need not)."""
    from botocore.exceptions import ClientError

    newest, *older = upload_ids
    for upload_id in older:
        abort(client, bucket, key, upload_id, reporter, "an older unfinished upload of the same key")
    try:
        parts = list_parts(client, bucket, key, newest)
    except ClientError as exc:  # no s3:ListMultipartUploadParts, or a server without it: a new upload, nothing lost
        reporter.debug(f"The parts of the unfinished upload could not be listed ({error_code(exc)}); not resuming.")
        return None, None
    sha256: str | None = None
    proven = bool(parts) and all(_fits(p, part_size, size) for p in parts)
    if proven:
        ranges = {p.number: ((p.number - 1) * part_size, p.size) for p in parts}
        md5s, sha256 = read_through(zip_path, size, ranges, want_sha256, reporter, deadline)
        proven = all(md5s.get(p.number) == p.etag for p in parts)
    if not proven:
        abort(client, bucket, key, newest, reporter, "its parts are not this build's bytes")
        return None, sha256
    reused = {p.number: p.etag for p in parts}
    reused_bytes = sum(p.size for p in parts)
    reporter.info(
        f"Resuming the unfinished upload to s3://{bucket}/{key}: {len(reused)} parts ({reused_bytes:,} of {size:,} "
        "bytes) already there hold this build's bytes; sending the rest."
    )
    return Resume(newest, reused, reused_bytes), sha256


def _fits(part: Part, part_size: int, size: int) -> bool:
    """The part's number, size and ETag could be this build's with this part size (before reading anything)."""
    start = (part.number - 1) * part_size
    return start < size and part.size == min(part_size, size - start) and bool(MD5_HEX.fullmatch(part.etag))


def list_parts(client: Any, bucket: str, key: str, upload_id: str) -> list[Part]:
    """The upload's parts by number (a page marker some servers repeat is harmless: parts are kept by number)."""
    found: dict[int, Part] = {}
    marker = 0
    for _page in range(MAX_PAGES):
        response = client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        for item in response.get("Parts") or []:
            number = int(item["PartNumber"])
            found[number] = Part(number, str(item.get("ETag") or "").strip('"').lower(), int(item.get("Size") or 0))
        following = int(response.get("NextPartNumberMarker") or 0)
        if not response.get("IsTruncated") or following <= marker:
            break
        marker = following
    return [found[n] for n in sorted(found)]


def abort(client: Any, bucket: str, key: str, upload_id: str, reporter: Reporter, why: str) -> None:
    """Abort an unfinished upload that will not be resumed; a failure is only a debug line (the lifecycle rule, or
    the next run, removes it)."""
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as exc:
        reporter.debug(
            f"The unfinished upload {upload_id} of s3://{bucket}/{key} could not be aborted ({type(exc).__name__})."
        )
        return
    reporter.info(f"Aborted the unfinished upload {upload_id} of s3://{bucket}/{key}: {why}.")
