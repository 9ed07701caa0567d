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


def test_outside_the_main_thread_it_returns_at_once() -> None:
    came: list[str | None] = ["not yet"]
    thread = threading.Thread(target=lambda: came.__setitem__(0, serve_until_signal()))
    thread.start()
    thread.join(5)
    assert came == [None]
