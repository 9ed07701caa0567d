from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from streampixel_deploy.build import packaging, zipformat
from streampixel_deploy.build.archive import verify_quick
from streampixel_deploy.build.crc import crc32_combine
from streampixel_deploy.build.packaging import native_path, package_dir
from streampixel_deploy.build.sample import make_build_dir
from streampixel_deploy.core.errors import ArchiveError, ref
from streampixel_deploy.core.progress import NullReporter


class Progress(NullReporter):
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None, str]] = []

    def progress(self, done: int, total: int | None, label: str) -> None:
        self.calls.append((done, total, label))


def _tree(tmp_path: Path) -> Path:
    top = make_build_dir(tmp_path / "src", pak_bytes=3 << 20)
    rng = random.Random(3)  # noqa: S311 - test data
    code = b"".join(
        rng.choice([b"mov eax, ebx\n", b"call 0x401000\n", b"\x00\x00\x00\x00", b"ret\n"]) for _ in range(400_000)
    )
    (top / "MyGame/Binaries/Win64/Big-Win64-Shipping.dll").write_bytes(code)  # several chunks, compressible
    (top / "MyGame/Content/Movies").mkdir(parents=True)
    (top / "MyGame/Saved").mkdir(parents=True)
    (top / "MyGame/Content/Localization").mkdir(parents=True)
    (top / "MyGame/Content/Movies/Intro.bk2").write_bytes(rng.randbytes(300_000))
    (top / "MyGame/Saved/noise.bin").write_bytes(rng.randbytes(5000))  # incompressible, not a known suffix
    (top / "MyGame/Content/Localization/Übersetzung.locres").write_bytes("Grüße\n".encode() * 100)
    (top / "MyGame/empty.txt").write_bytes(b"")
    return top


def _files(top: Path) -> dict[str, bytes]:
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


def test_round_trip_and_digest(tmp_path: Path) -> None:
    top = _tree(tmp_path)
    dest = tmp_path / "out.zip"
    reporter = Progress()
    packed = package_dir(top, dest, reporter, chunk_size=256 * 1024)

    assert packed.sha256 == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert packed.size_bytes == dest.stat().st_size
    expected = _files(top)
    assert packed.entries == len(expected)
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None  # every CRC, including those combined from chunks
        assert sorted(zf.namelist()) == sorted(expected)
        for name, data in expected.items():
            assert zf.read(name) == data, name
        infos = {i.filename: i for i in zf.infolist()}
    assert infos["MyGame/Content/Paks/MyGame-Windows.pak"].compress_type == zipfile.ZIP_STORED
    assert infos["MyGame/Content/Movies/Intro.bk2"].compress_type == zipfile.ZIP_STORED
    assert infos["MyGame/Binaries/Win64/Big-Win64-Shipping.dll"].compress_type == zipfile.ZIP_DEFLATED
    big = infos["MyGame/Binaries/Win64/Big-Win64-Shipping.dll"]
    assert big.compress_size < big.file_size / 3
    assert infos["MyGame/Saved/noise.bin"].compress_type == zipfile.ZIP_STORED  # deflate would not help
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values())
    assert all((i.external_attr >> 16) == 0o100644 for i in infos.values())
    assert reporter.calls[-1] == (sum(len(d) for d in expected.values()),) * 2 + ("package",)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == packed.sha256  # hosting trusts it: no second read
    assert dest.stat().st_size == packed.size_bytes
    verify_quick(dest)


