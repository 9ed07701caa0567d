"""What a build's zip is made of: bytes by top-level folder, the largest files, and what packaged UE builds
commonly carry by mistake (debug symbols, crash dumps, logs), from the central directory the quick check reads.

Sizes are the bytes in the zip (compressed): what is uploaded and what Streampixel downloads.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

#: How many folders and files the report keeps (the rest is summed as "other").
TOP_FOLDERS = 8
TOP_FILES = 5

#: (kind, why it is flagged, what to do, pattern over the '/'-separated, lowercased names, one per line).
_SUSPECTS: tuple[tuple[str, str, str, re.Pattern[str]], ...] = (
    (
        "debug symbols",
        "debug symbols (.pdb and the like) are only needed to read crash dumps",
        "leave them out: Project Settings -> Packaging -> 'Include Debug Files in Shipping Builds' off, or "
        "exclude them from build-dir with the pattern **/*.pdb",
        re.compile(r"\.(?:pdb|debug|sym|dsym|map)$", re.MULTILINE),
    ),
    (
        "crash dumps",
        "crash reports and minidumps from test runs of the build",
        "delete Saved/Crashes before packaging, or exclude **/Saved/Crashes/**",
        re.compile(r"(?:^|/)saved/crashes/|\.(?:dmp|mdmp)$", re.MULTILINE),
    ),
    (
        "logs",
        "logs written by test runs of the build",
        "delete Saved/Logs before packaging, or exclude **/Saved/Logs/** and **/*.log",
        re.compile(r"(?:^|/)saved/logs/|\.log$", re.MULTILINE),
    ),
)


#: Over "\n" + the names joined by "\n" (a literal first: the search skips ahead at C speed).
_TOP = re.compile(r"\n([^/\n]*/?)")
_FOLDER_ENTRY = re.compile(r"\n([^\n]*/)(?=\n)")


#: Literals one of which a name must hold to match the kind's pattern.
_HINTS = {
    "debug symbols": (".pdb", ".debug", ".sym", ".dsym", ".map"),
    "crash dumps": ("saved/crashes/", ".dmp", ".mdmp"),
    "logs": ("saved/logs/", ".log"),
}


@dataclass
class Suspect:
    kind: str
    why: str
    fix: str
    files: int = 0
    bytes: int = 0
    example: str = ""


@dataclass
class SizeReport:
    total_bytes: int
    folders: list[tuple[str, int, int]]  # (top-level folder or file, bytes, files), largest first
    largest: list[tuple[str, int]]  # (name, bytes), largest first
    suspects: list[Suspect] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "totalBytes": self.total_bytes,
            "folders": [{"name": n, "bytes": b, "files": f} for n, b, f in self.folders],
            "largestFiles": [{"name": n, "bytes": b} for n, b in self.largest],
            "suspects": [
                {"kind": s.kind, "files": s.files, "bytes": s.bytes, "example": s.example, "fix": s.fix}
                for s in self.suspects
            ],
        }


def size_report(names: list[str], sizes: list[int]) -> SizeReport:
    """The report for entries ``names`` (folders end in '/') of ``sizes`` bytes each in the zip.

    One pass for the folders; the suspects are searched in all names at once (C speed), then summed.
    """
    blob = "\n" + "\n".join(names).replace("\\", "/")
    if blob.count("\n") != len(names):  # a name with a line break (the checks refuse it): one at a time
        blob = "\n" + "\n".join(name.replace("\\", "/").replace("\n", " ") for name in names)
    tops = _TOP.findall(blob)
    folders: dict[str, list[int]] = {}
    for top, size in zip(tops, sizes, strict=True):
        totals = folders.get(top)
        if totals is None:
            folders[top] = [size, 0]
        else:
            totals[0] += size
    for top, count in collections.Counter(tops).items():
        folders[top][1] = count
    if "/\n" in blob + "\n":  # folder entries are not files
        for folder in _FOLDER_ENTRY.findall(blob + "\n"):
            folders[folder.partition("/")[0] + "/"][1] -= 1
    ranked = sorted(((name, b, n) for name, (b, n) in folders.items() if n), key=lambda item: (-item[1], item[0]))
    if len(ranked) > TOP_FOLDERS:
        rest = ranked[TOP_FOLDERS - 1 :]
        others = (f"({len(rest)} others)", sum(b for _, b, _ in rest), sum(n for *_, n in rest))
        ranked = [*ranked[: TOP_FOLDERS - 1], others]
    return SizeReport(
        total_bytes=sum(sizes),
        folders=ranked,
        largest=_largest(names, sizes),
        suspects=_suspects(names, sizes),
    )


def _largest(names: list[str], sizes: list[int]) -> list[tuple[str, int]]:
    """The ``TOP_FILES`` largest files: the threshold from sorted sizes (C speed), then the few that reach it."""
    if not sizes:
        return []
    threshold = sorted(sizes)[-min(TOP_FILES, len(sizes))]
    chosen = [(size, i) for i, size in enumerate(sizes) if size >= threshold and not names[i].endswith("/")]
    return [(names[i], size) for size, i in heapq.nlargest(TOP_FILES, chosen)]


def _suspects(names: list[str], sizes: list[int]) -> list[Suspect]:
    blob = "\n".join(names).lower().replace("\\", "/")
    if blob.count("\n") != max(0, len(names) - 1):  # a name with a line break (refused by the checks anyway)
        return []
    starts: list[int] = []  # where each name starts in blob, once a kind's literal is found
    found: list[Suspect] = []
    taken: set[int] = set()
    for kind, why, fix, pattern in _SUSPECTS:
        if not any(hint in blob for hint in _HINTS[kind]):  # most builds: a few substring searches, no regex
            continue
        suspect = Suspect(kind, why, fix)
        starts = starts or list(itertools.accumulate(map((1).__add__, map(len, blob.split("\n"))), initial=0))
        for match in pattern.finditer(blob):
            index = bisect.bisect_right(starts, match.start()) - 1
            if index in taken or names[index].endswith("/"):
                continue
            taken.add(index)
            suspect.files += 1
            suspect.bytes += sizes[index]
            suspect.example = suspect.example or names[index]
        if suspect.files:
            found.append(suspect)
    return found
