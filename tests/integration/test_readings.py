"""Issue 25: the client against further readings of the docs, one regression test per reported case.

Each test runs the real client (``main(argv)`` in-process, or the CLI as a subprocess) against a real emulator
serving one reading (docs/emulator.md, "Shapes of an answer"); each failed on the client before the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.build.sample import make_build_zip
from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator, EmulatorConfig
from streampixel_deploy.emulator.config import ProjectConfig
from tests.integration.conftest import cli_process, emulator_env

SEED = "665a2b3c4d5e6f7a8b9c0e1f"  # the default project's live build (2026-04-21)


def _json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


def _project(emu: Emulator) -> dict[str, Any]:
    project: dict[str, Any] = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)
    return project


def _uploads(emu: Emulator) -> int:
    return sum(1 for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("upload-file"))


def _version(tmp_path: Path, name: str) -> Path:
    return make_build_zip(tmp_path / f"MyGame-{name}.zip", pak_bytes=4096 + len(name))


# -- 1. a 500 after the build was created, listed late: no second build ------------------------------------


def test_a_500_after_creating_the_build_listed_late_is_found_not_resent(
    cli: Any, emu: Emulator, build_zip: Path
) -> None:
    emu.configure(listing_lag_seconds=1.0)
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response", "status": 500})
    run = cli("deploy", "--zip-path", str(build_zip), "--json")
    files = _project(emu)["files"]
    assert len(files) == 2, f"a second build was submitted: {files}"
    assert _uploads(emu) == 1
    assert run.code == 0, run.err
    assert _json(run.out)["uploadId"] == files[-1]["_id"]


def test_a_lost_submit_that_cannot_be_settled_in_time_ends_submitted_not_confirmed(
    cli: Any, emu: Emulator, build_zip: Path
) -> None:
    """The deadline comes before the look window ends: no resend, the user is told what to check, and the exit
    code says that time ran out (3), as for any wait the deadline cuts."""
    emu.configure(listing_lag_seconds=30.0)
    emu.add_fault({"method": "POST", "path": "upload-file", "action": "lost_response", "status": 500})
    run = cli("deploy", "--zip-path", str(build_zip), "--json", STREAMPIXEL_TIMEOUT_MINUTES="0.03")
    result = _json(run.out)
    assert _uploads(emu) == 1 and len(_project(emu)["files"]) == 2
    assert run.code == 3
    assert result["result"] == "submitted" and result["uploadId"] is None
    assert "not confirmed" in result["message"] and "status" in result["message"], result["message"]


# -- 2. an envelope: {"success": true, "data": {...}} --------------------------------------------------------


def test_an_envelope_is_read(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(response_envelope="success-data")
    run = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert run.code == 0, run.err
    assert _uploads(emu) == 1 and len(_project(emu)["files"]) == 2
    run = cli("status", "--json")
    assert run.code == 0, run.err
    assert len(_json(run.out)["builds"]) == 2


# -- 3. numeric IDs -------------------------------------------------------------------------------------------


def test_numeric_ids_are_read(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(id_type="number")
    run = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert run.code == 0, run.err
    files = _project(emu)["files"]
    assert _uploads(emu) == 1 and len(files) == 2
    assert _json(run.out)["uploadId"] == files[-1]["_id"] and files[-1]["_id"].isdigit()


# -- 4. dates it cannot order ---------------------------------------------------------------------------------


def test_epoch_millisecond_dates_order_the_rollback(cli: Any, emu: Emulator, build_zip: Path) -> None:
    emu.configure(date_format="epoch-ms", files_order="newest-first", rate_limit_window_seconds=0)
    deployed = cli("deploy", "--zip-path", str(build_zip), "--json")
    assert deployed.code == 0, deployed.err
    run = cli("distribute", "--upload-id", "previous", "--json")
    assert run.code == 0, run.err
    assert _json(run.out)["uploadId"] == SEED != _json(deployed.out)["uploadId"]
    assert "date unknown" not in run.err


def test_builds_of_the_same_day_are_not_ordered_by_a_guess(cli: Any, emu: Emulator, tmp_path: Path) -> None:
    emu.configure(date_format="date-only", files_order="newest-first", rate_limit_window_seconds=0)
    for name in ("1", "22"):
        assert cli("deploy", "--zip-path", str(_version(tmp_path, name))).code == 0
    live = _project(emu)["live_upload_id"]
    run = cli("distribute", "--upload-id", "previous", "--json")
    result = _json(run.out)
    assert run.code == 2, result
    assert result["uploadId"] != live
    assert "upload-id" in result["message"] and "same day" in result["message"], result["message"]
    assert _project(emu)["live_upload_id"] == live  # nothing was distributed


# -- 5. pagination with numbers as strings --------------------------------------------------------------------


def test_pages_numbered_with_strings_are_all_read() -> None:
    cfg = EmulatorConfig.default()
    cfg.number_format = "string"
    cfg.max_page_size = 20
    cfg.users[0].projects += [ProjectConfig(id=f"{i:024x}", name=f"Project {i}") for i in range(43)]
    with Emulator(cfg) as emu:
        code, result, err = cli_process(emulator_env(emu), "projects")
    assert code == 0, err
    assert len(result["projects"]) == 45


# -- principle 5: a 2xx that says it failed ------------------------------------------------------------------


def test_a_200_that_says_it_failed_is_a_failure(tmp_path: Path) -> None:
    cfg = EmulatorConfig.default()
    cfg.error_bodies = "200-success-false"
    cfg.users[0].projects[0].readonly = True  # every POST: 403 Access denied, here as 200 {"success": false}
    with Emulator(cfg) as emu:
        code, result, err = cli_process(emulator_env(emu), "deploy", "--zip-path", str(_version(tmp_path, "1")))
        assert _uploads(emu) == 1, "sent again after a refusal"
        assert len(_project(emu)["files"]) == 1
    assert code == 1, err
    assert "Access denied" in result["message"] and result["result"] == "failed"


# -- principle 6: every common rate-limit header --------------------------------------------------------------


@pytest.mark.parametrize("form", ["retry-after", "retry-after-date", "ratelimit-reset", "x-ratelimit-reset"])
def test_every_rate_limit_header_form_is_honoured(cli: Any, emu: Emulator, tmp_path: Path, form: str) -> None:
    emu.configure(rate_limit_header=form, rate_limit_window_seconds=2.0)
    assert cli("deploy", "--zip-path", str(_version(tmp_path, "1")), "--wait", "false").code == 0
    run = cli("deploy", "--zip-path", str(_version(tmp_path, "22")), "--wait", "false", "--json")
    assert run.code == 0, run.err
    assert "429" in json.dumps([r["status"] for r in emu.requests()])
    assert len(_project(emu)["files"]) == 3
