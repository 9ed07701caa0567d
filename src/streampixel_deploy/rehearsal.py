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
    for number, project_id in enumerate(ids[1:], 2):  # several projects: each its own, without seeded builds
        other = copy.deepcopy(project)
        other.id, other.name, other.files, other.live_upload_id = project_id, f"Rehearsal {number}", [], None
        user.projects.append(other)
    left_out = [name for name in _LEFT_OUT if (raw.get(name) or "").strip()]
    with Emulator(config) as emu:
        reporter.info(f"{NOTE} Emulator at {emu.api_url}.")
        if left_out:
            reporter.info(f"Left out in a rehearsal (they would reach real services): {', '.join(left_out)}.")
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


def mark(result: Result) -> Result:
    """Say in the result (and so in the summary, the log and --json) that it was a rehearsal."""
    result.rehearsal = True
    if not result.message.startswith("Rehearsal"):
        result.message = f"Rehearsal (embedded emulator): {result.message}"
    return result
