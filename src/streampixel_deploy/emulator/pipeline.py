"""The build pipeline worker (docs/streampixel-api.md §8): real downloads and real archive checks.

One thread per build walks ``pending -> Downloading Files -> Extracting & Scanning -> Saving to
Repository``, then ``Distribute -> Approved`` (autoRelease true: the build goes live) or straight
to ``Approved`` (autoRelease false: kept, not live; docs/streampixel-api.md §8.4). With ``approval_order:
approved-then-distribute`` an auto-released build is ``Approved`` (not live) for the Distribute delay
first. Any failure ends in ``Reject`` with an ``objection``: at once (``reject_at: where-found``) or,
with ``reject_at: distribute``, after the build walked on through the remaining stages to ``Distribute``.
Each stage does its work first, then waits its configured delay; all waits use the stop event, so
``Emulator.stop()`` ends the threads promptly.

Downloads never follow redirects, stream to a temporary file in 1 MiB chunks and delete it once the
archive has been checked. The files live in the pipeline's own temp folder (:class:`Downloads`), which ``stop()``
removes with whatever is left in it, after cutting the transfers still running: a stalled file host held a read for
the whole download timeout, past the process's exit, and the partial zip stayed in the temp folder.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import logging
import os
import shutil
import socket
import tempfile
import threading
import urllib.error
import zipfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from streampixel_deploy.emulator.config import APPROVED, DISTRIBUTE, DOWNLOADING, EXTRACTING, PENDING, REJECT, SAVING
from streampixel_deploy.emulator.net import http_request, open_url
from streampixel_deploy.emulator.state import Store
from streampixel_deploy.emulator.webhooks import Notice

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024

REDIRECTED = "Download failed: the URL redirected to another location (direct download required)"
NO_CONNECTION = "Download failed: could not connect"
HTML_PAGE = "Download failed: the URL returned an HTML page, not a zip"
ABORTED = "Download failed: the transfer was aborted"
NOT_A_ZIP = "Corrupt archive: not a valid zip file"
NO_EXE = "Executable not found in archive"


class Stopped(Exception):
    """The emulator is stopping; abandon the current build."""


class Downloads:
    """The pipeline's downloads while they run: a temp folder of their own (there while a download is) and the open
    transfers. :meth:`cut` ends every transfer at once (a read blocked on a stalled host wakes and fails), and
    :meth:`remove` deletes the folder with any partial zip in it; after ``cut`` no new download starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folder: str | None = None
        self._open: set[http.client.HTTPResponse] = set()
        self._files = 0
        self._cut = False

    def new_file(self) -> str:
        with self._lock:
            if self._cut:
                raise Stopped
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="streampixel-emulator-downloads-")
            fd, path = tempfile.mkstemp(prefix="streampixel-emulator-", suffix=".zip", dir=self._folder)
            self._files += 1
        os.close(fd)
        return path

    def finished(self, path: str) -> None:
        """The download's file is no longer needed: gone, and the folder with the last one."""
        with contextlib.suppress(FileNotFoundError):  # remove() may have taken it already
            os.unlink(path)
        with self._lock:
            self._files -= 1
            folder, self._folder = (self._folder, None) if self._files == 0 else (None, self._folder)
        if folder is not None:  # taken from under the lock: a download starting now makes a new one
            shutil.rmtree(folder, ignore_errors=True)

    @contextlib.contextmanager
    def transfer(self, response: http.client.HTTPResponse) -> Iterator[None]:
        with self._lock:
            if self._cut:
                raise Stopped
            self._open.add(response)
        try:
            yield
        finally:
            with self._lock:
                self._open.discard(response)

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            responses = list(self._open)
        for response in responses:
            with (
                contextlib.suppress(OSError, ValueError),  # already closed, or not a socket any more
                socket.fromfd(response.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock,
            ):
                sock.shutdown(socket.SHUT_RDWR)  # the connection, not just this duplicate: the read wakes

    def remove(self) -> None:
        with self._lock:
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def download(
    url: str, dest: str, timeout: float, stop: threading.Event, downloads: Downloads | None = None
) -> str | None:
    """Stream ``url`` into ``dest``; returns an objection, or None on success. ``downloads`` can cut it."""
    try:
        with (
            open_url(http_request(url), timeout) as response,
            downloads.transfer(response) if downloads is not None else contextlib.nullcontext(),
            open(dest, "wb") as out,
        ):
            if response.headers.get_content_type() == "text/html":
                return HTML_PAGE
            first = True
            while chunk := response.read(CHUNK):
                if stop.is_set():
                    raise Stopped
                if first and chunk.lstrip().startswith(b"<"):
                    return HTML_PAGE
                first = False
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code <= 399:
            return REDIRECTED
        return f"Download failed: the URL answered HTTP {exc.code}"
    except urllib.error.URLError:
        return NO_CONNECTION
    except (http.client.HTTPException, OSError):
        return ABORTED
    except ValueError:
        return NO_CONNECTION
    return None


def scan(path: str, require_exe: bool, stop: threading.Event) -> str | None:
    """Check the archive like ``Extracting & Scanning``; returns an objection, or None."""
    if not zipfile.is_zipfile(path):
        return NOT_A_ZIP
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in info.filename:
                    return f"Malformed package: unsafe path in archive: {info.filename}"
            exes = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".exe")]
            if require_exe and not exes:
                return NO_EXE
            for info in infos:
                try:
                    with archive.open(info) as member:
                        while member.read(CHUNK):
                            if stop.is_set():
                                raise Stopped
                except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
                    return f"Corrupt archive: {info.filename} failed the integrity check ({exc})"
    except (zipfile.BadZipFile, OSError):
        return NOT_A_ZIP
    return None


