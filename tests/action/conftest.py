"""Helpers for the tests of the GitHub Action surface: metadata files, workflows, linters, the composite steps."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
DOCKER_ACTION = ROOT / "docker" / "action.yml"  # runs the published image
DOCKER_BUILD_ACTION = ROOT / "docker" / "build" / "action.yml"  # builds the Dockerfile
PUBLISHED_IMAGE = "ghcr.io/streampixel-deploy/streampixel-deploy"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
EXPRESSION = re.compile(r"^\$\{\{\s*(.+?)\s*\}\}$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def composite_step(step_id: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = load(ACTION)["runs"]["steps"]
    return next(s for s in steps if s.get("id") == step_id)


def tool(name: str) -> str:
    """A linter from requirements/dev.txt: next to this interpreter (the venv), else on PATH; skip if absent."""
    bindir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bindir)) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (requirements/dev.txt installs it; run scripts/bootstrap)")
    return found


def bash() -> str:
    found = shutil.which("bash")
    if not found:
        pytest.skip("bash is not on PATH (the composite action's steps are bash scripts)")
    return found


def runner_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would leak into the action's own input reading."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "STREAMPIXEL_", "GITHUB_"))}
    env.update(extra)
    return env
