"""Cancellation: SIGINT/SIGTERM (how a runner cancels a step) set an event the pipeline watches."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from streampixel_deploy.core.errors import Cancelled


@contextmanager
def cancellation() -> Iterator[threading.Event]:
    """Install handlers that set the yielded event and interrupt a blocking call with Cancelled."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        first = not event.is_set()
        event.set()
        if first:
            raise Cancelled(f"Cancelled by {signal.Signals(signum).name}.")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
