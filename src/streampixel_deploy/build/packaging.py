"""build-dir -> a deterministic zip, compressed on all cores, streamed with bounded memory.

* **Deterministic.** Entries sorted by their path, a fixed timestamp (1980-01-01), fixed permissions (0644),
  Unix "made by", no extra timestamps: the same folder gives the same bytes, so the same sha256 and the same
  S3 key (and a re-run skips the upload).
* **Fast.** Already-compressed UE and media files (``.pak``, ``.ucas``, ``.utoc``, ``.bk2``, ``.mp4``, ...)
  are stored; the rest is deflated at a fast zlib level. Files are cut into 4 MiB chunks that a thread pool
  compresses in parallel (zlib, hashlib, pread and write all release the GIL), pigz-style: each chunk is a raw
  deflate stream primed with the previous 32 KiB of the file and ended by a sync flush, so their concatenation
  is one valid deflate stream. Chunk CRCs are combined with zlib's crc32_combine algorithm.
* **Bounded memory.** At most ``2 x workers + 2`` chunks are in flight; the writer takes results in order,
  writes them and feeds the sha256 of the output as it goes (the zip is never read back).
* **ZIP64** where needed (entries from 3.75 GiB, more than 65,535 entries, offsets past 4 GiB); large entries
  are written with a data descriptor, small ones with their sizes and CRC in the local header.
"""

from __future__ import annotations

import errno
import hashlib
import ntpath
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from streampixel_deploy.build.crc import crc32_combine
from streampixel_deploy.build.exclusions import Exclusions
from streampixel_deploy.build.zipformat import (
    DEFLATED,
    STORED,
    Member,
    central_record,
    descriptor,
    encode_name,
    end_records,
    local_header,
    name_problem,
    windows_key,
)
from streampixel_deploy.core.errors import ArchiveError, ref
from streampixel_deploy.core.fileio import open_fd, read_at, usable_cpus
from streampixel_deploy.core.progress import Reporter

#: Formats that are already compressed: deflating them costs time and saves nothing.
STORED_SUFFIXES = frozenset(
    {
        ".pak", ".ucas", ".utoc", ".bk2", ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi",
        ".zip", ".7z", ".gz", ".bz2", ".xz", ".zst", ".rar", ".cab",
        ".png", ".jpg", ".jpeg", ".webp", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".wem", ".flac",
    }
)  # fmt: skip
#: zlib level for everything else (1 = fastest; the sizes it gives stay within a few % of level 6).
LEVEL = 1
CHUNK = 4 * 1024 * 1024
_WINDOW = 32 * 1024
_ZIP64_ENTRY = 0xF0000000  # entries from here on get ZIP64 sizes (room for deflate's worst-case growth)


@dataclass(frozen=True)
class Packed:
    sha256: str
    size_bytes: int
    entries: int
    excluded: int = 0  # files and folders left out by exclude patterns


# -- the packer ---------------------------------------------------------------------------------------------


#: One piece of work: (entry, offset, length, last chunk of the entry?).
_Piece = tuple[Member, int, int, bool]
#: Small files are batched into one job up to this many bytes / files (a job per small file costs more than its copy).
_BATCH_FILES = 128


class _Changed(Exception):
    def __init__(self, entry: Member) -> None:
        super().__init__(entry.name)
        self.entry = entry


