"""The bucket as a run reaches it: boto3's session and client (boto3 imported and the client made in the
background: :meth:`BucketAccess.prepare`), the bucket's region as S3 tells it, object keys under the prefix, and the
URLs Streampixel gets for them (public, through ``s3-public-url-base``, or presigned)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any
from urllib.parse import quote

from streampixel_deploy._version import __version__
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.settings.table import S3Settings

#: How long one attempt waits for an answer (headers, or each read of a body); less when the run has less left
#: (``s3_deadline``).
READ_TIMEOUT = 120.0
PRESIGN_WARNING = (
    "Streampixel gets a presigned URL (s3-presign-seconds > 0). Some versions of Streampixel's API docs say "
    "the file URL must end in .zip with no query string; if the build is rejected at 'Downloading Files', "
    "serve the object publicly (s3-presign-seconds: 0) or through s3-public-url-base."
)


#: A PutObject body up to this size goes with its headers (see ``_small_at_once``).
SMALL_PUT = 64 * 1024


def _small_at_once(request: Any, **_: Any) -> None:
    """A small object's body (the ``.sha256`` record and its placeholder) goes with its headers, without botocore's
    ``Expect: 100-continue`` (added to every PutObject): waiting for "100 Continue" costs a round trip (80 ms on an
    80 ms link), and what it could save, when the server refuses, is sending a few bytes."""
    from botocore.utils import determine_content_length

    if "Expect" in request.headers and (determine_content_length(request.data) or 0) <= SMALL_PUT:
        del request.headers["Expect"]  # before signing (and botocore never signs Expect)


class BucketAccess:
    """The bucket of ``settings``, reached with a client of ``concurrency`` + 2 connections and ``max_attempts``."""

    def __init__(self, settings: S3Settings, *, concurrency: int, max_attempts: int) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.region: str | None = None  # as S3 tells it (x-amz-bucket-region)
        self._session: Any = None
        self._client_obj: Any = None
        self._lock = threading.Lock()
        self._ready: Future[Any] | None = None

    def prepare(self) -> Future[Any]:
        """Import boto3 and make the client in a background thread (no request is sent); ``host`` waits for it."""
        with self._lock:
            if self._ready is not None:
                return self._ready
            ready: Future[Any] = Future()
            self._ready = ready

        def make() -> None:
            try:
                ready.set_result(self.client())
            except BaseException as exc:  # handed to host(), which raises it in the run's thread
                ready.set_exception(exc)

        threading.Thread(target=make, name="s3-setup", daemon=True).start()
        return ready

    def mask_keys(self, reporter: Reporter) -> None:
        for secret in (self.settings.access_key_id, self.settings.secret_access_key):
            if secret:
                reporter.mask(secret)

    def client(self) -> Any:
        with self._lock:  # prepare()'s thread and the run's may both ask first
            if self._client_obj is None:
                self._client_obj = self.make_client(self.settings.region)
            return self._client_obj

    def make_client(self, region: str | None) -> Any:
        import boto3.session
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=self.settings.access_key_id,
                aws_secret_access_key=self.settings.secret_access_key,
                region_name=self.settings.region,
            )
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {
                "addressing_style": "path" if self.settings.endpoint_url else "auto",
                "payload_signing_enabled": False,
            },
            "retries": {"mode": "standard", "max_attempts": self.max_attempts},
            "connect_timeout": 10,
            "read_timeout": READ_TIMEOUT,
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
            endpoint_url=self.settings.endpoint_url,
            config=config,
        )
        client.meta.events.register("before-sign.s3.PutObject", _small_at_once)
        return client

    def url_for(self, key: str, reporter: Reporter, warn: bool = True) -> tuple[str, str, bool]:
        """(url for Streampixel, url for logs, signed?); ``warn``: say what a presigned URL means."""
        if self.settings.presign_seconds > 0:
            client = self.client()
            if not self.settings.endpoint_url and self.region and self.region != client.meta.region_name:
                client = self.make_client(self.region)
            url: str = client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.settings.bucket, "Key": key},
                ExpiresIn=self.settings.presign_seconds,
            )
            reporter.mask(url)
            display = redact_url(url)
            if not warn:
                return url, display, True
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
        if self.settings.public_url_base:
            return f"{self.settings.public_url_base.rstrip('/')}/{path}"
        if self.settings.endpoint_url:
            return f"{self.settings.endpoint_url.rstrip('/')}/{quote(self.settings.bucket)}/{path}"
        region = self.region or self.settings.region or "us-east-1"
        if "." in self.settings.bucket:  # a dotted bucket breaks the *.s3 wildcard certificate: use path style
            return f"https://s3.{region}.amazonaws.com/{self.settings.bucket}/{path}"
        return f"https://{self.settings.bucket}.s3.{region}.amazonaws.com/{path}"

    def join(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.settings.prefix, *parts) if p.strip("/"))

    def note_region(self, response: dict[str, Any]) -> None:
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = headers.get("x-amz-bucket-region")
        if region:
            self.region = region

    def where(self) -> str:
        if self.settings.endpoint_url:
            return f"bucket {self.settings.bucket!r} at {self.settings.endpoint_url}"
        region = self.region or self.settings.region
        return f"bucket {self.settings.bucket!r}" + (f" (AWS region {region})" if region else " (AWS)")
