"""The portable file calls, with and without the POSIX-only functions (as on Windows)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streampixel_deploy.core import fileio


@pytest.mark.parametrize("posix", [True, False], ids=["posix", "windows-os"])
def test_positioned_reads_and_cpus(posix: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not posix:
        for name in ("pread", "posix_fadvise", "sched_getaffinity"):
            monkeypatch.delattr(os, name, raising=False)
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 4)
    fd = fileio.open_fd(path, os.O_RDONLY)
    try:
        assert fileio.read_at(fd, 4, 10) == bytes([10, 11, 12, 13])
        assert fileio.read_at(fd, 100, 1020) == bytes([252, 253, 254, 255])  # short only at the end
        assert fileio.reader_at(fd)(3, 256) == bytes([0, 1, 2])
        fileio.advise_sequential(fd)
    finally:
        os.close(fd)
    assert fileio.usable_cpus() >= 1


@pytest.mark.parametrize("posix", [True, False], ids=["posix", "windows-os"])
@pytest.mark.parametrize("from_disk", [False, True], ids=["cached", "from-disk"])
def test_read_many_answers_in_order_whichever_way_it_reads(
    posix: bool, from_disk: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not posix:
        monkeypatch.delattr(os, "pread", raising=False)
    if from_disk:  # every probe read counts as slow: the rest go many in flight (where os.pread exists)
        monkeypatch.setattr(fileio, "_CACHED_READ_SECONDS", -1.0)
    path = tmp_path / "f.bin"
    data = os.urandom(64 * 1024)
    path.write_bytes(data)
    spans = [(1 + i % 7, (i * 37) % len(data)) for i in range(2000)]
    fd = fileio.open_fd(path, os.O_RDONLY)
    try:
        assert fileio.read_many(fd, spans) == [data[offset : offset + length] for length, offset in spans]
        assert fileio.read_many(fd, []) == []
    finally:
        os.close(fd)


def test_descriptors_read_and_write_bytes_as_they_are(tmp_path: Path) -> None:
    """Windows opens a descriptor in text mode unless told O_BINARY: CR LF, LF and Ctrl-Z (0x1A) would change."""
    data = b"a\r\nb\nc\x1ad\r\n\x1a" * 1000
    path = tmp_path / "f.bin"
    fd = fileio.open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        assert os.write(fd, data) == len(data)
    finally:
        os.close(fd)
    assert path.read_bytes() == data
    fd = fileio.open_fd(path, os.O_RDONLY)
    try:
        assert fileio.read_at(fd, len(data) + 10, 0) == data
        assert fileio.read_at(fd, 5, 2) == data[2:7]
    finally:
        os.close(fd)
