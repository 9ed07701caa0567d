"""action/launch.py on Windows waits for its child through Ctrl+Break (the runner's second event, 7.5 s after
Ctrl+C): by default Ctrl+Break ends a Python process at once, and the step would end before the child had
written its outputs. Wine cannot send Ctrl+Break to a console, so the event is raised inside the launcher."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ACTION = Path(__file__).resolve().parents[2] / "action"

LAUNCHER = f"""
import os, signal, sys, threading
sys.path.insert(0, {str(ACTION)!r})
import launch
threading.Timer(0.5, signal.raise_signal, (signal.SIGBREAK,)).start()
child = [sys.executable, "-c", "import time; time.sleep(2); print('child done', flush=True)"]
sys.exit(launch.execute(child, os.environ))
"""


def test_the_launcher_waits_for_its_child_through_ctrl_break() -> None:
    proc = subprocess.run([sys.executable, "-c", LAUNCHER], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "child done" in proc.stdout
