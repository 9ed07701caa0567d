"""Outputs and the job summary, written the same way by both faces on every path."""

from __future__ import annotations

from streampixel_deploy.core.models import Result
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
    }


def publish(result: Result, summary: bool = True) -> None:
    """Write every declared output to GITHUB_OUTPUT and the summary to GITHUB_STEP_SUMMARY (if present)."""
    for name, value in output_values(result).items():
        gha.set_output(name, scrub(value))
    if summary:
        gha.append_summary(render_summary(result))
