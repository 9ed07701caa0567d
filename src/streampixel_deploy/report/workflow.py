"""The one place that touches GitHub's runner protocol, through actions-toolkit (0.1.15, untyped).

actions-toolkit gives inputs (``INPUT_<NAME>``, hyphens kept), outputs (``GITHUB_OUTPUT`` with random
heredoc delimiters), masks and workflow commands; it has no step-summary helper, so that is here.
"""

from __future__ import annotations

import os
import re
import sys

from actions_toolkit import core
from actions_toolkit.command import issue_command

_COMMAND_AT_LINE_START = re.compile(r"(^|[\r\n\u0085\u2028\u2029])([ \t]*)(::|##\[)")


def plain(text: str) -> str:
    """``text`` as a runner will print it as text: no line of it starts a workflow command (``::…`` or
    ``##[…]``), however it came in (an API status, an objection, a file name)."""
    return _COMMAND_AT_LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)}» {m.group(3)}", text)


def get_input(name: str) -> str:
    value: str = core.get_input(name)
    return value


def set_output(name: str, value: str) -> None:
    if os.environ.get("GITHUB_OUTPUT"):
        core.set_output(name, value)


def add_mask(value: str) -> None:
    for line in value.splitlines() or [value]:
        if line.strip():
            issue_command("add-mask", {}, line)
    sys.stdout.flush()


def annotation(kind: str, message: str, title: str | None = None) -> None:
    """``::error title=…::message`` / ``::warning`` / ``::notice``."""
    issue_command(kind, {"title": title} if title else {}, message)
    sys.stdout.flush()


def debug(message: str) -> None:
    issue_command("debug", {}, message)


def start_group(name: str) -> None:
    core.start_group(name)
    sys.stdout.flush()


def end_group() -> None:
    core.end_group()
    sys.stdout.flush()


def write_summary(markdown: str, start: int | None = None) -> int | None:
    """Append to the job summary (``GITHUB_STEP_SUMMARY``), or, given the ``start`` a previous call returned,
    replace what that call wrote. Returns where this summary starts; None when the runner gave no summary file."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    with open(path, "r+b" if os.path.exists(path) else "w+b") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        if start is None or start > end:
            start = end
        fh.seek(start)
        fh.truncate()
        fh.write((markdown if markdown.endswith("\n") else markdown + "\n").encode("utf-8"))
    return start


def is_debug() -> bool:
    return os.environ.get("RUNNER_DEBUG") == "1"
