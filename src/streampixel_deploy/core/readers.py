"""Tolerant readers of the API's values (docs/streampixel-api.md §3, §4, §11): the docs fix no format for IDs,
numbers or dates. An ID is a string or a JSON number (or ``{"$oid": ...}``), a count may be a string, a date may
be ISO 8601 (with or without a time), epoch seconds or milliseconds, or an HTTP date. What cannot be read is None,
never a guess; a date given to the day only says so (``parse_when``), so that no order is made up from it.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone


def as_id(value: object) -> str | None:
    """An ID as a string: a non-empty string (trimmed), a JSON integer, or Mongo's ``{"$oid": "…"}``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping) and set(value) == {"$oid"}:
        return as_id(value["$oid"])
    return None


def as_int(value: object) -> int | None:
    """A whole number given as a JSON number or a string of digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
        return int(value)
    return None


def as_text(value: object) -> str | None:
    """A string, or a number written as one; None for null and anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_RE = re.compile(r"[+-]?\d+(\.\d+)?")


def parse_when(value: object) -> tuple[datetime | None, bool]:
    """``(when, exact)``: a date of ``files[].date`` and whether it names an instant (False: a whole day).

    Read: ISO 8601 (``Z`` or an offset; no zone is UTC), a bare day ``2026-04-30``, epoch seconds or epoch
    milliseconds (a number or a string of digits: from 10**11 on it is milliseconds; below 10**9 it is not
    read), an HTTP-date.
    """
    if isinstance(value, bool) or value is None:
        return None, True
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 1e9:  # before 2001 as epoch seconds: not a build's date
            return None, True
        seconds = value / 1000 if value >= 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, timezone.utc), True
        except (OverflowError, OSError, ValueError):
            return None, True
    if not isinstance(value, str) or not value.strip():
        return None, True
    text = value.strip()
    if _DAY_RE.fullmatch(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc), False
        except ValueError:
            return None, True
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None, True
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)), True


def parse_date(value: object) -> datetime | None:
    return parse_when(value)[0]
