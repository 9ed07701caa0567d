"""The user's own file-url: preflight it the way Streampixel will fetch it (see hosting.preflight)."""

from __future__ import annotations

import requests

from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.hosting import Deadline, Hosted, Upload, time_left
from streampixel_deploy.hosting.preflight import preflight, user_url


class UrlHost:
    name = "url"

    def __init__(self, file_url: str, session: requests.Session) -> None:
        self.file_url = file_url
        self.session = session

    def check(self, reporter: Reporter) -> None:
        self.preflight(reporter)

    def host(self, upload: Upload, reporter: Reporter) -> Hosted:
        size = self.preflight(reporter, upload.deadline)
        return Hosted(url=self.file_url, display_url=redact_url(self.file_url), sha256=upload.sha256, size_bytes=size)

    def preflight(self, reporter: Reporter, deadline: Deadline | None = None) -> int | None:
        """A 1-byte range GET, like the start of Streampixel's download; the zip's size when the server says it."""
        left = time_left(deadline)
        return preflight(self.file_url, user_url(redact_url(self.file_url)), reporter, self.session, left)
