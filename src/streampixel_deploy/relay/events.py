"""Streampixel webhook envelopes (docs/streampixel-api.md §9.2): validation, the dispatch ``event_type`` and payload.

Event type scheme: ``"streampixel." + event``, so ``build.approved`` becomes ``streampixel.build.approved``
and the synthetic ``webhook.test`` becomes ``streampixel.webhook.test``. A workflow subscribes with
``on: repository_dispatch: types: [streampixel.build.approved]``.

``client_payload`` is the seven documented envelope fields plus ``projectName`` and ``deliveryId`` (nine
top-level keys; GitHub allows ten). Only those keys are copied, so an unexpected field in a webhook never
reaches GitHub, and ``fileUrl`` is passed through :func:`~streampixel_deploy.core.redact.redact_url` so an S3
presign signature never lands in a workflow's event payload (readable by anyone who can read the run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streampixel_deploy.api.models import BuildStatus, Project, parse_status
from streampixel_deploy.core.jsonshape import camel_fields
from streampixel_deploy.core.readers import as_id
from streampixel_deploy.core.redact import redact_url

EVENT_TYPE_PREFIX = "streampixel."
TEST_EVENT = "webhook.test"
#: Build events and the raw status each one carries (docs/streampixel-api.md §9.1).
EVENT_STATUS: dict[str, BuildStatus] = {
    "build.uploaded": BuildStatus.PENDING,
    "build.downloading": BuildStatus.DOWNLOADING,
    "build.extracting": BuildStatus.EXTRACTING,
    "build.saving": BuildStatus.SAVING,
    "build.distributing": BuildStatus.DISTRIBUTE,
    "build.approved": BuildStatus.APPROVED,
    "build.rejected": BuildStatus.REJECT,
}
KNOWN_EVENTS: tuple[str, ...] = (*EVENT_STATUS, TEST_EVENT)
ENVELOPE_FIELDS = ("event", "projectId", "uploadId", "fileUrl", "status", "objection", "timestamp")
#: Longest string copied into client_payload; GitHub caps the whole payload below 64 KB.
MAX_FIELD_CHARS = 4096
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def valid_id(value: object) -> bool:
    """A Streampixel ID we can safely put in a URL path (documented ones are 24 hex chars)."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


class EnvelopeError(ValueError):
    """The body is not the documented webhook envelope; the message says what is wrong."""


@dataclass(frozen=True)
class Envelope:
    event: str
    project_id: str
    upload_id: str | None
    file_url: str | None
    status: str | None
    objection: str | None
    timestamp: str

    @property
    def known(self) -> bool:
        return self.event in KNOWN_EVENTS

    @property
    def event_type(self) -> str:
        return EVENT_TYPE_PREFIX + self.event

    def to_json(self) -> dict[str, Any]:
        """The envelope as the spool and the dispatch carry it (the webhook's own camelCase keys)."""
        return camel_fields(self)

    def client_payload(self, project_name: str | None, delivery_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = self.to_json()
        payload["fileUrl"] = redact_url(self.file_url) if self.file_url else self.file_url
        payload["projectName"] = project_name
        payload["deliveryId"] = delivery_id
        return {k: (v[:MAX_FIELD_CHARS] if isinstance(v, str) else v) for k, v in payload.items()}


def parse_envelope(data: object) -> Envelope:
    """Check ``data`` (parsed JSON) against the documented envelope; raises :class:`EnvelopeError`.

    Read tolerantly (the client's readers): ``event``, ``projectId`` and ``timestamp`` are required; ``uploadId``
    may be null or missing for any event (docs/streampixel-api.md §11.19: null "for events that fire before an
    upload exists"; Streampixel does not retry a refused delivery, §9.3, so refusing it would lose it); IDs may be
    strings or JSON numbers (§3) and are passed on as strings; ``status``, ``fileUrl`` and ``objection`` are a
    string or null (a build event's status then goes by its event); ``timestamp`` is a string or a number. Unknown
    fields are ignored. IDs must be path-safe because ``verify`` puts the project ID in a URL.
    """
    if not isinstance(data, dict):
        raise EnvelopeError("the body must be a JSON object (the Streampixel webhook envelope)")
    missing = [name for name in ("event", "projectId", "timestamp") if data.get(name) is None]
    if missing:
        raise EnvelopeError(f"missing envelope field(s): {', '.join(missing)}")
    event = data["event"]
    if not isinstance(event, str) or not 1 <= len(event) <= 64 or not event.isprintable():
        raise EnvelopeError("'event' must be a non-empty string of at most 64 characters")
    project_id = as_id(data["projectId"])
    if project_id is None or not valid_id(project_id):
        raise EnvelopeError("'projectId' must be an ID (letters, digits, '-', '_'; at most 64)")
    upload_id = None if data.get("uploadId") is None else as_id(data["uploadId"])
    if data.get("uploadId") is not None and not valid_id(upload_id):
        raise EnvelopeError("'uploadId' must be an ID or null")
    status = data.get("status")
    if status is not None and not isinstance(status, str):
        raise EnvelopeError("'status' must be a string or null")
    for name in ("fileUrl", "objection"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise EnvelopeError(f"'{name}' must be a string or null")
    timestamp = data["timestamp"]
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # epoch seconds or milliseconds, passed on as written
    if not isinstance(timestamp, str) or not timestamp.strip():
        raise EnvelopeError("'timestamp' must be an ISO 8601 string (or an epoch number)")
    return Envelope(
        event=event,
        project_id=project_id,
        upload_id=upload_id,
        file_url=data.get("fileUrl"),
        status=status,
        objection=data.get("objection"),
        timestamp=timestamp,
    )


def mismatch(envelope: Envelope, project: Project) -> str | None:
    """Why ``envelope`` does not match ``project`` as Get Project shows it (``verify``); None when it does.

    The build is found by ``uploadId``; without one (docs/streampixel-api.md §11.19) by ``fileUrl`` when exactly
    one build carries it, and with neither there is no build to cross-check: the project (already read) is the check.
    """
    if envelope.event == TEST_EVENT:
        return None
    if envelope.upload_id is not None:
        build = project.find(envelope.upload_id)
        if build is None:
            return f"uploadId {envelope.upload_id} is not a build of project {envelope.project_id}"
    else:
        same = [b for b in project.files if envelope.file_url and b.url == envelope.file_url]
        if len(same) != 1:
            return None
        build = same[0]
    if not status_consistent(envelope, build.raw_status):
        return (
            f"{envelope.event} with status {envelope.status!r} does not match the build's status {build.raw_status!r}"
        )
    return None


def status_consistent(envelope: Envelope, project_raw_status: str) -> bool:
    """Whether the build's current status (Get Project) is the event's status or one that may follow it.

    ``build.rejected`` needs the build to be rejected. ``build.approved`` accepts ``Approved`` and
    ``Distribute`` (a later distribute-file re-runs Distribute -> Approved, docs/streampixel-api.md §8.3). Any other
    event accepts the same or a later stage, ``Reject`` included (a build may fail at any stage).
    """
    expected = EVENT_STATUS.get(envelope.event)
    said = expected if envelope.status is None else parse_status(envelope.status)
    now = parse_status(project_raw_status)
    if expected is None or said is not expected or now is None:
        return False
    if expected is BuildStatus.REJECT:
        return now is BuildStatus.REJECT
    if expected is BuildStatus.APPROVED:
        return now in (BuildStatus.APPROVED, BuildStatus.DISTRIBUTE)
    return now is BuildStatus.REJECT or now.rank >= expected.rank
