"""The life of a foreground server (``emulator``, ``relay``): run until a stop signal, then let the caller stop.

A runner, a ``kill`` and a container stop all send SIGTERM, which Python's default ends at once, skipping every
``finally``: the emulator's inbox (links to the builds hosted with it) stayed in the temp folder; so did a closed
terminal's SIGHUP. Here any of them ends the wait, the server's clean-up runs, and the process exits 0. The handlers
are put back before the caller's clean-up, so a second signal during it ends the process at once. On Windows the
signals are Ctrl+C and Ctrl+Break (nothing sends SIGTERM there); the wait is ``core.interrupts.wait``, which either
ends within SLICE.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from streampixel_deploy.core.interrupts import STOP_SIGNALS, wait

#: What ends a foreground server: the stop signals, and SIGHUP where there is one (its terminal or session closed;
#: Python's default for it ends the process with no clean-up at all).
SERVER_SIGNALS: tuple[signal.Signals, ...] = STOP_SIGNALS + (
    (signal.Signals["SIGHUP"],) if hasattr(signal, "SIGHUP") else ()
)


def serve_until_signal(stop: threading.Event | None = None) -> str | None:
    """Block until SIGINT, SIGTERM or SIGHUP (Ctrl+C and Ctrl+Break on Windows) and return its name, or until
    ``stop`` is set (then None). Outside the main thread no handler can be set, and only ``stop`` ends the wait."""
    stop = threading.Event() if stop is None else stop
    came: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        came.append(signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in SERVER_SIGNALS if not _left_alone(sig)}
    try:
        wait(stop, None)
    except KeyboardInterrupt:  # a Ctrl-C that the handler did not catch
        came.append(signal.SIGINT.name)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return came[0] if came else None


def _left_alone(sig: signal.Signals) -> bool:
    """A SIGHUP this process was started to ignore (``nohup``: a server meant to outlive its terminal or its CI
    step, whose end sends SIGHUP to what the step left running) stays ignored."""
    return sig.name == "SIGHUP" and signal.getsignal(sig) == signal.SIG_IGN
