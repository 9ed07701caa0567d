from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# These machines are noisy (shared cores): judge properties, not the speed of drawing examples.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


@pytest.fixture
def sighup_default() -> Iterator[None]:
    """Processes the test starts get SIGHUP's default action (they inherit it), even when the suite itself runs
    under ``nohup``: a test that sends SIGHUP checks the program's own handling, not an inherited SIG_IGN."""
    if not hasattr(signal, "SIGHUP"):
        yield
        return
    hup = signal.Signals["SIGHUP"]
    before = signal.signal(hup, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(hup, before)