def test_bytes_a_text_mode_read_would_change_are_packaged_as_they_are(tmp_path: Path) -> None:
    """Windows opens a descriptor in text mode unless told O_BINARY: CR LF came back as LF and Ctrl-Z (0x1A) ended
    the read, so real builds failed with "changed while it was being zipped" (issue 24)."""
    top = _linked_tree(tmp_path)
    payloads = {
        "MyGame/crlf.ini": b"[Section]\r\nKey=Value\r\n" * 100,
        "MyGame/ctrl-z.bin": b"head\x1atail\n" * 100,
        "MyGame/Binaries/Win64/mixed.dll": b"\r\n\x1a\n\r\x00\x1a\x1a\n\n" * 40_000,  # several chunks
    }
    for rel, data in payloads.items():
        (top / rel).write_bytes(data)
    dest = tmp_path / "out.zip"
    package_dir(top, dest, NullReporter(), chunk_size=64 * 1024)
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        for rel, data in payloads.items():
            assert zf.read(rel) == data, rel


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed")
def test_info_zip_accepts_it(tmp_path: Path) -> None:
    dest = tmp_path / "out.zip"
    package_dir(_tree(tmp_path), dest, NullReporter(), chunk_size=256 * 1024)
    result = subprocess.run(["unzip", "-t", str(dest)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def test_same_folder_same_sha256(tmp_path: Path) -> None:
    top = _tree(tmp_path)
    first = package_dir(top, tmp_path / "a.zip", NullReporter(), workers=1)
    for path in top.rglob("*"):  # new timestamps and permissions change nothing
        os.utime(path, (1_700_000_000, 1_700_000_000))
        if path.is_file():
            path.chmod(0o755)
    copy = tmp_path / "copy" / top.name
    shutil.copytree(top, copy)  # neither does the folder's location or the order files were created in
    second = package_dir(copy, tmp_path / "b.zip", NullReporter(), workers=4)
    assert first.sha256 == second.sha256
    (copy / "MyGame/Config/DefaultGame.ini").write_bytes(b"changed")
    assert package_dir(copy, tmp_path / "c.zip", NullReporter()).sha256 != first.sha256


def test_zip64_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries from the ZIP64 threshold on get ZIP64 sizes (lowered here so that the test stays small)."""
    monkeypatch.setattr(packaging, "_ZIP64_ENTRY", 1 << 20)
    top = _tree(tmp_path)
    dest = tmp_path / "out.zip"
    package_dir(top, dest, NullReporter(), chunk_size=512 * 1024)
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        assert (
            zf.read("MyGame/Content/Paks/MyGame-Windows.pak")
            == (top / "MyGame/Content/Paks/MyGame-Windows.pak").read_bytes()
        )
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(dest)], capture_output=True, check=False).returncode == 0


def test_zip64_end_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 65,535 entries the count lives in the ZIP64 end record (threshold lowered to keep the test small)."""
    monkeypatch.setattr(zipformat, "ZIP64_COUNT", 5)
    top = _tree(tmp_path)
    dest = tmp_path / "out.zip"
    packed = package_dir(top, dest, NullReporter())
    assert dest.read_bytes().find(b"PK\x06\x06") > 0  # the ZIP64 end record is there
    assert verify_quick(dest).entries == packed.entries
    with zipfile.ZipFile(dest) as zf:
        assert len(zf.infolist()) == packed.entries
        assert zf.testzip() is None
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(dest)], capture_output=True, check=False).returncode == 0


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match="holds no files"):
        package_dir(tmp_path / "empty", tmp_path / "out.zip", NullReporter())
    assert not (tmp_path / "out.zip").exists()


def test_crc32_combine_matches_zlib() -> None:
    import zlib

    rng = random.Random(5)  # noqa: S311 - test data
    a, b = rng.randbytes(100_000), rng.randbytes(77_777)
    combined = crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b))
    assert combined == zlib.crc32(a + b)


# -- links and names (issue 10, "Build folders") -----------------------------------------------------------


def _linked_tree(tmp_path: Path) -> Path:
    return make_build_dir(tmp_path / "src", pak_bytes=4096)


def _links_work() -> bool:
    """Whether links can be made here: Windows needs Developer Mode or a privilege, Wine reports one made and makes
    none."""
    with tempfile.TemporaryDirectory() as folder:
        link = Path(folder, "link")
        try:
            link.symlink_to(folder, target_is_directory=True)
        except (OSError, NotImplementedError):
            return False
        return link.is_symlink()


needs_links = pytest.mark.skipif(
    not _links_work(), reason="symbolic links cannot be made here (Windows without Developer Mode, or Wine)"
)


@needs_links
def test_link_to_a_file_outside_is_refused(tmp_path: Path) -> None:
    top = _linked_tree(tmp_path)
    secret = tmp_path / "credentials"
    secret.write_text("[default]\naws_secret_access_key = hunter2\n")
    (top / "MyGame/Saved.ini").symlink_to(secret)
    dest = tmp_path / "out.zip"
    with pytest.raises(ArchiveError, match="outside") as info:
        package_dir(top, dest, NullReporter())
    assert "'MyGame/Saved.ini'" in str(info.value) and str(secret) in str(info.value)
    assert str(info.value).startswith(ref("build-dir")) and info.value.exit_code == 2
    assert not dest.exists()


