"""Tests that only mean something on Windows: run by scripts/windows-lane under a real Windows CPython (Wine)."""

from __future__ import annotations

import sys

import pytest

if sys.platform != "win32":
    pytest.skip("Windows only: scripts/windows-lane runs these under a real Windows CPython", allow_module_level=True)
