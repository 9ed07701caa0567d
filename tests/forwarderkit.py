"""What the relay forwarder's unit tests share: the event, a spool holding it, the flags and the fake clock."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import streampixel_deploy.relay.forwarder as forwarder_module
from streampixel_deploy.core.http import Clock
from streampixel_deploy.relay.spool import Spool
from tests.fakeclock import FakeTime

ENVELOPE = {
    "event": "build.approved",
    "projectId": "664f1a2b3c4d5e6f7a8b9c0d",
    "uploadId": "665a2b3c4d5e6f7a8b9c0e1f",
    "fileUrl": "https://builds.example.com/showroom/Showroom-1.0.0.zip",
    "status": "Approved",
    "objection": None,
    "timestamp": "2026-05-02T09:14:07.000Z",
}


def flags(spool_dir: Path, **more: str) -> dict[str, str]:
    """The relay's flags for a forwarder to a GitHub that is never reached over the network."""
    return {
        "token": "relay-test-token-0123456789abcdef",
        "github_repository": "octo-org/game",
        "github_token": "ghs_relaytest0123456789abcdefghijklmn",
        "github_api_url": "https://ghe.example.com/api/v3",
        "spool_dir": str(spool_dir),
        **more,
    }


def spool_with_the_event(folder: Path) -> Spool:
    spool = Spool(folder)
    spool.open()
    event_id = spool.new_id()
    spool.write({"id": event_id, "receivedAt": time.time(), "envelope": ENVELOPE}, event_id)
    return spool


def fake_forwarder_clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Every Clock the forwarder makes runs on the returned fake time (its waits pass at once, recorded)."""
    fake = FakeTime(1000.0)

    def fake_clock(budget_seconds: float | None = None, **kwargs: Any) -> Clock:
        return Clock(budget_seconds, now=fake.now, pause=fake.pause, **kwargs)

    monkeypatch.setattr(forwarder_module, "Clock", fake_clock)
    return fake
