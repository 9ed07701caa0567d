"""``streampixel-deploy demo``: a full deploy of a synthetic build, rehearsed against an embedded emulator over
real HTTP (``api-url: emulator``, see rehearsal.py)."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from pathlib import Path

from streampixel_deploy import rehearsal
from streampixel_deploy.build.sample import make_build_dir, make_build_zip
from streampixel_deploy.lifecycle import RunLifecycle
from streampixel_deploy.report.terminal import TerminalReporter
from streampixel_deploy.report.text import render_result


def run_demo(json_output: bool = False, cancel: threading.Event | None = None) -> int:
    reporter = TerminalReporter(sys.stderr)
    with tempfile.TemporaryDirectory(prefix="streampixel-demo-") as tmp:
        zip_path = make_build_zip(Path(tmp) / "MyGame-1.0.0.zip")
        reporter.info(f"Synthetic Windows build: {zip_path.name} ({zip_path.stat().st_size:,} bytes)")
        raw: dict[str, str | None] = {"api-url": rehearsal.EMULATOR, "zip-path": str(zip_path), "timeout-minutes": "2"}
        result = RunLifecycle(raw, "deploy", reporter, cancel=cancel).run()
    if json_output:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(render_result(result))
    return result.exit_code


def make_sample_build(folder: Path) -> int:
    """Write the demo's synthetic build into ``folder`` (new or empty): what a rehearsal's ``build-dir`` needs
    before a real UE build exists (examples/rehearse.yml). Made beside it and renamed, so it is never half there."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        print(f"error: {folder} exists and is not an empty folder; name a new one.", file=sys.stderr)
        return 2
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".streampixel-sample-", dir=folder.parent) as tmp:
        made = make_build_dir(Path(tmp))
        if folder.exists():
            folder.rmdir()
        made.rename(folder)
    files = [path for path in folder.rglob("*") if path.is_file()]
    size = sum(path.stat().st_size for path in files)
    print(f"Wrote a synthetic packaged build to {folder}: {len(files)} files, {size:,} bytes.")
    return 0
