"""What changed between the live build and the one being deployed: files added, removed and changed.

Plain data and one pure function (:func:`diff`), a leaf like :mod:`.models` (it imports nothing else from the
package but :mod:`.jsonshape`). The listings come from the two zips' central directories (``build/remote.py``
reads the live one with HTTP Range requests): a file is changed when its CRC-32 or its size differs. Sizes are
the files' own (uncompressed) sizes. Folders (names ending in ``/``) are not files and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streampixel_deploy.core.jsonshape import camel_fields

#: Entries of each kind kept in ``--json`` (the counts are always whole).
JSON_LIMIT = 1000
#: The top-level folder of files at the root of the zip.
ROOT = ""


@dataclass(frozen=True)
class Entry:
    """One file of a zip as its central directory lists it."""

    name: str
    crc: int
    size: int


@dataclass(frozen=True)
class Change:
    """A file added (``old_size`` None), removed (``new_size`` None) or changed."""

    name: str
    old_size: int | None
    new_size: int | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "oldBytes": self.old_size, "newBytes": self.new_size}


@dataclass(frozen=True)
class FolderChange:
    """A top-level folder's part of the change (``ROOT`` for the files at the root)."""

    name: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    old_bytes: int = 0
    new_bytes: int = 0

    @property
    def delta(self) -> int:
        return self.new_bytes - self.old_bytes

    def to_json(self) -> dict[str, Any]:
        return {**camel_fields(self), "deltaBytes": self.delta}


@dataclass(frozen=True)
class BuildChanges:
    """The comparison with the live build (``against``), or why none was possible (``problem``).

    ``fetched_bytes`` and ``requests``: what reading the live build's central directory took.
    """

    against: str
    fetched_bytes: int = 0
    requests: int = 0
    problem: str | None = None
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    unchanged: int = 0
    folders: tuple[FolderChange, ...] = field(default=())

    @property
    def compared(self) -> bool:
        return self.problem is None

    @property
    def delta(self) -> int:
        return sum(f.delta for f in self.folders)

    def to_json(self) -> dict[str, Any]:
        """The ``changes`` key of ``--json``: counts in full, at most :data:`JSON_LIMIT` entries of each kind."""
        base: dict[str, Any] = {
            "against": self.against,
            "compared": self.compared,
            "fetchedBytes": self.fetched_bytes,
            "requests": self.requests,
        }
        if self.problem is not None:
            return {**base, "problem": self.problem}
        return {
            **base,
            "counts": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "unchanged": self.unchanged,
            },
            "deltaBytes": self.delta,
            "added": [c.to_json() for c in self.added[:JSON_LIMIT]],
            "removed": [c.to_json() for c in self.removed[:JSON_LIMIT]],
            "changed": [c.to_json() for c in self.changed[:JSON_LIMIT]],
            "folders": [f.to_json() for f in self.folders],
        }


def top_folder(name: str) -> str:
    """The top-level folder of an entry (``\\`` read as ``/``), ``ROOT`` for a file at the root."""
    head, sep, _rest = name.replace("\\", "/").lstrip("/").partition("/")
    return head if sep else ROOT


def diff(
    old: Iterable[Entry], new: Iterable[Entry], against: str, fetched_bytes: int = 0, requests: int = 0
) -> BuildChanges:
    """Compare the live build's files (``old``) with the new build's: by name, then CRC-32 and size.

    Lists are sorted by name; folders by the size of their change (largest first), then by name.
    """
    before = {e.name: e for e in old if not e.name.endswith(("/", "\\"))}
    after = {e.name: e for e in new if not e.name.endswith(("/", "\\"))}
    added, removed, changed = [], [], []
    unchanged = 0
    folders: dict[str, dict[str, int]] = {}

    def folder(name: str) -> dict[str, int]:
        key = top_folder(name)
        if key not in folders:
            folders[key] = dict.fromkeys(("added", "removed", "changed", "old_bytes", "new_bytes"), 0)
        return folders[key]

    for name, entry in after.items():
        was = before.get(name)
        tally = folder(name)
        tally["new_bytes"] += entry.size
        if was is None:
            added.append(Change(name, None, entry.size))
            tally["added"] += 1
            continue
        tally["old_bytes"] += was.size
        if was.crc != entry.crc or was.size != entry.size:
            changed.append(Change(name, was.size, entry.size))
            tally["changed"] += 1
        else:
            unchanged += 1
    for name, was in before.items():
        if name not in after:
            removed.append(Change(name, was.size, None))
            tally = folder(name)
            tally["removed"] += 1
            tally["old_bytes"] += was.size
    rows = [FolderChange(name, **counts) for name, counts in folders.items()]
    touched = [f for f in rows if f.added or f.removed or f.changed]
    touched.sort(key=lambda f: (-abs(f.delta), f.name))
    return BuildChanges(
        against=against,
        fetched_bytes=fetched_bytes,
        requests=requests,
        added=tuple(sorted(added, key=lambda c: c.name)),
        removed=tuple(sorted(removed, key=lambda c: c.name)),
        changed=tuple(sorted(changed, key=lambda c: c.name)),
        unchanged=unchanged,
        folders=tuple(touched),
    )


def unavailable(against: str, problem: str, fetched_bytes: int = 0, requests: int = 0) -> BuildChanges:
    """No comparison was possible: ``problem`` says why (already free of secrets)."""
    return BuildChanges(against=against, fetched_bytes=fetched_bytes, requests=requests, problem=problem)
