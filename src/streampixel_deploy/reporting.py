"""The interface the pipeline reports through; the terminal and GitHub reporters implement it."""

from __future__ import annotations

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
