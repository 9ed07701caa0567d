"""Local checks of a build archive.

``quick`` reads only the end-of-central-directory records and the central directory (one read each), parsed
with :mod:`struct` rather than :class:`zipfile.ZipInfo` objects, so its cost grows with the number of entries
(about a microsecond each), never with the size of the data. ``full`` also decompresses every entry and checks
its CRC-32, streamed in 1 MiB blocks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

    from streampixel_deploy.build.sizes import SizeReport

from streampixel_deploy.build.zipformat import (
    DEFLATED,
    FLAG_ENCRYPTED,
    FLAG_UTF8,
    STORED,
    name_problem,
    windows_key,
)
from streampixel_deploy.build.zipwalk import (
    _CONTROL,
    _METHOD_NAMES,
    _RESERVED,
    _TRAILING,
    BOMB_RATIO,
    _check_local_headers,
    _check_name,
    _decode_names,
    _depth,
    _Entries,
    _executables,
    _find_central_directory,
    _gc_paused,
    _input_name,
    _not_a_zip,
    _read_entries,
    _refuse,
)
from streampixel_deploy.core.errors import ArchiveError, ref
from streampixel_deploy.settings.table import ArchiveCheck

#: Streampixel's documented soft limit (support can raise it).
SOFT_LIMIT_BYTES = 24 * 1000**3
#: Methods any unzip tool extracts: stored and deflate.
COMMON_METHODS = frozenset({STORED, DEFLATED})
#: The end records (EOCD, its comment, the ZIP64 record and locator) lie within this many bytes of the end.
END_RECORDS_MAX = 1 << 17


class ArchiveReport:
    """What a check found: entries (files), executables, warnings. (A plain class: this module is imported by
    a quick check's short-lived process, where the dataclasses import alone would cost more than the check.)"""

    def __init__(
        self,
        path: Path,
        size_bytes: int,
        entries: int,
        executables: list[str],
        warnings: list[str] | None = None,
        directory_digest: str | None = None,
    ) -> None:
        self.path = path
        self.size_bytes = size_bytes
        self.entries = entries
        self.executables = executables
        self.warnings = warnings if warnings is not None else []
        self.directory_digest = directory_digest  # see directory_digest(); None unless asked for
        self.listing: tuple[list[str], list[int]] = ([], [])  # (entry names, their bytes in the zip)

    def size_report(self) -> SizeReport:
        """Bytes by top-level folder, the largest files and likely mistakes (build/sizes.py), on demand."""
        from streampixel_deploy.build.sizes import size_report

        return size_report(*self.listing)

    def __repr__(self) -> str:
        return f"ArchiveReport(path={self.path!r}, entries={self.entries}, executables={self.executables!r})"


def verify_quick(path: Path, setting: str | None = None, *, digest: bool = False) -> ArchiveReport:
    """Check that ``path`` is a zip Streampixel would accept; raise ArchiveError naming the problem.

    ``setting`` is how messages name the input (a :func:`~streampixel_deploy.core.errors.ref`); ``zip-path`` by default.
    ``digest``: also fill ``directory_digest`` (see :func:`directory_digest`) from the directory read here.
    """
    setting = setting or ref("zip-path")
    try:
        with path.open("rb") as fh:
            size, count, cd_offset, directory = _read_directory(fh, path, setting)
            identity = _digest(fh, size, cd_offset, directory) if digest else None
            with _gc_paused():  # 100,000s of small objects: the collector would rescan them again and again
                entries = _read_entries(directory, count, path, setting)
                del directory
                _check_local_headers(fh.fileno(), entries, cd_offset, path, setting)
                report = _check_directory(path, setting, size, entries)
                report.directory_digest = identity
                return report
    except OSError as exc:
        raise ArchiveError(
            f"{setting} {path.name!r} could not be read: {exc.strerror}.", _input_name(setting)
        ) from None


def _check_directory(path: Path, setting: str, size: int, entries: _Entries) -> ArchiveReport:
    names = _decode_names(entries.raw_names, {i for i, flags, _ in entries.unusual if flags & FLAG_UTF8})
    for index, flags, _method in entries.unusual:
        if flags & FLAG_ENCRYPTED:
            raise _refuse(
                path,
                setting,
                f": the entry {names[index]!r} is encrypted; Streampixel cannot extract a "
                "password-protected zip. Zip the build folder again without a password.",
            )
    if entries.links:
        raise _refuse(
            path,
            setting,
            f": the entry {names[entries.links[0]]!r} is a symbolic link; extracted, it could point outside "
            "the build. Zip the files themselves (zip without --symlinks / -y).",
        )
    # The checks run over all names joined into one string (C speed); per-name work only for suspicious ones.
    blob = "\n".join(names)
    if blob.count("\n") != max(0, len(names) - 1) or (
        not blob.replace("\n", "").isprintable() and _CONTROL.search(blob)
    ):
        name = next(n for n in names if "\n" in n or _CONTROL.search(n))
        raise _refuse(
            path,
            setting,
            f"holds the entry {name!r}, whose name contains a control character; Windows cannot extract it "
            "and a terminal would run it. Rebuild the zip from the folder.",
        )
    if "\\" in blob or ".." in blob or ":" in blob or blob.startswith("/") or "\n/" in blob:
        for name in names:
            _check_name(name, path, setting)
    lowered = blob.lower()
    if _RESERVED.search("\n" + lowered.replace("\\", "/")) or _TRAILING.search(blob):
        bad = next((n for n in names if name_problem(n)), None)  # a '.' or '..' part also ends in a dot
        if bad is not None:
            raise _refuse(path, setting, f"holds the entry {bad!r}: {name_problem(bad)}; Windows cannot extract it.")
    keys = lowered.split("\n") if names else []
    folders = blob.count("/\n") + blob.endswith("/")
    odd = "\\" in lowered or "./" in lowered or "//" in lowered or lowered.startswith("/")
    stripped = [windows_key(k) for k in keys] if odd else [k.rstrip("/") for k in keys] if folders else keys
    if len(set(stripped)) != len(stripped):
        seen: set[str] = set()
        for name, key in zip(names, stripped, strict=True):
            if key in seen:
                raise _refuse(
                    path,
                    setting,
                    f"holds the entry {name!r} twice (Windows ignores case and reads '\\' as '/'); extraction "
                    "would be ambiguous. Rebuild the zip from the folder.",
                )
            seen.add(key)
    files = len(names) - folders
    exes = [n for n in _executables(blob, lowered, names, keys) if _depth(n) <= 2]
    odd_methods: dict[int, str] = {}
    for index, _flags, method in entries.unusual:
        if method not in COMMON_METHODS and not names[index].endswith("/"):
            odd_methods.setdefault(method, names[index])

    if not files:
        raise _refuse(path, setting, "is empty: it holds no files. Zip the packaged build folder.")
    if not exes:
        raise _refuse(
            path,
            setting,
            "has no Windows .exe at its root or inside one top-level folder; "
            "Streampixel rejects builds without the packaged game's executable. Zip the output of "
            "'Package Project -> Windows', not the project sources.",
        )
    report = ArchiveReport(path=path, size_bytes=size, entries=files, executables=exes)
    report.listing = (names, entries.sizes)
    for method, name in sorted(odd_methods.items()):
        report.warnings.append(
            f"{path.name!r}: entries such as {name!r} use compression method {method} "
            f"({_METHOD_NAMES.get(method, 'unusual')}), which not every unzip tool extracts; if Streampixel "
            "rejects the build, zip it with plain deflate (the default of most tools)."
        )
    for index, csize, usize in entries.bombs:
        report.warnings.append(
            f"{path.name!r}: the entry {names[index]!r} expands {usize / max(csize, 1):,.0f}:1 "
            f"({csize:,} -> {usize:,} bytes), a compression ratio past {BOMB_RATIO}:1 that zip bombs use; "
            "check that the build is what you meant to ship."
        )
    if size > SOFT_LIMIT_BYTES:
        report.warnings.append(
            f"{path.name!r} is {size / 1000**3:.1f} GB, above Streampixel's documented 24 GB soft limit; "
            "ask Streampixel support to raise it if the build is rejected."
        )
    if entries.total > SOFT_LIMIT_BYTES:
        report.warnings.append(
            f"{path.name!r} holds {entries.total / 1000**3:.1f} GB uncompressed, above Streampixel's documented "
            "24 GB soft limit; ask Streampixel support to raise it if the build is rejected."
        )
    return report


def verify(path: Path, mode: ArchiveCheck, setting: str | None = None, *, digest: bool = False) -> ArchiveReport | None:
    """``quick`` (central directory), ``full`` (also every entry's CRC, streamed) or ``off``."""
    if mode == "off":
        return None
    setting = setting or ref("zip-path")
    report = verify_quick(path, setting, digest=digest)
    if mode == "full":
        verify_crc(path, setting)
    return report


def directory_digest(path: Path) -> str | None:
    """A sha256 that names the build without reading its data: over the file's size, the central directory
    (every entry's name, sizes, CRC-32, times and offset) and the end records. Two zips with the same digest hold
    the same files byte for byte, short of a CRC-32 collision in a file of unchanged size and time, so S3 hosting
    names the object by it before the upload, which then is the only read of the data.

    Without the checks (verify-archive: off; the quick check fills ``ArchiveReport.directory_digest`` from its own
    read); None when the file has no readable central directory.
    """
    setting = ref("zip-path")
    try:
        with path.open("rb") as fh:
            size, _count, cd_offset, directory = _read_directory(fh, path, setting)
            return _digest(fh, size, cd_offset, directory)
    except (ArchiveError, OSError, ValueError):  # struct.error is a ValueError
        return None


def _read_directory(fh: BinaryIO, path: Path, setting: str) -> tuple[int, int, int, bytes]:
    """(file size, entries, directory offset, the central directory's bytes): the end records and one read."""
    size = os.fstat(fh.fileno()).st_size
    count, cd_offset, cd_size = _find_central_directory(fh, size, path, setting)
    fh.seek(cd_offset)
    directory = fh.read(cd_size)
    if len(directory) != cd_size:
        _not_a_zip(path, setting, "the central directory is truncated")
    return size, count, cd_offset, directory


def _digest(fh: BinaryIO, size: int, cd_offset: int, directory: bytes) -> str:
    """The directory's digest; ``fh`` is positioned right after the central directory."""
    import hashlib  # here: the quick check alone does not pay for its import

    end = cd_offset + len(directory)
    fh.seek(max(end, size - END_RECORDS_MAX))
    digest = hashlib.sha256(b"streampixel-deploy central directory v1\0")
    digest.update(size.to_bytes(8, "little") + cd_offset.to_bytes(8, "little"))
    digest.update(directory)
    digest.update(fh.read())
    return digest.hexdigest()


def folder_executables(build_dir: Path) -> list[str]:
    """The ``.exe`` files at the root of a build folder or inside one top-level folder (no packaging needed)."""
    found: list[str] = []
    for first in sorted(build_dir.iterdir()):
        if first.is_file() and first.suffix.lower() == ".exe":
            found.append(first.name)
        elif first.is_dir():
            found.extend(
                f"{first.name}/{p.name}" for p in sorted(first.iterdir()) if p.is_file() and p.suffix.lower() == ".exe"
            )
    return found


def verify_crc(path: Path, setting: str | None = None) -> None:
    """Decompress every entry and check its CRC-32, 1 MiB at a time (memory does not grow with the entry)."""
    import zipfile  # only here: the quick check does not pay for its import

    setting = setting or ref("zip-path")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path, setting, f"is not a valid zip archive ({exc}).") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            try:
                with zf.open(info) as fh:
                    while fh.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
                raise _refuse(
                    path,
                    setting,
                    f": entry {info.filename!r} is corrupt ({exc}). Package the build again "
                    "and copy the zip with a binary-safe tool.",
                ) from None


# -- central directory ------------------------------------------------------------------------------------
