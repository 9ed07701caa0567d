"""The durable spool: one JSON file per acknowledged event, written and fsynced before the 2xx answer.

Layout under the spool directory::

    <id>.json        pending events; ids sort in arrival order (nanosecond time, then a counter)
    tmp/             files being written (write, fsync, rename into place, fsync the directory)
    failed/          events GitHub refused for good (HTTP 400/410/413/422: the event itself), and spool files
                     that cannot be read; kept for a human (401/403/404 are setting problems: retried)

A file is deleted only after GitHub accepted the dispatch, so a crash or restart at any point loses nothing
that was acknowledged; the price is at-least-once delivery (a crash between GitHub's 204 and the delete
sends that event again on the next start; ``client_payload.deliveryId`` lets a workflow spot it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import Any

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.fileio import open_fd

SUFFIX = ".json"


class SpoolError(OSError):
    """The spool could not be written (disk full, permissions): the webhook must not be acknowledged."""


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._tmp = self.directory / "tmp"
        self._failed = self.directory / "failed"
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._pending: set[str] = set()

    def open(self) -> list[str]:
        """Create the directories, clear half-written files; returns the pending ids, oldest first."""
        try:
            for path in (self.directory, self._tmp, self._failed):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._tighten(path)
            for stale in self._tmp.iterdir():
                stale.unlink(missing_ok=True)
            probe = self._tmp / f"probe-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise InputError(
                f"--spool-dir {str(self.directory)!r} is not a writable directory ({exc.strerror or exc}). "
                "Point it at a persistent, writable volume.",
                "spool-dir",
            ) from None
        ids = sorted(p.name[: -len(SUFFIX)] for p in self.directory.glob("*" + SUFFIX) if p.is_file())
        with self._lock:
            self._pending = set(ids)
        return ids

    def _tighten(self, path: Path) -> None:
        """Make an existing folder 0700 (it holds webhook payloads); refuse to start when that is not allowed."""
        if os.name != "posix" or stat.S_IMODE(path.stat().st_mode) == 0o700:
            return
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise InputError(
                f"--spool-dir {str(self.directory)!r}: {str(path)!r} could not be restricted to mode 0700 "
                f"({exc.strerror or exc}); it would keep webhook payloads readable by other users. Run the relay "
                "as the folder's owner (or chmod 700 it yourself), or point --spool-dir at another folder.",
                "spool-dir",
            ) from None

    def new_id(self) -> str:
        return f"{time.time_ns():020d}-{next(self._counter) % 1_000_000:06d}-{secrets.token_hex(3)}"

    def write(self, record: dict[str, Any], event_id: str) -> None:
        """Durably store ``record`` as ``<event_id>.json``; raises :class:`SpoolError`."""
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        tmp = self._tmp / (event_id + SUFFIX)
        final = self.directory / (event_id + SUFFIX)
        try:
            fd = open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            _fsync_dir(self.directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise SpoolError(exc.errno, f"could not write the spool: {exc.strerror or exc}") from None
        with self._lock:
            self._pending.add(event_id)

    def read(self, event_id: str) -> dict[str, Any] | None:
        """The stored record, or None when it is gone or unreadable (the caller moves it aside)."""
        try:
            data = json.loads((self.directory / (event_id + SUFFIX)).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def exists(self, event_id: str) -> bool:
        return (self.directory / (event_id + SUFFIX)).exists()

    def delete(self, event_id: str) -> None:
        # Forget it first, then unlink: whoever sees the file gone also sees the counts updated. A crash in
        # between leaves the file, which is replayed on start (delivery is at least once anyway).
        with self._lock:
            self._pending.discard(event_id)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / (event_id + SUFFIX)).unlink()
        _fsync_dir(self.directory)

    def fail(self, event_id: str) -> Path:
        """Move an event GitHub will never accept to ``failed/``; returns its new path."""
        target = self._failed / (event_id + SUFFIX)
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.directory / (event_id + SUFFIX), target)
        _fsync_dir(self.directory)
        with self._lock:
            self._pending.discard(event_id)
        return target

    def pending_ids(self, after: str = "") -> list[str]:
        """Pending ids greater than ``after``, oldest first."""
        with self._lock:
            return sorted(i for i in self._pending if i > after)

    def count(self) -> int:
        with self._lock:
            return len(self._pending)

    def failed_count(self) -> int:
        try:
            return sum(1 for _ in self._failed.glob("*" + SUFFIX))
        except OSError:
            return 0


def _fsync_dir(path: Path) -> None:
    """Make a rename/unlink durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = open_fd(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
