from __future__ import annotations

from tests.integration.conftest import base_env, build_zip, cli, emu  # noqa: F401  (shared fixtures)
