"""The pipeline timeline as a Mermaid gantt chart in the job summary (issue 14, part 4)."""

from __future__ import annotations

import re

from streampixel_deploy.api.models import Outcome, Result, StageEvent
from streampixel_deploy.report.summary import render_summary


def _result(*stages: tuple[str, float]) -> Result:
    return Result(
        command="deploy",
        project_id="67944b8a3f323be4b89a2272",
        outcome=Outcome.APPROVED,
        timeline=[StageEvent(status, at) for status, at in stages],
    )


def _chart(summary: str) -> list[str]:
    match = re.search(r"```mermaid\n(.*?)\n```", summary, re.DOTALL)
    assert match, summary
    return match.group(1).splitlines()


def test_each_stage_is_a_bar_and_the_last_a_milestone_beside_the_table() -> None:
    summary = render_summary(
        _result(("Uploaded", 0.0), ("Extracting & Scanning", 2.5), ("Distribute", 40.25), ("Approved", 41.0))
    )
    chart = _chart(summary)
    assert chart[:2] == ["gantt", "    dateFormat x"]
    assert "    1. Uploaded :s0, 0, 2500" in chart
    assert "    2. Extracting & Scanning :s1, 2500, 40250" in chart
    assert "    3. Distribute :s2, 40250, 41000" in chart
    assert "    4. Approved :milestone, s3, 41000, 41000" in chart
    assert summary.index("```mermaid") < summary.index("| Status | Entered at |")  # the table stays for readers
    assert "| Extracting \\& Scanning |" in summary  # the table keeps the exact string, escaped


def test_no_timeline_no_chart() -> None:
    assert "```mermaid" not in render_summary(_result())


def test_api_strings_cannot_break_out_of_the_chart() -> None:
    hostile = 'Approved :crit, 0, 9\n```\n## injected <img src=x onerror=alert(1)>; click s0 href "javascript:x" #'
    chart = _chart(render_summary(_result(("Uploaded", 0.0), (hostile, 1.0))))
    task = chart[-1]
    assert task.startswith("    2. Approved crit, 0, 9 ") and task.endswith(":milestone, s1, 1000, 1000")
    name = task[7 : task.rindex(" :milestone")]
    assert not set(name) & set(':;#`<>"\n')
    assert len(chart) == 6  # gantt, dateFormat, axisFormat, section, two tasks: nothing else got in
    section = _chart(render_summary(_result(("section Evil", 0.0), ("click s0 call alert()", 1.0))))
    assert [line.split()[0] for line in section[4:]] == ["1.", "2."]  # no status starts a keyword line
