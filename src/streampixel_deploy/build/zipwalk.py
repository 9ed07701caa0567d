"""Walking a zip's central directory and local headers, and the rules for entry names (the quick check's reader)."""

from __future__ import annotations

import gc
import operator
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from typing import BinaryIO

from streampixel_deploy.build.zipformat import (
    CENTRAL,
    CENTRAL_SIG,
    CONTROL_CHARS,
    DEFLATED,
    EOCD,
    EOCD64,
    EOCD64_SIG,
    EOCD_SIG,
    FLAG_ENCRYPTED,
    FLAG_UTF8,
    LOCAL,
    LOCAL_SIG,
    LOCATOR,
    LOCATOR_SIG,
    MAX_COMMENT,
    U16,
    U32,
    decode_name,
    name_problem,
)
from streampixel_deploy.core.errors import ArchiveError
from streampixel_deploy.core.fileio import read_many

#: An entry is reported as a possible zip bomb past this compression ratio, from this uncompressed size on
#: (deflate's own ceiling is about 1032:1: only long runs of one byte get there; real UE content stays far below).
BOMB_RATIO = 1000
BOMB_MIN_BYTES = 8 * 1024 * 1024


def _input_name(setting: str) -> str:
    return "build-dir" if "build-dir" in setting else "zip-path"


def _refuse(path: Path, setting: str, text: str) -> ArchiveError:
    return ArchiveError(f"{setting} {path.name!r} {text}", _input_name(setting))


_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 98: "PPMd", 99: "AES"}


