"""The job summary as GitHub renders it (issue 28, item 14 and the hostile-status caps): rendered from real Result
objects and read back with a CommonMark parser (markdown-it-py, already in the dev lock)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from streampixel_deploy.api.models import Outcome, Result, StageEvent
from streampixel_deploy.core.errors import BuildRejected, InputError
from streampixel_deploy.core.redact import SECRETS, redact_url
from streampixel_deploy.report.summary import render_summary
from streampixel_deploy.run.execute import fail
from streampixel_deploy.run.fanout import combine
from tests.summary_view import cells, error_class_names, headers, markup_from_data, tokens

PROJECT = "67944b8a3f323be4b89a2272"
SIGNED = (
    "https://builds.s3.eu-west-1.amazonaws.com/MyGame/MyGame-1.0.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261207%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T011530Z"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef"
)
KIB = 1024


def _approved(**over: object) -> Result:
    result = Result(
        command="deploy",
        project_id=PROJECT,
        outcome=Outcome.APPROVED,
        upload_id="6b1609290356a0288fd31927",
        status="Approved",
        live=True,
        previous_upload_id="665a2b3c4d5e6f7a8b9c0e1f",
        duration_seconds=0.6,
        message="Build 6b1609290356a0288fd31927 approved and live.",
        timeline=[StageEvent("pending", 0.0), StageEvent("Downloading Files", 0.2), StageEvent("Approved", 0.6)],
    )
    for name, value in over.items():
        setattr(result, name, value)
    return result


# -- redact first, then escape ------------------------------------------------------------------------------------


def test_a_signed_url_renders_as_the_redacted_text_not_as_emphasis() -> None:
    shown = redact_url(SIGNED)
    summary = render_summary(_approved(file_url=shown, file_url_signed=True))
    assert markup_from_data(summary) == [], summary
    assert cells(summary)["File URL"] == shown + " (signed URL, redacted)"
    assert "0123456789abcdef0123456789abcdef" not in summary and "AKIAEXAMPLE" not in summary


def test_secrets_in_free_text_render_as_plain_redaction_marks() -> None:
    message = (
        "Streampixel could not fetch https://u:hunter2@cdn.example.com/a.zip?token=tok_SECRET&sig=abc*def "
        'and said {"apiKey": "sp_live_key"}'
    )
    summary = render_summary(_approved(outcome=Outcome.FAILED, message=message, exit_code=1))
    assert markup_from_data(summary) == [], summary
    html = render_summary(_approved(status="Approved sig=abc<img src=x onerror=alert(1)>"))
    assert markup_from_data(html) == [], html  # no escape was eaten by a redaction
    for secret in ("hunter2", "tok_SECRET", "abc*def", "abc\\*def", "sp_live_key", "sp\\_live\\_key"):
        assert secret not in summary, secret
    paragraph = next(t.content for t in tokens(summary) if t.type == "text" and "could not fetch" in t.content)
    assert "https://***@cdn.example.com/a.zip?token=***&sig=***" in paragraph


def test_a_known_secret_with_markdown_characters_is_redacted_before_it_is_escaped() -> None:
    secret = "sp_Key*With|Markdown_2026"
    SECRETS.add(secret)  # as a face registers the api-key
    summary = render_summary(_approved(status=f"Approved ({secret})", message=f"key {secret} in the message"))
    escaped = re.sub(r"([\\`*_\[\]|~<>&])", r"\\\1", secret)
    assert secret not in summary and escaped not in summary
    assert markup_from_data(summary) == []
    assert cells(summary)["Status"] == "Approved (***)"


# -- tables have headers that say something ----------------------------------------------------------------------


def test_no_table_has_an_empty_header_row() -> None:
    report = {
        "totalBytes": 2000,
        "folders": [{"name": "MyGame", "files": 3, "bytes": 2000}],
        "largestFiles": [{"name": "MyGame/Content/Paks/MyGame.pak", "bytes": 1500}],
        "suspects": [],
    }
    summary = render_summary(_approved(build_size=report))
    found = headers(summary)
    assert len(found) >= 2 + 3 + 4 + 2, found  # key/value, timeline, folders, largest files
    assert all(found), found


# -- the chart's axis reads something on a short run ----------------------------------------------------------------


def _d3_tick_step(start: float, stop: float, count: int) -> float:
    """d3-array's tickStep: 1, 2 or 5 times a power of ten."""
    step0 = abs(stop - start) / count
    step1 = float(10 ** math.floor(math.log10(step0)))
    error = step0 / step1
    if error >= math.sqrt(50):
        step1 *= 10
    elif error >= math.sqrt(10):
        step1 *= 5
    elif error >= math.sqrt(2):
        step1 *= 2
    return step1


_D3_INTERVALS_MS = [s * 1000 for s in (1, 5, 15, 30)] + [m * 60_000 for m in (1, 5, 15, 30)] + [3_600_000]


