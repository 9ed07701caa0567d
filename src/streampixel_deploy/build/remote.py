"""The live build's files, from its zip's central directory read over HTTP Range requests, and the comparison
with the zip being deployed (:mod:`streampixel_deploy.core.changes`).

Two reads, never the build's data: the last ``EOCD + 64 KiB`` (the end records and often the whole directory)
with ``Range: bytes=-N``, then the part of the directory that read did not hold. The bytes read stay within
the directory's size + :data:`SLACK`; a body past what was asked for is not read (a server that ignores Range
and answers 200 with the whole file is cut at once, well within :data:`WHOLE_BODY_CAP`). The records are parsed
by the quick check's own readers (:mod:`.zipwalk`).

A side read: every request goes through :class:`~streampixel_deploy.core.http.Http` under a clock of its own,
the smaller of :data:`SIDE_SECONDS` and :data:`SIDE_SHARE` of the run's time left, sharing the run's cancel event,
so it never spends the run's deadline. Whatever goes wrong becomes :func:`~streampixel_deploy.core.changes.
unavailable` with the reason; the URL (often signed) never appears in a message.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from streampixel_deploy.api.models import Build
from streampixel_deploy.build.archive import _read_directory
from streampixel_deploy.build.zipformat import CENTRAL, EOCD, FLAG_UTF8, MAX_COMMENT, U32
from streampixel_deploy.build.zipwalk import _decode_names, _find_central_directory, _read_entries, _zip64_values
from streampixel_deploy.core.changes import BuildChanges, Entry, diff, unavailable
from streampixel_deploy.core.errors import ArchiveError, Cancelled, WaitTimeout
from streampixel_deploy.core.http import Clock, Http, Policy, RequestFailed, make_session
from streampixel_deploy.core.progress import Reporter

#: The first read: the end of central directory record with the longest comment a zip can hold.
TAIL_BYTES = EOCD.size + MAX_COMMENT
#: Bytes read beyond the central directory itself (the first read, a ZIP64 record outside it): at most this.
SLACK = 128 * 1024
#: A server that ignores Range: no more than this of its answer is ever read (in fact nothing: it is cut at once).
WHOLE_BODY_CAP = 1024 * 1024
#: Bytes of an error answer's body read (never needed: the status says it).
ERROR_BODY_BYTES = 4 * 1024
#: A directory larger than this is not fetched (a million entries): the comparison says so.
MAX_DIRECTORY = 64 * 1024 * 1024
#: One request asks for at most this much (core.http reads a body up to its MAX_BODY_BYTES).
PIECE = 4 * 1024 * 1024
#: The side read's own time: the smaller of these seconds and this share of the run's time left.
SIDE_SECONDS = 10.0
SIDE_SHARE = 0.1
_REDIRECTS = 3
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_HERE = "the live build's zip"


class Unavailable(Exception):
    """No comparison is possible; the message says why, without the URL."""


class _Budget:
    """The bytes this read may still take, counted as the bodies are read (a response hook caps each body)."""

    def __init__(self) -> None:
        self.fetched = 0
        self.requests = 0
        self.allowed = TAIL_BYTES  # bytes the answer in flight may have (set before each request)

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        if response.status_code == 206:
            cap = self.allowed
        elif response.status_code == 200:
            cap = 0  # the whole file: none of it is read (WHOLE_BODY_CAP is the promise; zero is the practice)
        else:
            cap = ERROR_BODY_BYTES
        response.raw = _Capped(response.raw, cap, self)
        return response


class _Capped:
    """A response's raw stream that ends after ``cap`` bytes (what comes beyond is never read off the socket)."""

    def __init__(self, raw: Any, cap: int, budget: _Budget) -> None:
        self._raw, self._left, self._budget = raw, cap, budget

    def read1(self, amount: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        piece: bytes = self._raw.read1(self._left if amount < 0 else min(amount, self._left))
        self._left -= len(piece)
        self._budget.fetched += len(piece)
        return piece

    def read(self, amount: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        return self.read1(-1 if amount is None else amount)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class RemoteZip:
    """A file-like view of the remote zip (``seek``/``read``), each read a Range request of just what is missing."""

    def __init__(self, url: str, http: Http, budget: _Budget) -> None:
        self.url, self.http, self.budget = url, http, budget
        self.size = 0
        self._tail_at = 0
        self._tail = b""
        self._pos = 0
        #: bytes this read may take in all: the first read and a little more (a ZIP64 record outside it) until the
        #: directory's size is known, then that size + SLACK
        self.limit = SLACK

    # -- file-like, for zipwalk's readers --------------------------------------------------------------------
    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else self._pos + offset if whence == 1 else self.size + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, amount: int = -1) -> bytes:
        start = self._pos
        end = self.size if amount < 0 else min(self.size, start + amount)
        data = self.span(start, end)
        self._pos = start + len(data)
        return data

    # -- ranges --------------------------------------------------------------------------------------------------
    def open(self) -> None:
        """The first read: the last TAIL_BYTES of the file, and from its Content-Range the file's size."""
        reply, span = self._get(f"bytes=-{TAIL_BYTES}", TAIL_BYTES)
        first, last, total = span
        if total is None or last != total - 1:
            raise Unavailable(f"the server's Content-Range for the last bytes of {_HERE} does not end at its end")
        self.size, self._tail_at, self._tail = total, first, reply

    def span(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file: from the first read where it holds them, else fetched."""
        if start >= end:
            return b""
        if start >= self._tail_at:
            return self._tail[start - self._tail_at : end - self._tail_at]
        stop = min(end, self._tail_at)
        if self.budget.fetched + (stop - start) > self.limit:
            raise Unavailable(
                f"reading {_HERE}'s central directory would take more than its size + {SLACK // 1024} KiB"
            )
        fetched = bytearray()
        while start + len(fetched) < stop:
            at = start + len(fetched)
            piece_end = min(stop, at + PIECE)
            body, (first, _last, _total) = self._get(f"bytes={at}-{piece_end - 1}", piece_end - at)
            if first != at:
                raise Unavailable(f"the server answered another range of {_HERE} than the one asked for")
            fetched += body
        return bytes(fetched) + (self._tail[: end - self._tail_at] if end > self._tail_at else b"")

    def _get(self, ranged: str, length: int) -> tuple[bytes, tuple[int, int, int | None]]:
        url = self.url
        for _hop in range(_REDIRECTS + 1):
            self.budget.allowed = length
            reply = self.http.send(
                "GET",
                url,
                what=f"read {_HERE}'s central directory",
                repeatable=True,
                headers={"Range": ranged, "Accept": "*/*", "Accept-Encoding": "identity"},
            )
            location = reply.headers.get("Location")
            if reply.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            break
        else:
            raise Unavailable(f"{_HERE}'s URL redirects more than {_REDIRECTS} times")
        if reply.status == 206:
            match = _CONTENT_RANGE.match(reply.headers.get("Content-Range", "").strip())
            if not match:
                raise Unavailable(f"the server answered a Range request for {_HERE} without a usable Content-Range")
            first, last = int(match.group(1)), int(match.group(2))
            total = None if match.group(3) == "*" else int(match.group(3))
            if len(reply.body) != last - first + 1 or len(reply.body) > length:
                raise Unavailable(f"the server's answer for {_HERE} broke off or is not the range asked for")
            return reply.body, (first, last, total)
        raise Unavailable(_status_problem(reply.status, self.budget.fetched))


def _status_problem(status: int, fetched: int) -> str:
    if status == 200:
        return (
            f"the server of {_HERE} ignores Range requests (it answered 200 with the whole file); the read was "
            f"stopped after {fetched:,} bytes"
        )
    if status in (404, 410):
        return f"{_HERE} is gone (HTTP {status})"
    if status in (401, 403):
        return f"{_HERE} could not be read (HTTP {status}: a signed URL may have expired)"
    if status == 416:
        return f"{_HERE} is empty (HTTP 416)"
    return f"{_HERE} could not be read (HTTP {status})"


def _entries(directory: bytes, count: int, path: Path, setting: str) -> list[Entry]:
    """The files of a central directory: checked and named by the quick check's reader, then each record's
    CRC-32 and uncompressed size (which that reader does not keep)."""
    found = _read_entries(directory, count, path, setting)
    names = _decode_names(found.raw_names, {i for i, flags, _ in found.unusual if flags & FLAG_UTF8})
    entries = []
    unpack, header, pos = CENTRAL.unpack_from, CENTRAL.size, 0
    for name in names:
        record = unpack(directory, pos)
        crc, csize, usize, nlen, xlen, clen, offset = record[7], record[8], record[9], *record[10:13], record[16]
        if usize == U32:
            start = pos + header + nlen
            _c, usize, _o = _zip64_values(directory[start : start + xlen], csize, usize, offset)
        entries.append(Entry(name, crc, usize))
        pos += header + nlen + xlen + clen
    return entries


def local_entries(path: Path, setting: str) -> list[Entry]:
    """The files of the zip being deployed (its central directory: one read, as the quick check does)."""
    with path.open("rb") as fh:
        _size, count, _offset, directory = _read_directory(fh, path, setting)
    return _entries(directory, count, path, setting)


def remote_entries(url: str, http: Http, budget: _Budget) -> list[Entry]:
    """The files of the zip at ``url``, from its central directory (see the module docstring)."""
    remote = RemoteZip(url, http, budget)
    remote.open()
    label = Path(urlsplit(url).path).name or "build.zip"
    try:
        count, cd_offset, cd_size = _find_central_directory(remote, remote.size, Path(label), _HERE)  # type: ignore[arg-type]
        if cd_size > MAX_DIRECTORY:
            raise Unavailable(f"{_HERE}'s central directory is {cd_size:,} bytes, more than this comparison reads")
        remote.limit = cd_size + SLACK
        directory = remote.span(cd_offset, cd_offset + cd_size)
        return _entries(directory, count, Path(label), _HERE)
    except ArchiveError as exc:
        raise Unavailable(_why(exc.message)) from None


def _why(message: str) -> str:
    """An archive error as a reason: up to the end of its first parenthesis or sentence (not the advice after)."""
    cut = message.find(")")
    text = message[: cut + 1] if cut >= 0 else message.split(". ", maxsplit=1)[0]
    return text.rstrip(".")


def side_clock(run_clock: Clock) -> Clock:
    """The comparison's own time: min(SIDE_SECONDS, SIDE_SHARE of the run's time left), the run's cancel event."""
    seconds = min(SIDE_SECONDS, max(0.0, run_clock.remaining()) * SIDE_SHARE)
    return Clock(seconds, run_clock.cancel, now=run_clock.now, what="the comparison with the live build's time")


def compare_live(
    zip_path: Path, live: Build | None, run_clock: Clock, reporter: Reporter, setting: str = "zip-path"
) -> BuildChanges | None:
    """What changed since ``live`` (the rollback target), or None when there is nothing to compare (no build,
    no URL). Never raises: a failure is a :class:`BuildChanges` whose ``problem`` says why, reported once."""
    if live is None or not live.url:
        return None
    clock = side_clock(run_clock)
    budget = _Budget()
    session = make_session()
    session.hooks["response"].append(budget.hook)
    policy = Policy(service="the live build's host", attempts=1, request_budget=SIDE_SECONDS)  # a side read: no retry
    http = Http(session, policy, clock, on_retry=reporter.debug)
    try:
        try:
            old = remote_entries(live.url, http, budget)
            new = local_entries(zip_path, setting)
        finally:
            session.close()
    except Unavailable as exc:
        problem = str(exc)
    except RequestFailed as exc:
        problem = f"{_HERE} could not be read ({exc.reason})"
    except WaitTimeout:
        problem = f"reading {_HERE} took longer than its {clock.budget_seconds or 0:.1f} s"
    except Cancelled:
        problem = "the run was cancelled"
    except (ArchiveError, OSError, ValueError, struct.error) as exc:  # struct.error is a ValueError
        problem = f"a zip could not be read ({type(exc).__name__})"
    except Exception as exc:  # a comparison is never worth a failed deploy
        problem = f"an unexpected error ({type(exc).__name__})"
    else:
        changes = diff(old, new, live.id, budget.fetched, budget.requests)
        reporter.info(
            f"Compared with the live build {live.id}: {len(changes.added):,} file(s) added, {len(changes.removed):,} "
            f"removed, {len(changes.changed):,} changed ({budget.fetched:,} bytes of its zip read in "
            f"{budget.requests} request(s))."
        )
        return changes
    reporter.info(f"No comparison with the live build {live.id} was possible: {problem}.")
    return unavailable(live.id, problem, budget.fetched, budget.requests)
