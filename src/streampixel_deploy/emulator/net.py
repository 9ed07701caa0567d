"""Outgoing HTTP for the emulator (downloads and webhooks): urllib, never following redirects.

Proxies from the environment are honoured except for loopback hosts, so a developer's
``http_proxy`` never swallows requests to servers on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import email.message
import http.client
import ipaddress
import urllib.request
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an ``HTTPError`` instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: email.message.Message,
        newurl: str,
    ) -> None:
        return None


def is_loopback(url: str) -> bool:
    """127.0.0.0/8, ::1 or localhost. (The client side has its own: the emulator imports nothing from it.)"""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):  # a name that is not an IP address
        return ipaddress.ip_address(host).is_loopback
    return False


def shown_url(url: str | None) -> str | None:
    """``url`` for a state view: user info and query values replaced (a relay's token may sit in either)."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    netloc = f"***@{netloc}" if "@" in parts.netloc else netloc
    query = "&".join(f"{pair.partition('=')[0]}=***" for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def http_request(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> urllib.request.Request:
    """A urllib request for an http(s) URL only; raises ``ValueError`` for any other scheme."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    all_headers = {"User-Agent": "streampixel-emulator", **(headers or {})}
    method = "POST" if data is not None else "GET"
    return urllib.request.Request(url, data=data, headers=all_headers, method=method)  # noqa: S310


def open_url(request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
    """Open ``request`` without following redirects; raises ``urllib.error`` exceptions."""
    handlers: list[Any] = [_NoRedirect()]
    if is_loopback(request.full_url):
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    response: http.client.HTTPResponse = opener.open(request, timeout=timeout)
    return response
