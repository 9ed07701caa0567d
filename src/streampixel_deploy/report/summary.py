"""The job summary (Markdown), from the templates in ``streampixel_deploy/templates``.

Every value reaches the Markdown through :mod:`.markdown` (redacted, clipped, escaped); the chart stays under
Mermaid's limit and the whole summary under GitHub's, and the summary says what it left out.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from streampixel_deploy.api.models import Outcome, Result, StageEvent
from streampixel_deploy.core.errors import StreampixelDeployError
from streampixel_deploy.report.changes import render_changes
from streampixel_deploy.report.markdown import (
    CHART_LIMIT,
    STATUS_LIMIT,
    TEXT_LIMIT,
    cell,
    chart_text,
    code,
    fit,
    is_plain,
    unmarked,
)
from streampixel_deploy.report.text import (
    ALL_PROJECTS,
    HEADLINE,
    may_have_gone_live,
    rollback_command,
    stage_rows,
    timeline_rows,
)

_ICON = {
    Outcome.APPROVED: "✅",
    Outcome.REJECTED: "❌",
    Outcome.TIMED_OUT: "⏱️",
    Outcome.SUBMITTED: "📤",
    Outcome.CANCELLED: "🚫",
    Outcome.DRY_RUN: "🧪",
    Outcome.FAILED: "❌",
    Outcome.OK: "📋",
}

#: Bytes of the timeline table; the rest of a very long (or hostile) list of stages is counted, not shown.
TABLE_LIMIT = 300 * 1024

Stage = tuple[str, float, float | None]


@cache
def _template(name: str) -> Template:
    return Template(files("streampixel_deploy").joinpath("templates").joinpath(name).read_text(encoding="utf-8"))


def plain_message(message: str) -> str:
    """A run's message without the error's class name (``BuildRejected: …``): a summary speaks plain words."""
    names, todo = set(), [StreampixelDeployError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    match = re.match(r"(\w+): ", message)
    return message[match.end() :] if match and match.group(1) in names else message


def _axis_format(span_ms: int) -> str:
    """The axis labels (d3-time-format): seconds with milliseconds for a run under ten seconds (d3 puts ticks
    under a second apart there), whole seconds under a minute, minutes and seconds beyond."""
    if span_ms < 10_000:
        return "%-S.%L s"
    if span_ms < 60_000:
        return "%-S s"
    return "%M:%S"


def gantt(lanes: list[tuple[str, list[Stage]]]) -> tuple[str, str]:
    """The pipeline timeline as a Mermaid gantt chart (job summaries render Mermaid): a section per lane (the
    pipeline, or one per project), a bar per stage; and a note on what did not fit (or "").

    Times are milliseconds from the run's start (``dateFormat x``); the last stage, still current when the run
    ended, is a milestone. Each bar is numbered, so no status can start a line with a Mermaid keyword
    (``section``, ``click``, ``title``...). Labels are cut to a few words and bars stop before
    :data:`~.markdown.CHART_LIMIT` characters.
    """
    ends = [round(at * 1000) + round((spent or 0) * 1000) for _, stages in lanes for _, at, spent in stages]
    starts = [round(at * 1000) for _, stages in lanes for _, at, _ in stages]
    head = ["```mermaid", "gantt", "    dateFormat x", f"    axisFormat {_axis_format(max(ends) - min(starts))}"]
    lines, size, shown, total, clipped = list(head), sum(len(h) + 1 for h in head) + 4, 0, 0, False
    for lane, (title, stages) in enumerate(lanes):
        total += len(stages)
        section = f"    section {chart_text(title)}"
        if size + len(section) + 1 > CHART_LIMIT:
            continue
        lines.append(section)
        size += len(section) + 1
        for index, (status, at, spent) in enumerate(stages):
            start, task = round(at * 1000), f"s{index}" if len(lanes) == 1 else f"p{lane}s{index}"
            label = chart_text(status)
            clipped |= label.endswith("…")
            name = f"{index + 1}. {label}"
            if spent is None:
                line = f"    {name} :milestone, {task}, {start}, {start}"
            else:
                line = f"    {name} :{task}, {start}, {start + max(1, round(spent * 1000))}"
            if size + len(line) + 1 > CHART_LIMIT:
                break
            lines.append(line)
            size += len(line) + 1
            shown += 1
    lines.append("```")
    notes = []
    if shown < total:
        notes.append(f"The chart shows {shown:,} of {total:,} stages: Mermaid draws no diagram over 50,000 characters.")
    if clipped:
        notes.append("Statuses longer than a few words are cut short in the chart.")
    where = "The table below shows more of each." if len(lanes) == 1 else "The job log has every stage in full."
    return "\n".join(lines), (" ".join(notes) + " " + where) if notes else ""


def _within(rows: list[str], limit: int, what: str) -> tuple[list[str], str]:
    """The rows that fit in ``limit`` bytes, and a line saying how many did not."""
    kept, used = [], 0
    for row in rows:
        used += len(row.encode("utf-8")) + 1
        if used > limit:
            break
        kept.append(row)
    if len(kept) == len(rows):
        return rows, ""
    return kept, f"\n{len(rows) - len(kept):,} more {what} not shown (the summary keeps under GitHub's limit).\n"


def _projects(rows: list[dict[str, Any]]) -> str:
    """A run of several projects: a row per project, and the timeline with a lane per project."""

    def value(text: str | None) -> str:
        return code(text, STATUS_LIMIT) if text else "—"

    table = [
        f"| {value(r['projectId'])} | {value(r['result'])} | {value(r['uploadId'])} | {value(r['status'])} "
        f"| {cell(r['objection'] or '')} |"
        for r in rows
    ]
    kept, cut = _within(table, TABLE_LIMIT, "projects")
    lanes = [(str(r["projectId"]), _stages(r["timeline"])) for r in rows if r["timeline"]]
    chart = ""
    if lanes:
        drawn, note = gantt(lanes)
        chart = f"\n{drawn}\n" + (f"\n{note}\n" if note else "")
    return _template("projects.md").substitute(rows="\n".join(kept), cut=cut, chart=chart)


def _stages(timeline: list[dict[str, Any]]) -> list[Stage]:
    return stage_rows([StageEvent(str(e["status"]), float(e["elapsedSeconds"])) for e in timeline])


def _timeline(stages: list[Stage]) -> str:
    lines = [
        f"| {cell(status, STATUS_LIMIT)} | +{at:.1f} s | {f'{spent:.1f} s' if spent is not None else '—'} |"
        for status, at, spent in stages
    ]
    kept, cut = _within(lines, TABLE_LIMIT, "stages")
    chart, note = gantt([("Pipeline", stages)])
    if note:
        chart += f"\n\n{note}"
    return _template("timeline.md").substitute(chart=chart, rows="\n".join(kept), cut=cut)


_REHEARSAL = (
    "> [!NOTE]\n> A rehearsal: `api-url: emulator` ran the whole pipeline against an embedded Streampixel emulator "
    "on the runner. Nothing was sent to Streampixel, S3 or GitHub Deployments; the outputs are the emulator's.\n\n"
)

_FINE = {Outcome.APPROVED.value, Outcome.OK.value, Outcome.DRY_RUN.value, Outcome.SUBMITTED.value}


def _tally(rows: list[dict[str, Any]]) -> str:
    """What happened to several projects, in words: "All 2 projects approved.", or the count of each result and
    a line for each project that did not go well."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    if len(counts) == 1:  # each project's trouble still follows (a run refused before any project ran: its error)
        lines = [f"All {len(rows)} projects {ALL_PROJECTS.get(Outcome(rows[0]['result']), rows[0]['result'])}."]
    else:
        lines = [f"{len(rows)} projects: " + ", ".join(f"{n} {cell(result)}" for result, n in counts.items()) + "."]
    lines += [
        f"- {code(str(row['projectId']), STATUS_LIMIT)}: {cell(plain_message(row.get('message') or row['result']))}"
        for row in rows
        if row["result"] not in _FINE
    ]
    return "\n\n".join(lines[:1]) + ("\n\n" + "\n".join(lines[1:]) if lines[1:] else "")


