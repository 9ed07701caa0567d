"""Issue 13: the upload is the only read of the zip; the key comes from the central directory; the sha256 is taken
in order from the parallel upload's reads and recorded beside the object, so re-runs skip and still report it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from streampixel_deploy.build.archive import directory_digest, verify_quick
from streampixel_deploy.hosting import Upload
from streampixel_deploy.hosting.s3 import MIB, S3Host, object_name

from .conftest import HoldingProxy, RecordingReporter, S3Server

PROC_IO = Path("/proc/self/io")
PART = 5 * MIB  # S3's smallest part


def _data_file(tmp_path: Path, size: int, name: str = "MyGame Build.zip") -> tuple[Path, str]:
    """A stored zip of about ``size`` bytes (random, so nothing repeats); its sha256."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Game/Game.exe", b"MZ")
        archive.writestr("Game/Content/Paks/Game.pak", os.urandom(max(0, size - 300)))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _upload(zip_path: Path, sha256: str | None = None) -> Upload:
    """What deploy hands the host: the zip and its directory digest (from the archive check)."""
    return Upload(zip_path, "p", sha256=sha256, directory_digest=directory_digest(zip_path))


def _key(zip_path: Path) -> str:
    return f"builds/p/{(directory_digest(zip_path) or '')[:16]}/{object_name(zip_path)}"


def _download_sha256(url: str) -> str:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.status_code
    return hashlib.sha256(response.content).hexdigest()


@dataclass(frozen=True)
class Sent:
    """One request as it reached the server: its request line and headers (names lower-case)."""

    line: str
    headers: dict[str, str]

    @property
    def part_number(self) -> int | None:
        numbers = parse_qs(urlsplit(self.line.split(" ")[1]).query).get("partNumber")
        return int(numbers[0]) if numbers else None

    @property
    def operation(self) -> str:
        method = self.line.split(" ")[0]
        if method == "PUT" and self.part_number is not None:
            return "UploadPart"
        return {"PUT": "PutObject", "POST": "MultipartUpload"}.get(method, method)


class RecordingProxy(HoldingProxy):
    """A TCP proxy before an S3 server that records every request (line and headers) as the server gets it.
    The first request ``refuse(sent)`` picks is answered 500 by the proxy itself, after its whole body was read,
    as a server failing a part would; the client then sends it again."""

    def __init__(self, upstream: str, refuse: Callable[[Sent], bool] = lambda sent: False) -> None:
        self.refuse = refuse
        self.sent: list[Sent] = []
        self.refused: list[Sent] = []
        self._connections: list[socket.socket] = []
        super().__init__(upstream, lambda line: False)

    def operations(self, name: str) -> list[Sent]:
        return [s for s in self.sent if s.operation == name]

    def _serve(self, client: socket.socket) -> None:
        self._connections.append(client)
        with client, socket.create_connection(self.upstream) as server, contextlib.suppress(OSError):
            back = threading.Thread(target=self._pipe, args=(server, client), daemon=True)
            back.start()
            reader = client.makefile("rb")
            while head := _head(reader):
                line, *fields = head.decode("latin-1").split("\r\n")
                sent = Sent(line, {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)})
                self.sent.append(sent)
                left = int(sent.headers.get("content-length", "0"))
                if not self.refused and self.refuse(sent):
                    self.refused.append(sent)
                    reader.read(left)
                    error = b"<Error><Code>InternalError</Code><Message>refused once</Message></Error>"
                    answer = f"HTTP/1.1 500 Internal Server Error\r\nContent-Length: {len(error)}\r\n\r\n"
                    client.sendall(answer.encode() + error)
                    continue
                server.sendall(head)  # at once: a client asking for 100 Continue waits for the server's answer
                while left and (block := reader.read1(min(left, 65536))):
                    server.sendall(block)
                    left -= len(block)
            server.shutdown(socket.SHUT_RDWR)
            back.join(5)

    def close(self) -> None:
        for connection in self._connections:  # the client's pool keeps its connections open
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        super().close()


