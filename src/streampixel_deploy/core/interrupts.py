"""Waits that a signal can end, on every OS: the one place a wait on the main thread is cut into slices.

On Windows, Ctrl+C and Ctrl+Break do not interrupt ``threading.Event.wait`` (nor any lock wait): Python runs a
signal's handler only when the wait returns, so a 15 s poll ended about 14 s after Ctrl+C, past the runner's kill.
Handlers run on the main thread only, so there a wait is made of slices of at most :data:`SLICE` seconds; on any
other thread it is one wait. POSIX interrupts the wait itself; the slices cost it nothing but a few wake-ups.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from streampixel_deploy.core import waits
from streampixel_deploy.core.waits import Wait

T = TypeVar("T")

#: The longest a signal's handler waits to run on the main thread (Windows): well within the runner's 7.5 s.
SLICE = 0.25

#: The signals that stop a run or a foreground server: a runner's SIGINT and SIGTERM on POSIX, Ctrl+C and
#: Ctrl+Break (the runner's second event, 7.5 s after Ctrl+C) on Windows.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM) + (
    (signal.Signals["SIGBREAK"],) if hasattr(signal, "SIGBREAK") else ()
)


def wait(event: threading.Event, seconds: float | None, now: Callable[[], float] = time.monotonic) -> bool:
    """``event.wait(seconds)`` (``None``: until it is set) that lets a signal's handler run within SLICE seconds
    on the main thread. Returns whether the event is set."""
    if threading.current_thread() is not threading.main_thread():
        return event.wait(seconds)
    end = None if seconds is None else now() + seconds
    while True:
        left = SLICE if end is None else end - now()
        if left <= 0:
            return event.is_set()
        if event.wait(min(left, SLICE)):
            return True


def call(work: Callable[[], T], held: Wait | None = None) -> T:
    """``work()``, cut short by a signal within SLICE seconds on the main thread: there it runs on a helper thread
    while the main thread waits in slices, because a blocking socket read is not interrupted by Ctrl+C on Windows
    (a request the server held for 60 s ended the run 58 s after Ctrl+C). On any other thread it runs in place.

    ``held``: what the caller waits for (a server's answer); when ``work`` is still running ANNOUNCE_AFTER seconds
    in, that wait is said, with its short line every REPEAT_EVERY seconds after (core/waits.py): on any thread, so
    ``work`` then runs on a helper thread there too.

    What ``work`` raises is raised here. When a handler raises meanwhile (Cancelled), that goes up at once and
    ``work`` is left to end on its own (a daemon thread: its socket timeout bounds it, the process exit ends it)."""
    if threading.current_thread() is not threading.main_thread() and held is None:
        return work()
    done = threading.Event()
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # handed to the caller as it is
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="streampixel-call", daemon=True).start()
    if held is None:
        wait(done, None)
    elif not wait(done, waits.ANNOUNCE_AFTER):
        held.begin()
        while not wait(done, None if math.isinf(due := held.due_in()) else max(due, SLICE)):
            held.beat()
    if errors:
        raise errors[0]
    return results[0]
