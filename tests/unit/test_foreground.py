"""core.foreground: a foreground server waits for SIGINT or SIGTERM (Ctrl+C or Ctrl+Break on Windows), and the
previous handlers come back."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import pytest

from streampixel_deploy.core.foreground import serve_until_signal
from streampixel_deploy.core.interrupts import STOP_SIGNALS

#: Windows has no kill(2): os.kill(pid, SIGINT) is TerminateProcess there, and would end pytest itself.
POSIX_KILL = pytest.mark.skipif(sys.platform == "win32", reason="os.kill(pid, SIGINT) is TerminateProcess on Windows")


@POSIX_KILL
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_either_signal_ends_the_wait_and_the_handlers_come_back(sig: signal.Signals) -> None:
    _ends_the_wait(sig, lambda: os.kill(os.getpid(), sig))


@pytest.mark.parametrize("sig", [s for s in STOP_SIGNALS if s.name != "SIGTERM"], ids=lambda s: s.name)
def test_a_console_signal_ends_the_wait_and_the_handlers_come_back(sig: signal.Signals) -> None:
    """Ctrl+C and Ctrl+Break, as Windows hands them to Python (on another thread; so does raise_signal there):
    the handler runs when the main thread's wait wakes. SIGINT on POSIX too, raised on another thread."""
    _ends_the_wait(sig, lambda: signal.raise_signal(sig))


def _ends_the_wait(sig: signal.Signals, send: Callable[[], None]) -> None:
    """Send ``sig`` once the wait's handler is in place (sent before it, under load, the signal met the previous
    disposition: an inherited SIG_IGN, and the wait never ended), then check the handlers came back."""
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    previous = signal.getsignal(sig)

    def send_once_handled() -> None:
        deadline = time.monotonic() + 10
        while signal.getsignal(sig) == previous and time.monotonic() < deadline:
            time.sleep(0.01)
        send()

    sender = threading.Thread(target=send_once_handled)
    sender.start()
    try:
        assert serve_until_signal() == sig.name
    finally:
        sender.join()
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize("thread", ["main", "other"])
def test_the_caller_can_end_the_wait(thread: str) -> None:
    """Outside the main thread no handler can be set: the caller's event is the only way out, and the wait lasts
    until it is set."""
    stop = threading.Event()
    came: list[tuple[str | None, bool]] = []

    def wait() -> None:
        came.append((serve_until_signal(stop), stop.is_set()))

    timer = threading.Timer(0.2, stop.set)
    timer.start()
    if thread == "main":
        wait()
    else:
        waiter = threading.Thread(target=wait)
        waiter.start()
        waiter.join(5)
    timer.join()
    assert came == [(None, True)]


@POSIX_KILL
@pytest.mark.usefixtures("sighup_default")  # a suite started under nohup inherits SIGHUP ignored, kept by design
def test_sighup_ends_the_wait_too() -> None:
    """A closed terminal's SIGHUP: Python's default ended the emulator or the relay with no clean-up at all."""
    hup = signal.Signals["SIGHUP"]
    before = signal.getsignal(hup)
    _ends_the_wait(hup, lambda: os.kill(os.getpid(), hup))
    assert signal.getsignal(hup) == before


@POSIX_KILL
def test_a_sighup_the_process_was_started_to_ignore_stays_ignored() -> None:
    """``nohup streampixel-deploy emulator &`` (the self-test workflow): the emulator must outlive its step, whose
    end sends SIGHUP; a handler installed over nohup's SIG_IGN ended it."""
    hup = signal.Signals["SIGHUP"]
    before = signal.signal(hup, signal.SIG_IGN)
    stop = threading.Event()

    def hang_up_then_stop() -> None:
        os.kill(os.getpid(), hup)
        stop.set()

    timer = threading.Timer(0.05, hang_up_then_stop)
    timer.start()
    try:
        assert serve_until_signal(stop) is None  # the caller's stop ended the wait, not the hang-up
        timer.join()
        assert signal.getsignal(hup) == signal.SIG_IGN
    finally:
        signal.signal(hup, before)
