"""``streampixel-deploy emulator`` stopped by a signal leaves nothing in its temp folder (issue 28): not its inbox
(links to the builds hosted with it), and not the partial zip of a download still running. SIGHUP (a closed
terminal, a ``nohup``-less session ending) used to kill it with no clean-up; SIGTERM during a slow download left the
partial zip behind."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.localhttp import QuietHandler, serve

from .helpers import TIMEOUT, Client, start_cli

SIGNALS = [signal.SIGINT, signal.SIGTERM] + ([signal.Signals["SIGHUP"]] if hasattr(signal, "SIGHUP") else [])


class Stalled:
    """A file host that sends the headers and a first piece of a zip, then holds the download until released."""

    asked = threading.Event()
    release = threading.Event()


class StallingHandler(QuietHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(64 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(b"PK\x03\x04" + bytes(64 * 1024))
        self.wfile.flush()
        Stalled.asked.set()
        Stalled.release.wait(TIMEOUT)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals sent with kill(2)")
@pytest.mark.usefixtures("sighup_default")
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_during_a_slow_download_leaves_the_temp_folder_empty(sig: signal.Signals, tmp_path: Path) -> None:
    Stalled.asked.clear()
    Stalled.release.clear()
    temp = tmp_path / "temp"
    temp.mkdir()
    with serve(StallingHandler) as host:
        proc, lines = start_cli(env={**os.environ, "TMPDIR": str(temp)})
        try:
            url = next(line.split()[-1] for line in lines if "listening on" in line)
            inbox = Path(requests.get(f"{url}/_emulator/inbox", timeout=TIMEOUT).json()["dir"])
            (inbox / "MyGame.zip").write_bytes(b"PK")
            Client(url + "/pixelStripeApi").upload(f"{host}/MyGame.zip")
            assert Stalled.asked.wait(TIMEOUT), "the emulator never started the download"
            assert len(list(temp.iterdir())) == 2, list(temp.iterdir())  # the inbox and the partial download
            proc.send_signal(sig)
            assert proc.wait(TIMEOUT) == 0
        finally:
            Stalled.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)
            assert proc.stdout is not None
            proc.stdout.close()
    assert list(temp.iterdir()) == []