def _lead(result: Result, several: list[dict[str, Any]]) -> str:
    """What happened, first: the tally of several projects, why Streampixel rejected the build, or the message."""
    rehearsal = _REHEARSAL if result.rehearsal else ""
    if len(several) > 1:
        return rehearsal + _tally(several)
    if result.outcome is Outcome.REJECTED:
        reason = result.objection or "Streampixel gave no reason (no objection came with the rejection)."
        return rehearsal + _template("rejection.md").substitute(objection=cell(reason)).rstrip("\n")
    return rehearsal + cell(plain_message(result.message))


def _live(result: Result) -> str | None:
    if result.live is None:
        return None
    if result.live:
        return "yes"
    if result.auto_release is False:
        return "no (auto-release: false)"
    return "not confirmed (Streampixel never showed the build being distributed)"


def _rollback(result: Result) -> str:
    """How to undo the run: make the build that was live before live again (or say there is none)."""
    command = rollback_command(result)
    previous = result.previous_upload_id or ""
    if command and is_plain(previous) and is_plain(result.project_id):
        which = (
            "The build that was live before this run (GitHub deployment history) is"
            if result.previous_was_live
            else "The newest approved build before this one (by date: Streampixel does not say which build was live) is"
        )
        again = "To make it live again" if result.live else "If this build went live, to go back to that one"
        text = _template("rollback.md").substitute(which=which, again=again, previous=previous, command=command)
        if result.previous_note and not result.previous_was_live:  # the guess, named for what it is, and the fix
            note = cell(result.previous_note)
            text += f"\n> [!NOTE]\n> Chosen by date, not from the GitHub deployment history: {note}.\n"
        return text
    if result.command == "distribute" and may_have_gone_live(result) and not command:
        return _template("no_rollback.md").substitute(project=code(result.project_id))
    return ""