def _not_a_zip(path: Path, setting: str, why: str) -> NoReturn:
    raise _refuse(
        path,
        setting,
        f"is not a valid zip archive ({why}). Package the build again "
        "(Windows packaged build folder -> .zip) and retry.",
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
    _sig, disk, cd_disk, n_disk, count, cd_size, cd_offset, _clen = EOCD.unpack_from(tail, at)
    eocd_offset = size - tail_len + at
    if disk or cd_disk:
        _not_a_zip(path, setting, "it is one part of a multi-volume archive")
    if n_disk != count:
        _not_a_zip(path, setting, f"the end record counts {n_disk} and {count} entries")
    if count == U16 or U32 in (cd_size, cd_offset):
        sig = b""
        if eocd_offset >= LOCATOR.size:
            fh.seek(eocd_offset - LOCATOR.size)
            sig, _d, record_offset, _total = LOCATOR.unpack(fh.read(LOCATOR.size))
        if sig != LOCATOR_SIG:
            if U32 in (cd_size, cd_offset):
                _not_a_zip(path, setting, "the ZIP64 locator is missing")
            return count, cd_offset, cd_size  # exactly 65,535 entries: Python's zipfile writes no ZIP64 records
        fh.seek(record_offset)
        record = fh.read(EOCD64.size)
        if len(record) != EOCD64.size or record[:4] != EOCD64_SIG:
            _not_a_zip(path, setting, "the ZIP64 end record is damaged")
        _s, _rs, _m, _n, _d1, _d2, n_disk, count, cd_size, cd_offset = EOCD64.unpack(record)
        if n_disk != count:
            _not_a_zip(path, setting, f"the ZIP64 end record counts {n_disk} and {count} entries")
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


class _Entries:
    """What the walk of the central directory keeps (a plain class, like ArchiveReport)."""

    def __init__(self) -> None:
        self.raw_names: list[bytes] = []
        self.offsets: list[int] = []
        self.sizes: list[int] = []  # compressed: the bytes each entry takes in the zip
        self.unusual: list[tuple[int, int, int]] = []  # (index, flags, method) of UTF-8, encrypted, odd methods
        self.links: list[int] = []
        self.bombs: list[tuple[int, int, int]] = []  # (index, compressed, uncompressed)
        self.total = 0  # uncompressed bytes


def _read_entries(directory: bytes, count: int, path: Path, setting: str) -> _Entries:
    """Walk the ``count`` central directory records, which must fill the directory exactly.

    This loop is the hot path of a quick check (50,000 entries is common): it slices the names out, keeps the
    offsets and sums the sizes; per-entry work beyond that only for unusual entries (UTF-8 names, encryption,
    a method other than stored/deflate, symbolic links, ZIP64 values, extreme ratios).
    """
    found = _Entries()
    names, offsets, unusual = found.raw_names, found.offsets, found.unusual
    append, add_offset, add_size = names.append, offsets.append, found.sizes.append
    unpack = CENTRAL.unpack_from
    header = CENTRAL.size
    pos = 0
    total = 0
    try:
        for index in range(count):
            sig, made, _n, flags, method, _t, _d, _crc, csize, usize, nlen, xlen, clen, _dk, _ia, attr, offset = unpack(
                directory, pos
            )
            if sig != CENTRAL_SIG:
                _not_a_zip(path, setting, "a central directory record is damaged")
            start = pos + header
            pos = start + nlen + xlen + clen
            append(directory[start : start + nlen])
            if U32 in (csize, usize, offset):
                csize, usize, offset = _zip64_values(
                    directory[start + nlen : start + nlen + xlen], csize, usize, offset
                )
            add_offset(offset)
            add_size(csize)
            total += usize
            if flags & (FLAG_UTF8 | FLAG_ENCRYPTED) or method & ~DEFLATED:
                unusual.append((index, flags, method))
            if attr >> 28 == 0xA and made >> 8 in _UNIX_HOSTS:  # S_IFLNK in the Unix mode
                found.links.append(index)
            if usize >= BOMB_MIN_BYTES and usize > BOMB_RATIO * csize:
                found.bombs.append((index, csize, usize))
    except struct.error:
        _not_a_zip(path, setting, "the central directory is truncated")
    if pos > len(directory):
        _not_a_zip(path, setting, "the central directory is truncated")
    if pos < len(directory):
        raise _refuse(
            path,
            setting,
            f"is not a valid zip archive: its end record says {count:,} entr{'y' if count == 1 else 'ies'} but the "
            "directory holds more (entries hidden from some unzip tools). Rebuild the zip from the folder.",
        )
    found.total = total
    return found


#: "Version made by" hosts whose external attributes hold a Unix mode: Unix and OS X.
_UNIX_HOSTS = frozenset({3, 19})


def _zip64_values(extra: bytes, csize: int, usize: int, offset: int) -> tuple[int, int, int]:
    """The values a ZIP64 extra field holds for the fields that are U32 (in the APPNOTE's order)."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1:
            field = extra[at + 4 : at + 4 + length]
            values = [struct.unpack_from("<Q", field, i)[0] for i in range(0, len(field) - 7, 8)]
            if usize == U32 and values:
                usize = values.pop(0)
            if csize == U32 and values:
                csize = values.pop(0)
            if offset == U32 and values:
                offset = values.pop(0)
            break
        at += 4 + length
    return csize, usize, offset


def _check_local_headers(fd: int, entries: _Entries, cd_offset: int, path: Path, setting: str) -> None:
    """Each entry's local header: at its offset, before the directory, with the directory's name.

    Extractors that stream the zip read the local header, not the directory: a different name there would be
    written where this check never looked. One small read per entry, none of the data (from disk, many in
    flight: ``read_many``); the comparisons then run over all headers at once (C speed), per entry only for a
    mismatch.
    """
    fixed = LOCAL.size
    raw_names, offsets = entries.raw_names, entries.offsets
    lengths = [len(raw) for raw in raw_names]
    heads = read_many(fd, [(fixed + length, offset) for length, offset in zip(lengths, offsets, strict=True)])
    matches = (
        [head[fixed:] for head in heads] == raw_names
        and b"".join([head[:4] for head in heads]) == LOCAL_SIG * len(heads)
        and b"".join([head[26:28] for head in heads]) == struct.pack(f"<{len(lengths)}H", *lengths)
        and max(map(operator.add, offsets, lengths), default=0) + fixed <= cd_offset
    )
    if matches:
        return
    for index, (raw, offset, head) in enumerate(zip(raw_names, offsets, heads, strict=True)):
        if (
            head[:4] != LOCAL_SIG
            or head[fixed:] != raw
            or head[26:28] != len(raw).to_bytes(2, "little")
            or (offset + fixed + len(raw) > cd_offset)
        ):
            name = decode_name(raw, any(i == index and f & FLAG_UTF8 for i, f, _ in entries.unusual))
            raise _refuse(
                path,
                setting,
                f"is not a valid zip archive: the local header of {name!r} (at byte {offset:,}) does not match "
                "its directory entry, so an unzip tool could write another name. Rebuild the zip from the folder.",
            )


def _decode_names(raw_names: list[bytes], utf8: set[int]) -> list[str]:
    """Names as unzip tools read them (zipformat.decode_name), all at once when they are all ASCII."""
    if not raw_names:
        return []
    joined = b"\n".join(raw_names)
    if joined.isascii() and joined.count(b"\n") == len(raw_names) - 1:
        return joined.decode("ascii").split("\n")
    return [decode_name(raw, i in utf8) for i, raw in enumerate(raw_names)]


_CONTROL = re.compile(f"[{re.escape(CONTROL_CHARS)}]")
#: A device name Windows reserves as a whole path part, with any extension (in the lowered, '/'-joined names).
_RESERVED = re.compile(r"[/\n](?:con|prn|aux|nul|com[1-9]|lpt[1-9]) *(?:\.[^/\n]*)?(?:/|\n|$)")
#: A path part ending in a dot or a space (in the '\n'-joined names; '.' and '..' parts match too, name_problem
#: tells them apart).
_TRAILING = re.compile(r"[. ](?:[/\\\n]|\Z)")
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
        raise _refuse(
            path,
            setting,
            f"holds the unsafe entry {name!r} (an absolute path or '..'); "
            "it could write outside the extraction folder (zip-slip). Rebuild the zip from the folder.",
        )
    problem = name_problem(name)
    if problem:
        raise _refuse(path, setting, f"holds the entry {name!r}: {problem}; Windows cannot extract it.")
