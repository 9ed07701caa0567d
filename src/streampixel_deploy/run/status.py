"""status: one build, or the project's builds newest first."""

from __future__ import annotations

import dataclasses

from streampixel_deploy.api.models import BuildStatus, Outcome, Result
from streampixel_deploy.core.errors import BuildRejected
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.targets import resolve_upload_id


def status(run: Run) -> Result:
    r = run.result
    project = run.read_project("read the project's builds")
    run.note_previous(project)
    if run.settings.upload_id:
        build, why = resolve_upload_id(project, run.settings.upload_id, approved_only=False)
        r.upload_id, r.status, r.objection = build.id, build.raw_status, build.objection
        r.file_url = redact_url(build.url) if build.url else None
        r.message = f"Build {build.id} ({why}): {build.raw_status}"
        if build.status is BuildStatus.REJECT:  # the table of results: rejected is exit 1, whichever command saw it
            raise BuildRejected(
                f"Build {build.id} ({why}) was rejected by Streampixel: {build.objection or 'no objection given'}",
                build.objection,
            )
        r.outcome = Outcome.APPROVED if build.status is BuildStatus.APPROVED else Outcome.SUBMITTED
    else:
        r.outcome = Outcome.OK
        r.message = f"{len(project.files)} builds in project {project.name or project.id}."
        r.builds = tuple(
            dataclasses.replace(b, url=redact_url(b.url) if b.url else None) for b in project.newest_first()
        )
    return run.record_duration()
