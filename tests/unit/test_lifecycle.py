"""RunLifecycle (lifecycle.py): one owner of a run's life. It publishes once when the run ends (before any clean-up),
once on the first signal, and closes what the run opened even when the run raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy import lifecycle
from streampixel_deploy.api.models import Build, Outcome, Project, Result
from streampixel_deploy.core.errors import Cancelled
from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.lifecycle import RunLifecycle, publisher_for
from streampixel_deploy.run.context import Run

RAW: dict[str, str | None] = {
    "api-key": "sk-test-1234567890",
    "user-id": "u1",
    "project-id": "67944b8a3f323be4b89a2272",
}


class Reporter(NullReporter):
    def __init__(self) -> None:
        self.ended_with: list[Result] = []

    def ended(self, result: Result) -> None:
        self.ended_with.append(result)


class FakeOpenRun:
    """What open_run yields: a result as it stands, a command and a clean-up, each recorded."""

    def __init__(self, outputs: Path, execute: Any) -> None:
        self.result = Result(command="status", project_id=RAW["project-id"] or "")
        self.outputs, self._execute = outputs, execute
        self.closed = False
        self.outputs_when_closed = ""

    def execute(self) -> Result:
        self.result = self._execute(self)
        return self.result

    def close(self) -> None:
        self.outputs_when_closed = self.outputs.read_text(encoding="utf-8") if self.outputs.exists() else ""
        self.closed = True


@pytest.fixture
def runner_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    outputs, summary = tmp_path / "output", tmp_path / "summary.md"
    outputs.write_text("", encoding="utf-8")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return outputs, summary


REPORTER = Reporter()


def _life(monkeypatch: pytest.MonkeyPatch, outputs: Path, execute: Any) -> tuple[RunLifecycle, list[FakeOpenRun]]:
    opened: list[FakeOpenRun] = []

    @contextmanager
    def fake_open_run(*args: object, **kwargs: object) -> Iterator[FakeOpenRun]:
        run = FakeOpenRun(outputs, execute)
        opened.append(run)
        try:
            yield run
        finally:
            run.close()

    monkeypatch.setattr(lifecycle, "open_run", fake_open_run)
    return RunLifecycle(RAW, "status", REPORTER, publisher_for(RAW)), opened


def _results_written(outputs: Path) -> list[str]:
    lines = outputs.read_text(encoding="utf-8").splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line.startswith("result<<")]


def test_publishes_once_when_the_run_ends_before_the_clean_up(
    runner_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs, summary = runner_files

    def approved(run: FakeOpenRun) -> Result:
        run.result.outcome, run.result.message = Outcome.APPROVED, "Build x approved and live."
        return run.result

    life, opened = _life(monkeypatch, outputs, approved)
    result = life.run()
    assert result.outcome is Outcome.APPROVED and result.exit_code == 0
    assert _results_written(outputs) == ["approved"], "published once"
    assert "approved" in opened[0].outputs_when_closed, "published before the clean-up"
    assert opened[0].closed
    assert summary.read_text(encoding="utf-8").count("| Result |") == 1
    assert REPORTER.ended_with[-1:] == [result]


def test_publishes_once_on_the_first_signal(runner_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    outputs, _ = runner_files

    def signalled(run: FakeOpenRun) -> Result:
        run.result.upload_id = "6b1609290356a0288fd31927"
        life.first_signal("Cancelled by SIGINT.")  # what the handler calls, in the middle of the run
        assert _results_written(outputs) == ["cancelled"]
        raise Cancelled("Cancelled by SIGINT.")  # then the handler interrupts the run

    life, opened = _life(monkeypatch, outputs, signalled)
    result = life.run()
    assert result.outcome is Outcome.CANCELLED and result.exit_code == 130
    assert result.upload_id == "6b1609290356a0288fd31927", "the run's own result, as it stood"
    assert opened[0].closed, "closed even though the run raised"
    assert _results_written(outputs)[0] == "cancelled"
    assert not result.message.startswith("Cancelled:"), "plain words"


def test_closes_what_it_opened_when_the_run_raises(
    runner_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs, _ = runner_files

    def bug(run: FakeOpenRun) -> Result:
        raise RuntimeError("boom")

    life, opened = _life(monkeypatch, outputs, bug)
    result = life.run()
    assert opened[0].closed
    assert result.outcome is Outcome.FAILED and result.exit_code == 1
    assert "RuntimeError" in result.message and not result.message.startswith("StreampixelDeployError")
    assert _results_written(outputs) == ["failed"]


def test_an_input_error_is_a_published_result(runner_files: tuple[Path, Path]) -> None:
    outputs, _ = runner_files
    life = RunLifecycle({**RAW, "timeout-minutes": "soon"}, "status", Reporter(), publisher_for(RAW))
    result = life.run()
    assert result.exit_code == 2 and "timeout-minutes" in result.message
    assert not result.message.startswith("InputError"), "plain words"
    assert _results_written(outputs) == ["failed"]


def _build(upload_id: str, date: str) -> Build:
    built = Build.from_json({"_id": upload_id, "status": "Approved", "date": date})
    assert built is not None
    return built


def _run() -> Run:
    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.run.execute import make_client
    from streampixel_deploy.settings.table import build_settings

    settings = build_settings(RAW, "status")
    clock = Clock(60.0)
    return Run(settings, NullReporter(), make_client(settings, {}, clock), clock)


def test_the_previous_build_is_named_only_when_the_dates_order_the_builds() -> None:
    run = _run()
    ordered = Project("p", "P", files=(_build("a", "2026-04-01T10:00:00Z"), _build("b", "2026-04-02T10:00:00Z")))
    run.note_previous(ordered)
    assert run.result.previous_upload_id == "b" and run.result.previous_unknown is None
    same_day = Project("p", "P", files=(_build("a", "2026-04-02"), _build("b", "2026-04-02T10:00:00Z")))
    run.note_previous(same_day)
    assert run.result.previous_upload_id is None
    assert run.result.previous_unknown is not None and "same day" in run.result.previous_unknown
