"""S3 hosting settings: the ``s3-*`` inputs, validated together (a bucket turns S3 hosting on)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.settings.spec import Spec, is_loopback_url, show, split_url


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str
    region: str | None
    endpoint_url: str | None
    public_url_base: str | None
    presign_seconds: int
    access_key_id: str | None
    secret_access_key: str | None

    def __repr__(self) -> str:
        return f"S3Settings(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


def s3_settings(values: Mapping[str, Any], specs: Mapping[str, Spec]) -> S3Settings | None:
    """The S3 hosting settings from parsed ``values`` (None without a bucket); InputError (exit 2) naming the input."""

    def _label(name: str) -> str:
        return specs[name].label()

    bucket = values["s3-bucket"]
    others = [n for n in ("s3-endpoint-url", "s3-public-url-base", "s3-access-key-id") if values[n]]
    if not bucket:
        if others:
            raise InputError(
                f"{_label(others[0])} is set but {_label('s3-bucket')} is not; set the bucket to host the build on S3.",
                "s3-bucket",
            )
        return None
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$", bucket):
        raise InputError(f"{_label('s3-bucket')} {show(bucket)} is not a valid bucket name.", "s3-bucket")
    key_id, secret = values["s3-access-key-id"], values["s3-secret-access-key"]
    if bool(key_id) != bool(secret):
        raise InputError(
            f"Set both {_label('s3-access-key-id')} and {_label('s3-secret-access-key')}, "
            "or neither (to use boto3's credential chain, e.g. OIDC).",
            "s3-access-key-id" if not key_id else "s3-secret-access-key",
        )
    endpoint = values["s3-endpoint-url"]
    if endpoint:
        parts = split_url(specs["s3-endpoint-url"], endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise InputError(f"{_label('s3-endpoint-url')} must be an https:// URL.", "s3-endpoint-url")
        if parts.scheme == "http" and not is_loopback_url(endpoint):
            raise InputError(
                f"{_label('s3-endpoint-url')} must use https (http only for a loopback host).",
                "s3-endpoint-url",
            )
    base = values["s3-public-url-base"]
    if base and split_url(specs["s3-public-url-base"], base).scheme not in ("https", "http"):
        raise InputError(f"{_label('s3-public-url-base')} must be an https:// URL.", "s3-public-url-base")
    return S3Settings(
        bucket=bucket,
        prefix=(values["s3-prefix"] or "").strip("/"),
        region=values["s3-region"],
        endpoint_url=endpoint,
        public_url_base=base.rstrip("/") if base else None,
        presign_seconds=int(values["s3-presign-seconds"]),
        access_key_id=key_id,
        secret_access_key=secret,
    )
