"""Local checks of a build archive.

``quick`` reads only the end-of-central-directory records and the central directory (one read each), parsed
with :mod:`struct` rather than :class:`zipfile.ZipInfo` objects, so its cost grows with the number of entries
(about a microsecond each), never with the size of the data. ``full`` also decompresses every entry and checks
its CRC-32, streamed in 1 MiB blocks.
"""

from __future__ import annotations

import gc
import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

from streampixel_deploy.build.zipformat import (
    CENTRAL_SCAN,
    CENTRAL_SIG,
    DEFLATED,
    EOCD,
    EOCD64,
    EOCD64_SIG,
    EOCD_SIG,
    FLAG_ENCRYPTED,
    FLAG_UTF8,
    LOCATOR,
    LOCATOR_SIG,
    MAX_COMMENT,
    STORED,
    U16,
    U32,
    decode_name,
)
from streampixel_deploy.core.errors import ArchiveError

#: Streampixel's documented soft limit (support can raise it).
SOFT_LIMIT_BYTES = 24 * 1000**3
#: Methods any unzip tool extracts: stored and deflate.
COMMON_METHODS = frozenset({STORED, DEFLATED})


class ArchiveReport:
    """What a check found: entries (files), executables, warnings. (A plain class: this module is imported by
    a quick check's short-lived process, where the dataclasses import alone would cost more than the check.)"""

    def __init__(
        self, path: Path, size_bytes: int, entries: int, executables: list[str], warnings: list[str] | None = None
    ) -> None:
        self.path = path
        self.size_bytes = size_bytes
        self.entries = entries
        self.executables = executables
        self.warnings = warnings if warnings is not None else []

    def __repr__(self) -> str:
        return f"ArchiveReport(path={self.path!r}, entries={self.entries}, executables={self.executables!r})"


