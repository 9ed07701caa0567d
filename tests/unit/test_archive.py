from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from streampixel_deploy.archive import verify_quick
from streampixel_deploy.errors import ArchiveError
from streampixel_deploy.samplebuild import make_build_zip


def _zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, b"data")
    return path


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
