"""One build, several projects of one user (issue 14, part 1): through the per-user rate limit, followed at once."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_USER_ID, Emulator, EmulatorConfig
from streampixel_deploy.run.fanout import combine
from tests.fakegithub import FakeGitHub

from .conftest import cli_process, interrupt_action, run_action

WINDOW = 2.0  # Streampixel's is 120 s; the emulator announces this one with Retry-After
PROJECTS = ["67944b8a3f323be4b89a2272", "67944b8a3f323be4b89a2273", "67944b8a3f323be4b89a2274"]


@pytest.fixture
def three() -> Any:
    config = EmulatorConfig.default()
    config.stage_delays = dict.fromkeys(config.stage_delays, 1.2)  # a pipeline (6 s): three windows
    config.rate_limit_window_seconds, config.send_retry_after = WINDOW, True
    first = config.users[0].projects[0]
    for number, project_id in enumerate(PROJECTS[1:], 2):
        other = copy.deepcopy(first)
        other.id, other.name, other.files, other.live_upload_id = project_id, f"Region {number}", [], None
        config.users[0].projects.append(other)
    with Emulator(config) as emu:
        yield emu


def _env(emu: Emulator) -> dict[str, str]:
    return {
        "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
        "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
        "STREAMPIXEL_API_URL": emu.api_url,
        "STREAMPIXEL_POLL_INTERVAL_SECONDS": "0.1",
        "STREAMPIXEL_TIMEOUT_MINUTES": "2",
    }


def _inputs(emu: Emulator, build_zip: Path, projects: list[str], **more: str) -> dict[str, str]:
    """The action's inputs for a deploy of ``build_zip`` to ``projects`` (a multi-line input), plus ``more``."""
    return {
        "api-key": DEFAULT_API_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": "\n".join(projects),
        "api-url": emu.api_url,
        "zip-path": str(build_zip),
        **more,
    }


def _uploads(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/upload-file")]


def test_three_projects_one_upload_each_through_the_rate_limit(three: Emulator, build_zip: Path) -> None:
    code, result, log = cli_process(
        _env(three), "deploy", "--zip-path", str(build_zip), "--project-id", ",".join(PROJECTS)
    )
    assert code == 0, log
    rows = result["results"]
    assert [r["projectId"] for r in rows] == PROJECTS
    assert [r["result"] for r in rows] == ["approved"] * 3 and len({r["uploadId"] for r in rows}) == 3
    uploads = _uploads(three)
    accepted = [r for r in uploads if r["status"] < 300]
    assert len(accepted) == 3  # one upload per project, never two
    assert len(uploads) - len(accepted) <= 3  # at most one 429 per project (the first needs none)
    for project_id in PROJECTS:
        assert sum(1 for r in uploads if project_id in json.dumps(r["body"])) <= 2
    times = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in accepted]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= WINDOW - 0.2 for gap in gaps), gaps  # spaced by the announced window
    # followed at once: the second build was accepted while the first was still in the pipeline
    assert rows[1]["timeline"][0]["elapsedSeconds"] < rows[0]["timeline"][-1]["elapsedSeconds"]
    for project in [p for p in three.state.dump()["projects"] if p["id"] in PROJECTS]:
        new = [f for f in project["files"] if f["_id"] in {r["uploadId"] for r in rows}]
        assert len(new) == 1 and new[0]["status"] == "Approved", project["id"]


def test_the_action_sets_results_and_one_table(three: Emulator, build_zip: Path, tmp_path: Path) -> None:
    inputs = _inputs(three, build_zip, PROJECTS, **{"poll-interval-seconds": "0.1", "timeout-minutes": "2"})
    run = run_action(tmp_path, inputs)
    assert run.code == 0, run.stdout + run.stderr
    rows = json.loads(run.outputs["results"])
    assert [(r["projectId"], r["result"]) for r in rows] == [(p, "approved") for p in PROJECTS]
    assert set(rows[0]) == {"projectId", "uploadId", "status", "result", "objection"}
    assert run.outputs["result"] == "approved" and run.outputs["upload-id"] in {r["uploadId"] for r in rows}
    assert "### Projects" in run.summary and all(f"| `{p}` | `approved` |" in run.summary for p in PROJECTS)
    assert run.summary.count("    section ") == 3  # one gantt lane per project


def test_a_wrong_project_among_several_stops_before_any_upload(three: Emulator, build_zip: Path) -> None:
    ids = [PROJECTS[0], "0123456789abcdef01234567"]
    code, result, log = cli_process(_env(three), "deploy", "--zip-path", str(build_zip), "--project-id", ",".join(ids))
    assert code != 0 and _uploads(three) == [], log
    assert {r["result"] for r in result["results"]} == {"failed"}


