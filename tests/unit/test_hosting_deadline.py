"""Every host honours the deadline: once it has run out, hosting stops with WaitTimeout before sending anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from streampixel_deploy.core.errors import WaitTimeout, ref
from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.hosting import Upload, time_left
from streampixel_deploy.hosting.inbox import EmulatorHost
from streampixel_deploy.hosting.url import UrlHost


class _NoNetwork(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was sent after the deadline")


def test_time_left() -> None:
    assert time_left(None) is None
    assert time_left(lambda: 12.5) == 12.5
    with pytest.raises(WaitTimeout, match=re.escape(ref("timeout-minutes")) + r" ran out while uploading the build"):
        time_left(lambda: 0.0)


def test_url_host_stops_before_the_preflight() -> None:
    host = UrlHost("https://cdn.example.com/b.zip", _NoNetwork())
    with pytest.raises(WaitTimeout):
        host.host(Upload(None, "p", deadline=lambda: -1.0), NullReporter())


def test_emulator_host_stops_before_registering(tmp_path: Path) -> None:
    zip_path = tmp_path / "b.zip"
    zip_path.write_bytes(b"PK" + b"\0" * 100)
    host = EmulatorHost("http://127.0.0.1:9/api", _NoNetwork())
    with pytest.raises(WaitTimeout):
        host.host(Upload(zip_path, "p", sha256="0" * 64, deadline=lambda: 0.0), NullReporter())
    with pytest.raises(WaitTimeout):
        host.host(Upload(zip_path, "p", deadline=lambda: 0.0), NullReporter())  # while hashing
