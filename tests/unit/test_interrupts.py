"""core.interrupts: every wait of a run lets a signal's handler run within a slice on the main thread.

On Windows, Ctrl+C does not interrupt ``threading.Event.wait``; on Linux a signal that lands on another thread does
not either (``signal.raise_signal`` from a timer thread), which lets these tests show the Windows failure here.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import pytest

from streampixel_deploy.core.errors import Cancelled
from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.interrupts import SLICE, STOP_SIGNALS, wait


class _FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


class _RecordingEvent(threading.Event):
    """An event whose waits are recorded and pass on fake time; it is set on the ``set_on``-th wait."""

    def __init__(self, fake: _FakeTime, set_on: int = 0) -> None:
        super().__init__()
        self.fake = fake
        self.set_on = set_on
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.fake.t += timeout or 0.0
        if len(self.waits) == self.set_on:
            self.set()
        return self.is_set()


def _in_thread(work: object) -> None:
    thread = threading.Thread(target=work)  # type: ignore[arg-type]
    thread.start()
    thread.join(10)


@pytest.mark.parametrize("how", ["sleep", "sleep_at_most"])
def test_the_clock_waits_in_slices_on_the_main_thread(how: str) -> None:
    """The default 15 s poll is 60 waits of a quarter second (the old code: one wait of 15 s)."""
    fake = _FakeTime()
    event = _RecordingEvent(fake)
    clock = Clock(600, event, now=fake.now)
    getattr(clock, how)(15.0, "following the build")
    assert event.waits, "the clock did not wait on its cancel event"
    assert max(w or 0.0 for w in event.waits) <= SLICE
    assert sum(w or 0.0 for w in event.waits) == pytest.approx(15.0)
    assert fake.t - clock.started == pytest.approx(15.0), "the whole wait, no more"


def test_the_clock_waits_once_on_another_thread() -> None:
    """No handler runs on another thread: one wait, as before (the relay's and the projects' threads)."""
    fake = _FakeTime()
    event = _RecordingEvent(fake)
    clock = Clock(600, event, now=fake.now)
    _in_thread(lambda: clock.sleep_at_most(15.0))
    assert event.waits == [15.0]


def test_a_cancel_during_a_sliced_wait_ends_it_at_that_slice() -> None:
    fake = _FakeTime()
    event = _RecordingEvent(fake, set_on=3)
    clock = Clock(600, event, now=fake.now)
    with pytest.raises(Cancelled, match="following the build"):
        clock.sleep(15.0, "following the build")
    assert len(event.waits) == 3


def test_a_wait_is_never_longer_than_asked_nor_past_the_deadline() -> None:
    fake = _FakeTime()
    event = _RecordingEvent(fake)
    clock = Clock(0.6, event, now=fake.now)  # 0.6 s left: sleep_at_most stops at the deadline
    clock.sleep_at_most(15.0)
    assert sum(w or 0.0 for w in event.waits) == pytest.approx(0.6)
    assert not wait(_RecordingEvent(fake), 0.0, fake.now)


class _Boom(Exception):
    pass


def _raise(signum: int, frame: object) -> None:
    raise _Boom(signal.Signals(signum).name)


@pytest.mark.parametrize("sig", [s for s in STOP_SIGNALS if s is not getattr(signal, "SIGTERM", None)])
def test_a_signal_ends_a_run_wait_within_a_slice(sig: signal.Signals) -> None:
    """A signal raised on another thread (on Windows: how a console event is handled) runs its handler on the
    main thread only when the wait returns: the old 30 s wait ran to its end. SIGBREAK on Windows."""
    previous = signal.signal(sig, _raise)
    clock = Clock(600)
    timer = threading.Timer(0.1, signal.raise_signal, (sig,))
    timer.start()
    try:
        with pytest.raises(_Boom, match=sig.name):
            clock.sleep(30.0, "following the build")
    finally:
        timer.join()
        signal.signal(sig, previous)
    assert clock.elapsed() < 30.0, "the wait ran to its end: the handler ran only then"


def test_the_stop_signals() -> None:
    names = {s.name for s in STOP_SIGNALS}
    assert {"SIGINT", "SIGTERM"} <= names
    assert ("SIGBREAK" in names) == (sys.platform == "win32"), "Ctrl+Break is the runner's second event"


def test_a_wait_for_ever_ends_when_the_event_is_set() -> None:
    event = threading.Event()
    timer = threading.Timer(0.2, event.set)
    started = time.monotonic()
    timer.start()
    try:
        assert wait(event, None)
    finally:
        timer.join()
    assert time.monotonic() - started >= 0.2


def test_cancellation_takes_every_stop_signal_and_gives_them_back() -> None:
    from streampixel_deploy.signals import cancellation

    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    with cancellation():
        during = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    assert len(set(map(id, during.values()))) == 1, "one handler for every stop signal"
    assert all(during[s] is not before[s] for s in STOP_SIGNALS)
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == before


def test_a_signal_ends_a_request_the_server_holds() -> None:
    """A blocking socket read on the main thread is not cut by a signal that Windows hands to another thread (or
    that Linux raises on one): under Wine, a request held 60 s ended the run 58 s after Ctrl+C. The request now
    runs on a helper thread while the main thread waits in slices."""
    import socket

    from streampixel_deploy.core.http import Http, Policy, make_session

    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog) and never answers
    port = listener.getsockname()[1]
    previous = signal.signal(signal.SIGINT, _raise)
    timer = threading.Timer(0.3, signal.raise_signal, (signal.SIGINT,))
    http = Http(make_session(), Policy(attempts=1, request_budget=30.0), Clock(600))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(_Boom):
            http.send("GET", f"http://127.0.0.1:{port}/held", what="a held answer", repeatable=True)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
        listener.close()
    assert time.monotonic() - started < 5.0, "the handler ran only when the held read ended"
