"""Outputs and the job summary, written the same way by both faces on every path."""

from __future__ import annotations

import json

from streampixel_deploy.api.models import Result
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.report import workflow as gha
from streampixel_deploy.report.summary import render_summary

OUTPUT_NAMES = (
    "upload-id",
    "status",
    "result",
    "objection",
    "file-url",
    "sha256",
    "size-bytes",
    "previous-upload-id",
    "duration-seconds",
    "results",
)


def output_values(result: Result) -> dict[str, str]:
    return {
        "upload-id": result.upload_id or "",
        "status": result.status or "",
        "result": result.outcome.value,
        "objection": result.objection or "",
        "file-url": result.file_url or "",
        "sha256": result.sha256 or "",
        "size-bytes": str(result.size_bytes) if result.size_bytes is not None else "",
        "previous-upload-id": result.previous_upload_id or "",
        "duration-seconds": f"{result.duration_seconds:.1f}",
        "results": json.dumps(
            [{k: row[k] for k in _RESULT_KEYS} for row in result.project_rows()], separators=(",", ":")
        ),
    }


#: The ``results`` output's fields per project (camelCase, as in --json).
_RESULT_KEYS = ("projectId", "uploadId", "status", "result", "objection")


class Publisher:
    """Writes every declared output (GITHUB_OUTPUT) and the summary (GITHUB_STEP_SUMMARY), when the runner gives them.

    A run publishes as soon as its outcome is known, before any clean-up; a cancel publishes at the first
    signal. Publishing again changes nothing unless the result changed (a cancelled submit's last look found
    the build): then the outputs are written again (the runner keeps a name's last value) and our summary is
    replaced in place, so the job summary holds it once.
    """

    def __init__(self, summary: bool = True) -> None:
        self.summary = summary
        self._written: tuple[dict[str, str], str | None] | None = None
        self._summary_start: int | None = None

    def publish(self, result: Result) -> None:
        values = {name: scrub(value) for name, value in output_values(result).items()}
        markdown = render_summary(result) if self.summary else None
        if self._written == (values, markdown):
            return
        self._written = (values, markdown)
        for name, value in values.items():
            gha.set_output(name, value)
        if markdown is not None:
            self._summary_start = gha.write_summary(markdown, self._summary_start)
