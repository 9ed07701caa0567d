"""Hosting by the local emulator: it serves the local zip back over HTTP (same machine, loopback).

Only for a loopback api-url (the demo and local pipelines); it never sends a build anywhere else.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import requests

from streampixel_deploy.core.errors import HostingError, InputError
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import is_loopback_url
from streampixel_deploy.hosting import Hosted, Upload, time_left

CHUNK = 1024 * 1024


class EmulatorHost:
    name = "emulator"

    def __init__(self, api_url: str, session: requests.Session) -> None:
        if not is_loopback_url(api_url):
            raise InputError(
                "Emulator hosting is only available when api-url is a loopback emulator; "
                "set the s3-* settings or file-url to host the build for Streampixel.",
                "api-url",
            )
        parts = urlsplit(api_url)
        self.root = f"{parts.scheme}://{parts.netloc}"
        self.session = session

    def check(self, reporter: Reporter) -> None:
        try:
            response = self.session.get(self.root + "/_emulator/state", timeout=(5, 10))
        except requests.RequestException as exc:
            raise HostingError(f"The emulator at {self.root} is not reachable: {type(exc).__name__}.") from None
        if response.status_code != 200:
            raise HostingError(f"The emulator at {self.root} refused the state request (HTTP {response.status_code}).")
        reporter.info(f"Emulator hosting at {self.root} is reachable.")

    def host(self, upload: Upload, reporter: Reporter) -> Hosted:
        """Register the local file with the emulator (same machine: it is loopback) and hash it if need be."""
        zip_path = upload.zip_path
        if zip_path is None:
            raise HostingError("Emulator hosting needs a zip-path.")
        size = zip_path.stat().st_size
        sha256 = upload.sha256
        if sha256 is None:
            digest = hashlib.sha256()
            done = 0
            with zip_path.open("rb") as fh:
                while block := fh.read(CHUNK):
                    time_left(upload.deadline)
                    digest.update(block)
                    done += len(block)
                    reporter.progress(done, size, "hash")
            sha256 = digest.hexdigest()
        left = time_left(upload.deadline)
        try:
            response = self.session.post(
                f"{self.root}/_emulator/files",
                json={"path": str(zip_path.resolve())},
                timeout=(5, min(30.0, left or 30.0)),
            )
        except requests.RequestException as exc:
            raise HostingError(f"Registering the zip with the emulator failed: {type(exc).__name__}.") from None
        if response.status_code not in (200, 201):
            raise HostingError(f"The emulator refused to serve the zip (HTTP {response.status_code}).")
        file_url = response.json().get("url")
        if not isinstance(file_url, str):
            raise HostingError("The emulator did not return the file URL.")
        return Hosted(file_url, file_url, sha256=sha256, size_bytes=size)
