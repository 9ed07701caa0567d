"""A local Streampixel API emulator: a real HTTP server on 127.0.0.1 with a real build pipeline.

It serves the endpoints of the Streampixel REST API under ``/pixelStripeApi`` (as described in
docs/streampixel-api.md), downloads and checks the build zips it is given, fires webhooks, and
offers a control surface under ``/_emulator/`` for tests (state, reset, settings, request log,
fault rules). This sub-package imports nothing from the rest of ``streampixel_deploy``.

::

    with Emulator(EmulatorConfig.default()) as emu:
        url = emu.serve_file("build.zip")
        ...  # POST {emu.api_url}/projects/upload-file with fileUrl=url
"""

from __future__ import annotations

from streampixel_deploy.emulator import seeding
from streampixel_deploy.emulator.app import Emulator
from streampixel_deploy.emulator.config import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_USER_ID,
    EmulatorConfig,
    EmulatorConfigError,
    ProjectConfig,
    UserConfig,
    load_config,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_USER_ID",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "ProjectConfig",
    "UserConfig",
    "load_config",
    "seeding",
]
