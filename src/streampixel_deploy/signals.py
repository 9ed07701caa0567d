"""Cancellation: SIGINT/SIGTERM, the way a runner cancels a step (then SIGKILL a few seconds later); on Windows
Ctrl+C, then Ctrl+Break 7.5 s later, then a kill 2.5 s after that (SIGINT and SIGBREAK here).

- The first signal sets the cancel event every wait watches, calls ``on_first`` (the faces write the outputs
  and the summary there, before any clean-up), arms a watchdog and interrupts the main thread with Cancelled.
- Clean-up is bounded: GRACE seconds after the first signal the watchdog ends the process (exit 130).
- A second signal ends the process at once (exit 130).
- Every wait of a run (``core.interrupts.wait``, through the run's Clock) lets the handler run within a quarter
  second, Windows included, where Ctrl+C does not interrupt a wait on an event.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from streampixel_deploy.core.errors import EXIT_CANCELLED, Cancelled
from streampixel_deploy.core.interrupts import STOP_SIGNALS

#: Seconds of clean-up allowed after the first signal (a runner kills a cancelled step soon after).
GRACE = 5.0


def _stop_now(why: str | None) -> None:
    try:
        if why:
            print(f"Cancelled: {why}; stopping now.", file=sys.stderr, flush=True)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(EXIT_CANCELLED)


def _watchdog(grace: float) -> None:
    timer = threading.Timer(grace, _stop_now, (f"clean-up took longer than {grace:g}s",))
    timer.daemon = True
    timer.start()


@contextmanager
def cancellation(
    on_first: Callable[[str], None] | None = None, grace: float = GRACE, event: threading.Event | None = None
) -> Iterator[threading.Event]:
    """Install the handlers for the block (setting ``event``, or a new one, on the first signal). Once a signal came,
    leaving the block ends the process (exit 130)."""
    event = event if event is not None else threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    published = threading.Event()  # the first signal's outputs are written
    second: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if event.is_set():
            if not published.is_set():  # let the first signal finish writing the outputs, then stop
                second.append(name)
                return
            _stop_now(f"{name} after a first signal")
        event.set()
        _watchdog(grace)
        reason = f"Cancelled by {name}."
        try:
            if on_first is not None:
                on_first(reason)
        except Exception as exc:  # never let reporting stop the cancel
            print(f"warning: could not write the outputs on cancel ({type(exc).__name__})", file=sys.stderr)
        finally:
            published.set()
        if second:
            _stop_now(f"{second[0]} after a first signal")
        raise Cancelled(reason)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield event
    finally:
        if event.is_set():
            # Cancelled and reported: exit now. During the interpreter's shutdown the handlers are reset, and a
            # further signal (a runner sends SIGTERM soon after SIGINT) would turn exit 130 into "killed".
            _stop_now(None)
        for sig, old in previous.items():
            signal.signal(sig, old)
