"""build-dir-exclude patterns (issue 14, part 3): '*' inside a folder, '**' across folders, case ignored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.patterns import path_matcher


def _matcher(*patterns: str) -> Callable[[str], bool]:
    return path_matcher(patterns, "build-dir-exclude", "'build-dir-exclude' (--build-dir-exclude)")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.pdb", "MyGame/Binaries/Win64/Game.pdb", True),
        ("**/*.pdb", "Game.PDB", True),
        ("**/*.pdb", "MyGame/Binaries/Game.pdb.txt", False),
        ("*.pdb", "MyGame/Game.pdb", False),  # '*' stays in one folder
        ("*.pdb", "Game.pdb", True),
        ("MyGame/Saved/**", "MyGame/Saved/Logs/a.log", True),
        ("MyGame/Saved/**", "MyGame/Saved/", True),  # the folder itself: not even scanned
        ("MyGame/Saved/**", "MyGame/SavedGames/a.sav", False),
        ("**/Saved/Crashes/**", "MyGame/Saved/Crashes/UECC/minidump.dmp", True),
        ("./Manifest_*.txt", "Manifest_DebugFiles_Win64.txt", True),
        ("Game?.ini", "Game1.ini", True),
        ("Game?.ini", "Game/.ini", False),
        ("a+b(1).txt", "a+b(1).txt", True),  # regex characters are literal
    ],
)
def test_pattern(pattern: str, path: str, matches: bool) -> None:
    assert _matcher(pattern)(path) is matches


def test_several_patterns_and_none() -> None:
    assert _matcher("**/*.pdb", "**/*.log")("a/b.log")
    assert not _matcher()("anything")


@pytest.mark.parametrize("pattern", ["/etc/**", "C:/x/*", "../*.pdb", "a/../../b", "MyGame\\Saved\\**", " "])
def test_patterns_that_cannot_name_a_file_inside_are_refused(pattern: str) -> None:
    with pytest.raises(InputError, match=r"'build-dir-exclude' \(--build-dir-exclude\).*relative") as info:
        _matcher(pattern)
    assert info.value.setting == "build-dir-exclude"
