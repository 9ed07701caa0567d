"""Plain data: build statuses as Streampixel spells them, builds, projects and the run's result.

The values are read tolerantly (core/readers.py; docs/streampixel-api.md §3, §4, §11) and unknown fields are
ignored. A date given to the day only is kept with that precision (:attr:`Build.latest`), so two builds of one day
are never put in an order the answer does not give.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from streampixel_deploy.core.changes import BuildChanges
from streampixel_deploy.core.readers import as_id, parse_when


class BuildStatus(str, enum.Enum):
    """The raw pipeline status strings, exactly as the API returns them (docs/streampixel-api.md §8.1)."""

    PENDING = "pending"
    DOWNLOADING = "Downloading Files"
    EXTRACTING = "Extracting & Scanning"
    SAVING = "Saving to Repository"
    DISTRIBUTE = "Distribute"
    APPROVED = "Approved"
    REJECT = "Reject"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def terminal(self) -> bool:
        return self in (BuildStatus.APPROVED, BuildStatus.REJECT)


_ORDER = list(BuildStatus)
_NORMALISED = {s.value.casefold(): s for s in BuildStatus}
# Variants seen across doc generations and dashboard labels (docs/streampixel-api.md §8.2, §11.17).
_NORMALISED.update(
    {
        "queued": BuildStatus.PENDING,
        "downloading": BuildStatus.DOWNLOADING,
        "extracting and scanning": BuildStatus.EXTRACTING,
        "extracting & scanning": BuildStatus.EXTRACTING,
        "distributing": BuildStatus.DISTRIBUTE,
        "distributing to the servers": BuildStatus.DISTRIBUTE,
        "current live build": BuildStatus.APPROVED,
        "archived": BuildStatus.APPROVED,  # approved and kept, not live (auto-release off, or an older build)
        "rejected": BuildStatus.REJECT,
        "validation failed": BuildStatus.REJECT,
        # undocumented but unambiguous: a build that failed is not coming back
        "failed": BuildStatus.REJECT,
        "failure": BuildStatus.REJECT,
        "error": BuildStatus.REJECT,
    }
)
#: Dashboard labels that say whether an approved build is live (docs/streampixel-api.md §8.2).
_LIVE_LABELS = {"current live build": True, "archived": False}


def live_label(raw: object) -> bool | None:
    """True for ``Current Live Build``, False for ``Archived``, None when the status does not say."""
    return _LIVE_LABELS.get(" ".join(raw.split()).casefold()) if isinstance(raw, str) else None


def parse_status(raw: object) -> BuildStatus | None:
    """The known status for ``raw``: exact match first, then after case/whitespace normalisation.

    Returns None for strings we do not know; callers report them and keep waiting.
    """
    if not isinstance(raw, str):
        return None
    try:
        return BuildStatus(raw)
    except ValueError:
        pass
    key = " ".join(raw.split()).casefold()
    return _NORMALISED.get(key)


@dataclass(frozen=True)
class Build:
    """One entry of Get Project ``files[]``."""

    id: str
    url: str | None
    raw_status: str
    date: datetime | None
    objection: str | None
    position: int = 0  # index in files[] as returned (display only: the docs do not say files[] is ordered)
    #: False when ``date`` names a whole day (``2026-04-30``): the build was made some time that day
    date_exact: bool = True

    @property
    def status(self) -> BuildStatus | None:
        return parse_status(self.raw_status)

    @property
    def latest(self) -> datetime | None:
        """The latest moment ``date`` allows (its end, for a day)."""
        if self.date is None or self.date_exact:
            return self.date
        return self.date + timedelta(days=1) - timedelta(microseconds=1)

    def certainly_newer(self, other: Build) -> bool:
        """Whether the dates prove this build came after ``other`` (never from the order of files[])."""
        other_latest = other.latest
        return self.date is not None and other_latest is not None and self.date > other_latest

    @property
    def shown_date(self) -> str:
        if self.date is None:
            return "date unknown"
        return self.date.isoformat() if self.date_exact else f"{self.date.date().isoformat()}, the day only"

    @classmethod
    def from_json(cls, data: object, position: int = 0) -> Build | None:
        if not isinstance(data, dict):
            return None
        build_id = as_id(next((data[k] for k in ("_id", "id", "uploadId") if data.get(k) is not None), None))
        if build_id is None:
            return None
        url = data.get("url") if data.get("url") is not None else data.get("fileUrl")
        status = data.get("status")
        objection = data.get("objection")
        date, exact = parse_when(data["date"] if data.get("date") is not None else data.get("createdAt"))
        return cls(
            id=build_id,
            url=url if isinstance(url, str) else None,
            raw_status=status if isinstance(status, str) else str(status if status is not None else ""),
            date=date,
            objection=objection if isinstance(objection, str) and objection else None,
            position=position,
            date_exact=exact,
        )


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    region: str | None = None
    status: str | None = None
    webhook_url: str | None = None
    files: tuple[Build, ...] = ()

    @classmethod
    def from_json(cls, data: object, fallback_id: str = "") -> Project:
        if not isinstance(data, dict):
            data = {}
        files_raw = data.get("files")
        files: list[Build] = []
        if isinstance(files_raw, list):
            for i, item in enumerate(files_raw):
                build = Build.from_json(item, position=i)
                if build is not None:
                    files.append(build)
        status = data.get("status")
        return cls(
            id=as_id(data.get("id")) or as_id(data.get("_id")) or fallback_id,
            name=str(data.get("name") or ""),
            region=data.get("region") if isinstance(data.get("region"), str) else None,
            status=str(status).lower() if status is not None else None,
            webhook_url=data.get("webhookUrl") if isinstance(data.get("webhookUrl"), str) else None,
            files=tuple(files),
        )

    def find(self, upload_id: str) -> Build | None:
        for build in self.files:
            if build.id == upload_id:
                return build
        return None

    def newest_first(self) -> list[Build]:
        """Builds sorted newest first for showing: by ``date``, then by position in ``files[]`` (later = newer).
        Not an order to act on: see :meth:`Build.certainly_newer`."""
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        return sorted(self.files, key=lambda b: (b.date or epoch, b.position), reverse=True)

    def approved_newest_first(self) -> list[Build]:
        return [b for b in self.newest_first() if b.status is BuildStatus.APPROVED]


@dataclass(frozen=True)
class ProjectSummary:
    id: str
    name: str
    region: str | None
    status: str | None


class Outcome(str, enum.Enum):
    """The ``result`` output."""

    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed-out"
    SUBMITTED = "submitted"
    CANCELLED = "cancelled"
    DRY_RUN = "dry-run"
    FAILED = "failed"
    OK = "ok"


@dataclass(frozen=True)
class StageEvent:
    status: str  # raw status string as the API spelled it
    elapsed: float  # seconds since the run started


@dataclass(frozen=True)
class WebhookTest:
    """Streampixel's answer to test-webhook: whether the project's receiver answered 2xx, and with what."""

    success: bool
    message: str
    status_code: int

    def to_json(self) -> dict[str, object]:
        return {"success": self.success, "statusCode": self.status_code}


@dataclass
class Result:
    """What a run produced; reporters turn it into outputs, a summary and an exit code."""

    command: str
    project_id: str = ""
    outcome: Outcome = Outcome.FAILED
    upload_id: str | None = None
    status: str | None = None
    objection: str | None = None
    file_url: str | None = None  # already redacted when signed
    file_url_signed: bool = False
    sha256: str | None = None
    size_bytes: int | None = None
    previous_upload_id: str | None = None
    #: True when previous_upload_id came from GitHub's deployment history (the build that was live before);
    #: False when it is the newest approved build before this one by date (Streampixel does not say which was live)
    previous_was_live: bool = False
    #: why no previous build is named although approved builds exist (their dates do not prove which is newest)
    previous_unknown: str | None = None
    #: why previous_upload_id is a guess by date and not the build that was live before, with the fix
    previous_note: str | None = None
    duration_seconds: float = 0.0
    live: bool | None = None
    auto_release: bool | None = None
    message: str = ""
    error_title: str | None = None
    exit_code: int = 0
    timeline: list[StageEvent] = field(default_factory=list)
    rehearsal: bool = False  # api-url: emulator (an embedded emulator took the run)
    #: the archive by top-level folder, its largest files and likely mistakes (``buildSize`` in --json; the
    #: object build/sizes.py ``SizeReport.to_json()`` makes)
    build_size: dict[str, Any] | None = None
    #: a run of several projects: each project's own result (``results`` in --json and the outputs)
    projects: tuple[Result, ...] = ()
    #: test-webhook: what the receiver answered (``webhook`` in --json)
    webhook: WebhookTest | None = None
    #: status without an upload ID: the project's builds, newest first, their URLs redacted (``builds``)
    builds: tuple[Build, ...] | None = None
    #: the project's name, when a command read it
    project_name: str | None = None
    #: the error's traceback, with --debug / RUNNER_DEBUG only (``traceback`` in --json)
    traceback: str | None = None
    #: deploy: what changed since the live build (its zip's central directory), or why no comparison was possible
    changes: BuildChanges | None = None

    def project_row(self) -> dict[str, Any]:
        """This run's project as a row of ``results`` (run/fanout.py, the ``results`` output, the summary)."""
        return {
            "projectId": self.project_id,
            "uploadId": self.upload_id,
            "status": self.status,
            "result": self.outcome.value,
            "objection": self.objection,
            "exitCode": self.exit_code,
            "message": self.message,
            "timeline": [{"status": e.status, "elapsedSeconds": round(e.elapsed, 3)} for e in self.timeline],
        }

    def project_rows(self) -> list[dict[str, Any]]:
        """One row per project: each project's of a run of several, or this result's own."""
        return [r.project_row() for r in self.projects] if self.projects else [self.project_row()]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: the project's row (:meth:`project_row`) and what only the whole run has."""
        optional: dict[str, Any] = {
            "buildSize": self.build_size,
            "results": [r.project_row() for r in self.projects] if self.projects else None,
            "webhook": self.webhook.to_json() if self.webhook is not None else None,
            "builds": [_build_row(b) for b in self.builds] if self.builds is not None else None,
            "traceback": self.traceback,
            "changes": self.changes.to_json() if self.changes is not None else None,
        }
        return {
            "command": self.command,
            **self.project_row(),
            "fileUrl": self.file_url,
            "sha256": self.sha256,
            "sizeBytes": self.size_bytes,
            "previousUploadId": self.previous_upload_id,
            "previousUploadIdFrom": (
                ("deployment-history" if self.previous_was_live else "date") if self.previous_upload_id else None
            ),
            "durationSeconds": round(self.duration_seconds, 3),
            "live": self.live,
            **({"rehearsal": True} if self.rehearsal else {}),
            **{key: value for key, value in optional.items() if value is not None},
        }


def _build_row(build: Build) -> dict[str, Any]:
    """A build as a row of ``builds`` in --json."""
    day_only = build.date is not None and not build.date_exact
    return {
        "uploadId": build.id,
        "status": build.raw_status,
        "date": (build.date.date().isoformat() if day_only else build.date.isoformat()) if build.date else None,
        "objection": build.objection,
        "fileUrl": build.url,
    }
