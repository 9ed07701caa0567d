"""build-dir-exclude mistakes (issue 28): a pattern that leaves out the game's .exe is blamed by name (the setting and
the pattern), not 'build-dir', before anything is uploaded; a pattern that matches nothing (most often a typo) is
warned about, naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streampixel_deploy.build.sample import make_build_dir
from streampixel_deploy.emulator import Emulator

EXCLUDE = "'build-dir-exclude' (--build-dir-exclude)"


def test_a_pattern_that_leaves_out_the_exe_is_named(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    emu.clear_requests()
    run = cli("deploy", "--build-dir", str(folder), "--wait", "false", "--build-dir-exclude", "**/*.pdb\n*.exe")
    assert run.code == 2, run.err
    assert EXCLUDE in run.err and "'*.exe'" in run.err and "MyGame.exe" in run.err, run.err
    assert "'build-dir' (--build-dir)" not in run.err, run.err
    assert "Packaged" not in run.err  # refused before the zip was written
    assert all(r["method"] == "GET" for r in emu.requests())  # nothing submitted


def test_a_folder_pattern_that_holds_the_exe_is_named_too(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    root = tmp_path / "build"
    folder = make_build_dir(root, pak_bytes=1024)
    (folder / "MyGame.exe").rename(folder / "MyGame" / "MyGame.exe")  # the exe inside one top-level folder
    run = cli("deploy", "--build-dir", str(folder), "--wait", "false", "--build-dir-exclude", "mygame/")
    assert run.code == 2, run.err
    assert EXCLUDE in run.err and "'mygame/'" in run.err and "MyGame/MyGame.exe" in run.err, run.err


def test_a_pattern_that_matches_nothing_is_warned_about(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    folder = make_build_dir(tmp_path / "build", pak_bytes=1024)
    (folder / "MyGame/MyGame-Win64-Shipping.pdb").write_bytes(b"\0" * 8192)
    exclude = "**/*.pdb\n**/*.pbd"  # the second one is a typo
    run = cli("deploy", "--build-dir", str(folder), "--wait", "false", "--build-dir-exclude", exclude, "--json")
    assert run.code == 0, run.err
    assert "1 path(s) left out by build-dir-exclude" in run.err
    warned = [line for line in run.err.splitlines() if "matched nothing" in line]
    assert len(warned) == 1 and "'**/*.pbd'" in warned[0] and EXCLUDE in warned[0], run.err
    assert json.loads(run.out)["result"] == "submitted"
