"""build-dir -> a deterministic zip (placeholder until the hosting issue's parallel packer lands)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .reporting import Reporter

STORED_SUFFIXES = frozenset({".pak", ".ucas", ".utoc", ".bk2", ".mp4", ".zip", ".png", ".jpg", ".ogg", ".webm"})
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Packed:
    sha256: str
    size_bytes: int
    entries: int


def package_dir(build_dir: Path, dest: Path, reporter: Reporter) -> Packed:
    files = sorted(
        (Path(root) / name for root, _dirs, names in os.walk(build_dir) for name in names),
        key=lambda p: p.relative_to(build_dir).as_posix(),
    )
    with zipfile.ZipFile(dest, "w", allowZip64=True) as zf:
        for path in files:
            arcname = path.relative_to(build_dir).as_posix()
            info = zipfile.ZipInfo(arcname, FIXED_DATE)
            info.external_attr = 0o644 << 16
            stored = path.suffix.lower() in STORED_SUFFIXES
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
    digest = hashlib.sha256()
    with dest.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return Packed(digest.hexdigest(), dest.stat().st_size, len(files))
