"""The shapes of an answer (issue 25): the same answer as the settings spell it.

The handlers of :mod:`.api` build one plain answer; :func:`shape` then writes it the way the settings pick:
``number_format: string`` writes the counts (``page``, ``totalPages``, ``statusCode``…) as strings,
``response_envelope: success-data`` wraps every 2xx body as ``{"success": true, "data": ...}``, and
``error_bodies: 200-success-false`` answers a 4xx (but a 429, which keeps its status) as HTTP 200
``{"success": false, "message": ...}``. :func:`date_in` writes ``files[].date`` (``date_format``) and
:func:`wait_header` a 429's wait (``rate_limit_header``).
"""

from __future__ import annotations

import email.utils
import math
import time
from datetime import datetime
from typing import Any

from streampixel_deploy.emulator.config import EmulatorConfig

#: The counts ``number_format: string`` writes as strings.
COUNT_KEYS = ("page", "totalPages", "totalProjects", "liveUsers", "usersInQueue", "liveUser", "queueUser", "statusCode")


def shape(status: int, body: Any, settings: EmulatorConfig) -> tuple[int, Any]:
    """``(status, body)`` of an answer as the settings spell it."""
    if 200 <= status < 300 and isinstance(body, dict):
        if settings.number_format == "string":
            body = {k: str(v) if k in COUNT_KEYS and isinstance(v, int) else v for k, v in body.items()}
        if settings.response_envelope == "success-data":
            body = {"success": True, "data": body}
        return status, body
    if settings.error_bodies == "200-success-false" and 400 <= status < 500 and status != 429:
        return 200, {"success": False, **body}
    return status, body


def wait_header(form: str, remaining: float) -> dict[str, str]:
    """The 429's wait in the header form ``rate_limit_header`` picks."""
    seconds = max(1, math.ceil(remaining))
    if form == "retry-after-date":
        return {"Retry-After": email.utils.formatdate(time.time() + seconds, usegmt=True)}
    if form == "ratelimit-reset":
        return {"RateLimit-Reset": str(seconds)}
    if form == "x-ratelimit-reset":  # epoch seconds, as GitHub and many gateways send it
        return {"X-RateLimit-Reset": str(math.ceil(time.time() + remaining))}
    return {"Retry-After": str(seconds)}


def date_in(value: str, form: str) -> str | int:
    """``files[].date`` in the ``date_format`` form (the store keeps ISO 8601 UTC with milliseconds)."""
    if form == "date-only":
        return value[:10]
    if form == "epoch-ms":
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return value