def verify_quick(path: Path, setting: str = "'zip-path' (--zip-path)") -> ArchiveReport:
    """Check that ``path`` is a zip Streampixel would accept; raise ArchiveError naming the problem."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            count, cd_offset, cd_size = _find_central_directory(fh, size, path, setting)
            fh.seek(cd_offset)
            directory = fh.read(cd_size)
    except OSError as exc:
        raise ArchiveError(f"{setting} {path.name!r} could not be read: {exc.strerror}.", "zip-path") from None
    if len(directory) != cd_size:
        _not_a_zip(path, setting, "the central directory is truncated")

    with _gc_paused():  # 100,000s of small objects: the collector would rescan them again and again
        return _check_directory(path, setting, size, directory, count)


def _check_directory(path: Path, setting: str, size: int, directory: bytes, count: int) -> ArchiveReport:
    raw_names, unusual = _read_entries(directory, count, path, setting)
    names = _decode_names(raw_names, {i for i, flags, _ in unusual if flags & FLAG_UTF8})
    del raw_names
    for index, flags, _method in unusual:
        if flags & FLAG_ENCRYPTED:
            raise ArchiveError(
                f"{setting} {path.name!r}: the entry {names[index]!r} is encrypted; Streampixel cannot extract a "
                "password-protected zip. Zip the build folder again without a password.",
                "zip-path",
            )
    # The checks run over all names joined into one string (C speed); per-name work only for suspicious ones.
    blob = "\n".join(names)
    if blob.count("\n") != max(0, len(names) - 1):
        name = next(n for n in names if "\n" in n)
        raise ArchiveError(
            f"{setting} {path.name!r} holds an entry whose name contains a line break ({name!r}); "
            "Windows cannot extract it. Rebuild the zip from the folder.",
            "zip-path",
        )
    if "\\" in blob or ".." in blob or ":" in blob or blob.startswith("/") or "\n/" in blob:
        for name in names:
            _check_name(name, path, setting)
    lowered = blob.lower()
    keys = lowered.split("\n") if names else []
    folders = blob.count("/\n") + blob.endswith("/")
    stripped = [k.rstrip("/") for k in keys] if folders else keys
    if len(set(stripped)) != len(stripped):
        seen: set[str] = set()
        for name, key in zip(names, stripped, strict=True):
            if key in seen:
                raise ArchiveError(
                    f"{setting} {path.name!r} holds the entry {name!r} twice; extraction would be "
                    "ambiguous. Rebuild the zip from the folder.",
                    "zip-path",
                )
            seen.add(key)
    files = len(names) - folders
    exes = [n for n in _executables(blob, lowered, names, keys) if _depth(n) <= 2]
    odd_methods: dict[int, str] = {}
    for index, _flags, method in unusual:
        if method not in COMMON_METHODS and not names[index].endswith("/"):
            odd_methods.setdefault(method, names[index])

    if not files:
        raise ArchiveError(
            f"{setting} {path.name!r} is empty: it holds no files. Zip the packaged build folder.",
            "zip-path",
        )
    if not exes:
        raise ArchiveError(
            f"{setting} {path.name!r} has no Windows .exe at its root or inside one top-level folder; "
            "Streampixel rejects builds without the packaged game's executable. Zip the output of "
            "'Package Project -> Windows', not the project sources.",
            "zip-path",
        )
    report = ArchiveReport(path=path, size_bytes=size, entries=files, executables=exes)
    for method, name in sorted(odd_methods.items()):
        report.warnings.append(
            f"{path.name}: entries such as {name!r} use compression method {method} "
            f"({_METHOD_NAMES.get(method, 'unusual')}), which not every unzip tool extracts; if Streampixel "
            "rejects the build, zip it with plain deflate (the default of most tools)."
        )
    if size > SOFT_LIMIT_BYTES:
        report.warnings.append(
            f"{path.name} is {size / 1000**3:.1f} GB, above Streampixel's documented 24 GB soft limit; "
            "ask Streampixel support to raise it if the build is rejected."
        )
    return report


def verify(path: Path, mode: str, setting: str = "'zip-path' (--zip-path)") -> ArchiveReport | None:
    """``quick`` (central directory), ``full`` (also every entry's CRC, streamed) or ``off``."""
    if mode == "off":
        return None
    report = verify_quick(path, setting)
    if mode == "full":
        verify_crc(path, setting)
    return report


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


def verify_crc(path: Path, setting: str = "'zip-path' (--zip-path)") -> None:
    """Decompress every entry and check its CRC-32, 1 MiB at a time (memory does not grow with the entry)."""
    import zipfile  # only here: the quick check does not pay for its import

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{setting} {path.name!r} is not a valid zip archive ({exc}).", "zip-path") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            try:
                with zf.open(info) as fh:
                    while fh.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
                raise ArchiveError(
                    f"{setting} {path.name!r}: entry {info.filename!r} is corrupt ({exc}). Package the build again "
                    "and copy the zip with a binary-safe tool.",
                    "zip-path",
                ) from None


# -- central directory ------------------------------------------------------------------------------------

_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 98: "PPMd", 99: "AES"}


def _not_a_zip(path: Path, setting: str, why: str) -> None:
    raise ArchiveError(
        f"{setting} {path.name!r} is not a valid zip archive ({why}). Package the build again "
        "(Windows packaged build folder -> .zip) and retry.",
        "zip-path",
    )


