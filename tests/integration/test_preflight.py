"""hosting.preflight against a real HTTP server: one policy, who is blamed, and how little is downloaded."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from streampixel_deploy.core.errors import HostingError, InputError, ref
from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.hosting.preflight import hosted_url, preflight, user_url
from tests.localhttp import QuietHandler, serve

BIG = 64 * 1024 * 1024  # what a server that ignores Range would send


class _Files(QuietHandler):
    sent: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:
        if self.path == "/moved.zip":
            self.send_response(301)
            self.send_header("Location", "/ok.zip")
            self.end_headers()
        elif self.path == "/ok.zip":
            self.send_response(206)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Range", "bytes 0-0/12345")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(b"P")
        elif self.path == "/ignores-range.zip":  # 200 and the whole (big) body, slowly
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            block = b"\0" * 65536
            try:
                for _ in range(BIG // len(block)):
                    self.wfile.write(block)
                    with self.lock:
                        self.sent[self.path] = self.sent.get(self.path, 0) + len(block)
                    time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/down.zip":
            self.empty(503)
        elif self.path in ("/cdn-502.zip", "/cdn-503.zip"):  # a CDN's error page: HTML, with a 5xx status
            page = b"<!DOCTYPE html><html><body><h1>Bad gateway</h1></body></html>"
            self.send_response(int(self.path[5:8]))
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        elif self.path == "/page.zip":  # a share page: HTML with 200
            page = b"<!DOCTYPE html><html><body>Download</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        else:
            self.empty(403)


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with serve(_Files) as url:
        yield url


class _Warnings(NullReporter):
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, title: str | None = None) -> None:
        self.warnings.append(message)


def test_size_from_content_range(web: str) -> None:
    assert preflight(f"{web}/ok.zip", user_url(f"{web}/ok.zip"), NullReporter()) == 12345


def test_redirect_is_not_followed_and_blames_the_owner(web: str) -> None:
    url = f"{web}/moved.zip"
    with pytest.raises(InputError, match=re.escape(ref("file-url")) + r" .* redirects \(HTTP 301\)") as info:
        preflight(url, user_url(url), NullReporter())
    assert info.value.setting == "file-url"
    with pytest.raises(HostingError, match=r"redirects \(HTTP 301\).*" + re.escape(ref("s3-public-url-base"))):
        preflight(url, hosted_url(url), NullReporter())


def test_refusal_is_an_error_and_no_answer_a_warning(web: str) -> None:
    with pytest.raises(HostingError, match="answers HTTP 403 without credentials"):
        preflight(f"{web}/private.zip", hosted_url(f"{web}/private.zip"), NullReporter())
    for url in (f"{web}/down.zip", "http://127.0.0.1:9/nothing-listens.zip"):
        reporter = _Warnings()
        assert preflight(url, user_url(url), reporter) is None
        assert reporter.warnings and "make sure Streampixel can" in reporter.warnings[0]


def test_reads_no_more_than_the_first_bytes(web: str) -> None:
    """A server that ignores Range starts sending the whole zip: the check hangs up instead of downloading it."""
    url = f"{web}/ignores-range.zip"
    started = time.monotonic()
    assert preflight(url, user_url(url), NullReporter()) is None
    assert time.monotonic() - started < 2
    time.sleep(0.3)  # let the server notice the closed connection
    with _Files.lock:
        assert _Files.sent.get("/ignores-range.zip", 0) < BIG // 4


@pytest.mark.parametrize("path", ["/cdn-502.zip", "/cdn-503.zip"])
def test_a_5xx_html_page_is_an_outage_not_a_wrong_url(web: str, path: str) -> None:
    """A CDN answers its own HTML error page with 502/503: the status is judged first, so it is the policy's
    warning for a 5xx (a passing outage), not the HTML error meant for a URL that serves a page instead of the zip."""
    url = f"{web}{path}"
    for origin in (user_url(url), hosted_url(url)):
        reporter = _Warnings()
        assert preflight(url, origin, reporter) is None
        assert len(reporter.warnings) == 1 and f"answered HTTP {path[5:8]}" in reporter.warnings[0]
    with pytest.raises(InputError, match="returns an HTML page"):  # with 200 the page is still an error
        preflight(f"{web}/page.zip", user_url(f"{web}/page.zip"), NullReporter())
