"""The GitHub Action face: ``python -m streampixel_deploy action``.

Inputs arrive as ``INPUT_<NAME>`` (upper case, hyphens kept), exactly what a runner gives a Docker
action and what our composite ``action.yml`` maps into ``env:``. Secrets are masked before anything else
is printed. Outputs and the summary are written on every path, including input errors and cancellation.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from streampixel_deploy.lifecycle import RunLifecycle, publisher_for
from streampixel_deploy.report import workflow as gha
from streampixel_deploy.report.runner_log import GitHubReporter
from streampixel_deploy.settings.table import SPECS, collect_env
from streampixel_deploy.signals import cancellation

SECRET_INPUTS = tuple(s.name for s in SPECS if s.kind == "secret")


def read_inputs() -> dict[str, str | None]:
    """Action inputs, falling back to ``STREAMPIXEL_*`` variables for anything left empty."""
    raw: dict[str, str | None] = dict(collect_env(os.environ))
    for spec in SPECS:
        value = gha.get_input(spec.name)
        if value != "":
            raw[spec.name] = value
    return raw


def _printable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def runner_temp(environ: Mapping[str, str]) -> str | None:
    """``RUNNER_TEMP`` when it names a folder this process can write to, else None (the system's temp)."""
    folder = environ.get("RUNNER_TEMP") or ""
    return folder if folder and os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) else None


def run_action() -> int:
    # A packaged build-dir zip goes to the runner's temp (emptied after each job) when it is a writable folder
    # here; inside a Docker action it is the host's path, absent in the container: then TMPDIR or /tmp.
    tempfile.tempdir = runner_temp(os.environ)
    debug = gha.is_debug()
    reporter = GitHubReporter(debug=debug)
    raw = read_inputs()
    for name in SECRET_INPUTS:  # before anything else reaches the log
        value = raw.get(name)
        if value and _printable(value):  # one that is not (stray bytes) is refused by build_settings
            reporter.mask(value)
    command = (raw.get("command") or "deploy").strip()
    life = RunLifecycle(raw, command, reporter, publisher_for(raw), debug=debug, environ=os.environ)
    with cancellation(life.first_signal, event=life.cancel):
        result = life.run()
    return result.exit_code
