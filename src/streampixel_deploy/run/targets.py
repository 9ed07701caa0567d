"""Which build a command means: an upload ID, ``latest`` or ``previous``."""

from __future__ import annotations

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.models import Build, BuildStatus, Project
from streampixel_deploy.core.settings import SPEC_BY_NAME


def resolve_upload_id(project: Project, wanted: str, approved_only: bool = True) -> tuple[Build, str]:
    """Turn ``latest`` / ``previous`` / an ID into a build of the project, with the reason it was chosen."""
    approved = project.approved_newest_first()
    if wanted in ("latest", "previous"):
        index = 0 if wanted == "latest" else 1
        if len(approved) <= index:
            raise InputError(
                f"{SPEC_BY_NAME['upload-id'].label()} is {wanted!r} but project {project.id} has "
                f"{len(approved)} approved build(s); "
                + (
                    "there is nothing to roll back to. Give an explicit upload ID."
                    if wanted == "previous"
                    else "deploy a build first."
                ),
                "upload-id",
            )
        build = approved[index]
        when = build.date.isoformat() if build.date else "date unknown"
        why = (
            f"newest Approved build ({when})"
            if wanted == "latest"
            else f"the Approved build before the newest one {approved[0].id} ({when})"
        )
        return build, why
    found = project.find(wanted)
    if found is None:
        recent = ", ".join(b.id for b in approved[:5]) or "none"
        raise InputError(
            f"{SPEC_BY_NAME['upload-id'].label()} {wanted} is not a build of project {project.id}. "
            f"Recent approved builds: {recent}.",
            "upload-id",
        )
    build = found
    if approved_only and build.status is BuildStatus.REJECT:
        raise InputError(
            f"{SPEC_BY_NAME['upload-id'].label()} {wanted} was rejected by Streampixel "
            f"({build.objection or 'no objection given'}); only approved builds can be distributed.",
            "upload-id",
        )
    return build, "the upload ID you gave"
