"""``streampixel-deploy demo``: a full deploy against an embedded emulator, over real HTTP."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.core.settings import build_settings
from streampixel_deploy.report.terminal import TerminalReporter
from streampixel_deploy.report.text import render_result
from streampixel_deploy.run.execute import execute

DEMO_STAGE_SECONDS = 0.6
DEMO_POLL_SECONDS = 0.2


def run_demo(json_output: bool = False) -> int:
    from streampixel_deploy.emulator import (
        DEFAULT_API_KEY,
        DEFAULT_PROJECT_ID,
        DEFAULT_USER_ID,
        Emulator,
        EmulatorConfig,
    )

    config = EmulatorConfig.default()
    config.stage_delays = dict.fromkeys(config.stage_delays, DEMO_STAGE_SECONDS)
    reporter = TerminalReporter(sys.stderr)
    with tempfile.TemporaryDirectory(prefix="streampixel-demo-") as tmp, Emulator(config) as emu:
        reporter.info(f"Embedded Streampixel emulator at {emu.api_url}")
        zip_path = make_build_zip(Path(tmp) / "MyGame-1.0.0.zip")
        reporter.info(f"Synthetic Windows build: {zip_path.name} ({zip_path.stat().st_size:,} bytes)")
        settings = build_settings(
            {
                "api-key": DEFAULT_API_KEY,
                "user-id": DEFAULT_USER_ID,
                "project-id": DEFAULT_PROJECT_ID,
                "api-url": emu.api_url,
                "zip-path": str(zip_path),
                "poll-interval-seconds": str(DEMO_POLL_SECONDS),
                "timeout-minutes": "2",
            },
            "deploy",
        )
        result, _ = execute(settings, reporter)
    if json_output:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(render_result(result))
    return result.exit_code