def test_the_worst_outcome_wins() -> None:
    results = [Result("deploy", "a", Outcome.APPROVED), Result("deploy", "b", Outcome.REJECTED, exit_code=1)]
    results.append(Result("deploy", "c", Outcome.TIMED_OUT, exit_code=3))
    combined = combine(results)
    assert combined.outcome is Outcome.REJECTED and combined.exit_code == 1 and combined.project_id == "b"
    assert [r.outcome for r in combined.projects] == [Outcome.APPROVED, Outcome.REJECTED, Outcome.TIMED_OUT]
    assert combined.message.startswith("3 projects: 1 approved, 1 rejected, 1 timed-out.")
    assert "Worst" not in combined.message


def test_several_projects_that_went_well_say_so_in_plain_words() -> None:
    combined = combine([Result("deploy", "a", Outcome.APPROVED), Result("deploy", "b", Outcome.APPROVED)])
    assert combined.message == "All 2 projects approved."
    rejected = Result("deploy", "b", Outcome.REJECTED, message="Streampixel rejected it: no exe", exit_code=1)
    combined = combine([Result("deploy", "a", Outcome.APPROVED), rejected])
    assert combined.message == "2 projects: 1 approved, 1 rejected. b: Streampixel rejected it: no exe"


def test_distribute_latest_in_each_project(three: Emulator, build_zip: Path) -> None:
    env = _env(three)
    code, deployed, log = cli_process(env, "deploy", "--zip-path", str(build_zip), "--project-id", ",".join(PROJECTS))
    assert code == 0, log
    three.clear_requests()
    code, result, log = cli_process(env, "distribute", "--upload-id", "latest", "--project-id", ",".join(PROJECTS))
    assert code == 0, log
    # 'latest' resolved per project: each project's own newest approved build
    assert [r["uploadId"] for r in result["results"]] == [r["uploadId"] for r in deployed["results"]]
    assert [r["result"] for r in result["results"]] == ["approved"] * 3
    posts = [r for r in three.requests() if r["method"] == "POST" and r["path"].endswith("/distribute-file")]
    assert len([r for r in posts if r["status"] < 300]) == 3 and len(posts) <= 6


def test_a_github_deployment_per_project(three: Emulator, build_zip: Path, tmp_path: Path) -> None:
    token = "ghs_FAKE_deploy_token_1234567890"
    with FakeGitHub(token=token) as github:
        inputs = {
            "api-key": DEFAULT_API_KEY,
            "user-id": DEFAULT_USER_ID,
            "project-id": ",".join(PROJECTS[:2]),
            "api-url": three.api_url,
            "zip-path": str(build_zip),
            "poll-interval-seconds": "0.1",
            "github-token": token,
            "environment": "production",
        }
        runner = {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/showroom", "GITHUB_SHA": "ab" * 20}
        run = run_action(tmp_path, inputs, runner)
        assert run.code == 0, run.stdout
        assert "::error" not in run.stdout
        environments = sorted(d["environment"] for d in github.deployments)
        assert environments == [f"production/{p}" for p in PROJECTS[:2]]
        for deployment in github.deployments:
            assert [s["state"] for s in github.statuses(deployment["id"])] == ["in_progress", "success"]


def test_a_signal_ends_a_run_of_several_at_once(three: Emulator, build_zip: Path, tmp_path: Path) -> None:
    three.configure(rate_limit_window_seconds=60.0)  # the second project waits out a long slot: cancel then
    inputs = {
        "api-key": DEFAULT_API_KEY,
        "user-id": DEFAULT_USER_ID,
        "project-id": ",".join(PROJECTS),
        "api-url": three.api_url,
        "zip-path": str(build_zip),
        "poll-interval-seconds": "0.1",
    }
    run, took = interrupt_action(tmp_path, inputs, ready=lambda: len(_uploads(three)) >= 2)
    assert run.code == 130 and took < 5
    assert run.outputs["result"] == "cancelled"
    rows = json.loads(run.outputs["results"])
    assert [r["projectId"] for r in rows] == PROJECTS and rows[1]["result"] == "cancelled"
    assert len([r for r in _uploads(three) if r["status"] < 300]) == 1  # nothing was sent after the signal


def test_a_project_without_the_build_stops_distribute_before_any_release(three: Emulator) -> None:
    # Only the first project has approved builds: 'latest' cannot be resolved in the second, so nothing is sent.
    code, result, log = cli_process(
        _env(three), "distribute", "--upload-id", "latest", "--project-id", ",".join(PROJECTS)
    )
    assert code == 2, log
    assert {r["result"] for r in result["results"]} == {"failed"}
    assert not [r for r in three.requests() if r["method"] == "POST"], "a distribution was sent"
