#!/usr/bin/env python3
"""Inside the image (scripts/container-smoke): start the emulator on 127.0.0.1, then run the image's default command
(the action face) with this container's environment, as the runner would; stop the emulator; exit with its code.

A shell cannot do this: ``INPUT_API-KEY`` and the other hyphenated names a runner passes are not valid shell
variable names, and ``sh`` drops them from the environment of what it starts. Python passes them on.

    podman run ... --env INPUT_...=... --env SMOKE_PORT=8765 --entrypoint python IMAGE /smoke/smoke-action.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

EXPECTED_UID = 1001


def _wait_for(url: str) -> bool:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (a fixed loopback URL)
                return bool(answer.status == 200)
        except OSError:
            time.sleep(0.1)
    return False


def main() -> int:
    if os.getuid() != EXPECTED_UID:
        print(f"error: running as uid {os.getuid()}, expected {EXPECTED_UID}", file=sys.stderr)
        return 1
    port = os.environ.get("SMOKE_PORT", "8765")
    with tempfile.TemporaryFile("w+") as log:
        emulator = subprocess.Popen(
            [sys.executable, "-m", "streampixel_deploy", "emulator", "--port", port], stdout=log, stderr=log
        )
        code = 1
        try:
            if _wait_for(f"http://127.0.0.1:{port}/_emulator/health"):
                code = subprocess.call([sys.executable, "-m", "streampixel_deploy", "action"])
            else:
                print(f"error: the emulator did not answer on port {port}", file=sys.stderr)
        finally:
            emulator.terminate()
            try:
                emulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                emulator.kill()
                emulator.wait()
        if code:
            log.seek(0)
            print(f"emulator log:\n{log.read()}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
