"""distribute: make an approved build live (a release or a rollback), then follow it until it is."""

from __future__ import annotations

from streampixel_deploy.api.models import Build, BuildStatus, Outcome, Project, Result
from streampixel_deploy.core.errors import InputError, ref
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.follow import follow
from streampixel_deploy.run.targets import resolve_upload_id


def distribute(run: Run) -> Result:
    target = choose(run)
    return run.result if target is None else release(run, target)


def choose(run: Run) -> Build | None:
    """The build to make live (an upload ID, ``latest`` or ``previous``, resolved in the project's builds); None
    when the run already has its result (a dry run, or a server that cannot list builds: ``_blind``)."""
    s, r, reporter = run.settings, run.result, run.reporter
    with reporter.group("validate"):
        project = run.read_project_if_possible("read the project's builds")
        if project is None:
            _blind(run)
            return None
        target, why = _from_history(run, project) or resolve_upload_id(project, s.upload_id or "latest")
        run.note_previous(project, exclude=target.id)
        r.upload_id, r.status = target.id, target.raw_status
        r.file_url = redact_url(target.url) if target.url else None
        reporter.info(f"Chose build {target.id}: {why}.")
        if s.dry_run:
            run.end_with(Outcome.DRY_RUN, f"Dry run: would distribute build {target.id} ({why}); nothing was sent.")
            return None
        if target.status is not BuildStatus.APPROVED and not s.wait:
            raise InputError(
                f"Build {target.id} is still processing ({target.raw_status}); it can be distributed once "
                f"Approved. Run again with {ref('wait')} true to wait for it first.",
                "upload-id",
            )
    return target


def release(run: Run, target: Build) -> Result:
    """Wait for ``target`` to be approved if need be, distribute it, and follow it until it is live."""
    s, reporter = run.settings, run.reporter
    if target.status is not BuildStatus.APPROVED:
        with reporter.group("follow"):
            reporter.info(f"Build {target.id} is still processing; waiting for approval first.")
            follow(run, target.id)

    with reporter.group("distribute"), run.post_lock:
        accepted = run.client.distribute_file(s.project_id, target.id)
        region = f" (region {accepted.region})" if accepted.region else ""
        reporter.info(f"Streampixel: {accepted.message or 'distribution triggered'}{region}.")
        run.record_submission()
    if not s.wait:
        return run.end_with(
            Outcome.SUBMITTED, f"Distribution of build {target.id} triggered; not waiting (wait: false)."
        )
    with reporter.group("follow"):
        build = follow(run, target.id, after_distribute=True)
    return run.approved(
        build,
        f"Build {target.id} distributed and live.",
        f"Distribution of build {target.id} was triggered, but Streampixel never showed it being distributed "
        "(it still lists the build as Approved, as before): whether it is live is unknown. Check the dashboard.",
    )


def _from_history(run: Run, project: Project) -> tuple[Build, str] | None:
    """``previous`` from GitHub's deployment history: the build live before the one live now (when recorded)."""
    if (run.settings.upload_id or "latest") != "previous" or run.live_history is None:
        return None
    current = run.live_history(None).build
    before = run.live_history(current).build if current else None
    build = project.find(before) if before else None
    if build is None or build.status is not BuildStatus.APPROVED:
        return None
    return build, f"the build that was live before {current} (GitHub deployment history)"


def _blind(run: Run) -> Result:
    """A server without Get Project (the older docs): distribute an explicit upload ID; nothing can be followed."""
    s, reporter = run.settings, run.reporter
    wanted = s.upload_id or "latest"
    if wanted in ("latest", "previous"):
        raise InputError(
            f"{ref('upload-id')} is {wanted!r}, which needs the project's builds, and this "
            "Streampixel API does not list them (no Get Project endpoint). Give the build's upload ID.",
            "upload-id",
        )
    run.result.upload_id = wanted
    if s.dry_run:
        return run.end_with(Outcome.DRY_RUN, f"Dry run: would distribute build {wanted}; nothing was sent.")
    with reporter.group("distribute"), run.post_lock:
        accepted = run.client.distribute_file(s.project_id, wanted)
        reporter.info(f"Streampixel: {accepted.message or 'distribution triggered'}.")
        run.record_submission()
    return run.end_with(
        Outcome.SUBMITTED,
        f"Distribution of build {wanted} triggered. This Streampixel API cannot report its progress (no Get "
        "Project endpoint), so it was not followed: check the Streampixel dashboard.",
    )
