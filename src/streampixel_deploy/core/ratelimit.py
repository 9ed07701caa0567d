"""How long a rate-limited answer asks us to wait, read from every common header form (docs/streampixel-api.md §5).

One parser for the Streampixel client, the GitHub calls and the relay (core/http.py's Policy uses it). Waits are
clamped to [RETRY_AFTER_FLOOR, RETRY_AFTER_CEILING]; the run's deadline still applies on top (core/http.Clock).
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone

#: The shortest wait after a 429 or a Retry-After, whatever the server says: no endpoint that answered 429
#: gets more than one request per second from us.
RETRY_AFTER_FLOOR = 1.0
#: The longest wait one Retry-After can ask for (a longer one is read as this; the deadline still applies).
RETRY_AFTER_CEILING = 300.0


def rate_limit_delay(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait a 429 asks for, from any common header, clamped like :func:`parse_retry_after`; None when no
    header gives a usable value. First found wins:

    - ``Retry-After``: delta-seconds or an HTTP-date (RFC 9110);
    - ``RateLimit-Reset: N`` (IETF draft, delta-seconds) or ``RateLimit: …;t=N`` / ``reset=N`` (later drafts);
    - ``X-RateLimit-Reset``: epoch seconds (GitHub and most gateways), epoch milliseconds when it is that large,
      delta-seconds when it is too small to be a time.

    Only for a rate-limit answer: a ``*-Reset`` on any other answer is the quota's next window, not a wait.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    seconds = parse_retry_after(lower.get("retry-after"), now)
    if seconds is not None:
        return seconds
    reset = _number(lower.get("ratelimit-reset"))
    if reset is None:
        match = _RESET_PARAM.search(lower.get("ratelimit", ""))
        reset = _number(match.group(1)) if match else None
    if reset is None:
        epoch = _number(lower.get("x-ratelimit-reset"))
        if epoch is not None:
            current = (now or datetime.now(timezone.utc)).timestamp()
            if epoch >= 1e12:  # epoch milliseconds
                reset = epoch / 1000 - current
            elif epoch >= 1e9:  # epoch seconds
                reset = epoch - current
            else:  # a count of seconds
                reset = epoch
    if reset is None:
        return None
    return min(RETRY_AFTER_CEILING, max(RETRY_AFTER_FLOOR, reset))


_RESET_PARAM = re.compile(r"(?:^|[;,\s])(?:t|reset)\s*=\s*([0-9.]+)")


def _number(value: str | None) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds, clamped to the floor and ceiling; None when there is no usable value.

    Both forms of RFC 9110 are read: delta-seconds (leniently: ``1.5``, ``-5`` and ``1e9`` too) and an
    HTTP-date (a date in the past waits the floor).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(RETRY_AFTER_CEILING, max(RETRY_AFTER_FLOOR, seconds))
