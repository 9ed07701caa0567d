"""The GitHub Action face: ``python -m streampixel_deploy action``.

Inputs arrive as ``INPUT_<NAME>`` (upper case, hyphens kept), exactly what a runner gives a Docker
action and what our composite ``action.yml`` maps into ``env:``. Secrets are masked before anything else
is printed. Outputs and the summary are written on every path, including input errors and cancellation.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping

from streampixel_deploy import rehearsal
from streampixel_deploy.core.errors import Cancelled, InputError, StreampixelDeployError
from streampixel_deploy.core.models import Result
from streampixel_deploy.core.settings import SPEC_BY_NAME, SPECS, build_settings, collect_env
from streampixel_deploy.report import workflow as gha
from streampixel_deploy.report.github import GitHubReporter
from streampixel_deploy.report.outputs import Publisher
from streampixel_deploy.run.execute import execute, fail, unexpected
from streampixel_deploy.signals import GRACE, cancellation

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
    try:
        summary = bool(SPEC_BY_NAME["summary"].parse(raw.get("summary")))
    except InputError:
        summary = True
    result = Result(command=command, project_id=str(raw.get("project-id") or ""))
    publisher = Publisher(summary)
    publisher.track(result)

    rehearsing = rehearsal.wanted(raw)

    def ended(final: Result) -> None:
        if rehearsing:
            rehearsal.mark(final, raw)
        if final.exit_code:
            reporter.error(final.message, title=final.error_title)
            if debug and final.traceback:
                reporter.debug(final.traceback)
        else:
            reporter.info(final.message)
        publisher.publish(final)

    def first_signal(reason: str) -> None:  # the runner kills the step seconds later: outputs first
        live = copy.copy(publisher.live or result)
        publisher.publish(fail(live, Cancelled(f"{reason} Outputs written; cleaning up.")))
        reporter.warning(f"{reason} Cleaning up (at most {GRACE:g}s).", "Cancelled")

    with cancellation(first_signal) as cancel:
        try:
            try:
                with rehearsal.rehearsal(raw, reporter) as given:
                    settings = build_settings(given, command)
                    publisher.summary = settings.summary
                    result = execute(settings, reporter, cancel, debug, os.environ, publisher.track, ended)
            except StreampixelDeployError as exc:  # input errors, or a cancel that landed outside execute()
                result = fail(result, exc, debug)
                ended(result)
            except Exception as exc:
                result = fail(result, unexpected(exc), debug)
                ended(result)
        except (Cancelled, KeyboardInterrupt):  # the signal landed while reporting: its handler published already
            result = fail(copy.copy(publisher.live or result), Cancelled("Cancelled."), debug)
        publisher.publish(result)  # again only if clean-up changed it
    return result.exit_code
