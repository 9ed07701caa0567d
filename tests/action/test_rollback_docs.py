"""The docs of the rollback target and of a rehearsal's history state what the code does (issue 28 items 3 and 8)."""

from __future__ import annotations

import re

from streampixel_deploy.emulator.seeding import LIVE_ID, PREVIOUS_ID, SEED_BUILDS
from streampixel_deploy.github.history import HistoryLimits
from streampixel_deploy.settings.table import DEFAULT_ENVIRONMENT

from .conftest import EXAMPLES, ROOT, load

REFERENCE = (ROOT / "docs" / "action-reference.md").read_text(encoding="utf-8")
EMULATOR = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")


def test_the_emulator_doc_lists_the_seeded_history() -> None:
    for seed in SEED_BUILDS:
        row = next(line for line in EMULATOR.splitlines() if f"`{seed.id}`" in line)
        assert seed.status in row and f"{seed.days_ago} days ago" in row
    assert re.search(rf"`{LIVE_ID}`.*live, `latest`", EMULATOR) and re.search(rf"`{PREVIOUS_ID}`.*`previous`", EMULATOR)


def test_the_reference_states_the_defaults_and_the_bounds() -> None:
    assert f"`latest` is `{LIVE_ID}`, `previous` is `{PREVIOUS_ID}`" in REFERENCE
    assert f"environment `{DEFAULT_ENVIRONMENT}`" in REFERENCE and "deployments: write" in REFERENCE
    limits = HistoryLimits()
    said = f"{limits.pages} pages, {limits.entries} deployments, {limits.requests} requests and {limits.seconds:g} s"
    assert said in " ".join(REFERENCE.split())


def test_examples_that_deploy_or_roll_back_grant_the_deployments_permission() -> None:
    """The default github-token is the workflow token: without `deployments: write` the history is never kept."""
    for path in EXAMPLES:
        for job in load(path)["jobs"].values():
            commands = [
                (step.get("with") or {}).get("command", "deploy")
                for step in job.get("steps", [])
                if str(step.get("uses", "")).startswith("streampixel-deploy/streampixel-deploy@")
                and (step.get("with") or {}).get("api-url") != "emulator"
            ]
            if any(c in ("deploy", "distribute") for c in commands):
                assert job["permissions"].get("deployments") == "write", f"{path.name}: {job.get('name')}"
            elif commands:
                assert job["permissions"].get("deployments") in ("read", "write"), f"{path.name}: {job.get('name')}"
