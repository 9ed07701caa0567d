"""Human-readable renderings of a Result, a project's builds and a project list."""

from __future__ import annotations

from collections.abc import Sequence

from streampixel_deploy.api.models import Outcome, ProjectSummary, Result, StageEvent

HEADLINE = {
    Outcome.APPROVED: "APPROVED",
    Outcome.REJECTED: "REJECTED",
    Outcome.TIMED_OUT: "TIMED OUT",
    Outcome.SUBMITTED: "SUBMITTED",
    Outcome.CANCELLED: "CANCELLED",
    Outcome.DRY_RUN: "DRY RUN",
    Outcome.FAILED: "FAILED",
    Outcome.OK: "OK",
}

#: How "all N projects …" reads for each result.
ALL_PROJECTS = {
    Outcome.APPROVED: "approved",
    Outcome.REJECTED: "rejected",
    Outcome.TIMED_OUT: "timed out",
    Outcome.SUBMITTED: "submitted",
    Outcome.CANCELLED: "cancelled",
    Outcome.DRY_RUN: "dry runs: nothing was sent",
    Outcome.FAILED: "failed",
    Outcome.OK: "ok",
}


def tally(outcomes: Sequence[Outcome]) -> str:
    """What happened to several projects, in words: "All 2 projects approved." or "3 projects: 1 approved,
    1 rejected, 1 timed-out." (each result as the ``result`` output spells it)."""
    counts: dict[Outcome, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    if len(counts) == 1:
        return f"All {len(outcomes)} projects {ALL_PROJECTS[outcomes[0]]}."
    return f"{len(outcomes)} projects: " + ", ".join(f"{n} {outcome.value}" for outcome, n in counts.items()) + "."


def timeline_rows(result: Result) -> list[tuple[str, float, float | None]]:
    """(status, entered at, time spent in it) for each stage; the last one has no duration."""
    return stage_rows(result.timeline)


def stage_rows(events: Sequence[StageEvent]) -> list[tuple[str, float, float | None]]:
    """:func:`timeline_rows` of any list of stage events (a run of several projects has one per project)."""
    rows: list[tuple[str, float, float | None]] = []
    for i, event in enumerate(events):
        spent = events[i + 1].elapsed - event.elapsed if i + 1 < len(events) else None
        rows.append((event.status, event.elapsed, spent))
    return rows


def may_have_gone_live(result: Result) -> bool:
    """This run made a build live, or may have: a deploy seen going live, or any distribute Streampixel accepted
    (whether or not the release was seen: Streampixel does not always show it)."""
    if result.command == "distribute":
        return result.outcome in (Outcome.APPROVED, Outcome.SUBMITTED)
    return result.outcome is Outcome.APPROVED and bool(result.live)


def rollback_command(result: Result) -> str | None:
    """How to undo this run (distribute the build that was live before): when it made a build live, or may have,
    and another approved build exists."""
    if not may_have_gone_live(result):
        return None
    if not result.previous_upload_id or result.previous_upload_id == result.upload_id:
        return None
    return f"streampixel-deploy distribute --project-id {result.project_id} --upload-id {result.previous_upload_id}"


def render_result(result: Result) -> str:
    lines = [f"{HEADLINE[result.outcome]}: {result.message}"]

    def field(label: str, value: object) -> None:
        if value not in (None, ""):
            lines.append(f"  {label:<12} {value}")

    field("command", result.command)
    field("project", result.project_id)
    field("upload ID", result.upload_id)
    field("status", result.status)
    field("objection", result.objection)
    field("file URL", result.file_url)
    field("sha256", result.sha256)
    field("size", f"{result.size_bytes:,} bytes" if result.size_bytes is not None else None)
    field("duration", f"{result.duration_seconds:.1f}s")
    rows = timeline_rows(result)
    if rows:
        lines.append("  timeline:")
        for status, at, spent in rows:
            took = f"{spent:6.1f}s" if spent is not None else "      -"
            lines.append(f"    +{at:7.1f}s  {took}  {status}")
    hint = rollback_command(result)
    if hint:  # the inputs for a workflow step, the command for a terminal
        lines.append(f"  roll back:   command: distribute, upload-id: {result.previous_upload_id} (CLI: {hint})")
    return "\n".join(lines)


def render_builds(result: Result) -> str:
    """The builds a status without an upload ID listed (``result.builds``), newest first."""
    builds = result.builds or ()
    name = result.project_name or result.project_id
    if not builds:
        return f"Project {name}: no builds yet."
    lines = [f"Project {name} ({result.project_id}), newest first:"]
    lines.append(f"  {'UPLOAD ID':<26} {'STATUS':<22} {'DATE':<26} OBJECTION")
    for b in builds:
        when = b.date.isoformat() if b.date else "-"
        lines.append(f"  {b.id:<26} {b.raw_status:<22} {when:<26} {b.objection or ''}".rstrip())
    return "\n".join(lines)


def render_projects(projects: list[ProjectSummary]) -> str:
    if not projects:
        return "No projects."
    lines = [f"  {'PROJECT ID':<26} {'NAME':<24} {'REGION':<14} STATUS"]
    for p in projects:
        lines.append(f"  {p.id:<26} {p.name:<24} {p.region or '-':<14} {p.status or '-'}")
    return "\n".join(lines)
