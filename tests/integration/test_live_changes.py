"""What changed since the live build (issue 29): the live build's central directory read over HTTP Range from a
real server on 127.0.0.1 (with Range, without, a 404, a ZIP64 zip), and a deploy against the emulator whose
live build's ``url`` points at that server. Each test prints the bytes it read (``pytest -s``)."""

from __future__ import annotations

import os
import re
import socket
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streampixel_deploy.api.models import Build
from streampixel_deploy.build.remote import SLACK, WHOLE_BODY_CAP, compare_live
from streampixel_deploy.build.zipformat import Member, central_record, encode_name, end_records, local_header
from streampixel_deploy.core.changes import BuildChanges
from streampixel_deploy.core.http import Clock
from streampixel_deploy.report.changes import ROWS, render_changes
from tests.localhttp import QuietHandler, serve

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CHUNK = 16 * 1024


@dataclass
class Host:
    """What the file server serves and how, and what it sent."""

    files: dict[str, bytes] = field(default_factory=dict)
    ranges: bool = True
    sent: int = 0  # body bytes the server handed to the socket
    requests: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


def _handler(host: Host) -> type[QuietHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            host.requests.append(self.headers.get("Range") or "")
            data = host.files.get(self.path.split("?")[0])
            if data is None:
                self.empty(404)
                return
            start, end = 0, len(data)
            match = _RANGE.match(self.headers.get("Range") or "") if host.ranges else None
            if match:
                first, last = match.groups()
                start, end = (len(data) - int(last), len(data)) if not first else (int(first), int(last or -1) + 1)
                start = max(0, start)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            else:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _CHUNK)  # no megabytes queued
                self.send_response(200)
            self.send_header("Content-Length", str(end - start))
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            try:
                for at in range(start, end, _CHUNK):
                    piece = data[at : min(end, at + _CHUNK)]
                    self.wfile.write(piece)
                    host.sent += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                host.done.set()

    return Handler


@pytest.fixture
def host() -> Iterator[tuple[Host, str]]:
    state = Host()
    with serve(_handler(state)) as base:
        yield state, base


def _zip64(path: Path, members: dict[str, bytes], _compression: int = 0) -> Path:
    """A stored zip written record by record with build/zipformat (zipfile takes seconds for 66,000 entries);
    from 65,535 entries on it has the ZIP64 end record and locator."""
    body, directory = bytearray(), bytearray()
    for name, data in members.items():
        raw, utf8 = encode_name(name)
        member = Member("", raw, len(data), True, utf8, offset=len(body), crc=zlib.crc32(data), csize=len(data))
        body += local_header(member) + data
        directory += central_record(member)
    end = len(body) + len(directory)
    path.write_bytes(bytes(body + directory) + end_records(len(members), len(body), len(directory), end))
    return path


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def debug(self, message: str) -> None:
        self.lines.append(message)


OLD = {
    "MyGame.exe": b"MZ old launcher",
    "MyGame/Content/Paks/MyGame-Windows.pak": b"p" * 200_000,
    "MyGame/Config/DefaultGame.ini": b"[x]\nA=1\n",
    "MyGame/Binaries/Win64/tbb.dll": b"MZ tbb",
    "Engine/Binaries/old.dll": b"MZ old",
}
NEW = {
    "MyGame.exe": b"MZ old launcher",  # the same
    "MyGame/Content/Paks/MyGame-Windows.pak": b"q" * 250_000,  # changed: +50,000 bytes
    "MyGame/Config/DefaultGame.ini": b"[x]\nA=2\n",  # changed: same size, another CRC
    "MyGame/Binaries/Win64/tbb.dll": b"MZ tbb",
    "MyGame/Content/Movies/Intro.mp4": b"m" * 1_000,  # added
    # Engine/Binaries/old.dll removed
}


def _compare(
    tmp_path: Path, url: str, new: dict[str, bytes] = NEW, write: Callable[[Path, dict[str, bytes]], Path] = _zip
) -> tuple[BuildChanges | None, _Log]:
    log = _Log()
    local = write(tmp_path / "new.zip", new)
    live = Build(id="live-1", url=url, raw_status="Approved", date=None, objection=None)
    return compare_live(local, live, Clock(60), log), log  # type: ignore[arg-type]