def _find_central_directory(fh: BinaryIO, size: int, path: Path, setting: str) -> tuple[int, int, int]:
    """(entries, offset, size) of the central directory, from the (ZIP64) end records."""
    tail_len = min(size, EOCD.size + MAX_COMMENT)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(EOCD_SIG)
    # a signature whose record or comment would run past the end of the file is inside a comment
    while at >= 0 and (
        at + EOCD.size > len(tail) or at + EOCD.size + struct.unpack_from("<H", tail, at + 20)[0] > len(tail)
    ):
        at = tail.rfind(EOCD_SIG, 0, at)
    if at < 0:
        _not_a_zip(path, setting, "no end of central directory record")
    _sig, disk, cd_disk, _n_disk, count, cd_size, cd_offset, _clen = EOCD.unpack_from(tail, at)
    eocd_offset = size - tail_len + at
    if disk or cd_disk:
        _not_a_zip(path, setting, "it is one part of a multi-volume archive")
    if count == U16 or U32 in (cd_size, cd_offset):
        if eocd_offset < LOCATOR.size:
            _not_a_zip(path, setting, "the ZIP64 locator is missing")
        fh.seek(eocd_offset - LOCATOR.size)
        sig, _d, record_offset, _total = LOCATOR.unpack(fh.read(LOCATOR.size))
        if sig != LOCATOR_SIG:
            _not_a_zip(path, setting, "the ZIP64 locator is missing")
        fh.seek(record_offset)
        record = fh.read(EOCD64.size)
        if len(record) != EOCD64.size or record[:4] != EOCD64_SIG:
            _not_a_zip(path, setting, "the ZIP64 end record is damaged")
        _s, _rs, _m, _n, _d1, _d2, _cd, count, cd_size, cd_offset = EOCD64.unpack(record)
        eocd_offset = record_offset
    if cd_offset + cd_size > eocd_offset:
        _not_a_zip(path, setting, "the central directory lies past the end of the file; it may be truncated")
    return count, cd_offset, cd_size


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_entries(
    directory: bytes, count: int, path: Path, setting: str
) -> tuple[list[bytes], list[tuple[int, int, int]]]:
    """The raw names of the ``count`` central directory records, and (index, flags, method) of unusual ones.

    This loop is the hot path of a quick check (50,000 entries is common): it only slices the names out and
    keeps the flags and method of entries with UTF-8 names, encryption or a method other than stored/deflate.
    """
    names: list[bytes] = []
    append = names.append
    unusual: list[tuple[int, int, int]] = []
    unpack = CENTRAL_SCAN.unpack_from
    header = CENTRAL_SCAN.size
    pos = 0
    try:
        for index in range(count):
            sig, flags, method, nlen, xlen, clen = unpack(directory, pos)
            if sig != CENTRAL_SIG:
                _not_a_zip(path, setting, "a central directory record is damaged")
            start = pos + header
            pos = start + nlen + xlen + clen
            append(directory[start : start + nlen])
            if flags & (FLAG_UTF8 | FLAG_ENCRYPTED) or method & ~DEFLATED:
                unusual.append((index, flags, method))
    except struct.error:
        _not_a_zip(path, setting, "the central directory is truncated")
    if pos > len(directory):
        _not_a_zip(path, setting, "the central directory is truncated")
    return names, unusual


def _decode_names(raw_names: list[bytes], utf8: set[int]) -> list[str]:
    """Names as unzip tools read them (zipformat.decode_name), all at once when they are all ASCII."""
    if not raw_names:
        return []
    joined = b"\n".join(raw_names)
    if joined.isascii() and joined.count(b"\n") == len(raw_names) - 1:
        return joined.decode("ascii").split("\n")
    return [decode_name(raw, i in utf8) for i, raw in enumerate(raw_names)]


_EXE_END = re.compile(r"\.exe$", re.MULTILINE)


def _executables(blob: str, lowered: str, names: list[str], keys: list[str]) -> list[str]:
    """Names ending in .exe (any case): a literal search over the joined names, when lowercasing kept offsets."""
    if len(lowered) == len(blob):
        found = []
        for match in _EXE_END.finditer(lowered):
            start = lowered.rfind("\n", 0, match.start()) + 1
            found.append(blob[start : match.end()])
        return found
    return [n for n, k in zip(names, keys, strict=True) if k.endswith(".exe")]


def _depth(name: str) -> int:
    return len(PurePosixPath(name.replace("\\", "/")).parts)


def _check_name(name: str, path: Path, setting: str) -> None:
    name_slash = name.replace("\\", "/") if "\\" in name else name
    unsafe = name_slash.startswith("/") or name_slash[1:2] == ":"
    if not unsafe and ".." in name_slash:
        unsafe = ".." in PurePosixPath(name_slash).parts
    if unsafe:
        raise ArchiveError(
            f"{setting} {path.name!r} holds the unsafe entry {name!r} (an absolute path or '..'); "
            "it could write outside the extraction folder (zip-slip). Rebuild the zip from the folder.",
            "zip-path",
        )
