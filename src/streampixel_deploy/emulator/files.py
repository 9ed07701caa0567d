"""Local files served by the emulator at ``/files/<token>/<basename>`` (the build zips it fetches).

The random token makes each URL unguessable and unique even for equal basenames. ``GET`` and
``HEAD`` are supported, with a single ``Range: bytes=a-b`` range answered by 206.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path
from urllib.parse import quote

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    """The requested range lies outside the file (answer 416)."""


class FileRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, Path] = {}

    def add(self, path: str | Path) -> str:
        """Register ``path``; returns the URL path ``/files/<token>/<basename>``."""
        resolved = Path(path).resolve()
        if not resolved.is_file():
            raise FileNotFoundError(f"cannot serve {path}: not a file")
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._files[token] = resolved
        return f"/files/{token}/{quote(resolved.name)}"

    def lookup(self, token: str, name: str) -> Path | None:
        with self._lock:
            path = self._files.get(token)
        if path is None or path.name != name:
            return None
        return path


def inside(folder: Path, path: str | Path) -> Path:
    """``path`` as a regular file inside ``folder`` (no symlink on the way, no ``..``); raises ``PermissionError``.

    What the emulator serves for another process: only what was put in the folder it created itself.
    """
    given = Path(path)
    if not given.is_absolute():
        given = folder / given
    real_folder = os.path.realpath(folder)
    candidate = Path(os.path.abspath(given))
    try:
        relative = candidate.relative_to(real_folder)
    except ValueError:
        relative = None
    if relative is None or not relative.parts or ".." in given.parts:
        raise PermissionError(
            f"cannot serve {path}: only files inside the emulator's inbox {real_folder} can be registered over "
            "HTTP (copy the file there first, or call Emulator.serve_file in the emulator's own process)"
        )
    step = Path(real_folder)
    for part in relative.parts:
        step = step / part
        if step.is_symlink():
            raise PermissionError(f"cannot serve {path}: a symbolic link in the emulator's inbox is not followed")
    if not candidate.is_file():
        raise FileNotFoundError(f"cannot serve {path}: not a file")
    return candidate


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of a single byte range, or None to send the whole file.

    Malformed or multi-range headers are ignored (whole file), as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, min(int(last), size - 1) if last else size - 1
