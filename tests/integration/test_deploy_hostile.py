"""Hostile inputs end to end (issue 10): refused with exit 2 before anything is uploaded or submitted."""

from __future__ import annotations

import json
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


def test_build_dir_exclude_leaves_debug_symbols_out(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    (folder / "MyGame/MyGame-Win64-Shipping.pdb").write_bytes(b"\0" * 8192)
    (folder / "MyGame/Saved/Logs").mkdir(parents=True)
    (folder / "MyGame/Saved/Logs/MyGame.log").write_text("log")
    with_symbols = cli("deploy", "--build-dir", str(folder), "--wait", "false", "--json")
    assert with_symbols.code == 0, with_symbols.err
    kinds = [s["kind"] for s in json.loads(with_symbols.out)["buildSize"]["suspects"]]
    assert kinds == ["debug symbols", "logs"] and "**/*.pdb" in with_symbols.err
    exclude = "**/*.pdb\nMyGame/Saved/**"  # newline-separated, as a multi-line action input
    run = cli("deploy", "--build-dir", str(folder), "--wait", "false", "--build-dir-exclude", exclude, "--json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["buildSize"]["suspects"] == [] and "2 path(s) left out by build-dir-exclude" in run.err
    assert result["sha256"] != json.loads(with_symbols.out)["sha256"]
