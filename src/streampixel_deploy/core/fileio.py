"""The few POSIX-only file calls, each behind one small function with a portable fallback (Windows' Python has no
``os.pread``, ``os.posix_fadvise`` or ``os.sched_getaffinity``). tests/windows_os removes them to run the rest.
Descriptors come from :func:`open_fd`, which opens them in binary mode on Windows too."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

#: ``read_many``: reads probed one after the other before choosing; slower than this each, they come from disk.
_PROBE_READS = 256
_CACHED_READ_SECONDS = 10e-6
_READS_IN_FLIGHT = 16


#: Windows opens a descriptor in text mode unless told otherwise: reads turn CR LF into LF and end at Ctrl-Z (0x1A),
#: writes turn LF into CR LF. Elsewhere there is no such mode (0).
_BINARY = getattr(os, "O_BINARY", 0)


def open_fd(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
    """``os.open`` in binary mode everywhere: every ``os.open`` of the package goes through here.

    Python already makes the descriptor non-inheritable (``O_CLOEXEC``, ``O_NOINHERIT`` on Windows; PEP 446).
    """
    return os.open(path, flags | _BINARY, mode)


def read_at(fd: int, length: int, offset: int) -> bytes:
    """``length`` bytes at ``offset`` (fewer only at the end of the file).

    ``os.pread`` where it exists; else seek and read, which moves the descriptor's position: use a descriptor of
    your own (one per thread), as packaging and the archive checks do.
    """
    pread = getattr(os, "pread", None)
    if pread is not None:
        data: bytes = pread(fd, length, offset)
        return data
    os.lseek(fd, offset, os.SEEK_SET)
    parts: list[bytes] = []
    left = length
    while left > 0:
        piece = os.read(fd, left)
        if not piece:
            break
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)


def reader_at(fd: int) -> Callable[[int, int], bytes]:
    """``read(length, offset)`` for many small reads of one descriptor: ``os.pread`` bound once where it exists."""
    pread = getattr(os, "pread", None)
    if pread is not None:
        return functools.partial(pread, fd)
    return functools.partial(read_at, fd)


def read_many(fd: int, spans: Sequence[tuple[int, int]]) -> list[bytes]:
    """``read_at`` for each ``(length, offset)``: one after the other while they come from the page cache, else
    (a file larger than the cache, or read the next day) many in flight, which a disk answers several times faster.

    The first reads are timed to choose. In flight needs ``os.pread`` (one descriptor shared by threads); without it
    (Windows) the reads stay one after the other.
    """
    read = reader_at(fd)
    probe = spans[:_PROBE_READS]
    started = time.perf_counter()
    heads = [read(length, offset) for length, offset in probe]
    rest = spans[len(probe) :]
    cached = time.perf_counter() - started <= _CACHED_READ_SECONDS * max(1, len(probe))
    if not rest or cached or getattr(os, "pread", None) is None:
        return heads + [read(length, offset) for length, offset in rest]
    step = -(-len(rest) // (_READS_IN_FLIGHT * 4))

    def chunk(start: int) -> list[bytes]:
        return [read(length, offset) for length, offset in rest[start : start + step]]

    with ThreadPoolExecutor(_READS_IN_FLIGHT, thread_name_prefix="read-many") as pool:
        for part in pool.map(chunk, range(0, len(rest), step)):
            heads.extend(part)
    return heads


def advise_sequential(fd: int) -> None:
    """Tell the kernel the file is read front to back (bigger read-ahead); a no-op where that is not offered."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS says, else all of them)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)
