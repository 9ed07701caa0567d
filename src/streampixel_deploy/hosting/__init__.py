"""Where the zip is put so that Streampixel can download it: the user's URL, the emulator, or S3."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from streampixel_deploy.core.errors import WaitTimeout, ref
from streampixel_deploy.core.progress import Reporter

#: Seconds left before the user's timeout-minutes runs out (<= 0: stop now).
Deadline = Callable[[], float]


@dataclass(frozen=True)
class Hosted:
    url: str  # what Streampixel gets (may be signed: never print it, use display_url)
    display_url: str  # redacted when signed
    signed: bool = False
    sha256: str | None = None
    size_bytes: int | None = None
    reused: bool = False


@dataclass(frozen=True)
class Upload:
    """What a host is asked to make downloadable.

    ``zip_path``: the local zip (None when the user hosts it: file-url). ``sha256``: the zip's digest when the
    caller already knows it (the packer hashes while it writes); the caller vouches that the file has not
    changed since. ``directory_digest``: ``build.archive.directory_digest`` of the zip (a digest of its central
    directory, read by the archive check anyway), which names the build before any of its data is read; without
    it S3 hosting hashes the whole file before uploading it (two reads). ``deadline``: seconds left (<= 0: stop);
    when it runs out the host stops, leaves nothing half-done, and raises WaitTimeout.
    """

    zip_path: Path | None
    project_id: str
    sha256: str | None = None
    deadline: Deadline | None = None
    directory_digest: str | None = None


class Host(Protocol):
    name: str

    def check(self, reporter: Reporter) -> None:
        """Dry-run: prove the destination is usable without uploading the build."""

    def host(self, upload: Upload, reporter: Reporter) -> Hosted:
        """Make the build downloadable and return its URL."""


def time_left(deadline: Deadline | None) -> float | None:
    """Seconds left, or None without a deadline; raises WaitTimeout once it has run out."""
    if deadline is None:
        return None
    left = deadline()
    if left <= 0:
        raise WaitTimeout(
            f"{ref('timeout-minutes')} ran out while uploading the build; the upload was stopped "
            "and nothing was left half-done. Raise timeout-minutes, or host the zip on storage closer to the runner."
        )
    return left
