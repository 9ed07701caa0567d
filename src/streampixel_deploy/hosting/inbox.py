"""Hosting by the local emulator: it serves the local zip back over HTTP (same machine, loopback).

Only for a loopback api-url (the demo and local pipelines); it never sends a build anywhere else. The emulator
serves another process's file only from its own inbox folder (``GET /_emulator/inbox``, mode 0700: being able
to write there is the permission), so the zip is linked (or copied) into ``<inbox>/<random>/`` and served at
``/inbox/<random>/<name>``; no control token is needed and no other path can be served.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests

from streampixel_deploy.core.errors import HostingError, InputError
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.hosting import Hosted, Upload, time_left
from streampixel_deploy.settings.table import is_loopback_url

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
        self._inbox(None)
        reporter.info(f"Emulator hosting at {self.root} is reachable.")

    def _inbox(self, left: float | None) -> Path:
        """The emulator's inbox folder; HostingError when it is unreachable or its control surface is off."""
        try:
            response = self.session.get(self.root + "/_emulator/inbox", timeout=(5, min(10.0, left or 10.0)))
        except requests.RequestException as exc:
            raise HostingError(f"The emulator at {self.root} is not reachable: {type(exc).__name__}.") from None
        folder = response.json().get("dir") if response.status_code == 200 else None
        if not isinstance(folder, str):
            raise HostingError(
                f"The emulator at {self.root} does not offer its inbox (HTTP {response.status_code}); start it on a "
                "loopback address (or with --control) to host builds with it."
            )
        return Path(folder)

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
        folder = self._inbox(time_left(upload.deadline))
        drop = folder / secrets.token_urlsafe(16)
        try:
            drop.mkdir(mode=0o700)
            try:
                os.link(zip_path, drop / zip_path.name)  # no copy of a multi-GB build when on the same disk
            except OSError:
                shutil.copyfile(zip_path, drop / zip_path.name)
        except OSError as exc:
            raise HostingError(
                f"Could not put the zip in the emulator's inbox {folder} ({exc.strerror or exc}); run the "
                "emulator as the same user as streampixel-deploy."
            ) from None
        file_url = f"{self.root}/inbox/{quote(drop.name)}/{quote(zip_path.name)}"
        return Hosted(file_url, file_url, sha256=sha256, size_bytes=size)
