"""``api-url: emulator``: rehearse a workflow before any Streampixel account exists.

The face (action or CLI) starts an embedded emulator that knows the given user, project and key (or the
emulator's defaults when they are not set), points ``api-url`` at it and lets it host the zip itself; the real
pipeline then runs with short stages, every output is set, and the summary says plainly that it was a rehearsal.
Nothing reaches Streampixel, S3 or GitHub Deployments: the s3-* settings and the deployment are left out.

So that every example workflow rehearses, a rollback included (emulator/seeding.py):

- the project starts with a history of earlier builds (approved, one rejected, each on its own day, one live), so
  ``previous`` and ``latest`` have something to choose;
- the steps of one job share one emulator state: each step starts its emulator from the state the job's earlier
  steps left in ``$RUNNER_TEMP/streampixel-rehearsal/`` (:func:`state_file`; the runner empties that folder after
  every job) and saves it when it ends, so deploy-then-rollback in one job rolls back the build it deployed;
- an upload ID this job's emulator cannot know (a build another job submitted, or one the relay named) is added
  as an approved build, and the log says so.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from streampixel_deploy.api.models import Result
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.settings.spec import parse_list
from streampixel_deploy.settings.table import SPECS

if TYPE_CHECKING:
    from streampixel_deploy.emulator import ProjectConfig

#: The api-url value that asks for a rehearsal.
EMULATOR = "emulator"
STAGE_SECONDS = 0.5
POLL_SECONDS = "0.2"
#: The emulator's per-user upload window in a rehearsal (Streampixel's is 2 minutes), announced with Retry-After.
RATE_WINDOW_SECONDS = 3.0
NOTE = "Rehearsal: an embedded Streampixel emulator took this run; nothing was sent to Streampixel."
#: Why a rehearsal's rollback target is chosen by date (the summary's note).
#: Settings a rehearsal leaves out: they would reach real storage or GitHub.
_LEFT_OUT = (*(spec.name for spec in SPECS if spec.name.startswith("s3-")), "github-token", "environment")
_DEFAULTS = {spec.name: spec.default for spec in SPECS}
#: Where a job's rehearsal state lives, under RUNNER_TEMP.
STATE_FOLDER = "streampixel-rehearsal"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
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


def state_file(environ: Mapping[str, str]) -> Path | None:
    """The file one job's rehearsal steps share (run, attempt and job), under the runner's temp folder; None outside
    a runner (each rehearsal then starts from the seeded history)."""
    temp = environ.get("RUNNER_TEMP") or ""
    if not temp or not os.path.isdir(temp):
        return None
    key = "-".join(environ.get(name) or "local" for name in ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB"))
    return Path(temp) / STATE_FOLDER / f"{_UNSAFE.sub('_', key)}.json"


def wanted(raw: dict[str, str | None]) -> bool:
    return (raw.get("api-url") or "").strip().lower() == EMULATOR


@contextmanager
def rehearsal(
    raw: dict[str, str | None], reporter: Reporter, environ: Mapping[str, str] | None = None
) -> Iterator[dict[str, str | None]]:
    """``raw`` as it is, or, for ``api-url: emulator``, pointed at an embedded emulator running meanwhile (started
    from the state the job's earlier steps left, when ``environ`` names a runner's temp folder)."""
    if not wanted(raw):
        yield raw
        return
    from streampixel_deploy.emulator import (
        DEFAULT_API_KEY,
        DEFAULT_PROJECT_ID,
        DEFAULT_USER_ID,
        Emulator,
        EmulatorConfig,
        EmulatorConfigError,
        seeding,
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
    now = datetime.now(timezone.utc)
    seeding.seed_history(project, now)  # builds whose URLs lead nowhere (a closed port on this machine)
    for number, project_id in enumerate(ids[1:], 2):  # several projects: each its own, without seeded builds
        other = copy.deepcopy(project)
        other.id, other.name, other.files, other.live_upload_id = project_id, f"Rehearsal {number}", [], None
        user.projects.append(other)
    state = state_file(environ or {})
    try:
        saved = seeding.load(state) if state is not None else {}
    except EmulatorConfigError as exc:
        saved = {}
        reporter.warning(f"The rehearsal state of this job's earlier steps is unusable ({exc}); starting afresh.")
    for each in user.projects:
        if each.id in saved:
            each.files, each.live_upload_id = saved[each.id].files, saved[each.id].live_upload_id
    if saved:
        builds = sum(len(p.files) for p in user.projects)
        reporter.info(f"Rehearsal: this job's earlier steps left {builds} build(s); this step starts from them.")
    _add_named_build(raw, user.projects, now, reporter)
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
        try:
            yield changed
        finally:
            if state is not None:  # for the job's next step, however this one ended
                seeding.save(state, emu.state)


def _add_named_build(
    raw: dict[str, str | None], projects: list[ProjectConfig], now: datetime, reporter: Reporter
) -> None:
    """A distribute or status of an upload ID this job's emulator cannot know (another job submitted it, or the relay
    named it): add it to the first project as an approved build, and say so."""
    from streampixel_deploy.emulator import seeding

    named = (raw.get("upload-id") or "").strip()
    command = (raw.get("command") or "deploy").strip()
    if command not in ("distribute", "status") or named in ("", "latest", "previous"):
        return
    if not _UPLOAD_ID.match(named) or any(f["_id"] == named for p in projects for f in p.files):
        return
    seeding.add_build(projects[0], named, now)
    reporter.info(
        f"Rehearsal: build {named} is not in this job's emulator (another job submitted it, or it came from "
        "outside), so it was added as an approved build. Against Streampixel, it must be a build of the project."
    )


def mark(result: Result, raw: dict[str, str | None] | None = None) -> Result:
    """Say in the result (and so in the summary, the log and --json) that it was a rehearsal, and what of the
    account it made up."""
    result.rehearsal = True
    if not result.message.startswith("Rehearsal"):
        invented = made_up(raw) if raw is not None else []
        said = f"; made up: {', '.join(invented)}" if invented else ""
        result.message = f"Rehearsal (embedded emulator{said}): {result.message}"
    return result
