"""The user's own file-url: preflight it the way Streampixel will fetch it."""

from __future__ import annotations

from pathlib import Path

import requests

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPEC_BY_NAME
from streampixel_deploy.hosting import Hosted


class UrlHost:
    name = "url"

    def __init__(self, file_url: str, session: requests.Session) -> None:
        self.file_url = file_url
        self.session = session

    def check(self, reporter: Reporter) -> None:
        self.preflight(reporter)

    def host(self, zip_path: Path | None, project_id: str, reporter: Reporter) -> Hosted:
        size = self.preflight(reporter)
        return Hosted(url=self.file_url, display_url=redact_url(self.file_url), size_bytes=size)

    def preflight(self, reporter: Reporter) -> int | None:
        """A 1-byte range GET, like the start of Streampixel's download: 200/206, no redirect, not HTML."""
        label = SPEC_BY_NAME["file-url"].label()
        shown = redact_url(self.file_url)
        try:
            response = self.session.get(
                self.file_url,
                headers={"Range": "bytes=0-0", "Accept": "*/*"},
                timeout=(10, 30),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise InputError(
                f"{label} {shown} could not be fetched ({type(exc).__name__}); Streampixel would reject "
                "the build at 'Downloading Files'. Check the URL is public.",
                "file-url",
            ) from None
        try:
            status = response.status_code
            ctype = response.headers.get("Content-Type", "").lower()
            if 300 <= status < 400:
                raise InputError(
                    f"{label} {shown} redirects (HTTP {status}); Streampixel needs a direct download. "
                    "Use the final URL of the .zip.",
                    "file-url",
                )
            if status not in (200, 206):
                raise InputError(
                    f"{label} {shown} answered HTTP {status}; Streampixel needs a public URL that "
                    "answers 200. Check the object is public.",
                    "file-url",
                )
            if "text/html" in ctype:
                raise InputError(
                    f"{label} {shown} returns an HTML page, not the zip (a share page or login?). "
                    "Use the direct-download URL.",
                    "file-url",
                )
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            size = int(total) if total.isdigit() else None
            reporter.info(f"file-url answers HTTP {status} ({ctype or 'no content type'}).")
            return size
        finally:
            response.close()
