"""The GitHub Action face: ``python -m streampixel_deploy action``.

Inputs arrive as ``INPUT_<NAME>`` (upper case, hyphens kept), exactly what a runner gives a Docker
action and what our composite ``action.yml`` maps into ``env:``. Secrets are masked before anything else
is printed. Outputs and the summary are written on every path, including input errors and cancellation.
"""

from __future__ import annotations

import os
import tempfile

from streampixel_deploy.core.errors import Cancelled, InputError, StreampixelDeployError
from streampixel_deploy.core.models import Result
from streampixel_deploy.core.settings import SPEC_BY_NAME, SPECS, build_settings, collect_env
from streampixel_deploy.report import workflow as gha
from streampixel_deploy.report.github import GitHubReporter
from streampixel_deploy.report.outputs import publish
from streampixel_deploy.run.execute import execute, fail, unexpected
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


def run_action() -> int:
    if os.environ.get("RUNNER_TEMP"):  # a packaged build-dir zip goes to the runner's temp, cleaned per job
        tempfile.tempdir = os.environ["RUNNER_TEMP"]
    debug = gha.is_debug()
    reporter = GitHubReporter(debug=debug)
    raw = read_inputs()
    for name in SECRET_INPUTS:  # before anything else reaches the log
        value = raw.get(name)
        if value:
            reporter.mask(value)
    command = (raw.get("command") or "deploy").strip()
    try:
        summary = bool(SPEC_BY_NAME["summary"].parse(raw.get("summary")))
    except InputError:
        summary = True
    result = Result(command=command, project_id=str(raw.get("project-id") or ""))
    try:
        with cancellation() as cancel:
            settings = build_settings(raw, command)
            summary = settings.summary
            result, _ = execute(settings, reporter, cancel=cancel, debug=debug, environ=os.environ)
    except StreampixelDeployError as exc:  # input errors, or a cancel that landed outside execute()
        result = fail(result, exc, debug)
    except KeyboardInterrupt:
        result = fail(result, Cancelled("Cancelled."), debug)
    except Exception as exc:
        result = fail(result, unexpected(exc), debug)
    if result.exit_code:
        reporter.error(result.message, title=result.error_title)
        if debug and "traceback" in result.extra:
            reporter.debug(str(result.extra["traceback"]))
    else:
        reporter.info(result.message)
    publish(result, summary=summary)
    return result.exit_code
