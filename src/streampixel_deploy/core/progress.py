"""The interface the pipeline reports through; the terminal and GitHub reporters implement it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Reporter(Protocol):
    def group(self, name: str) -> AbstractContextManager[None]:
        """A phase of the run (validate, host, submit, follow, distribute)."""

    def info(self, message: str) -> None: ...

    def warning(self, message: str, title: str | None = None) -> None: ...

    def debug(self, message: str) -> None: ...

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        """A build entered a new pipeline status (reported once per transition)."""

    def mask(self, value: str) -> None:
        """Register a secret so that it never appears in logs (called before it is used)."""

    def progress(self, done: int, total: int | None, label: str) -> None:
        """Bytes transferred so far (hosting)."""


class ProgressThrottle:
    """Turns a stream of byte counts into at most one progress line every ``every`` seconds (always the last)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._started: float | None = None
        self._last = 0.0

    def line(self, done: int, total: int | None, label: str) -> str | None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if self._started is None or done == 0:
            self._started = self._last = now
            if not finished:
                return None
        if not finished and now - self._last < self.every:
            return None
        self._last = now
        rate = done / max(now - self._started, 1e-6)
        if total:
            eta = (total - done) / rate if rate > 0 else 0.0
            return (
                f"{label}: {100.0 * done / total:5.1f}% of {total / 1e6:,.1f} MB, {rate / 1e6:.1f} MB/s, ETA {eta:.0f}s"
            )
        return f"{label}: {done / 1e6:,.1f} MB, {rate / 1e6:.1f} MB/s"


class NullReporter:
    """Discards everything; for library use and unit tests."""

    @contextmanager
    def _group(self) -> Iterator[None]:
        yield

    def group(self, name: str) -> AbstractContextManager[None]:
        return self._group()

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str, title: str | None = None) -> None:
        pass

    def debug(self, message: str) -> None:
        pass

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        pass

    def mask(self, value: str) -> None:
        pass

    def progress(self, done: int, total: int | None, label: str) -> None:
        pass
