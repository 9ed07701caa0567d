"""Small S3 calls beside the main work, so that their round trips overlap it (issue 26: fewer round trips around
the body): the listing beside the look for an earlier upload, the test object's check beside the upload's start,
the sha256 record beside the URL check.

A reporter belongs to the run's thread, so what such work reports is kept and handed over when its result is taken
(:meth:`Later.result`), in the order it was said.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from streampixel_deploy.core.progress import NullReporter, Reporter

T = TypeVar("T")


class Later(NullReporter, Generic[T]):
    """``work(self)`` on a helper thread, ``self`` standing in for its reporter (info, warnings, debug, masks kept)."""

    def __init__(self, name: str, work: Callable[[Reporter], T]) -> None:
        self.future: Future[T] = Future()
        self._said: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

        def run() -> None:
            try:
                self.future.set_result(work(self))
            except BaseException as exc:  # handed to result(), in the run's thread
                self.future.set_exception(exc)

        threading.Thread(target=run, name=name, daemon=True).start()

    def info(self, message: str) -> None:
        self._keep("info", message)

    def warning(self, message: str, title: str | None = None) -> None:
        self._keep("warning", message, title)

    def debug(self, message: str) -> None:
        self._keep("debug", message)

    def mask(self, value: str) -> None:
        self._keep("mask", value)

    def _keep(self, kind: str, text: str, title: str | None = None) -> None:
        with self._lock:
            self._said.append((kind, text, title))

    def failed(self) -> BaseException | None:
        """The work's error when it has ended with one (without waiting), else None."""
        return self.future.exception() if self.future.done() else None

    def result(self, reporter: Reporter, timeout: float | None = None) -> T:
        """Wait for the work; say what it said through ``reporter``; its value, or its error raised."""
        try:
            return self.future.result(timeout)
        finally:
            if self.future.done():
                with self._lock:
                    said, self._said = self._said, []
                for kind, text, title in said:
                    if kind == "mask":
                        reporter.mask(text)
                    elif kind == "warning":
                        reporter.warning(text, title)
                    elif kind == "info":
                        reporter.info(text)
                    else:
                        reporter.debug(text)
