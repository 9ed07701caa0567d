"""The job summary (Markdown), from the templates in ``streampixel_deploy/templates``."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from streampixel_deploy.core.models import Outcome, Result, StageEvent
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.report.text import HEADLINE, rollback_command, stage_rows, timeline_rows

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


@cache
def _template(name: str) -> Template:
    return Template(files("streampixel_deploy").joinpath("templates").joinpath(name).read_text(encoding="utf-8"))


_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]+")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~<>&])")  # emphasis, code, links, cells, HTML (parentheses alone are text)
_PLAIN_CODE = re.compile(r"[\w .:/+=@-]*")


def _cell(value: str) -> str:
    """Any text (API strings included) as data in a table cell: one line, no Markdown, no HTML, no cell break."""
    return _MARKDOWN.sub(r"\\\1", _LINE_BREAKS.sub(" ", value))


def _code(value: str) -> str:
    """A code span for plain values (IDs, hashes, statuses); anything else as an escaped cell."""
    return f"`{value}`" if _PLAIN_CODE.fullmatch(value) else _cell(value)


_CHART_UNSAFE = re.compile(r"[^\w &'()./,+-]+")


def _chart_text(value: str) -> str:
    """Text for a Mermaid chart: what could end a task, a line or the code block (``:``, ``;``, ``#``, backticks,
    line breaks, HTML) becomes a space; the table below the chart keeps the exact string."""
    return " ".join(_CHART_UNSAFE.sub(" ", value).split()) or "?"


def gantt(lanes: list[tuple[str, list[tuple[str, float, float | None]]]]) -> str:
    """The pipeline timeline as a Mermaid gantt chart (job summaries render Mermaid): a section per lane (the
    pipeline, or one per project), a bar per stage.

    Times are milliseconds from the run's start (``dateFormat x``); the last stage, still current when the run
    ended, is a milestone. Each bar is numbered, so no status can start a line with a Mermaid keyword
    (``section``, ``click``, ``title``...).
    """
    lines = ["```mermaid", "gantt", "    dateFormat x", "    axisFormat %M:%S"]
    for lane, (title, stages) in enumerate(lanes):
        lines.append(f"    section {_chart_text(title)}")
        for index, (status, at, spent) in enumerate(stages):
            start, task = round(at * 1000), f"s{index}" if len(lanes) == 1 else f"p{lane}s{index}"
            name = f"{index + 1}. {_chart_text(status)}"
            if spent is None:
                lines.append(f"    {name} :milestone, {task}, {start}, {start}")
            else:
                lines.append(f"    {name} :{task}, {start}, {start + max(1, round(spent * 1000))}")
    lines.append("```")
    return "\n".join(lines)


def _projects(rows: list[dict[str, Any]]) -> str:
    """A run of several projects: a row per project, and the timeline with a lane per project."""

    def value(text: str | None) -> str:
        return _code(text) if text else "—"

    table = "\n".join(
        f"| {value(r['projectId'])} | {value(r['result'])} | {value(r['uploadId'])} | {value(r['status'])} "
        f"| {_cell(r['objection'] or '')} |"
        for r in rows
    )
    lanes = [(r["projectId"], _stages(r["timeline"])) for r in rows if r["timeline"]]
    chart = f"\n\n{gantt(lanes)}\n" if lanes else ""
    return _template("projects.md").substitute(rows=table, chart=chart)


def _stages(timeline: list[dict[str, Any]]) -> list[tuple[str, float, float | None]]:
    return stage_rows([StageEvent(str(e["status"]), float(e["elapsedSeconds"])) for e in timeline])


_REHEARSAL = (
    "> [!NOTE]\n> A rehearsal: `api-url: emulator` ran the whole pipeline against an embedded Streampixel emulator "
    "on the runner. Nothing was sent to Streampixel, S3 or GitHub Deployments; the outputs are the emulator's.\n\n"
)


def _build_size(report: dict[str, Any] | None) -> str:
    """The archive by top-level folder, its largest files and the likely mistakes (``buildSize`` of --json)."""
    if not report or not report["folders"]:
        return ""
    total = max(1, report["totalBytes"])
    folders = "\n".join(
        f"| {_cell(f['name'])} | {f['files']:,} | {_size(f['bytes'])} | {100 * f['bytes'] / total:.0f}% |"
        for f in report["folders"]
    )
    largest = "\n".join(f"| {_cell(f['name'])} | {_size(f['bytes'])} |" for f in report["largestFiles"])
    flagged = "".join(
        f"\n> [!WARNING]\n> {s['files']:,} file(s) of {_cell(s['kind'])} ({_size(s['bytes'])}, such as "
        f"{_cell(s['example'])}): {_cell(s['fix'])}.\n"
        for s in report["suspects"]
    )
    return _template("sizes.md").substitute(folders=folders, largest=largest, flagged=flagged)


def _size(count: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


def render_summary(result: Result) -> str:
    rows: list[str] = []

    def row(label: str, value: object, code: bool = True) -> None:
        if value in (None, ""):
            return
        rows.append(f"| {label} | {_code(str(value)) if code else _cell(str(value))} |")

    row("Result", result.outcome.value)
    row("Project", result.project_id)
    row("Upload ID", result.upload_id)
    row("Status", result.status)
    if result.live is not None:
        row("Live", "yes" if result.live else "no (auto-release: false)", code=False)
    row(
        "File URL",
        result.file_url + (" (signed URL, redacted)" if result.file_url_signed else "") if result.file_url else None,
    )
    row("SHA-256", result.sha256)
    row("Size", f"{result.size_bytes:,} bytes" if result.size_bytes is not None else None, code=False)
    row("Previous build", result.previous_upload_id)
    row("Duration", f"{result.duration_seconds:.1f} s", code=False)

    timeline = ""
    several = result.extra.get("results") or []
    stages = timeline_rows(result) if len(several) < 2 else []
    if len(several) > 1:
        timeline = _projects(several)
    if stages:
        lines = [
            f"| {_cell(status)} | +{at:.1f} s | {f'{spent:.1f} s' if spent is not None else '—'} |"
            for status, at, spent in stages
        ]
        timeline = _template("timeline.md").substitute(chart=gantt([("Pipeline", stages)]), rows="\n".join(lines))
    objection = _template("objection.md").substitute(objection=_cell(result.objection)) if result.objection else ""
    rollback = ""
    command = rollback_command(result) if len(several) < 2 else None
    if command:
        which = (
            "The build that was live before this run (GitHub deployment history) is"
            if result.previous_was_live
            else "The newest approved build before this one (by date: Streampixel does not say which build was live) is"
        )
        rollback = _template("rollback.md").substitute(which=which, previous=result.previous_upload_id, command=command)
    text = _template("summary.md").substitute(
        sizes=_build_size(result.extra.get("buildSize")),
        icon=_ICON[result.outcome],
        command=result.command + (" (rehearsal)" if result.rehearsal else ""),
        headline=HEADLINE[result.outcome].lower(),
        message=(_REHEARSAL if result.rehearsal else "") + (_cell(result.message) or ""),
        rows="\n".join(rows),
        timeline=timeline,
        objection=objection,
        rollback=rollback,
    )
    return scrub(text)