def _head(reader: io.BufferedReader) -> bytes:
    """A request's line and headers, through the blank line; b"" when the client has closed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)
        if not line:
            return b""
        head += line
    return head


@pytest.fixture
def proxy_to(open_s3_server: S3Server) -> Iterator[Callable[..., RecordingProxy]]:
    made: list[RecordingProxy] = []

    def make(refuse: Callable[[Sent], bool] = lambda sent: False) -> RecordingProxy:
        made.append(RecordingProxy(open_s3_server.endpoint, refuse))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def _bytes_read() -> int:
    """Bytes this process has read with read()/pread() so far (files and sockets alike): Linux's rchar."""
    fields = dict(line.split(": ") for line in PROC_IO.read_text().splitlines())
    return int(fields["rchar"])


@pytest.mark.skipif(not PROC_IO.exists(), reason="needs Linux's /proc/self/io")
def test_the_upload_is_the_only_read_of_the_zip(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 40 * MIB)
    upload = _upload(zip_path)  # the archive check's digest: the central directory only
    host = S3Host(open_s3_server.settings(bucket), part_size=PART, concurrency=4)
    host.prepare().result()  # boto3's import (its data files) is not the zip
    reporter = RecordingReporter()

    before = _bytes_read()
    hosted = host.host(upload, reporter)
    read = _bytes_read() - before

    size = zip_path.stat().st_size
    assert hosted.sha256 == digest and not hosted.reused
    assert size <= read < size + 4 * MIB, f"read {read:,} bytes for a {size:,}-byte zip"  # twice would be 80 MiB
    assert not any(p.startswith("sha256:") for p in reporter.messages("progress"))  # no hash pass first
    assert _download_sha256(hosted.url) == digest


def test_sha256_in_order_while_parts_wait_for_it(
    open_s3_server: S3Server, proxy_to: Callable[..., RecordingProxy], tmp_path: Path
) -> None:
    """Eight parts, six in flight, and room for only one part read ahead of the hash: parts wait, none is lost."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 8 * PART - 1000)
    proxy = proxy_to()
    settings = replace(open_s3_server.settings(bucket), endpoint_url=proxy.endpoint)
    host = S3Host(settings, part_size=PART, concurrency=6, hash_ahead=PART)
    hosted = host.host(_upload(zip_path), RecordingReporter())
    assert len(proxy.operations("UploadPart")) == 8
    assert hosted.sha256 == digest
    assert _download_sha256(hosted.url) == digest


def test_a_resent_part_is_hashed_once(
    open_s3_server: S3Server, proxy_to: Callable[..., RecordingProxy], tmp_path: Path
) -> None:
    """The server fails part 2 after its whole body was sent; botocore sends it again (reading all of it once more):
    the sha256 takes its bytes once."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    proxy = proxy_to(lambda sent: sent.part_number == 2)
    settings = replace(open_s3_server.settings(bucket), endpoint_url=proxy.endpoint)
    hosted = S3Host(settings, part_size=PART, concurrency=3).host(_upload(zip_path), RecordingReporter())
    assert len(proxy.refused) == 1 and len(proxy.operations("UploadPart")) == 4
    assert hosted.sha256 == digest
    assert _download_sha256(hosted.url) == digest


def _zip_with(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("Game/Game.exe", (2026, 1, 1, 0, 0, 0)), b"MZ")
        zf.writestr(zipfile.ZipInfo("Game/Content/Paks/Game.pak", (2026, 1, 1, 0, 0, 0)), payload)
    return path


def test_the_key_names_the_build(tmp_path: Path) -> None:
    """Same files: same key (and the quick check computes the same digest); one byte changed: another key."""
    payload = bytes(range(256)) * 4096
    first = _zip_with(tmp_path / "a.zip", payload)
    same = _zip_with(tmp_path / "b.zip", payload)
    changed = _zip_with(tmp_path / "c.zip", payload[:-1] + b"!")
    assert first.stat().st_size == changed.stat().st_size
    assert directory_digest(first) == directory_digest(same) == verify_quick(first, digest=True).directory_digest
    assert directory_digest(changed) != directory_digest(first)
    assert verify_quick(first).directory_digest is None  # only computed when asked for
    not_a_zip = tmp_path / "x.zip"
    not_a_zip.write_bytes(b"not a zip at all")
    assert directory_digest(not_a_zip) is None


