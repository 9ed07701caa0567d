"""Plain-terminal reporter: timestamped lines on stderr, a live progress bar on a TTY."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TextIO

from ..redact import SECRETS


class TerminalReporter:
    def __init__(self, stream: TextIO | None = None, debug: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.debug_enabled = debug
        self._tty = self.stream.isatty()
        self._last_progress = 0.0
        self._progress_started: float | None = None

    def _write(self, text: str) -> None:
        self.stream.write(SECRETS.scrub(text) + "\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        self._write(f"[{datetime.now().strftime('%H:%M:%S')}] {text}")

    @contextmanager
    def _group(self, name: str) -> Iterator[None]:
        self._line(f"== {name} ==")
        yield

    def group(self, name: str) -> AbstractContextManager[None]:
        return self._group(name)

    def info(self, message: str) -> None:
        self._line(message)

    def warning(self, message: str, title: str | None = None) -> None:
        self._line(f"warning: {message}")

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._line(f"debug: {message}")

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        extra = f" ({detail})" if detail else ""
        self._line(f"stage: {status}{extra}  +{elapsed:.1f}s")

    def mask(self, value: str) -> None:
        SECRETS.add(value)

    def progress(self, done: int, total: int | None, label: str) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if self._progress_started is None or done == 0:
            self._progress_started = self._last_progress = now
            if not finished:
                return
        if not finished and now - self._last_progress < (0.2 if self._tty else 5.0):
            return
        self._last_progress = now
        elapsed = max(now - self._progress_started, 1e-6)
        rate = done / elapsed
        if total:
            pct = 100.0 * done / total
            eta = (total - done) / rate if rate > 0 else 0.0
            text = f"{label}: {pct:5.1f}% {done / 1e6:,.1f}/{total / 1e6:,.1f} MB {rate / 1e6:.1f} MB/s ETA {eta:.0f}s"
        else:
            text = f"{label}: {done / 1e6:,.1f} MB {rate / 1e6:.1f} MB/s"
        if self._tty:
            self.stream.write("\r" + text + ("\n" if finished else ""))
            self.stream.flush()
        else:
            self._line(text)
