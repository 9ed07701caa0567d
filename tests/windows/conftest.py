"""Tests that only mean something on Windows: run by scripts/windows-lane under a real Windows CPython (Wine).

Elsewhere each of them is collected and skipped with the reason (a module-level skip in a conftest would stop the
whole run at collection).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WINDOWS_ONLY = pytest.mark.skipif(
    sys.platform != "win32", reason="Windows only: scripts/windows-lane runs these under a real Windows CPython"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(WINDOWS_ONLY)