def package_dir(
    build_dir: Path,
    dest: Path,
    reporter: Reporter,
    *,
    level: int = LEVEL,
    workers: int | None = None,
    chunk_size: int = CHUNK,
    exclude: Sequence[str] = (),
    require_exe: bool = True,
) -> Packed:
    """Zip the files under ``build_dir`` (paths relative to it) into ``dest``; return its sha256 and size.

    ``exclude``: patterns of files to leave out (core/patterns.py), for example ``**/*.pdb``; one that leaves out the
    game's executable is refused (InputError naming it, with ``require_exe``), one that matches nothing is warned of.
    """
    skipped: list[str] = []
    patterns = Exclusions(exclude, ref("build-dir-exclude"))
    entries = _scan(build_dir, patterns.excluded, skipped)
    patterns.check(build_dir, entries, reporter, require_exe)
    total = sum(e.size for e in entries)
    workers = workers or _cpu_count()
    window = 2 * workers + 2
    digest = hashlib.sha256()
    written = 0
    done = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zip")
    inflight: deque[tuple[Future[list[tuple[int, bytes, int]]], list[_Piece]]] = deque()
    reporter.progress(0, total, "package")
    try:
        with dest.open("wb", buffering=1024 * 1024) as out:

            def emit(data: bytes) -> None:
                nonlocal written
                out.write(data)
                digest.update(data)
                written += len(data)

            jobs = _jobs(entries, chunk_size)
            exhausted = False
            while inflight or not exhausted:
                while not exhausted and len(inflight) < window:
                    job = next(jobs, None)
                    if job is None:
                        exhausted = True
                        break
                    inflight.append((pool.submit(_work, job, level), job))
                if not inflight:
                    break
                future, job = inflight.popleft()
                try:
                    results = future.result()
                except _Changed as exc:
                    raise ArchiveError(
                        f"{ref('build-dir')}: {exc.entry.name.decode('utf-8', 'replace')!r} "
                        "changed while "
                        "it was being zipped. Let the build finish writing the folder, then run again.",
                        "build-dir",
                    ) from None
                except OSError as exc:
                    raise ArchiveError(
                        f"{ref('build-dir')}: {exc.filename or 'a file'!r} could not be read ({exc.strerror}).",
                        "build-dir",
                    ) from None
                for (entry, offset, length, last), (crc, payload, method) in zip(job, results, strict=True):
                    if offset == 0 and last:  # the whole entry at once: sizes and CRC go in the local header
                        entry.offset, entry.crc, entry.csize, entry.method = written, crc, len(payload), method
                        emit(local_header(entry))
                    elif offset == 0:  # the first chunk of a large entry: sizes follow in a data descriptor
                        entry.offset, entry.method, entry.descriptor = written, method, True
                        entry.zip64 = entry.size >= _ZIP64_ENTRY
                        emit(local_header(entry))
                        entry.crc, entry.csize = crc, len(payload)
                    else:
                        entry.crc = crc32_combine(entry.crc, crc, length)
                        entry.csize += len(payload)
                    emit(payload)
                    if last and entry.descriptor:
                        emit(descriptor(entry))
                    done += length
                reporter.progress(done, total, "package")
            cd_offset = written
            emit(b"".join(central_record(entry) for entry in entries))
            emit(end_records(len(entries), cd_offset, written - cd_offset, written))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        dest.unlink(missing_ok=True)
        raise
    pool.shutdown(wait=True)
    sha = digest.hexdigest()
    return Packed(sha, written, len(entries), excluded=len(skipped))


def _cpu_count() -> int:
    return usable_cpus()


def _scan(build_dir: Path, excluded: Callable[[str], bool], skipped: list[str]) -> list[Member]:
    """Every regular file under ``build_dir``, sorted by name; links inside the folder are followed.

    A link (to a file or a folder) that leads outside ``build_dir``, a dangling link and a link loop are
    refused (ArchiveError, exit 2), as are names Windows cannot extract and names that are not UTF-8: nothing
    has been read or uploaded yet. Files and folders that ``excluded`` names are left out first (links too), and
    their names added to ``skipped``.
    """
    label = ref("build-dir")
    top = native_path(str(build_dir))
    root = os.path.realpath(top)  # with the long-path prefix on Windows, like every path compared with it
    entries: list[Member] = []
    stack: list[tuple[str, str, frozenset[str]]] = [("", top, frozenset({root}))]
    while stack:
        prefix, folder, above = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    rel = prefix + item.name
                    if excluded(rel) or excluded(rel + "/"):  # a file, or a folder (or link) and all it holds
                        skipped.append(rel)
                        continue
                    if item.is_symlink():
                        real = _link_target(item.path, rel, root, label)
                        if os.path.isdir(real):
                            if real in above:
                                raise ArchiveError(
                                    f"{label}: the link {rel!r} points to {real!r}, a folder that holds it: a link "
                                    "loop. Remove the link or point it at a folder outside this path.",
                                    "build-dir",
                                )
                            stack.append((rel + "/", real, above | {real}))
                            continue
                    elif item.is_dir(follow_symlinks=False):
                        stack.append((rel + "/", item.path, above | {os.path.realpath(item.path)}))
                        continue
                    if item.is_file():
                        entries.append(_member(item, rel, label))
        except OSError as exc:
            raise ArchiveError(
                f"{label}: {exc.filename or folder!r} could not be read ({exc.strerror}).", "build-dir"
            ) from None
    if not entries:
        raise ArchiveError(
            f"{label} {build_dir} holds no files. Give the packaged build folder (the one holding the game's .exe).",
            "build-dir",
        )
    entries.sort(key=lambda e: e.name)
    _refuse_windows_collisions(entries, label)
    return entries


def _refuse_windows_collisions(entries: list[Member], label: str) -> None:
    """Names that Windows, where Streampixel extracts the build, would write to one file (case ignored)."""
    seen: dict[str, str] = {}
    for entry in entries:
        rel = entry.name.decode("utf-8")
        other = seen.setdefault(windows_key(rel), rel)
        if other != rel:
            raise ArchiveError(
                f"{label}: {other!r} and {rel!r} differ only in case; Windows, where Streampixel extracts the "
                "build, would keep one of them. Rename or remove one.",
                "build-dir",
            )


