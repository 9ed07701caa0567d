"""core.foreground: a foreground server waits for SIGINT or SIGTERM, and the previous handlers come back."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from streampixel_deploy.core.foreground import serve_until_signal


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_either_signal_ends_the_wait_and_the_handlers_come_back(sig: signal.Signals) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(0.05, os.kill, (os.getpid(), sig))
    timer.start()
    try:
        assert serve_until_signal() == sig.name
    finally:
        timer.join()
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