def test_diff_over_range_requests(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    old = _zip(tmp_path / "old.zip", OLD).read_bytes()
    state.files["/builds/old.zip"] = old
    changes, log = _compare(tmp_path, f"{base}/builds/old.zip?X-Amz-Signature=s3cr3t&X-Amz-Expires=60")
    assert changes is not None and changes.problem is None, log.lines
    assert [c.name for c in changes.added] == ["MyGame/Content/Movies/Intro.mp4"]
    assert [c.name for c in changes.removed] == ["Engine/Binaries/old.dll"]
    assert [c.name for c in changes.changed] == [
        "MyGame/Config/DefaultGame.ini",
        "MyGame/Content/Paks/MyGame-Windows.pak",
    ]
    assert changes.unchanged == 2
    by_folder = {f.name: f for f in changes.folders}
    assert by_folder["MyGame"].delta == 50_000 + 1_000 and by_folder["MyGame"].changed == 2
    assert by_folder["Engine"].removed == 1 and by_folder["Engine"].delta == -len(OLD["Engine/Binaries/old.dll"])
    assert "" not in by_folder  # MyGame.exe, at the root, did not change
    # the data was never read: only the end of the file (it holds this small directory whole)
    assert state.requests == [f"bytes=-{22 + 65535}"]
    assert changes.fetched_bytes == state.sent == min(len(old), 22 + 65535) and changes.requests == 1
    assert "s3cr3t" not in " ".join(log.lines)
    print(
        f"\nrange, small directory: {changes.fetched_bytes:,} bytes in {changes.requests} request(s), "
        f"of a {len(old):,}-byte zip"
    )


def test_directory_beyond_the_last_64_kib_takes_one_more_request(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    many = {f"MyGame/Content/Data/file-{i:05d}.bin": i.to_bytes(4, "little") for i in range(4_000)}
    old = _zip(
        tmp_path / "old.zip",
        {"MyGame.exe": b"MZ", "MyGame/Content/Movies/big.bin": os.urandom(3 << 20), **many},
        zipfile.ZIP_STORED,
    ).read_bytes()
    state.files["/old.zip"] = old
    new = {"MyGame.exe": b"MZ", **many, "MyGame/Content/Data/file-00007.bin": b"changed"}
    changes, log = _compare(tmp_path, f"{base}/old.zip", new)
    assert changes is not None and changes.problem is None, log.lines
    assert [c.name for c in changes.changed] == ["MyGame/Content/Data/file-00007.bin"]
    assert [c.name for c in changes.removed] == ["MyGame/Content/Movies/big.bin"] and not changes.added
    with zipfile.ZipFile(tmp_path / "old.zip") as zf:
        directory = sum(46 + len(i.filename.encode()) + len(i.extra) + len(i.comment) for i in zf.infolist())
    assert directory > 65535  # the directory does not fit in the first read
    assert changes.requests == 2 and state.sent == changes.fetched_bytes <= directory + SLACK
    print(
        f"\nrange, {directory:,}-byte directory: {changes.fetched_bytes:,} bytes in 2 requests, "
        f"of a {len(old):,}-byte zip"
    )


def test_zip64_zip(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    names = {f"MyGame/Saved/f{i:05d}": b"" for i in range(66_000)}  # past 65,535 entries: ZIP64 end records
    path = _zip64(tmp_path / "old.zip", {"MyGame.exe": b"MZ", **names})
    old = path.read_bytes()
    assert b"PK\x06\x06" in old[-200:]  # the ZIP64 end record and locator are there
    state.files["/old.zip"] = old
    changes, log = _compare(tmp_path, f"{base}/old.zip", {"MyGame.exe": b"MZ2", **names}, _zip64)
    assert changes is not None and changes.problem is None, log.lines
    assert [c.name for c in changes.changed] == ["MyGame.exe"] and changes.unchanged == 66_000
    directory = sum(46 + len(name) for name in ["MyGame.exe", *names])
    assert changes.fetched_bytes == state.sent <= directory + SLACK
    print(f"\nZIP64, {directory:,}-byte directory: {changes.fetched_bytes:,} bytes in {changes.requests} requests")


def test_a_server_without_range_is_cut_within_1_mib(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    state.ranges = False
    old = _zip(tmp_path / "old.zip", {**OLD, "MyGame/big.bin": os.urandom(8 << 20)}, zipfile.ZIP_STORED).read_bytes()
    state.files["/old.zip"] = old
    changes, log = _compare(tmp_path, f"{base}/old.zip")
    assert changes is not None and changes.problem is not None
    assert "ignores Range" in changes.problem and "200" in changes.problem
    assert state.done.wait(10), "the server is still sending the whole file"
    assert state.sent < WHOLE_BODY_CAP and changes.fetched_bytes == 0  # what the kernel buffered, never read
    assert any("No comparison with the live build live-1 was possible" in line for line in log.lines)
    print(
        f"\nno Range: read {changes.fetched_bytes:,} bytes; the server sent {state.sent:,} of {len(old):,} "
        "before the cut"
    )


def test_a_gone_build_404(tmp_path: Path, host: tuple[Host, str]) -> None:
    _state, base = host
    changes, log = _compare(tmp_path, f"{base}/expired.zip?X-Amz-Signature=s3cr3t")
    assert changes is not None and changes.problem == "the live build's zip is gone (HTTP 404)"
    assert changes.fetched_bytes == 0 and changes.requests == 1
    assert "s3cr3t" not in " ".join(log.lines) and "expired.zip" not in " ".join(log.lines)
    print(f"\n404: {changes.fetched_bytes:,} bytes in {changes.requests} request")


def test_not_a_zip_and_no_url(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    state.files["/page.zip"] = b"<html>sign in</html>" * 10
    changes, _log = _compare(tmp_path, f"{base}/page.zip")
    assert (
        changes is not None and changes.problem is not None and "no end of central directory record" in changes.problem
    )
    no_url = Build(id="x", url=None, raw_status="Approved", date=None, objection=None)
    assert compare_live(tmp_path / "new.zip", no_url, Clock(60), _Log()) is None  # type: ignore[arg-type]


def test_the_summary_section_reads_the_diff(tmp_path: Path, host: tuple[Host, str]) -> None:
    state, base = host
    hostile = {f"MyGame/<b>*x*</b>|{i}.txt": b"x" for i in range(ROWS + 7)}
    state.files["/old.zip"] = _zip(tmp_path / "old.zip", OLD).read_bytes()
    changes, _log = _compare(tmp_path, f"{base}/old.zip", {**NEW, **hostile})
    text = render_changes(changes)
    assert "### What changed since the live build" in text
    assert f"#### Added ({ROWS + 8})" in text and "and 8 more" in text
    assert "<b>" not in text and "\\<b\\>\\*x\\*\\</b\\>\\|0.txt" in text  # a name is data, not Markdown
    assert "| MyGame/Content/Paks/MyGame-Windows.pak | 200.0 kB | 250.0 kB | +50.0 kB |" in text
    assert "| Engine/ | 0 | 1 | 0 | -6 bytes |" in text
    assert render_changes(None) == ""
