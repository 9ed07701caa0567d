"""Local checks of a build archive, from the zip's central directory only (cost independent of size)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ArchiveError

#: Streampixel's documented soft limit (support can raise it).
SOFT_LIMIT_BYTES = 24 * 1000**3


@dataclass
class ArchiveReport:
    path: Path
    size_bytes: int
    entries: int
    executables: list[str]
    warnings: list[str] = field(default_factory=list)


def verify_quick(path: Path, setting: str = "'zip-path' (--zip-path)") -> ArchiveReport:
    """Check that ``path`` is a zip Streampixel would accept; raise ArchiveError naming the problem."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise ArchiveError(
            f"{setting} {path.name!r} is not a valid zip archive ({exc}). Package the build again "
            "(Windows packaged build folder -> .zip) and retry.",
            "zip-path",
        ) from None
    except OSError as exc:
        raise ArchiveError(f"{setting} {path.name!r} could not be read: {exc.strerror}.", "zip-path") from None

    files = [i for i in infos if not i.is_dir()]
    if not files:
        raise ArchiveError(
            f"{setting} {path.name!r} is empty: it holds no files. Zip the packaged build folder.",
            "zip-path",
        )
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        _check_name(name, path, setting)
        key = name.rstrip("/").lower()
        if key in seen:
            raise ArchiveError(
                f"{setting} {path.name!r} holds the entry {name!r} twice; extraction would be "
                "ambiguous. Rebuild the zip from the folder.",
                "zip-path",
            )
        seen.add(key)

    exes = [i.filename for i in files if i.filename.lower().endswith(".exe") and _depth(i.filename) <= 2]
    if not exes:
        raise ArchiveError(
            f"{setting} {path.name!r} has no Windows .exe at its root or inside one top-level folder; "
            "Streampixel rejects builds without the packaged game's executable. Zip the output of "
            "'Package Project -> Windows', not the project sources.",
            "zip-path",
        )
    report = ArchiveReport(path=path, size_bytes=size, entries=len(files), executables=exes)
    if size > SOFT_LIMIT_BYTES:
        report.warnings.append(
            f"{path.name} is {size / 1000**3:.1f} GB, above Streampixel's documented 24 GB soft limit; "
            "ask Streampixel support to raise it if the build is rejected."
        )
    return report


def verify(path: Path, mode: str) -> ArchiveReport | None:
    """``quick`` (central directory), ``full`` (also every entry's CRC, streamed) or ``off``."""
    if mode == "off":
        return None
    report = verify_quick(path)
    if mode == "full":
        verify_crc(path)
    return report


def verify_crc(path: Path, setting: str = "'zip-path' (--zip-path)") -> None:
    """Read every entry and check its CRC-32, with bounded memory."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            try:
                with zf.open(info) as fh:
                    while fh.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise ArchiveError(
                    f"{setting} {path.name!r}: entry {info.filename!r} is corrupt ({exc}). Package the build again.",
                    "zip-path",
                ) from None


def _depth(name: str) -> int:
    return len(PurePosixPath(name.replace("\\", "/")).parts)


def _check_name(name: str, path: Path, setting: str) -> None:
    normal = name.replace("\\", "/")
    parts = PurePosixPath(normal).parts
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in parts:
        raise ArchiveError(
            f"{setting} {path.name!r} holds the unsafe entry {name!r} (an absolute path or '..'); "
            "it could write outside the extraction folder (zip-slip). Rebuild the zip from the folder.",
            "zip-path",
        )
