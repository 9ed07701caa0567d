"""The ``build-dir-exclude`` patterns of a packaging run (build/packaging.py), each tested on its own so that a
message can name the one at fault: a pattern that leaves out the game's executable is refused before anything is
written or uploaded (the archive check would blame the folder), one that matches nothing is warned of (a typo)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streampixel_deploy.build.archive import folder_executables
from streampixel_deploy.build.zipformat import Member
from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.patterns import path_matcher
from streampixel_deploy.core.progress import Reporter


class Exclusions:
    """The ``build-dir-exclude`` patterns, each tested on its own so that a message can name the one at fault."""

    def __init__(self, patterns: Sequence[str], label: str) -> None:
        self.label = label
        self._tests = [(p, path_matcher([p], "build-dir-exclude", label)) for p in patterns]
        self._used: set[str] = set()

    def excluded(self, rel: str) -> bool:
        hits = [pattern for pattern, test in self._tests if test(rel)]
        self._used.update(hits)
        return bool(hits)

    def check(self, build_dir: Path, entries: list[Member], reporter: Reporter, require_exe: bool) -> None:
        """After the scan: InputError when the patterns left out every executable Streampixel looks for (the archive
        check would blame the folder); a warning for each pattern that matched nothing, most often a typo."""
        kept = [e.name for e in entries if e.name.lower().endswith(b".exe") and e.name.count(b"/") <= 1]
        if require_exe and self._tests and not kept:
            for exe in folder_executables(build_dir):
                folder = exe.partition("/")[0] + "/" if "/" in exe else None
                culprit = next((p for p, test in self._tests if test(exe) or (folder and test(folder))), None)
                if culprit is not None:
                    raise InputError(
                        f"{self.label}: the pattern {culprit!r} leaves out {exe!r}, the game's executable, and "
                        "Streampixel rejects a build without it. Narrow the pattern (for example '**/*.pdb' leaves "
                        "out only debug symbols) and run again.",
                        "build-dir-exclude",
                    )
        for pattern, _test in self._tests:
            if pattern not in self._used:
                reporter.warning(
                    f"{self.label}: the pattern {pattern!r} matched nothing in {build_dir}; check it for a typo "
                    "(paths relative to the build folder, '/' between folders, case ignored).",
                    "Exclude pattern matched nothing",
                )
