"""Hostile inputs end to end (issue 10): refused with exit 2 before anything is uploaded or submitted."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any

from streampixel_deploy.build.sample import make_build_dir
from streampixel_deploy.emulator import Emulator


def test_build_dir_with_a_link_outside_is_refused_before_upload(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = hunter2\n")
    (folder / "MyGame/Saved.ini").symlink_to(secret)
    emu.clear_requests()
    run = cli("deploy", "--build-dir", str(folder))
    assert run.code == 2, run.err
    assert "'build-dir' (--build-dir)" in run.err and "'MyGame/Saved.ini'" in run.err and str(secret) in run.err
    assert all(r["method"] == "GET" for r in emu.requests())  # the project was read; nothing was sent


def test_zip_whose_end_record_hides_an_entry_is_refused(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "Game.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ")
        zf.writestr("../evil.dll", b"MZ")
    data = bytearray(path.read_bytes())
    struct.pack_into("<HH", data, data.rfind(b"PK\x05\x06") + 8, 1, 1)
    path.write_bytes(bytes(data))
    emu.clear_requests()
    run = cli("deploy", "--zip-path", str(path), "--verify-archive", "full")
    assert run.code == 2, run.err
    assert "'zip-path' (--zip-path) 'Game.zip'" in run.err and "directory holds more" in run.err
    assert emu.requests() == []


def test_build_dir_names_that_collide_on_windows_are_refused_before_upload(
    cli: Any, emu: Emulator, tmp_path: Path
) -> None:
    # Streampixel extracts on Windows: 'Config.ini' and 'config.INI' would be one file there.
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    (folder / "MyGame/Config.ini").write_text("a")
    (folder / "MyGame/config.INI").write_text("b")
    emu.clear_requests()
    run = cli("deploy", "--build-dir", str(folder))
    assert run.code == 2, run.err
    assert "'build-dir' (--build-dir)" in run.err
    assert "'MyGame/Config.ini'" in run.err and "'MyGame/config.INI'" in run.err and "case" in run.err
    assert all(r["method"] == "GET" for r in emu.requests())


def test_build_dir_name_with_a_backslash_is_refused_before_upload(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    # A Linux file name may hold '\'; unzipped on Windows it becomes a folder separator.
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    (folder / "MyGame/Saved\\Config.ini").write_text("a")
    emu.clear_requests()
    run = cli("deploy", "--build-dir", str(folder))
    assert run.code == 2, run.err
    assert "'build-dir' (--build-dir)" in run.err and "backslash" in run.err
    assert all(r["method"] == "GET" for r in emu.requests())