@needs_links
def test_link_to_a_folder_outside_is_refused(tmp_path: Path) -> None:
    top = _linked_tree(tmp_path)
    cache = tmp_path / "cache/Content"
    cache.mkdir(parents=True)
    (cache / "Extra.pak").write_bytes(b"pak")
    (top / "MyGame/Movies").symlink_to(cache, target_is_directory=True)
    with pytest.raises(ArchiveError, match=re.escape("'MyGame/Movies'") + ".*outside"):
        package_dir(top, tmp_path / "out.zip", NullReporter())


@needs_links
def test_links_inside_the_folder_are_packaged_as_their_targets(tmp_path: Path) -> None:
    top = _linked_tree(tmp_path)
    shared = top / "Shared/Content"
    shared.mkdir(parents=True)
    (shared / "Extra.pak").write_bytes(b"pak" * 100)
    (top / "MyGame/Movies").symlink_to("../Shared/Content", target_is_directory=True)  # relative, inside
    (top / "MyGame/Game.ini").symlink_to(top / "MyGame/Config/DefaultGame.ini")  # absolute, inside
    dest = tmp_path / "out.zip"
    package_dir(top, dest, NullReporter())
    with zipfile.ZipFile(dest) as zf:
        assert zf.read("MyGame/Movies/Extra.pak") == b"pak" * 100
        assert zf.read("MyGame/Game.ini") == (top / "MyGame/Config/DefaultGame.ini").read_bytes()
        assert all(not (i.external_attr >> 16) & 0o020000 for i in zf.infolist())  # no link entries


@needs_links
@pytest.mark.parametrize("target", ["..", ".", "loop"])
def test_link_loops_are_refused(tmp_path: Path, target: str) -> None:
    top = _linked_tree(tmp_path)
    (top / "MyGame/loop").symlink_to(target, target_is_directory=True)
    with pytest.raises(ArchiveError, match=re.escape("'MyGame/loop'") + ".*loop"):
        package_dir(top, tmp_path / "out.zip", NullReporter())


@needs_links
def test_dangling_link_is_refused(tmp_path: Path) -> None:
    top = _linked_tree(tmp_path)
    (top / "MyGame/gone.dll").symlink_to(top / "nowhere.dll")
    with pytest.raises(ArchiveError, match=re.escape("'MyGame/gone.dll'") + ".*does not exist"):
        package_dir(top, tmp_path / "out.zip", NullReporter())


@pytest.mark.skipif(
    sys.platform == "win32", reason="Windows names are UTF-16: a name in bytes of another encoding cannot be made"
)
def test_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    top = _linked_tree(tmp_path)
    raw = os.fsencode(top / "MyGame") + b"/caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    with pytest.raises(ArchiveError, match=re.escape(r"'MyGame/caf\udce9.txt'") + ".*not valid UTF-8"):
        package_dir(top, tmp_path / "out.zip", NullReporter())


@pytest.mark.parametrize(
    "name",
    [
        "CON.txt",
        pytest.param(
            "a:b.txt",
            marks=pytest.mark.skipif(
                sys.platform == "win32", reason="on Windows 'a:b.txt' is the stream 'b.txt' of 'a'"
            ),
        ),
        pytest.param(
            "tab\there.txt",
            marks=pytest.mark.skipif(sys.platform == "win32", reason="Windows file systems refuse a tab in a name"),
        ),
        "notes.",
        "notes ",
        "Saved./x.ini",
        "Saved /x.ini",
    ],
)
def test_names_windows_cannot_create_are_refused(tmp_path: Path, name: str) -> None:
    top = _linked_tree(tmp_path)
    path = Path(native_path(str(top))).joinpath("MyGame", *name.split("/"))  # as named, on Windows too
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    dest = tmp_path / "out.zip"
    with pytest.raises(ArchiveError, match=r"Windows|control character") as info:
        package_dir(top, dest, NullReporter())
    message = str(info.value)
    assert message.startswith(ref("build-dir")) and repr(f"MyGame/{name}") in message
    assert message.endswith("Rename it.") and info.value.exit_code == 2
    assert not dest.exists()


def test_native_path_gives_windows_the_long_path_form() -> None:
    assert native_path("C:\\b\\MyGame", windows=True) == "\\\\?\\C:\\b\\MyGame"
    assert native_path("C:/b/MyGame", windows=True) == "\\\\?\\C:\\b\\MyGame"
    assert native_path("\\\\server\\share\\b", windows=True) == "\\\\?\\UNC\\server\\share\\b"
    assert native_path("\\\\?\\C:\\b", windows=True) == "\\\\?\\C:\\b"
    assert native_path("build/MyGame", windows=False) == "build/MyGame"
