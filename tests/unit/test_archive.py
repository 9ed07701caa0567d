from __future__ import annotations

import os
import re
import struct
import zipfile
from pathlib import Path

import pytest

from streampixel_deploy.build.archive import verify, verify_quick
from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.core.errors import ArchiveError
from tests.unit.rawzip import zip_names
from tests.zipcraft import zip64_entry


def _zip(path: Path, names: list[str]) -> Path:
    return zip_names(path, names, b"data")


def test_sample_build_passes(tmp_path: Path) -> None:
    report = verify_quick(make_build_zip(tmp_path / "b.zip", pak_bytes=1024))
    assert report.entries >= 5
    assert any(e.endswith(".exe") for e in report.executables)


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ([], "empty"),
        (["Game/readme.txt"], "no Windows .exe"),
        (["a/b/c/deep.exe"], "no Windows .exe"),
        (["Game.exe", "../evil.dll"], "zip-slip"),
        (["Game.exe", "/abs.dll"], "zip-slip"),
        (["Game.exe", "Game.EXE"], "twice"),
    ],
)
def test_bad_archives(tmp_path: Path, names: list[str], match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        verify_quick(_zip(tmp_path / "x.zip", names))


def test_not_a_zip(tmp_path: Path) -> None:
    p = tmp_path / "x.zip"
    p.write_bytes(b"<html>not a zip</html>")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        verify_quick(p)


def test_exe_in_top_folder_ok(tmp_path: Path) -> None:
    assert verify_quick(_zip(tmp_path / "x.zip", ["Windows/Game.exe"])).executables == ["Windows/Game.exe"]


# -- more of the central directory ------------------------------------------------------------------------


def _sparse_zip64(path: Path, data_size: int, name: bytes = b"Game/Game.exe") -> Path:
    """A ZIP64 archive whose one stored entry is a hole of ``data_size`` bytes (no disk used, no data read)."""
    local, cd = zip64_entry(name, 0, data_size, data_size, 0)
    with path.open("wb") as fh:
        fh.write(local)
        fh.seek(data_size, os.SEEK_CUR)
        cd_offset = fh.tell()
        fh.write(cd)
        end64 = fh.tell()
        fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, len(cd), cd_offset))
        fh.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), 0xFFFFFFFF, 0))
    return path


def test_zip64_past_the_soft_limit_reads_only_the_directory(tmp_path: Path) -> None:
    path = _sparse_zip64(tmp_path / "huge.zip", 25 * 1000**3)
    with zipfile.ZipFile(path) as zf:  # the same archive as Python's zipfile sees it
        assert zf.infolist()[0].file_size == 25 * 1000**3
    report = verify_quick(path)
    assert report.entries == 1 and report.executables == ["Game/Game.exe"]
    assert report.size_bytes > 25 * 1000**3
    assert any("24 GB soft limit" in w for w in report.warnings)


def test_comment_and_trailing_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        zf.comment = b"looks like an end record: PK\x05\x06 but is not"
    assert verify_quick(path).executables == ["Game/Game.exe"]


def test_truncated_zip(tmp_path: Path) -> None:
    path = make_build_zip(tmp_path / "b.zip", pak_bytes=1024)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(ArchiveError, match="not a valid zip"):
        verify_quick(path)


def test_encrypted_entry(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe"])
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the "encrypted" flag
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=re.escape("'Game/Game.exe' is encrypted")):
        verify_quick(path)


def test_unusual_compression_warns(tmp_path: Path) -> None:
    path = tmp_path / "l.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as zf:
        zf.writestr("Game/Game.exe", b"MZ" * 100)
    report = verify_quick(path)
    assert any("method 14 (LZMA)" in w and "'Game/Game.exe'" in w for w in report.warnings)


@pytest.mark.parametrize("name", ["..\\evil.dll", "Game\\..\\..\\evil.dll", "C:/Windows/evil.dll"])
def test_windows_style_zip_slip(tmp_path: Path, name: str) -> None:
    with pytest.raises(ArchiveError, match="zip-slip"):
        verify_quick(_zip(tmp_path / "x.zip", ["Game/Game.exe", name]))


def test_only_folders_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="empty"):
        verify_quick(_zip(tmp_path / "x.zip", ["Game/", "Game/Content/"]))


def test_full_check_finds_a_corrupt_entry_the_quick_one_cannot(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        zf.writestr("Game/Content/data.bin", b"A" * 4096)
    data = bytearray(path.read_bytes())
    data[data.find(b"A" * 4096) + 100] = ord("B")
    path.write_bytes(bytes(data))

    assert verify(path, "quick") is not None
    with pytest.raises(ArchiveError, match=re.escape("entry 'Game/Content/data.bin' is corrupt")):
        verify(path, "full")
    assert verify(path, "off") is None


def test_full_check_passes_a_good_build(tmp_path: Path) -> None:
    report = verify(make_build_zip(tmp_path / "b.zip", pak_bytes=1 << 20), "full")
    assert report is not None and report.entries >= 5
