"""Plain-terminal reporter: timestamped lines on stderr, a live progress bar on a TTY."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TextIO

from streampixel_deploy.api.models import Result
from streampixel_deploy.core.progress import ProgressThrottle
from streampixel_deploy.core.redact import SECRETS
from streampixel_deploy.report.workflow import plain


class TerminalReporter:
    def __init__(self, stream: TextIO | None = None, debug: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.debug_enabled = debug
        self._tty = self.stream.isatty()
        self._throttle = ProgressThrottle(0.2 if self._tty else 5.0)

    def _write(self, text: str) -> None:
        self.stream.write(plain(SECRETS.scrub(text)) + "\n")  # a CI log parses our stderr for commands too
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

    def ended(self, result: Result) -> None:
        """Nothing: the CLI prints the result once the run is over."""

    def progress(self, done: int, total: int | None, label: str) -> None:
        text = self._throttle.line(done, total, label)
        if text is None:
            return
        if self._tty:
            finished = total is not None and done >= total
            self.stream.write("\r" + text + ("\n" if finished else ""))
            self.stream.flush()
        else:
            self._line(text)
