"""The zip's sha256, taken from the upload's own reads while s3transfer sends parts in parallel (one read).

s3transfer sends ``concurrency`` parts at once; each part is read from the file by the thread that sends it, a
block at a time as the socket takes it. SHA-256 must see the bytes in file order and per-part digests cannot be
combined, so :class:`OrderedSha256` is given every read with its offset:

* a read at the *frontier* (the first byte not yet taken) is hashed at once, from the block the socket gets;
* a read ahead of the frontier is copied into the look-ahead (a pool of fixed slots in one anonymous memory map
  of ``limit`` bytes, so the memory it holds is bounded and reused, whatever the allocator would do with blocks
  freed by other threads) and hashed when the frontier reaches it. The part holding the frontier always has a
  thread reading it (s3transfer starts parts in file order and a part's thread reads it to its end), so the
  frontier keeps moving;
* a read behind the frontier (botocore resending a part) is dropped: those bytes were taken already.

A read first waits (:meth:`admit`) while the look-ahead is full, so parts far ahead pause until the frontier catches
up. With a ``reader`` (a positional read of the file) a read that would wait *pulls the frontier* instead: it reads
the bytes at the frontier from the file itself (the page cache holds them: the part that owns them is still
sending), hashes them, and takes the parts held ahead as the frontier reaches them, until its read has room. Over a
network the part holding the frontier goes no faster than the others, and its connection decides when the rest may
go on; waiting for it left seven of eight connections idle mid-body (issue 26). Pulling costs a second read of the
bytes pulled (from memory) and no more memory; on loopback, where no read waits, nothing is pulled.
Waiting readers are woken only when one of them can go: the frontier's own blocks, hashed as they come, free
nothing held ahead (waking on each of them cost some 40,000 voluntary context switches per 4 GiB upload). One
thread at a time hashes, outside the lock (hashlib releases the GIL for large blocks), taking the queued blocks in
file order. A read at the frontier waits only for that thread (bytes queued for hashing), never for parts ahead,
so the frontier always moves and nothing can deadlock; a transfer that fails or is stopped releases
the waiters (``Stopped``).
"""

from __future__ import annotations

import hashlib
import mmap
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from streampixel_deploy.core.fileio import advise_sequential
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting import Deadline, time_left

#: How often a waiting reader looks at the stop flag (seconds).
TICK = 0.25
#: The look-ahead's unit (s3transfer's reads are 128 KiB blocks; a larger one takes several slots).
SLOT = 128 * 1024
#: How much a pull reads and hashes at a time (hashlib releases the GIL for it).
PULL_BLOCK = 1024 * 1024

#: What one sequential read (:func:`read_through`) takes at a time.
READ_BLOCK = 8 * 1024 * 1024

#: A block waiting to be hashed: a view of what the socket got (at the frontier), a slot number and length in the
#: look-ahead, or a copy (only when the look-ahead is momentarily over its limit).
_Block = memoryview | tuple[int, int] | bytes


class Stopped(Exception):
    """Raised inside a part's body when the upload is being abandoned (not retried by botocore)."""


class _Ahead:
    """Bytes of one part read before the frontier reached them: [start, end), contiguous."""

    __slots__ = ("blocks", "end", "start")

    def __init__(self, start: int) -> None:
        self.start = self.end = start
        self.blocks: list[_Block] = []