def _d3_ticks(start: int, stop: int, count: int = 10) -> list[int]:
    """The ticks d3-scale's scaleTime puts on [start, stop] (ms), as Mermaid's gantt axis asks for them."""
    target = (stop - start) / count
    bigger = [i for i, d in enumerate(_D3_INTERVALS_MS) if d > target]
    if not bigger or bigger[0] == 0:
        step = max(_d3_tick_step(start, stop, count), 1)
    else:
        i = bigger[0]
        lower, upper = _D3_INTERVALS_MS[i - 1], _D3_INTERVALS_MS[i]
        step = lower if target / lower < upper / target else upper
    first = math.ceil(start / step) * step
    return [round(first + k * step) for k in range(int((stop - first) // step) + 1)]


def _d3_format(spec: str, ms: int) -> str:
    """d3-time-format's directives a gantt axis may use (%H %M %S %L, '-' for no padding)."""
    at = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    values = {"H": at.hour, "M": at.minute, "S": at.second, "L": ms % 1000}

    def one(match: re.Match[str]) -> str:
        pad, name = match.group(1), match.group(2)
        number = values[name]
        return str(number) if pad == "-" else f"{number:0{3 if name == 'L' else 2}d}"

    return re.sub(r"%(-?)([HMSL])", one, spec)


def _axis_labels(summary: str) -> list[str]:
    chart = re.search(r"```mermaid\n(.*?)\n```", summary, re.DOTALL)
    assert chart, summary
    lines = chart.group(1).splitlines()
    axis = next(line.split("axisFormat ", 1)[1] for line in lines if "axisFormat" in line)
    spans = [tuple(int(n) for n in re.findall(r", (\d+)", line)[-2:]) for line in lines if re.search(r", \d+$", line)]
    start, stop = min(s[0] for s in spans), max(s[1] for s in spans)
    return [_d3_format(axis, tick) for tick in _d3_ticks(start, stop)]


def test_the_axis_of_a_sub_second_run_shows_sub_second_steps() -> None:
    labels = _axis_labels(render_summary(_approved()))  # 0.6 s in all
    assert len(labels) > 3 and len(set(labels)) == len(labels), labels


def test_the_axis_labels_are_distinct_whatever_the_length_of_the_run() -> None:
    for seconds in (0.05, 0.6, 3.0, 9.5, 45.0, 300.0, 1800.0):
        stages = [
            StageEvent("pending", 0.0),
            StageEvent("Downloading Files", seconds / 3),
            StageEvent("Approved", seconds),
        ]
        labels = _axis_labels(render_summary(_approved(timeline=stages)))
        assert len(set(labels)) == len(labels) > 2, (seconds, labels)


# -- a rejection says why, first, in plain words --------------------------------------------------------------------


def test_the_rejection_reason_comes_first_without_a_class_name() -> None:
    objection = "Executable not found in archive"
    result = fail(
        _approved(outcome=Outcome.FAILED, live=None, timeline=[StageEvent("pending", 0.0), StageEvent("Reject", 1.0)]),
        BuildRejected(f"Streampixel rejected build 6b1609290356a0288fd31927: {objection}", objection),
    )
    summary = render_summary(result)
    assert objection in summary
    first_table = summary.index("\n|")
    assert summary.index(objection) < first_table, summary
    assert "rejected" in summary[: summary.index(objection)].lower()
    assert not [name for name in error_class_names() if name in summary], summary


def test_no_error_class_name_on_any_failure() -> None:
    result = fail(Result(command="deploy", project_id=PROJECT), InputError("'zip-path' (--zip-path) matched no file."))
    summary = render_summary(result)
    assert "'zip-path' (--zip-path) matched no file." in summary
    assert not [name for name in error_class_names() if name in summary], summary


# -- a distribute says how to undo it -------------------------------------------------------------------------------


def test_a_distribute_whose_release_was_not_seen_still_says_how_to_undo() -> None:
    result = _approved(
        command="distribute",
        upload_id="665a2b3c4d5e6f7a8b9c0e1f",
        previous_upload_id="6b1609290356a0288fd31927",
        live=False,  # Streampixel never showed the distribution: whether it is live is unknown
        message="Distribution of build 665a2b3c4d5e6f7a8b9c0e1f was triggered, but whether it is live is unknown.",
    )
    summary = render_summary(result)
    assert "### Roll back" in summary or "### Undo" in summary, summary
    assert "upload-id: 6b1609290356a0288fd31927" in summary
    assert f"distribute --project-id {PROJECT} --upload-id 6b1609290356a0288fd31927" in summary
    assert "auto-release: false" not in summary  # a distribute is not an auto-release: false deploy


def test_a_distribute_that_was_only_triggered_says_how_to_undo() -> None:
    result = _approved(
        command="distribute",
        outcome=Outcome.SUBMITTED,
        live=None,
        upload_id="665a2b3c4d5e6f7a8b9c0e1f",
        previous_upload_id="6b1609290356a0288fd31927",
        timeline=[],
    )
    assert "upload-id: 6b1609290356a0288fd31927" in render_summary(result)


def test_a_distribute_with_nothing_to_go_back_to_says_so() -> None:
    result = _approved(command="distribute", previous_upload_id=None)
    summary = render_summary(result)
    assert "no other approved build" in summary.lower(), summary


# -- several projects ----------------------------------------------------------------------------------------------


def _project(project_id: str, outcome: Outcome, message: str) -> Result:
    return Result(
        "deploy",
        project_id,
        outcome,
        upload_id="6b16092903" + project_id[-14:],
        status="Approved" if outcome is Outcome.APPROVED else "Reject",
        message=message,
        timeline=[StageEvent("pending", 0.0), StageEvent("Approved", 0.5)],
    )


def test_several_projects_that_all_went_well_say_so() -> None:
    combined = combine(
        [_project(PROJECT, Outcome.APPROVED, "ok"), _project(PROJECT[:-1] + "3", Outcome.APPROVED, "ok")]
    )
    summary = render_summary(combined)
    assert "All 2 projects approved" in summary, summary
    assert "Worst" not in summary


def test_several_projects_name_the_one_that_failed_in_plain_words() -> None:
    bad = fail(
        _project(PROJECT[:-1] + "3", Outcome.APPROVED, ""), BuildRejected("Streampixel rejected it: no exe", "no exe")
    )
    summary = render_summary(combine([_project(PROJECT, Outcome.APPROVED, "ok"), bad]))
    assert "Worst" not in summary and "All 2" not in summary
    assert "1 approved" in summary and "1 rejected" in summary
    assert not [name for name in error_class_names() if name in summary], summary


# -- hostile statuses: the summary and the chart stay within what GitHub and Mermaid take --------------------------


def _hostile(count: int, length: int) -> list[StageEvent]:
    return [
        StageEvent(f"{i:03d} " + ("Extracting_&_Scanning *now* " * (length // 28 + 1))[: length - 4], i * 0.1)
        for i in range(count)
    ]


def _chart_of(summary: str) -> str:
    match = re.search(r"```mermaid\n.*?\n```", summary, re.DOTALL)
    assert match, summary[:2000]
    return match.group(0)


def test_hostile_statuses_are_cut_and_the_summary_says_so() -> None:
    summary = render_summary(_approved(timeline=_hostile(100, 6000)))
    assert len(summary.encode("utf-8")) <= 900 * KIB
    assert len(_chart_of(summary)) <= 40_000
    assert "cut" in summary.lower() or "not shown" in summary.lower()
    assert "| 099 " in summary or "099 Extracting" in summary  # the last stage is still there
    assert markup_from_data(summary) == []


def test_a_summary_of_any_size_stays_under_the_step_summary_limit() -> None:
    huge = _approved(
        timeline=_hostile(3000, 2000),
        message="m" * 200_000,
        objection="o" * 200_000,
        projects=tuple(
            Result(
                command="deploy",
                project_id=f"{n:024d}",
                status="x" * 6000,
                outcome=Outcome.FAILED,
                objection="y" * 50_000,
                message="z" * 50_000,
                timeline=[StageEvent(f"{n}-{i}" + "s" * 6000, float(i)) for i in range(50)],
            )
            for n in range(30)
        ),
    )
    summary = render_summary(huge)
    assert len(summary.encode("utf-8")) <= 900 * KIB
    assert "cut" in summary.lower()
    assert summary.count("```") % 2 == 0  # no fence left open to swallow the note
    chart = re.search(r"```mermaid\n.*?\n```", summary, re.DOTALL)
    assert chart is None or len(chart.group(0)) <= 40_000


def test_a_long_run_draws_what_mermaid_takes_and_says_how_much() -> None:
    summary = render_summary(
        _approved(timeline=[StageEvent(f"Stage {i} of a very long run", i * 1.0) for i in range(2000)])
    )
    assert len(_chart_of(summary)) <= 40_000
    shown = re.search(r"The chart shows ([\d,]+) of 2,000 stages", summary)
    assert shown, summary[-3000:]
    assert 0 < int(shown.group(1).replace(",", "")) < 2000
    assert "| Stage 1999 of a very long run |" in summary  # the table keeps them all (it fits)


def test_whatever_does_not_fit_is_cut_with_a_note_and_no_open_fence() -> None:
    report = {
        "totalBytes": 10**9,
        "folders": [{"name": f"Folder{i:05d}" + "x" * 3000, "files": 1, "bytes": 10**5} for i in range(2000)],
        "largestFiles": [],
        "suspects": [],
    }
    summary = render_summary(_approved(build_size=report))
    assert len(summary.encode("utf-8")) <= 900 * KIB
    assert "The rest of this summary was cut" in summary
    assert summary.count("```") % 2 == 0
    last = [t for t in tokens(summary) if t.type == "blockquote_open"]
    assert last, "the note is a quote of its own, not inside a code block or a table"
