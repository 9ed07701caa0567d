"""Which build a command means: an upload ID, ``latest`` or ``previous``.

``latest`` and ``previous`` are chosen by the builds' dates only when the dates prove the order: the docs do not
say ``files[]`` is ordered (docs/streampixel-api.md §11.11), and a date given to the day does not order two builds
of that day. Otherwise the choice is refused (exit 2) and the user names the build with an explicit upload ID.
"""

from __future__ import annotations

from streampixel_deploy.api.models import Build, BuildStatus, Project
from streampixel_deploy.core.errors import InputError, ref


def resolve_upload_id(project: Project, wanted: str, approved_only: bool = True) -> tuple[Build, str]:
    """Turn ``latest`` / ``previous`` / an ID into a build of the project, with the reason it was chosen."""
    approved = project.approved_newest_first()
    if wanted in ("latest", "previous"):
        index = 0 if wanted == "latest" else 1
        if len(approved) <= index:
            raise InputError(
                f"{ref('upload-id')} is {wanted!r} but project {project.id} has "
                f"{len(approved)} approved build(s); "
                + (
                    "there is nothing to roll back to. Give an explicit upload ID."
                    if wanted == "previous"
                    else "deploy a build first."
                ),
                "upload-id",
            )
        _check_order(project, approved, index, wanted)
        build = approved[index]
        when = build.shown_date
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
            f"{ref('upload-id')} {wanted} is not a build of project {project.id}. Recent approved builds: {recent}.",
            "upload-id",
        )
    build = found
    if approved_only and build.status is BuildStatus.REJECT:
        raise InputError(
            f"{ref('upload-id')} {wanted} was rejected by Streampixel "
            f"({build.objection or 'no objection given'}); only approved builds can be distributed.",
            "upload-id",
        )
    return build, "the upload ID you gave"


def order_doubt(approved: list[Build], index: int = 0) -> str | None:
    """Why the dates do not prove that each of the first ``index + 1`` approved builds (newest first) is newer than
    every build after it; None when they do."""
    for i in range(index + 1):
        doubt = next((b for b in approved[i + 1 :] if not approved[i].certainly_newer(b)), None)
        if doubt is None:
            continue
        a, b = approved[i], doubt
        same_day = a.date is not None and b.date is not None and a.date.date() == b.date.date()
        reason = (
            "were made the same day and Streampixel gives their dates to the day only"
            if same_day and not (a.date_exact and b.date_exact)
            else "have the same date"
            if a.date is not None and a.date == b.date
            else "cannot be ordered: Streampixel gives no usable date for "
            + (" and ".join(x.id for x in (a, b) if x.date is None) or "them")
        )
        return f"{a.id} ({a.shown_date}) and {b.id} ({b.shown_date}) {reason}"
    return None


def _check_order(project: Project, approved: list[Build], index: int, wanted: str) -> None:
    """Each of the first ``index + 1`` approved builds must be provably newer than every build after it."""
    doubt = order_doubt(approved, index)
    if doubt is None:
        return
    recent = ", ".join(f"{x.id} ({x.shown_date})" for x in approved[:5])
    raise InputError(
        f"{ref('upload-id')} is {wanted!r}, but which approved build of project {project.id} "
        f"is newer is not certain: {doubt}. Nothing was chosen by a guess; give an explicit "
        f"{ref('upload-id')} instead. Approved builds: {recent}.",
        "upload-id",
    )