class OrderedSha256:
    """sha256 of ``size`` bytes fed out of order by several threads, each thread reading one part in order;
    at most about ``limit`` bytes read ahead of the frontier are held."""

    def __init__(
        self, size: int, limit: int, stopped: Callable[[], bool], reader: Callable[[int, int], bytes] | None = None
    ) -> None:
        self.size = size
        self._reader = reader  # (pos, count) -> the file's bytes there: pull the frontier instead of waiting
        self.limit = max(1, limit)
        self._stopped = stopped
        self._sha = hashlib.sha256()
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._taken = 0  # bytes [0, taken) are hashed or queued in _ready, in order
        self._hashed = 0
        self._ready: deque[_Block] = deque()
        self._ahead: dict[int, _Ahead] = {}  # by the start of the part they belong to
        self._held = 0  # bytes in _ready and _ahead
        self._queued = 0  # bytes in _ready
        self._waiters: list[tuple[int, int]] = []  # (pos, amount) of the reads waiting in admit()
        self._busy = False  # a thread is hashing _ready
        self._abandoned = False
        self._pool: mmap.mmap | None = None  # made on the first read ahead
        self._free: list[int] = []
        self.peak_held = 0
        self.pulled = 0  # bytes read by pulls (a second read of them)

    @property
    def hashed(self) -> int:
        return self._hashed

    def hexdigest(self) -> str:
        """The digest, once every byte has been hashed (RuntimeError otherwise: never a digest of part of it)."""
        with self._lock:
            if self._hashed != self.size or self._busy:
                raise RuntimeError(f"the sha256 saw {self._hashed:,} of {self.size:,} bytes")
            self._close_pool()
            return self._sha.hexdigest()

    def abandon(self) -> None:
        """The transfer failed or is stopping: readers waiting for the frontier stop (``Stopped``)."""
        with self._lock:
            self._abandoned = True
            self._moved.notify_all()
            if not self._busy:
                self._ready.clear()
                self._ahead.clear()
                self._close_pool()

    def admit(self, pos: int, amount: int) -> None:
        """Called before reading ``amount`` bytes at ``pos``: waits while a read has no room in the look-ahead."""
        with self._lock:
            if self._may_read(pos, amount):
                return
            waiter = (pos, amount)
            self._waiters.append(waiter)
            try:
                while not self._may_read(pos, amount):
                    if self._abandoned or self._stopped():
                        raise Stopped
                    if self._reader is not None and not self._busy:
                        self._busy = True
                        self._lock.release()
                        try:
                            self._pull()
                        finally:
                            self._lock.acquire()
                        continue
                    self._moved.wait(TICK)
            finally:
                self._waiters.remove(waiter)

    def _may_read(self, pos: int, amount: int) -> bool:
        """Room for the read; or nothing it could wait for: a read ahead when nothing is held, a read at the
        frontier when nothing is queued for hashing (the frontier never waits for parts ahead). Under the lock."""
        return self._held + amount <= self.limit or not (self._held if pos > self._taken else self._queued)

    def feed(self, start: int, pos: int, data: bytes) -> None:
        """``data`` was read at ``pos`` by the thread reading the part that begins at ``start``."""
        end = pos + len(data)
        with self._lock:
            if end <= self._taken or self._abandoned:
                return  # a resent part: taken already
            view = memoryview(data)
            if pos <= self._taken:
                self._take(view[self._taken - pos :])
            else:
                ahead = self._ahead.get(start)
                if ahead is None:
                    ahead = self._ahead[start] = _Ahead(start)
                if pos > ahead.end:
                    raise RuntimeError(f"part at {start:,} read {pos:,} before {ahead.end:,}")
                if end > ahead.end:
                    block = view[ahead.end - pos :]
                    ahead.blocks += self._keep(block)
                    ahead.end = end
                    self._held += len(block)
                    self.peak_held = max(self.peak_held, self._held)
            if self._busy or not self._ready:
                return
            self._busy = True
        self._hash_ready()

    def _keep(self, block: memoryview) -> list[_Block]:
        """Copy a block read ahead into free slots of the look-ahead (under the lock)."""
        if self._pool is None:
            count = -(-self.limit // SLOT)
            self._pool = mmap.mmap(-1, count * SLOT)  # its pages are taken as they are first written
            self._free = list(range(count - 1, -1, -1))
        kept: list[_Block] = []
        for at in range(0, len(block), SLOT):
            piece = block[at : at + SLOT]
            if not self._free:
                kept.append(bytes(piece))  # over the limit by the blocks of readers admitted together
                continue
            slot = self._free.pop()
            self._pool[slot * SLOT : slot * SLOT + len(piece)] = piece
            kept.append((slot, len(piece)))
        return kept

    def _take(self, block: memoryview) -> None:
        """Queue ``block`` (at the frontier) and every part held ahead that now continues it. Under the lock."""
        self._ready.append(block)
        self._held += len(block)
        self._queued += len(block)
        self._taken += len(block)
        while (ahead := self._ahead.pop(self._taken, None)) is not None:
            self._ready.extend(ahead.blocks)  # already counted in _held
            self._queued += ahead.end - ahead.start
            self._taken = ahead.end
        self.peak_held = max(self.peak_held, self._held)

    def _hash_ready(self) -> None:
        """Hash _ready in order until it is empty; only the thread that set _busy runs this."""
        try:
            while True:
                with self._lock:
                    if not self._ready or self._abandoned:
                        self._busy = False
                        return
                    blocks = list(self._ready)
                    self._ready.clear()
                    pool = self._pool
                self._hash(blocks, pool)
        except BaseException:
            with self._lock:
                self._busy = False
            raise

    def _pull(self) -> None:
        """Move the frontier by reading the file there, until no waiting read lacks room; only the thread that set
        _busy runs this, without the lock. Queued blocks go first (file order); a pull stops where a part held ahead
        begins, and _take then takes that part's bytes as they are."""
        reader = self._reader
        if reader is None:  # pragma: no cover - admit() pulls only with a reader
            raise RuntimeError("no reader to pull with")
        try:
            while True:
                with self._lock:
                    if self._abandoned or self._stopped():
                        self._busy = False
                        self._moved.notify_all()
                        return
                    if self._ready:
                        blocks, pool = list(self._ready), self._pool
                        self._ready.clear()
                    elif self._taken >= self.size or all(self._may_read(p, a) for p, a in self._waiters):
                        self._busy = False
                        self._moved.notify_all()
                        return
                    else:
                        blocks, pool = [], None
                        pos = self._taken
                        count = min(PULL_BLOCK, self._next_ahead(pos) - pos)
                if blocks:
                    self._hash(blocks, pool)
                    continue
                data = reader(pos, count)
                with self._lock:
                    self.pulled += len(data)
                    if pos + len(data) > self._taken:  # a frontier read may have taken some of it meanwhile
                        view = memoryview(data)[self._taken - pos :]
                        self._take(view[: self._next_ahead(self._taken) - self._taken])
        except BaseException:
            with self._lock:
                self._busy = False
                self._moved.notify_all()
            raise

    def _next_ahead(self, pos: int) -> int:
        """Where the first part held ahead of ``pos`` begins (the file's end when none is). Under the lock."""
        return min((start for start in self._ahead if start > pos), default=self.size)

    def _hash(self, blocks: list[_Block], pool: mmap.mmap | None) -> None:
        """Hash ``blocks`` (taken from _ready, in order) without the lock, then account for them under it."""
        done = 0
        freed: list[int] = []
        for block in blocks:
            if isinstance(block, tuple):
                slot, length = block
                if pool is None:  # pragma: no cover - a slot exists only while the pool does
                    raise RuntimeError("the look-ahead was closed while in use")
                with memoryview(pool) as whole:
                    self._sha.update(whole[slot * SLOT : slot * SLOT + length])
                freed.append(slot)
            else:
                self._sha.update(block)
                length = len(block)
            done += length
        with self._lock:
            self._free += freed
            self._hashed += done
            self._held -= done
            self._queued -= done
            if any(self._may_read(pos, amount) for pos, amount in self._waiters):
                self._moved.notify_all()  # not on every block: a frontier block frees nothing held ahead

    def _close_pool(self) -> None:
        """Give the look-ahead's memory back (under the lock, nothing being hashed)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
            self._free = []


def read_through(
    path: Path,
    size: int,
    ranges: Mapping[int, tuple[int, int]],
    sha256: bool,
    reporter: Reporter,
    deadline: Deadline | None,
) -> tuple[dict[int, str], str | None]:
    """One sequential read of the file's first ``size`` bytes, before an upload: the MD5 of each of ``ranges`` (by
    name: ``(start, length)``) and, with ``sha256``, the sha256 of it all. Without ``sha256`` only the ranges are
    read. A file shorter than ``size`` leaves the ranges past its end out of the answer."""
    md5s = {name: hashlib.md5(usedforsecurity=False) for name in ranges}
    spans = sorted((start, start + length, name) for name, (start, length) in ranges.items())
    whole = hashlib.sha256() if sha256 else None
    pieces = [(0, size)] if sha256 else _merged(spans)
    buffer = bytearray(READ_BLOCK)
    view = memoryview(buffer)
    done, total, got = 0, sum(end - start for start, end in pieces), 0
    label = "sha256" if sha256 else "check"
    reporter.progress(0, total, label)
    with path.open("rb", buffering=0) as fh:
        advise_sequential(fh.fileno())
        for start, end in pieces:
            fh.seek(start)
            pos = start
            while pos < end and (count := fh.readinto(view[: min(READ_BLOCK, end - pos)])):
                time_left(deadline)
                block = view[:count]
                if whole is not None:
                    whole.update(block)
                for first, last, name in spans:
                    if first < pos + count and last > pos:
                        md5s[name].update(block[max(first, pos) - pos : min(last, pos + count) - pos])
                pos += count
                done += count
                reporter.progress(done, total, label)
            got = max(got, pos)
    complete = {name: md5s[name].hexdigest() for first, last, name in spans if last <= got}
    return complete, (whole.hexdigest() if whole is not None and got >= size else None)


def _merged(spans: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Sorted spans joined where they touch: the reads to make."""
    joined: list[tuple[int, int]] = []
    for start, end, _ in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined
