"""Glob patterns over '/'-separated paths relative to a folder (``build-dir-exclude``): ``*`` and ``?`` stay inside
one folder, ``**`` spans folders, matching ignores case (UE builds come from Windows). Python's fnmatch lets ``*``
cross '/', and glob.translate arrived only in 3.13, hence this small translator."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from streampixel_deploy.core.errors import InputError

_PIECES = re.compile(r"\*\*/|/\*\*$|\*\*|\*|\?|[^*?]+")


#: What each wildcard becomes in a regular expression; any other text is matched literally.
_WILDCARDS = {
    "**/": "(?:.*/)?",  # any folders, none included
    "/**": "/.*",  # everything inside the folder
    "**": ".*",
    "*": "[^/]*",
    "?": "[^/]",
}


def _translate(pattern: str) -> str:
    return "".join(_WILDCARDS.get(piece) or re.escape(piece) for piece in _PIECES.findall(pattern))


def path_matcher(patterns: Iterable[str], setting: str, label: str) -> Callable[[str], bool]:
    """A test of a relative path against any of ``patterns``; InputError (exit 2) naming ``setting`` for a pattern
    that could never match a path inside the folder (absolute, ``..``, ``\\``-separated or empty)."""
    regexes = []
    for pattern in patterns:
        text = pattern.strip()
        if not text or text.startswith("/") or text[1:2] == ":" or "\\" in text or ".." in text.split("/"):
            raise InputError(
                f"{label}: {pattern!r} is not a pattern inside the build folder. Give paths relative to it with '/' "
                "between folders, for example '**/*.pdb' or 'MyGame/Saved/**'.",
                setting,
            )
        regexes.append(_translate(text.removeprefix("./")))
    if not regexes:
        return lambda _path: False
    compiled = re.compile("|".join(f"(?:{r})" for r in regexes), re.IGNORECASE | re.DOTALL)
    return lambda path: compiled.fullmatch(path) is not None
