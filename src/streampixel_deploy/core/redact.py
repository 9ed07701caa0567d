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

#: ``name=value`` of any secret query parameter, in a URL or in free text (one list for both).
_QUERY_SECRET_RE = re.compile(
    r"(?i)(?<![\w-])(" + "|".join(re.escape(p) for p in sorted(SECRET_QUERY_PARAMS, key=len, reverse=True)) + r")"
    r"=([^&\s\"'<>]+)"
)
#: ``user:password@`` in any URL in free text.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
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
        """Remember ``value`` (whatever its length) and each line of it; True when something was new (so callers
        mask it exactly once). A runner masks line by line, so each line is a secret of its own."""
        if not value or not value.strip():
            return False
        parts = {value, *(line.strip() for line in value.splitlines() if line.strip())}
        with self._lock:
            new = parts - self._values
            self._values |= new
            return bool(new)

    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for value in self.values():
            text = text.replace(value, REDACTED)
        return redact_text(text)


def redact_text(text: str) -> str:
    """Redact secret query values (``apikey=…``, signatures, ``sig=``, ``token=``), ``user:password@`` in URLs
    and ``"apiKey": "…"`` JSON fields in free text."""
    text = _QUERY_SECRET_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _USERINFO_RE.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _JSON_SECRET_RE.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)


#: Process-wide registry: the faces register secrets here as soon as they read them.
SECRETS = SecretRegistry()


def scrub(text: str) -> str:
    return SECRETS.scrub(text)
