"""A rehearsal's Streampixel history: earlier builds for a fresh emulator, and one job's state kept between its steps.

A rehearsal (``api-url: emulator``) starts an emulator inside each step. So that a rollback can be rehearsed the
way it runs for real, the rehearsal's project starts with a history of earlier builds (:data:`SEED_BUILDS`:
approved ones and a rejected one, each on its own day, the newest approved one live), and the steps of one job
share one state: when a step ends, :func:`save` writes each project's builds and live build to a small JSON file
(IDs, statuses, dates, objections; no key, no URL that leads anywhere), and the job's next step starts its emulator
from it (:func:`load`). The file lives in the runner's temp folder, which the runner empties after every job.

Every build's URL is a closed port on this machine (:func:`nowhere_url`): nothing a rehearsal does, the comparison
with the live build's zip included, reaches another host.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from streampixel_deploy.emulator.config import (
    APPROVED,
    REJECT,
    EmulatorConfigError,
    ProjectConfig,
    _seed_file,
)
from streampixel_deploy.emulator.state import Store

_VERSION = 1


@dataclass(frozen=True)
class SeedBuild:
    """One earlier build of a rehearsal's project."""

    id: str
    status: str
    days_ago: int
    objection: str | None = None


#: Oldest first: two approved builds, one rejected between them, and the newest approved build, live. ``previous``
#: (the approved build before the newest) is then :data:`PREVIOUS_ID`, and ``latest`` :data:`LIVE_ID`.
SEED_BUILDS = (
    SeedBuild("6650a0000000000000000001", APPROVED, 28),
    SeedBuild(
        "6650a0000000000000000002",
        REJECT,
        21,
        "Executable not found: the zip must hold the packaged game's .exe at its top level.",
    ),
    SeedBuild("6650a0000000000000000003", APPROVED, 14),
    SeedBuild("6650a0000000000000000004", APPROVED, 7),
)
LIVE_ID = SEED_BUILDS[-1].id
PREVIOUS_ID = SEED_BUILDS[-2].id


def nowhere_url(upload_id: str) -> str:
    """A build's URL in a rehearsal: a closed port on this machine (the discard port), never another host."""
    return f"http://127.0.0.1:9/rehearsal/{upload_id}.zip"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seed_history(project: ProjectConfig, now: datetime) -> None:
    """Give ``project`` the history of :data:`SEED_BUILDS`, dated before ``now`` (an aware UTC datetime)."""
    project.files = [
        {
            "_id": seed.id,
            "url": nowhere_url(seed.id),
            "status": seed.status,
            "date": _iso((now - timedelta(days=seed.days_ago)).replace(hour=10, minute=0, second=0, microsecond=0)),
            "objection": seed.objection,
        }
        for seed in SEED_BUILDS
    ]
    project.live_upload_id = LIVE_ID


def add_build(project: ProjectConfig, upload_id: str, now: datetime) -> None:
    """An approved build that another job (or the relay) named, which this job's emulator cannot know, as of ``now``."""
    project.files.append(
        {"_id": upload_id, "url": nowhere_url(upload_id), "status": APPROVED, "date": _iso(now), "objection": None}
    )


def save(path: Path, store: Store) -> None:
    """Write every project's builds and live build to ``path`` (atomically: a reader sees the old or the new file)."""
    projects = {
        project["id"]: {
            "live_upload_id": project["live_upload_id"],
            "files": [
                {key: build[key] for key in ("_id", "status", "date", "objection")} | {"url": nowhere_url(build["_id"])}
                for build in project["files"]
            ],
        }
        for project in store.dump()["projects"]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_text(json.dumps({"version": _VERSION, "projects": projects}, indent=1), encoding="utf-8")
    os.replace(part, path)


def load(path: Path) -> dict[str, ProjectConfig]:
    """The projects an earlier step saved (only ``files`` and ``live_upload_id`` are meaningful); empty when there is
    no file. Raises :class:`EmulatorConfigError` when the file is not one :func:`save` wrote."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise EmulatorConfigError(f"cannot read {path}: {exc}") from exc
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise EmulatorConfigError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != _VERSION or not isinstance(data.get("projects"), dict):
        raise EmulatorConfigError(f"{path} is not a rehearsal state of version {_VERSION}")
    found: dict[str, ProjectConfig] = {}
    for project_id, saved in data["projects"].items():
        where = f"{path}: project {project_id}"
        if not isinstance(saved, dict) or not isinstance(saved.get("files"), list):
            raise EmulatorConfigError(f"{where} has no list of files")
        files = [_seed_file(f, f"{where}.files[{i}]") for i, f in enumerate(saved["files"])]
        live = saved.get("live_upload_id")
        if live is not None and live not in {f["_id"] for f in files}:
            raise EmulatorConfigError(f"{where}: the live build is not one of its files")
        found[project_id] = ProjectConfig(id=project_id, name=project_id, files=files, live_upload_id=live)
    return found
