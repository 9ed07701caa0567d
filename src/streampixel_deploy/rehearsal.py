"""``api-url: emulator``: rehearse a workflow before any Streampixel account exists.

The face (action or CLI) starts an embedded emulator that knows the given user, project and key (or the
emulator's defaults when they are not set), points ``api-url`` at it and lets it host the zip itself; the real
pipeline then runs with short stages, every output is set, and the summary says plainly that it was a rehearsal.
Nothing reaches Streampixel, S3 or GitHub Deployments: the s3-* settings and the deployment are left out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from streampixel_deploy.core.models import Result
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPECS
from streampixel_deploy.core.spec import parse_list

#: The api-url value that asks for a rehearsal.
EMULATOR = "emulator"
STAGE_SECONDS = 0.5
POLL_SECONDS = "0.2"
#: The emulator's per-user upload window in a rehearsal (Streampixel's is 2 minutes), announced with Retry-After.
RATE_WINDOW_SECONDS = 3.0
NOTE = "Rehearsal: an embedded Streampixel emulator took this run; nothing was sent to Streampixel."
#: Settings a rehearsal leaves out: they would reach real storage or GitHub.
_LEFT_OUT = (*(spec.name for spec in SPECS if spec.name.startswith("s3-")), "github-token", "environment")
_DEFAULTS = {spec.name: spec.default for spec in SPECS}
#: The account a rehearsal makes up when it is not given (a typo such as ``projectid:`` never reaches the program).
_ACCOUNT = ("user-id", "project-id", "api-key")


def _given(raw: dict[str, str | None], name: str) -> bool:
    """Whether the user set ``name``: a value other than empty and other than its default (action.yml passes
    every input's default, so a default is not something the user chose)."""
    value = (raw.get(name) or "").strip()
    return bool(value) and value != (_DEFAULTS.get(name) or "")


def made_up(raw: dict[str, str | None]) -> list[str]:
    """Which of user, project and key the rehearsal made up (the emulator's defaults)."""
    return [name for name in _ACCOUNT if not _given(raw, name)]


def wanted(raw: dict[str, str | None]) -> bool:
    return (raw.get("api-url") or "").strip().lower() == EMULATOR


@contextmanager
def rehearsal(raw: dict[str, str | None], reporter: Reporter) -> Iterator[dict[str, str | None]]:
    """``raw`` as it is, or, for ``api-url: emulator``, pointed at an embedded emulator running meanwhile."""
    if not wanted(raw):
        yield raw
        return
    from streampixel_deploy.emulator import (
        DEFAULT_API_KEY,
        DEFAULT_PROJECT_ID,
        DEFAULT_USER_ID,
        Emulator,
        EmulatorConfig,
    )

    config = EmulatorConfig.default()
    config.stage_delays = dict.fromkeys(config.stage_delays, STAGE_SECONDS)
    config.rate_limit_window_seconds, config.send_retry_after = RATE_WINDOW_SECONDS, True  # several projects
    user, project = config.users[0], config.users[0].projects[0]
    user.user_id = (raw.get("user-id") or "").strip() or DEFAULT_USER_ID
    user.api_key = (raw.get("api-key") or "").strip() or DEFAULT_API_KEY
    ids = parse_list(raw.get("project-id")) or [DEFAULT_PROJECT_ID]
    project.id, project.name = ids[0], "Rehearsal"
    # A second ID may be one of the emulator's built-in projects: only the rehearsal's own projects stay.
    user.projects = [project]
    # The seeded builds' zips are nowhere: their URLs stay on this machine (a closed loopback port), so that nothing
    # a rehearsal does (the comparison with the live build's zip included) reaches another host.
    for seeded in project.files:
        seeded["url"] = f"http://127.0.0.1:9/rehearsal/{seeded['_id']}.zip"
    for number, project_id in enumerate(ids[1:], 2):  # several projects: each its own, without seeded builds
        other = copy.deepcopy(project)
        other.id, other.name, other.files, other.live_upload_id = project_id, f"Rehearsal {number}", [], None
        user.projects.append(other)
    # github-token is the workflow token by default (action.yml), so it is never the user's own choice to report.
    left_out = [name for name in _LEFT_OUT if name != "github-token" and _given(raw, name)]
    with Emulator(config) as emu:
        reporter.info(f"{NOTE} Emulator at {emu.api_url}.")
        if left_out:
            reporter.info(f"Left out in a rehearsal (they would reach real services): {', '.join(left_out)}.")
        if invented := made_up(raw):
            reporter.info(
                f"Made up for the rehearsal (not given): {', '.join(invented)}. If you gave them, check the "
                "spelling of the step's inputs: a misspelt input never reaches the program."
            )
        changed: dict[str, str | None] = {name: value for name, value in raw.items() if name not in _LEFT_OUT}
        changed.update(
            {
                "api-url": emu.api_url,
                "user-id": user.user_id,
                "api-key": user.api_key,
                "project-id": ",".join(ids),
                "poll-interval-seconds": POLL_SECONDS,
            }
        )
        yield changed


def mark(result: Result, raw: dict[str, str | None] | None = None) -> Result:
    """Say in the result (and so in the summary, the log and --json) that it was a rehearsal, and what of the
    account it made up."""
    result.rehearsal = True
    if not result.message.startswith("Rehearsal"):
        invented = made_up(raw) if raw is not None else []
        said = f"; made up: {', '.join(invented)}" if invented else ""
        result.message = f"Rehearsal (embedded emulator{said}): {result.message}"
    return result
