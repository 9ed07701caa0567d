"""The sha256 recorded beside an uploaded build: ``<key>.sha256``, in ``sha256sum`` format.

A multipart upload's metadata is fixed when the upload is created, before the sha256 (taken from the upload's
own reads) is known, so it is written as a small object once the upload is complete. Its presence is what makes
a re-run skip the upload: the zip under the key with the right size, and its sha256 beside it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.hosting.s3_errors import error_code, http_status

SUFFIX = ".sha256"
HEX64 = re.compile(r"[0-9a-f]{64}")


def recorded_sha256(
    client: Any, bucket: str, key: str, size: int, note: Callable[[dict[str, Any]], None] | None = None
) -> str | None:
    """The sha256 recorded beside an earlier upload of this build (same key, same size), else None.

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
    recorded = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return recorded if HEX64.fullmatch(recorded) else None


def record(client: Any, bucket: str, key: str, sha256: str, name: str, reporter: Reporter) -> None:
    """Store the sha256 beside the uploaded zip; a failure is a warning (the build is hosted all the same)."""
    try:
        client.put_object(
            Bucket=bucket, Key=key + SUFFIX, Body=f"{sha256}  {name}\n".encode(), ContentType="text/plain"
        )
    except Exception as exc:
        reporter.warning(
            f"The build's sha256 could not be stored beside it at s3://{bucket}/{key}{SUFFIX} "
            f"({type(exc).__name__}); the build is hosted, but the next run of it will upload it again. "
            "Grant s3:PutObject under the prefix.",
            "S3 sha256 not stored",
        )
