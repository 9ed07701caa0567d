"""Keep secrets out of everything we print: URLs, messages and exception text."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

#: Query parameters whose values are secrets wherever they appear (API keys, S3 presign signatures).
SECRET_QUERY_PARAMS = frozenset(
    {
        "apikey",
        "api_key",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "signature",
        "sig",
        "token",
        "awsaccesskeyid",
        "x-goog-signature",
        "x-goog-credential",
    }
)

_QUERY_SECRET_RE = re.compile(
    r"(?i)\b(apikey|api_key|x-amz-signature|x-amz-credential|x-amz-security-token|signature"
    r"|awsaccesskeyid|x-goog-signature|x-goog-credential)=([^&\s\"'<>]+)"
)
_JSON_SECRET_RE = re.compile(r'(?i)("apiKey"\s*:\s*")([^"]*)(")')


def redact_url(url: str) -> str:
    """Return ``url`` with secret query values and any user:password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if k.lower() in SECRET_QUERY_PARAMS else v) for k, v in pairs],
            safe="*",
        )
    else:
        query = ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class SecretRegistry:
    """The set of secret values known to this run; :meth:`scrub` removes them from any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, value: str | None) -> bool:
        """Remember ``value``; returns True when it is new (so callers mask it exactly once)."""
        if not value or len(value) < 4:
            return False
        with self._lock:
            if value in self._values:
                return False
            self._values.add(value)
            return True

    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for value in self.values():
            text = text.replace(value, REDACTED)
        return redact_text(text)


def redact_text(text: str) -> str:
    """Redact ``apikey=…``/signature query values and ``"apiKey": "…"`` JSON fields in free text."""
    text = _QUERY_SECRET_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _JSON_SECRET_RE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)


#: Process-wide registry: the faces register secrets here as soon as they read them.
SECRETS = SecretRegistry()


def scrub(text: str) -> str:
    return SECRETS.scrub(text)
