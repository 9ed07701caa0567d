"""Where the zip is put so that Streampixel can download it: the user's URL, the emulator, or S3."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from streampixel_deploy.core.reporter import Reporter


@dataclass(frozen=True)
class Hosted:
    url: str  # what Streampixel gets (may be signed: never print it, use display_url)
    display_url: str  # redacted when signed
    signed: bool = False
    sha256: str | None = None
    size_bytes: int | None = None
    reused: bool = False


class Host(Protocol):
    name: str

    def check(self, reporter: Reporter) -> None:
        """Dry-run: prove the destination is usable without uploading the build."""

    def host(self, zip_path: Path | None, project_id: str, reporter: Reporter) -> Hosted:
        """Make the build downloadable and return its URL."""