def test_a_changed_build_is_uploaded_under_a_new_key(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path = _zip_with(tmp_path / "MyGame.zip", b"A" * (3 * MIB))
    settings = open_s3_server.settings(bucket)
    first = S3Host(settings).host(_upload(zip_path), RecordingReporter())
    first_key = _key(zip_path)
    _zip_with(zip_path, b"B" * (3 * MIB))  # rebuilt: same name, same size, other content
    second = S3Host(settings).host(_upload(zip_path), RecordingReporter())
    assert not second.reused and second.url != first.url
    assert second.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest() != first.sha256
    assert open_s3_server.keys(bucket) == sorted(
        [first_key, f"{first_key}.sha256", _key(zip_path), f"{_key(zip_path)}.sha256"]
    )
    record = requests.get(f"{second.url}.sha256", timeout=10).text
    assert record == f"{second.sha256}  MyGame.zip\n"  # sha256sum's format


def test_an_upload_without_its_sha256_record_is_sent_again(open_s3_server: S3Server, tmp_path: Path) -> None:
    """The record is written last: an object without it (a run stopped in between) is not trusted."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 2 * MIB, "e.zip")
    settings = open_s3_server.settings(bucket)
    S3Host(settings).host(_upload(zip_path), RecordingReporter())
    open_s3_server.client().delete_object(Bucket=bucket, Key=f"{_key(zip_path)}.sha256")
    again = S3Host(settings).host(_upload(zip_path), RecordingReporter())
    assert not again.reused and again.sha256 == digest
    assert open_s3_server.keys(bucket) == [_key(zip_path), f"{_key(zip_path)}.sha256"]


def test_a_record_that_disagrees_with_the_packer_is_not_trusted(open_s3_server: S3Server, tmp_path: Path) -> None:
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 1 * MIB, "f.zip")
    settings = open_s3_server.settings(bucket)
    S3Host(settings).host(_upload(zip_path), RecordingReporter())
    key = f"{_key(zip_path)}.sha256"
    open_s3_server.client().put_object(Bucket=bucket, Key=key, Body=f"{'0' * 64}  f.zip\n".encode())
    again = S3Host(settings).host(_upload(zip_path, sha256=digest), RecordingReporter())
    assert not again.reused and again.sha256 == digest
    assert requests.get(f"{again.url}.sha256", timeout=10).text.startswith(digest)


def test_a_file_without_a_central_directory_is_hashed_first(open_s3_server: S3Server, tmp_path: Path) -> None:
    """verify-archive: off with a file that is not a zip: no directory to name it by, so the sha256 names it."""
    bucket = open_s3_server.new_bucket()
    path = tmp_path / "raw.zip"
    path.write_bytes(bytes(range(256)) * 8192)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    settings = open_s3_server.settings(bucket)
    reporter = RecordingReporter()
    hosted = S3Host(settings).host(Upload(path, "p", directory_digest=directory_digest(path)), reporter)
    assert hosted.sha256 == digest
    assert hosted.url.endswith(f"/builds/p/{digest[:16]}/{object_name(path)}")
    assert any(p.startswith("sha256:") for p in reporter.messages("progress"))
    again = S3Host(settings).host(Upload(path, "p"), RecordingReporter())
    assert again.reused and again.sha256 == digest


def test_parts_go_without_waiting_for_100_continue(
    open_s3_server: S3Server, proxy_to: Callable[..., RecordingProxy], tmp_path: Path
) -> None:
    """botocore asks for "100 Continue" before every part's body: a round trip per part on any server, and a whole
    second per part on a server that never answers it. CreateMultipartUpload has already proven the key, the secret,
    the region and the right to write (s3:PutObject), so the parts go at once; a single PutObject, which proved
    nothing yet, still asks first, so that a refusal comes before its body."""
    bucket = open_s3_server.new_bucket()
    zip_path, digest = _data_file(tmp_path, 3 * PART)
    proxy = proxy_to()
    settings = replace(open_s3_server.settings(bucket), endpoint_url=proxy.endpoint)
    host = S3Host(settings, part_size=PART, concurrency=3)
    hosted = host.host(_upload(zip_path), RecordingReporter())
    assert [p.headers.get("expect") for p in proxy.operations("UploadPart")] == [None] * 3
    assert hosted.sha256 == digest
    assert _download_sha256(hosted.url) == digest

    small, small_digest = _data_file(tmp_path, PART // 2, name="Small Build.zip")
    assert host.host(_upload(small), RecordingReporter()).sha256 == small_digest
    zips = [p.headers.get("expect") for p in proxy.operations("PutObject") if ".sha256" not in p.line]
    assert zips == ["100-continue"]  # the small zip; its sha256 record (a few bytes) goes at once: test_round_trips
