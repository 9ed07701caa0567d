"""The process entry (``main()`` with no arguments: the console script, ``python -m``, the action, the container),
as a user's shell or a runner sees it: it runs the command line it was given, exits with the command's code, and
everything the command printed arrives, whole, through a pipe.

How the entry tunes the process for a short life (issue 13: the collector at start-up and at exit) is measured in
bench/bench_upload.py, not asserted here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streampixel_deploy import cli
from streampixel_deploy._version import __version__

COLUMNS = "100"  # argparse wraps help to the terminal's width: the same in this process and in the child


def _clean_env() -> dict[str, str]:
    """This environment without our settings, and with the output buffered as a user's is (not PYTHONUNBUFFERED)."""
    ours = ("STREAMPIXEL_", "INPUT_", "GITHUB_", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return dict(env, COLUMNS=COLUMNS, PYTHONIOENCODING="utf-8")


def _entry(*argv: str, program: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The entry as a process, its output through pipes (block-buffered, as in CI or under ``| tee``)."""
    command = (program or [sys.executable, "-m", "streampixel_deploy"]) + list(argv)
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=_clean_env())


def test_the_entry_runs_its_command_line_and_exits_with_the_commands_code() -> None:
    version = _entry("--version")
    assert (version.returncode, version.stdout) == (0, f"streampixel-deploy {__version__}\n")
    missing = _entry("status")  # no credentials in the environment: an input error
    assert missing.returncode == 2, missing.stderr
    assert "'api-key' (--api-key) is required" in missing.stderr and missing.stdout == ""


def test_the_console_script_is_the_same_entry() -> None:
    script = shutil.which("streampixel-deploy", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed with its console script beside this interpreter")
    done = _entry("--version", program=[script])
    assert (done.returncode, done.stdout) == (0, f"streampixel-deploy {__version__}\n")


def test_the_whole_output_reaches_a_pipe(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What the command prints is buffered (a pipe is not a terminal) and flushed as the process ends: all of it
    arrives, byte for byte what the same command prints in-process."""
    monkeypatch.setenv("COLUMNS", COLUMNS)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["deploy", "--help"])
    assert exit_.value.code == 0
    expected = capsys.readouterr().out
    assert len(expected) > 4096  # the whole help: more than one small write
    done = _entry("deploy", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