def native_path(path: str, windows: bool = os.name == "nt") -> str:
    r"""``path`` as Windows opens it past 260 characters (absolute, with the ``\\?\`` prefix); unchanged elsewhere.

    Packaged UE builds nest deep (``Game/Content/Paks/...``, plugin folders): without the prefix, a Windows
    runner without long-path support enabled fails to open files past 260 characters.
    """
    if not windows or path.startswith("\\\\?\\"):
        return path
    full = ntpath.abspath(path)
    if full.startswith("\\\\"):  # a share: \\server\share -> \\?\UNC\server\share
        return "\\\\?\\UNC\\" + full[2:]
    return "\\\\?\\" + full


def _link_target(link: str, rel: str, root: str, label: str) -> str:
    """Where a link inside the build folder leads; refused when that is outside it, nowhere, or a loop."""
    try:
        real = os.path.realpath(link, strict=True)
    except OSError as exc:
        looped = exc.errno == errno.ELOOP or isinstance(exc, RuntimeError)
        raise ArchiveError(
            f"{label}: the link {rel!r} -> {os.readlink(link)!r} "
            + ("is a link loop." if looped else "points to something that does not exist.")
            + " Replace it with the file it should hold, or remove it.",
            "build-dir",
        ) from None
    if os.path.commonpath([root, real]) != root:
        raise ArchiveError(
            f"{label}: the link {rel!r} points to {real!r}, outside the build folder; its contents would be "
            "hosted with the build. Copy what the build needs into the folder (or remove the link) and run again.",
            "build-dir",
        )
    return real


def _member(item: os.DirEntry[str], rel: str, label: str) -> Member:
    if "\\" in item.name:
        raise ArchiveError(
            f"{label}: {rel!r} has a backslash in its name, which Windows (where Streampixel extracts the build) "
            "reads as a folder separator. Rename it.",
            "build-dir",
        )
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise ArchiveError(
            f"{label}: the name {rel!r} is not valid UTF-8, so no zip reader would show it as it is. Rename the "
            "file (its name came from a tool using another encoding).",
            "build-dir",
        ) from None
    problem = name_problem(rel)
    if problem:
        raise ArchiveError(f"{label}: {rel!r} has {problem}; Windows cannot extract it. Rename it.", "build-dir")
    size = item.stat().st_size
    suffix = os.path.splitext(item.name)[1].lower()
    name, utf8 = encode_name(rel)
    stored = suffix in STORED_SUFFIXES or size == 0
    return Member(item.path, name, size, stored, utf8)


def _jobs(entries: list[Member], chunk_size: int) -> Iterator[list[_Piece]]:
    """Jobs for the pool, in output order: one per chunk of a large file, small files batched together."""
    batch: list[_Piece] = []
    batch_bytes = 0
    for entry in entries:
        if entry.size <= chunk_size:
            if batch and (batch_bytes + entry.size > chunk_size or len(batch) >= _BATCH_FILES):
                yield batch
                batch, batch_bytes = [], 0
            batch.append((entry, 0, entry.size, True))
            batch_bytes += entry.size
            continue
        if batch:
            yield batch
            batch, batch_bytes = [], 0
        for offset in range(0, entry.size, chunk_size):
            length = min(chunk_size, entry.size - offset)
            yield [(entry, offset, length, offset + length >= entry.size)]
    if batch:
        yield batch


def _work(job: list[_Piece], level: int) -> list[tuple[int, bytes, int]]:
    """Read and compress the pieces of one job (in a worker thread: reads and zlib release the GIL)."""
    results = []
    for entry, offset, length, last in job:
        if length == 0:
            results.append((0, b"", STORED))
            continue
        fd = open_fd(entry.path, os.O_RDONLY)
        try:
            results.append(_chunk(fd, entry, offset, length, level, last))
        finally:
            os.close(fd)
    return results


def _chunk(fd: int, entry: Member, offset: int, length: int, level: int, last: bool) -> tuple[int, bytes, int]:
    """(crc32 of the raw bytes, what to write, zip method) for one chunk of one file."""
    data = read_at(fd, length, offset)
    if len(data) != length:
        raise _Changed(entry)
    crc = zlib.crc32(data)
    if entry.stored:
        return crc, data, STORED
    if offset:
        zdict = read_at(fd, min(_WINDOW, offset), offset - min(_WINDOW, offset))
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, zdict)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    if offset == 0 and last and len(packed) >= length:
        return crc, data, STORED  # a small file that does not compress: store it
    return crc, packed, DEFLATED
