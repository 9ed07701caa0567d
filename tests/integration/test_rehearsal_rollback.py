"""Issue 28 item 3: a rollback can be rehearsed. A rehearsal's emulator starts with a history of earlier builds, the
steps of one job share its state (under RUNNER_TEMP), and a build another job submitted is known in the next job.

Each test runs the action as a runner does (``python -m streampixel_deploy action`` in a subprocess, one per step)
with ``api-url: emulator``: the embedded emulator is a real HTTP server inside the step.
"""

from __future__ import annotations

import json
from pathlib import Path

from streampixel_deploy.emulator.seeding import LIVE_ID, PREVIOUS_ID, SEED_BUILDS

from .conftest import ActionRun, run_action


def _job(tmp_path: Path, name: str = "rehearse") -> dict[str, str]:
    """What a runner gives every step of one job: the same RUNNER_TEMP, run and job."""
    temp = tmp_path / f"runner-temp-{name}"
    temp.mkdir(exist_ok=True)
    return {"RUNNER_TEMP": str(temp), "GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": name}


def _step(tmp_path: Path, job: dict[str, str], **inputs: str) -> ActionRun:
    run = run_action(tmp_path, {"api-url": "emulator", **{k.replace("_", "-"): v for k, v in inputs.items()}}, job)
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return run


def test_examples_rollback_rehearses_with_previous(tmp_path: Path) -> None:
    """examples/rollback.yml alone in its job: `previous` is the approved build before the live one (the rejected
    build between them is passed over)."""
    run = _step(tmp_path, _job(tmp_path), command="distribute", upload_id="previous")
    assert run.outputs["result"] == "approved"
    assert run.outputs["upload-id"] == PREVIOUS_ID
    assert "(rehearsal)" in run.summary


def test_deploy_then_roll_back_in_one_job(tmp_path: Path, build_zip: Path) -> None:
    """One job: deploy (the seeded live build becomes the rollback target), roll back with `previous` (the live build
    before the deployed one), and a later step sees the rollback: `latest` is still the deployed build."""
    job = _job(tmp_path)
    deploy = _step(tmp_path, job, zip_path=str(build_zip))
    deployed = deploy.outputs["upload-id"]
    assert deploy.outputs["result"] == "approved" and deployed not in {s.id for s in SEED_BUILDS}
    assert deploy.outputs["previous-upload-id"] == LIVE_ID
    assert "a rehearsal reads no GitHub deployment history" in deploy.summary  # not "give github-token"

    back = _step(tmp_path, job, command="distribute", upload_id="previous")
    assert back.outputs["upload-id"] == LIVE_ID, back.stdout[-3000:]
    assert "earlier steps left" in back.stdout

    shown = _step(tmp_path, job, command="status", upload_id=deployed)
    assert shown.outputs["status"] == "Approved" and "was added" not in shown.stdout

    [state] = (Path(job["RUNNER_TEMP"]) / "streampixel-rehearsal").iterdir()
    saved = json.loads(state.read_text(encoding="utf-8"))
    project = next(iter(saved["projects"].values()))
    assert project["live_upload_id"] == LIVE_ID  # the rollback made it live again
    assert "sp-emulator" not in state.read_text(encoding="utf-8")  # no key in the file
    assert all(f["url"].startswith("http://127.0.0.1:9/") for f in project["files"])


def test_another_jobs_build_is_known_in_the_next_job(tmp_path: Path, build_zip: Path) -> None:
    """examples/manual-release.yml: one job submits (auto-release false), the next distributes that upload ID. Jobs
    run on different runners, so the second job's emulator adds the build, and says so."""
    submit = _step(tmp_path, _job(tmp_path, "submit"), zip_path=str(build_zip), auto_release="false")
    upload_id = submit.outputs["upload-id"]
    release = _step(tmp_path, _job(tmp_path, "release"), command="distribute", upload_id=upload_id)
    assert release.outputs["upload-id"] == upload_id and release.outputs["result"] == "approved"
    assert f"build {upload_id} is not in this job's emulator" in release.stdout


def test_each_job_starts_from_the_seeded_history(tmp_path: Path, build_zip: Path) -> None:
    """A job's state is its own: a deploy in one job leaves the next job's `previous` at the seeded one."""
    _step(tmp_path, _job(tmp_path, "one"), zip_path=str(build_zip))
    other = _step(tmp_path, _job(tmp_path, "two"), command="distribute", upload_id="previous")
    assert other.outputs["upload-id"] == PREVIOUS_ID
