"""The life of a foreground server (``emulator``, ``relay``): run until SIGINT or SIGTERM, then let the caller stop.

A runner, a ``kill`` and a container stop all send SIGTERM, which Python's default ends at once, skipping every
``finally``: the emulator's inbox (links to the builds hosted with it) stayed in the temp folder. Here either
signal ends the wait, the server's clean-up runs, and the process exits 0. The handlers are put back before the
caller's clean-up, so a second signal during it ends the process at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

#: How often the wait wakes up: Windows delivers Ctrl-C between waits, not during one.
POLL_SECONDS = 1.0


def serve_until_signal(stop: threading.Event | None = None) -> str | None:
    """Block until SIGINT or SIGTERM (Ctrl-C included) and return the signal's name, or until ``stop`` is set
    (then None). Outside the main thread no handler can be set, and only ``stop`` ends the wait."""
    stop = threading.Event() if stop is None else stop
    came: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        came.append(signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(POLL_SECONDS):
            pass
    except KeyboardInterrupt:  # a Ctrl-C that the handler did not catch
        came.append(signal.SIGINT.name)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return came[0] if came else None
