"""The one place that touches GitHub's runner protocol, through actions-toolkit (0.1.15, untyped).

actions-toolkit gives inputs (``INPUT_<NAME>``, hyphens kept), outputs (``GITHUB_OUTPUT`` with random
heredoc delimiters), masks and workflow commands; it has no step-summary helper, so that is here.
"""

from __future__ import annotations

import os
import sys

from actions_toolkit import core
from actions_toolkit.command import issue_command


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


def append_summary(markdown: str) -> bool:
    """Append to the job summary (``GITHUB_STEP_SUMMARY``); False when the runner gave none."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def is_debug() -> bool:
    return os.environ.get("RUNNER_DEBUG") == "1"