def _size(count: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


def _build_size(report: dict[str, Any] | None) -> str:
    """The archive by top-level folder, its largest files and the likely mistakes (``buildSize`` of --json)."""
    if not report or not report["folders"]:
        return ""
    total = max(1, report["totalBytes"])
    folders = "\n".join(
        f"| {cell(f['name'])} | {f['files']:,} | {_size(f['bytes'])} | {100 * f['bytes'] / total:.0f}% |"
        for f in report["folders"]
    )
    largest = "\n".join(f"| {cell(f['name'])} | {_size(f['bytes'])} |" for f in report["largestFiles"])
    flagged = "".join(
        f"\n> [!WARNING]\n> {s['files']:,} file(s) of {cell(s['kind'])} ({_size(s['bytes'])}, such as "
        f"{cell(s['example'])}): {cell(s['fix'])}.\n"
        for s in report["suspects"]
    )
    return _template("sizes.md").substitute(folders=folders, largest=largest, flagged=flagged)


def render_summary(result: Result) -> str:
    rows: list[str] = []

    def row(label: str, value: object, as_code: bool = True, limit: int = TEXT_LIMIT) -> None:
        if value in (None, ""):
            return
        rows.append(f"| {label} | {code(str(value), limit) if as_code else cell(str(value), limit)} |")

    row("Result", result.outcome.value)
    row("Project", result.project_id)
    row("Upload ID", result.upload_id)
    row("Status", result.status, limit=STATUS_LIMIT)
    row("Live", _live(result), as_code=False)
    row(
        "File URL",
        result.file_url + (" (signed URL, redacted)" if result.file_url_signed else "") if result.file_url else None,
    )
    row("SHA-256", result.sha256)
    row("Size", f"{result.size_bytes:,} bytes" if result.size_bytes is not None else None, as_code=False)
    row("Previous build", result.previous_upload_id)
    row("Previous build", f"none named: {result.previous_unknown}" if result.previous_unknown else None, False)
    row("Duration", f"{result.duration_seconds:.1f} s", as_code=False)

    several = [r.project_row() for r in result.projects]
    timeline = ""
    if len(several) > 1:
        timeline = _projects(several)
    elif result.timeline:
        timeline = _timeline(timeline_rows(result))
    objection = ""
    if result.objection and result.outcome is not Outcome.REJECTED:  # a rejection's reason leads the summary
        objection = _template("objection.md").substitute(
            title="What Streampixel said about the build", objection=cell(result.objection)
        )
    text = _template("summary.md").substitute(
        sizes=_build_size(result.build_size),
        icon=_ICON[result.outcome],
        command=cell(result.command) + (" (rehearsal)" if result.rehearsal else ""),
        headline=HEADLINE[result.outcome].lower(),
        lead=_lead(result, several),
        rows="\n".join(rows),
        timeline=timeline,
        objection=objection,
        rollback=_rollback(result) if len(several) < 2 else "",
    )
    text += render_changes(result.changes)
    return fit(unmarked(text))
