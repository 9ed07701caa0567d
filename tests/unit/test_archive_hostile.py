"""Hostile zips (issue 10, "Archive checks"): each one passed ``verify-archive: quick`` before the fix."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from streampixel_deploy.build.archive import verify, verify_quick
from streampixel_deploy.core.errors import ArchiveError, ref
from tests.unit.rawzip import zip_names
from tests.zipcraft import zip64_entry

LABEL = ref("zip-path")  # the lower layer names the setting; the faces show its label


def _zip(path: Path, names: list[str], *, data: bytes = b"MZ data") -> Path:
    return zip_names(path, names, data)


def _eocd_at(data: bytes | bytearray) -> int:
    return data.rfind(b"PK\x05\x06")


def test_end_record_count_must_match_the_directory(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe", "../evil.dll"])
    data = bytearray(path.read_bytes())
    at = _eocd_at(data)
    struct.pack_into("<HH", data, at + 8, 1, 1)  # entries on this disk, entries in total: 1 (the directory holds 2)
    path.write_bytes(bytes(data))
    for mode in ("quick", "full"):
        with pytest.raises(ArchiveError, match=r"end record.*1 entr.*directory holds more") as info:
            verify(path, mode)
        assert str(info.value).startswith(LABEL)


def test_local_header_name_must_match_its_directory_entry(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe", "Game/aaa.dll"])
    data = bytearray(path.read_bytes())
    first = data.find(b"Game/aaa.dll")  # the local header's copy comes before the directory's
    data[first : first + 12] = b"../../aa.dll"
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=re.escape("local header of 'Game/aaa.dll'")):
        verify_quick(path)


def test_local_header_offset_must_point_at_a_local_header(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe", "Game/aaa.dll"])
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last entry's directory record
    struct.pack_into("<I", data, central + 42, 7)  # its local header offset: into the first entry
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=re.escape("local header of 'Game/aaa.dll'")):
        verify_quick(path)


def test_local_header_name_length_must_match_its_directory_entry(tmp_path: Path) -> None:
    # The local name starts with the directory's name but the header says it is longer: a streaming extractor
    # would read 'Game/aaa.dll' plus the next bytes as the name.
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe", "Game/aaa.dll"])
    data = bytearray(path.read_bytes())
    local = data.rfind(b"PK\x03\x04")  # the last entry's local header
    struct.pack_into("<H", data, local + 26, 14)
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=re.escape("local header of 'Game/aaa.dll'")):
        verify_quick(path)


def test_local_header_must_lie_before_the_directory(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", ["Game/Game.exe", "Game/aaa.dll"])
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last entry's directory record: point its offset at itself
    struct.pack_into("<I", data, central + 42, central)
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=re.escape("local header of 'Game/aaa.dll'")):
        verify_quick(path)


def test_symlink_entries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        link = zipfile.ZipInfo("Game/Content")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc")
        zf.writestr("Game/Content/passwd", b"root:x:0:0")
    with pytest.raises(ArchiveError, match=re.escape("'Game/Content' is a symbolic link")):
        verify_quick(path)


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (["Game.dll\0.exe"], r"'Game.dll\x00.exe'"),
        (["Game/Game.exe", "Game/\x1b[2J\x1b]0;pwned\x07.txt"], r"'Game/\x1b[2J\x1b]0;pwned\x07.txt'"),
        (["Game/Game.exe", "Game/tab\there.txt"], r"'Game/tab\there.txt'"),
    ],
)
def test_control_characters_are_refused_and_shown_escaped(tmp_path: Path, names: list[str], shown: str) -> None:
    path = _zip(tmp_path / "x.zip", [n.replace("\0", "\x7f") for n in names])  # zipfile cuts a name at NUL
    if "\0" in names[0]:
        path.write_bytes(path.read_bytes().replace(b"Game.dll\x7f.exe", b"Game.dll\0.exe"))
    with pytest.raises(ArchiveError, match="control character") as info:
        verify_quick(path)
    message = str(info.value)
    assert shown in message
    assert not re.search(r"[\x00-\x1f\x7f]", message)


@pytest.mark.parametrize(
    "name",
    [
        "Game/CON",
        "Game/con.txt",
        "Game/Binaries/NUL.tar.gz",
        "Game/Aux/x.dll",
        "Game/COM1.log",
        "lpt9",
        "Game/a:b",
        "Game/notes.",
        "Game/notes ",
        "Game/Saved./x.ini",
        "Game/Saved /x.ini",
        "Game\\Saved.\\x.ini",
        "Game/...",
    ],
)
def test_names_windows_cannot_create_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ArchiveError, match="Windows") as info:
        verify_quick(_zip(tmp_path / "x.zip", ["Game/Game.exe", name]))
    assert repr(name) in str(info.value)


def test_dots_and_spaces_inside_names_pass(tmp_path: Path) -> None:
    names = ["Game/Game.exe", "Game/v1.2 final/a.dll", "Game/.config", "Game/a..b.dll", "./Game/./x.dll", "Game/ x"]
    assert verify_quick(_zip(tmp_path / "x.zip", names)).entries == len(names)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Game/Binaries/a.dll", "Game\\Binaries\\a.dll"),
        ("Game/Binaries/a.dll", "./Game/Binaries/a.dll"),
        ("Game/Binaries/a.dll", "Game/./Binaries/A.DLL"),
        ("Game/Binaries/a.dll", "Game//Binaries/a.dll"),
    ],
)
def test_names_that_collide_on_windows_are_refused(tmp_path: Path, first: str, second: str) -> None:
    with pytest.raises(ArchiveError, match="twice") as info:
        verify_quick(_zip(tmp_path / "x.zip", ["Game/Game.exe", first, second]))
    assert repr(second) in str(info.value)


def test_a_65535_entry_zip_from_pythons_zipfile_passes(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        for i in range(65_534):
            zf.writestr(f"Game/Content/{i:05}.uasset", b"")
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 65_535
    assert path.read_bytes()[-22:][8:12] == b"\xff\xff\xff\xff"  # both counts 0xFFFF, no ZIP64 records
    assert verify_quick(path).entries == 65_535


def test_extreme_compression_ratio_warns(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        zf.writestr("Game/Content/zeros.bin", bytes(64 << 20))
        zf.writestr("Game/Content/small-zeros.bin", bytes(1 << 20))  # a high ratio, but small: no warning
    report = verify_quick(path)
    bombs = [w for w in report.warnings if "compression ratio" in w]
    assert len(bombs) == 1 and "'Game/Content/zeros.bin'" in bombs[0] and "1000:1" in bombs[0]


def _declared_zip(path: Path, entries: list[tuple[bytes, int, int]]) -> Path:
    """Deflated entries whose directory declares (name, compressed, uncompressed) sizes, ZIP64 where needed."""
    with path.open("wb") as fh:
        central = b""
        for name, csize, usize in entries:
            local, record = zip64_entry(name, 8, csize, usize, fh.tell())
            fh.write(local)
            fh.write(zlib.compress(b"", 1)[2:-4].ljust(csize, b"\0"))
            central += record
        cd_offset = fh.tell()
        fh.write(central)
        n = len(entries)
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_offset, 0))
    return path


def test_total_uncompressed_size_past_the_soft_limit_warns(tmp_path: Path) -> None:
    path = _declared_zip(
        tmp_path / "big.zip",
        [
            (b"Game/Game.exe", 100, 200),
            (b"Game/a.pak", 40 << 20, 13 * 1000**3),
            (b"Game/b.pak", 40 << 20, 13 * 1000**3),
        ],
    )
    report = verify_quick(path)
    assert path.stat().st_size < 100 << 20
    assert any("26.0 GB uncompressed" in w and "24 GB" in w for w in report.warnings)
    assert not any("compression ratio" in w for w in report.warnings)  # 13 GB / 40 MiB is about 310:1


def test_standard_writers_still_pass(tmp_path: Path) -> None:
    """Folders, UTF-8 names, a data descriptor (streamed writes) and an empty file: all fine."""
    path = tmp_path / "ok.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Game/", b"")
        zf.writestr("Game/Game.exe", b"MZ" * 1000)
        zf.writestr("Game/Content/Übersetzung.locres", "Grüße".encode())
        with zf.open("Game/Content/streamed.bin", "w") as fh:
            fh.write(b"x" * 10_000)
        zf.writestr("Game/empty.txt", b"")
    report = verify(path, "full")
    assert report is not None and report.entries == 4 and report.warnings == []
