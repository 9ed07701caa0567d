"""Zips whose entry names are written exactly as given, on every OS.

On Windows, ``zipfile.ZipInfo`` turns ``\\`` into ``/`` when it is constructed, so a test of what a zip made
elsewhere may hold (``Game\\Binaries\\a.dll``) would check another name there: the name is set after construction.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def zip_names(path: Path, names: list[str], data: bytes) -> Path:
    """A zip at ``path`` of stored entries named ``names`` (raw), each holding ``data``, as ``writestr`` makes them."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.filename = name
            info.external_attr = (0o40775 << 16 | 0x10) if name.endswith("/") else 0o600 << 16
            zf.writestr(info, data)
    return path
