"""Issue 25: the GitHub deployment history is read within bounds of its own (pages, entries, requests, seconds),
never holds the run, and a read that failed or was cut short is a warning naming the rollback target used instead.

Each test deploys two builds first: v1 recorded in the history (its deployment reached ``success``) and v2 newer by
date, deployed without a token (approved, never recorded as live). So "by date" (v2) and "by history" (v1) differ.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator
from streampixel_deploy.github.history import HistoryLimits
from tests.fakegithub import FakeGitHub

from .conftest import ActionRun, action_inputs, run_action
from .test_deployments import TOKEN
from .test_deployments import _runner_env as _env

REPO = "acme/showroom"
ENV = "prod"


def _deploy(tmp_path: Path, emu: Emulator, gh: FakeGitHub, version: str, token: bool = True, **over: str) -> ActionRun:
    zip_path = make_build_zip(tmp_path / f"MyGame-{version}.zip", pak_bytes=4096 + len(version))
    auth = {"github_token": TOKEN, "environment": ENV} if token else {}
    return run_action(tmp_path, action_inputs(emu, zip_path=str(zip_path), **auth, **over), _env(gh))


def _payload(upload_id: str) -> dict[str, object]:
    return {"streampixel": {"uploadId": upload_id, "projectId": DEFAULT_PROJECT_ID, "command": "deploy"}}


@pytest.fixture
def builds(tmp_path: Path, emu: Emulator, github: FakeGitHub) -> tuple[str, str]:
    """(v1, v2): v1 was live (recorded), v2 is newer by date and was never recorded."""
    emu.configure(rate_limit_window_seconds=0)
    first = _deploy(tmp_path, emu, github, "1")
    assert first.code == 0, first.stdout[-1500:]
    second = _deploy(tmp_path, emu, github, "2", token=False)
    assert second.code == 0, second.stdout[-1500:]
    github.reset_requests()
    return first.outputs["upload-id"], second.outputs["upload-id"]


def _failed(github: FakeGitHub, n: int) -> None:
    for i in range(n):
        github.seed(REPO, ENV, _payload(f"failed-{i}"), ["in_progress", "failure"])


def _history_warning(run: ActionRun) -> str:
    found = [line for line in run.stdout.splitlines() if line.startswith("::warning") and "history" in line]
    assert len(found) == 1, run.stdout[-3000:]
    return found[0]


def test_the_last_success_on_page_2_is_found(
    tmp_path: Path, emu: Emulator, github: FakeGitHub, builds: tuple[str, str]
) -> None:
    """30 newer failed deployments push v1's to page 2 (pages of 30): the history is followed there (Link)."""
    v1, v2 = builds
    _failed(github, 30)
    github.page_limit = 30
    run = _deploy(tmp_path, emu, github, "3")
    assert run.code == 0, run.stdout[-1500:]
    assert run.outputs["previous-upload-id"] == v1 != v2
    assert "was live before this run (GitHub deployment history)" in run.summary
    pages = [r for r in github.requests if r.path.endswith("/deployments") and r.method == "GET"]
    assert len(pages) == 2
    assert "::warning" not in run.stdout


def _thousands(github: FakeGitHub) -> None:
    _failed(github, 3001)
    github.ignore_per_page = True


FAULTS = {
    # 3,001 entries in one answer (per_page ignored): at most HistoryLimits.requests reads
    "3001-entries": (_thousands, "cut short at its bound of"),
    # a statuses read that never answers: the history's seconds, not the run's
    "statuses-never-answer": (lambda github: github.hold("GET", "/statuses"), "did not answer"),
    # every read answered 429 with Retry-After: 25: not waited out
    "429-retry-after-25": (lambda github: github.limit_reads(25), "rate-limited"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_history_costs_only_its_own_budget(
    tmp_path: Path, emu: Emulator, github: FakeGitHub, builds: tuple[str, str], fault: str
) -> None:
    """With timeout-minutes: 0.5 the deploy goes on within seconds, and one warning names the target by date."""
    _, v2 = builds
    make_fault, said = FAULTS[fault]
    make_fault(github)
    started = time.monotonic()
    run = _deploy(tmp_path, emu, github, "3", timeout_minutes="0.5")
    took = time.monotonic() - started
    assert run.code == 0, run.stdout[-1500:]
    assert took < 12  # the history may take 10% of the 30 s (3 s); the deploy itself about 2 s
    assert len([r for r in github.requests if r.method == "GET"]) <= HistoryLimits().requests
    warning = _history_warning(run)
    assert said in warning and f"previous-upload-id is {v2}" in warning
    assert run.outputs["previous-upload-id"] == v2


def test_a_rollback_without_history_names_what_it_distributed(
    tmp_path: Path, emu: Emulator, github: FakeGitHub, builds: tuple[str, str]
) -> None:
    """distribute previous with the history unreadable: the build chosen by date is named in the warning."""
    v1, _ = builds
    github.limit_reads(25)
    inputs = action_inputs(
        emu, command="distribute", upload_id="previous", github_token=TOKEN, environment=ENV, timeout_minutes="0.5"
    )
    run = run_action(tmp_path, inputs, _env(github))
    assert run.code == 0, run.stdout[-1500:]
    warning = _history_warning(run)
    assert run.outputs["upload-id"] == v1  # 'previous' by date: the approved build before the newest (v2)
    assert f"build {v1} is the one distributed" in warning and "by date" in warning


def test_pages_are_bounded_and_what_was_read_is_kept(github: FakeGitHub) -> None:
    """In process, against the fake: the pages bound stops the read (a problem, no answer); a second question is
    answered from what was read, without a request."""
    import requests

    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.github.history import DeploymentHistory
    from streampixel_deploy.github.rest import GitHubRest

    github.seed(REPO, ENV, _payload("live-one"), ["in_progress", "success"])
    _failed(github, 9)
    github.page_limit = 2
    with requests.Session() as session:
        rest = GitHubRest(github.url, TOKEN, session)
        history = DeploymentHistory(rest, REPO, ENV, Clock(60), HistoryLimits(pages=3))
        assert history.previous_live(DEFAULT_PROJECT_ID) is None
        assert history.problem == "it was cut short at its bound of 3 pages"
        sent = len(github.requests)
        assert sent == 3 + 6  # three pages of two, a statuses read for each deployment on them
        whole = DeploymentHistory(rest, REPO, ENV, Clock(60))
        assert whole.previous_live(DEFAULT_PROJECT_ID) == "live-one" and whole.problem is None
        assert whole.previous_live(DEFAULT_PROJECT_ID, exclude="failed-3") == "live-one"
        assert len(github.requests) == sent + 5 + 10  # five pages, ten statuses; the second question: none
