"""Reporter for a GitHub Actions runner: masks, log groups, annotations, timestamped stage lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone

from streampixel_deploy.api.models import Result
from streampixel_deploy.core.progress import ProgressThrottle
from streampixel_deploy.core.redact import SECRETS
from streampixel_deploy.report import workflow as gha


class GitHubReporter:
    def __init__(self, debug: bool = False) -> None:
        self.debug_enabled = debug
        self._throttle = ProgressThrottle(5.0)  # a CI log: a line every few seconds

    def _print(self, text: str) -> None:
        sys.stdout.write(gha.plain(SECRETS.scrub(text)) + "\n")
        sys.stdout.flush()

    @contextmanager
    def _group(self, name: str) -> Iterator[None]:
        gha.start_group(name)
        try:
            yield
        finally:
            gha.end_group()

    def group(self, name: str) -> AbstractContextManager[None]:
        return self._group(name)

    def info(self, message: str) -> None:
        self._print(message)

    def warning(self, message: str, title: str | None = None) -> None:
        gha.annotation("warning", SECRETS.scrub(message), title)

    def error(self, message: str, title: str | None = None) -> None:
        gha.annotation("error", SECRETS.scrub(message), title)

    def debug(self, message: str) -> None:
        gha.debug(SECRETS.scrub(message))

    def ended(self, result: Result) -> None:
        """How the run ended: an error annotation (with the traceback as a debug line), or the message."""
        if result.exit_code:
            self.error(result.message, title=result.error_title)
            if self.debug_enabled and result.traceback:
                self.debug(result.traceback)
        else:
            self.info(result.message)

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%SZ")
        extra = f" ({detail})" if detail else ""
        self._print(f"{stamp} stage: {status}{extra} (+{elapsed:.1f}s)")

    def mask(self, value: str) -> None:
        if SECRETS.add(value):
            gha.add_mask(value)

    def progress(self, done: int, total: int | None, label: str) -> None:
        text = self._throttle.line(done, total, label)
        if text is not None:
            self._print(text)
