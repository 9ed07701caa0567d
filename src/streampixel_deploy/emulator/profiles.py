"""Readings of Streampixel's self-contradicting docs, as settings, and profiles: named bundles of them.

Each setting below picks one documented reading (docs/streampixel-api.md §11 lists the disagreements);
the first choice of each is the emulator's default, the tidy reading it has always modelled. A profile
sets several of them at once; anything a config file or ``EmulatorConfig`` field sets explicitly wins
over its profile.

=======================  ====================================================  =======================
setting                  choices (default first)                               docs/streampixel-api.md
=======================  ====================================================  =======================
``approval_order``       ``distribute-then-approved``: … Saving → Distribute    §8.4, §11.14
                         → Approved; ``approved-then-distribute``: … Saving →
                         Approved (not live) → Distribute → Approved (live)
``status_labels``        ``raw`` (§8.1 strings) or ``dashboard`` (§8.2 labels)  §11.17
                         in Get Project ``files[].status``
``distribute_lag_seconds``  0: distribute-file moves the build to Distribute    §6.2, §11.15
                         before it answers; > 0: Get Project shows the stale
                         Approved that long after the answer
``rate_limit_counts``    ``accepted`` (only a 2xx uses the slot) or             §5, §11.12
                         ``every-request`` (any upload-file/distribute-file
                         request with a userId does, even one answered 4xx)
``reject_at``            ``where-found`` (the stage that finds the problem:     §8.3, §11.16
                         Downloading Files or Extracting & Scanning) or
                         ``distribute`` (the build walks on; Reject only from
                         Distribute)
``webhook_order``        ``in-order`` or ``roughly`` (adjacent events of a      §9.3, §11.18
                         project may arrive swapped)
``webhook_duplicates``   false, or true: every event is delivered twice         §11.18
``webhook_file_url``     ``always`` or ``null-early`` (``fileUrl`` null on      §11.19
                         build.uploaded and build.downloading)
``endpoints``            ``all`` (G3) or ``g1-g2`` (only upload-file and        §11.1, §11.2
                         distribute-file; every GET and test-webhook 404)
``forbidden_message``    ``per-page`` (distribute-file, userStats and disabled  §4, §11.20
                         projects ``Access denied``; elsewhere ``Forbidden:
                         project does not belong to this user``), or one
                         wording for every 403: ``not-owner``, ``forbidden``,
                         ``access-denied``
``get_project_auth``     ``apikey`` (required) or ``user-id-only`` (the         §2, §11.4
                         example: a key is checked only when sent)
``response_envelope``    ``bare`` or ``success-data`` (every 2xx body wrapped   §4, §11.7
                         as ``{"success": true, "data": {...}}``)
``id_type``              ``string`` or ``number`` (new builds' ``uploadId`` /   §3, §11.9
                         ``_id`` are JSON numbers)
``number_format``        ``number`` or ``string`` (page, totalPages, counts,    §11.10
                         statusCode as strings)
``date_format``          ``iso``, ``epoch-ms`` or ``date-only`` (files[].date)   §6.4, §11.11
``webhook_upload_id``    ``always`` or ``null-early`` (``uploadId`` null on     §9.2, §11.19
                         build.uploaded)
``error_bodies``         ``http-status`` or ``200-success-false`` (a 4xx but    §4, §11.8
                         429 is answered 200 ``{"success": false, ...}``)
``rate_limit_header``    the form of the 429 wait when ``send_retry_after``:    §5, §11.13
                         ``retry-after`` (seconds), ``retry-after-date``,
                         ``ratelimit-reset``, ``x-ratelimit-reset`` (epoch s)
``listing_lag_seconds``  0, or seconds a new build stays out of ``files[]``     §6.1, §11.22
                         after upload-file created it
``max_page_size``        100: the largest ``limit`` GET /projects honours       §6.3, §11.3
=======================  ====================================================  =======================

Profiles: ``default`` (all defaults), ``strict`` (the most demanding reading of each for a client that polls
Get Project and receives webhooks; why each, in docs/emulator.md), ``legacy`` (the older G1/G2 pages) and
``loose`` (every answer shape a tolerant reader must read at once: an envelope, numeric IDs, numbers as
strings, epoch-millisecond dates, null early webhook IDs, 2xx failure bodies, ``X-RateLimit-Reset``).
"""

from __future__ import annotations

from typing import Any

#: Each profile setting's choices; the first is the default.
CHOICES: dict[str, tuple[str, ...]] = {
    "approval_order": ("distribute-then-approved", "approved-then-distribute"),
    "status_labels": ("raw", "dashboard"),
    "rate_limit_counts": ("accepted", "every-request"),
    "reject_at": ("where-found", "distribute"),
    "webhook_order": ("in-order", "roughly"),
    "webhook_file_url": ("always", "null-early"),
    "endpoints": ("all", "g1-g2"),
    "forbidden_message": ("per-page", "not-owner", "forbidden", "access-denied"),
    "get_project_auth": ("apikey", "user-id-only"),
    # Shapes of an answer (issue 25): what a tolerant reader must read.
    "response_envelope": ("bare", "success-data"),
    "id_type": ("string", "number"),
    "number_format": ("number", "string"),
    "date_format": ("iso", "epoch-ms", "date-only"),
    "webhook_upload_id": ("always", "null-early"),
    "error_bodies": ("http-status", "200-success-false"),
    "rate_limit_header": ("retry-after", "retry-after-date", "ratelimit-reset", "x-ratelimit-reset"),
}

#: The 403 message of each ``forbidden_message`` choice but ``per-page``.
FORBIDDEN_MESSAGES = {
    "not-owner": "Forbidden: project does not belong to this user",
    "forbidden": "Forbidden",
    "access-denied": "Access denied",
}

#: Dashboard label of each raw status (docs/streampixel-api.md §8.2); ``Approved`` depends on whether the build is live.
DASHBOARD_LABELS = {
    "pending": "Queued",
    "Downloading Files": "Downloading",
    "Extracting & Scanning": "Extracting and Scanning",
    "Saving to Repository": "Saving to Repository",
    "Distribute": "Distributing to the Servers",
    "Reject": "Validation Failed",
}
LIVE_LABEL = "Current Live Build"
ARCHIVED_LABEL = "Archived"

PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "strict": {
        "approval_order": "approved-then-distribute",
        "status_labels": "dashboard",
        "distribute_lag_seconds": 5.0,
        "rate_limit_counts": "every-request",
        "reject_at": "where-found",
        "webhook_order": "roughly",
        "webhook_duplicates": True,
        "webhook_file_url": "null-early",
        "forbidden_message": "forbidden",
        "files_order": "newest-first",
        "distribute_response": "g2",
    },
    "legacy": {
        "endpoints": "g1-g2",
        "distribute_response": "g2",
        "upload_status_code": 200,
        "strict_file_url": True,
        "forbidden_message": "access-denied",
    },
    "loose": {
        "response_envelope": "success-data",
        "id_type": "number",
        "number_format": "string",
        "date_format": "epoch-ms",
        "webhook_upload_id": "null-early",
        "error_bodies": "200-success-false",
        "send_retry_after": True,
        "rate_limit_header": "x-ratelimit-reset",
        "files_order": "newest-first",
    },
}


def dashboard_label(status: str, *, live: bool) -> str:
    """The dashboard's name for a raw status; an ``Approved`` build is live or archived."""
    if status == "Approved":
        return LIVE_LABEL if live else ARCHIVED_LABEL
    return DASHBOARD_LABELS.get(status, status)