class Pipeline:
    """Runs builds and distributions in worker threads against a ``Store``."""

    def __init__(self, store: Store, notify: Callable[[Notice | None], None]) -> None:
        self._store = store
        self._notify = notify
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._downloads = Downloads()

    def submit_upload(self, upload_id: str, generation: int) -> None:
        self._spawn(self._run_upload, upload_id, generation)

    def submit_distribute(self, upload_id: str, generation: int, lag: float = 0.0) -> None:
        """Without ``lag`` the build is already in ``Distribute`` (set by the request); finish it.

        With ``lag`` (seconds) it stays ``Approved`` that long, then enters ``Distribute``.
        """
        self._spawn(lambda uid, gen: self._run_distribute(uid, gen, lag), upload_id, generation)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self._downloads.cut()
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)
        self._downloads.remove()

    def _spawn(self, target: Callable[[str, int], None], upload_id: str, generation: int) -> None:
        thread = threading.Thread(
            target=self._guard,
            args=(target, upload_id, generation),
            name=f"emulator-build-{upload_id}",
            daemon=True,
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _guard(self, target: Callable[[str, int], None], upload_id: str, generation: int) -> None:
        try:
            target(upload_id, generation)
        except Stopped:
            pass
        except Exception:  # a bug must not kill silently: reject the build and log
            logger.exception("pipeline crashed for build %s", upload_id)
            self._enter(upload_id, generation, REJECT, objection="Internal server error")

    def _wait(self, stage: str) -> None:
        self._sleep(self._store.settings.stage_delays.get(stage, 0.0))

    def _sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise Stopped

    def _enter(
        self, upload_id: str, generation: int, status: str, *, objection: str | None = None, live: bool = False
    ) -> None:
        """Move the build to ``status`` (``live``: and make it the live build) and fire its webhook.

        Stops the thread if the store was reset meanwhile.
        """
        if self.stop_event.is_set():
            raise Stopped
        notice = self._store.transition(upload_id, status, generation=generation, objection=objection, make_live=live)
        if notice is None:
            raise Stopped
        self._notify(notice)

    def _check(self, upload_id: str, generation: int, url: str) -> tuple[str | None, str]:
        """Download and scan; returns the objection (None: fine) and the stage the build is in."""
        path = self._downloads.new_file()
        try:
            objection = download(
                url, path, self._store.settings.download_timeout_seconds, self.stop_event, self._downloads
            )
            if objection:
                return objection, DOWNLOADING
            self._wait(DOWNLOADING)
            self._enter(upload_id, generation, EXTRACTING)
            return scan(path, self._store.settings.require_exe, self.stop_event), EXTRACTING
        finally:
            self._downloads.finished(path)

    def _run_upload(self, upload_id: str, generation: int) -> None:
        self._wait(PENDING)
        self._enter(upload_id, generation, DOWNLOADING)
        build = self._store.build(upload_id)
        if build is None:
            return
        objection, stage = self._check(upload_id, generation, build.url)
        if objection:
            if self._store.settings.reject_at == "distribute":  # walk on; the failure shows at Distribute
                stages = (DOWNLOADING, EXTRACTING, SAVING, DISTRIBUTE)
                for current, following in itertools.pairwise(stages[stages.index(stage) :]):
                    self._wait(current)
                    self._enter(upload_id, generation, following)
                self._wait(DISTRIBUTE)
            self._enter(upload_id, generation, REJECT, objection=objection)
            return
        self._wait(EXTRACTING)
        self._enter(upload_id, generation, SAVING)
        self._wait(SAVING)
        if not build.auto_release:
            self._enter(upload_id, generation, APPROVED)
            return
        if self._store.settings.approval_order == "approved-then-distribute":
            self._enter(upload_id, generation, APPROVED)
            self._wait(DISTRIBUTE)
        self._enter(upload_id, generation, DISTRIBUTE)
        self._wait(DISTRIBUTE)
        self._enter(upload_id, generation, APPROVED, live=True)

    def _run_distribute(self, upload_id: str, generation: int, lag: float) -> None:
        if lag:
            self._sleep(lag)
            self._enter(upload_id, generation, DISTRIBUTE)
        self._wait(DISTRIBUTE)
        self._enter(upload_id, generation, APPROVED, live=True)
