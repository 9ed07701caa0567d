"""One table of results: every ``result`` value and its exit code agree between the code, action.yml and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.core.errors import BuildRejected, Cancelled, InputError, StreampixelDeployError, WaitTimeout
from streampixel_deploy.run.execute import fail

ROOT = Path(__file__).resolve().parents[2]
EXIT = {
    Outcome.APPROVED: 0,
    Outcome.SUBMITTED: 0,
    Outcome.DRY_RUN: 0,
    Outcome.OK: 0,
    Outcome.REJECTED: 1,
    Outcome.FAILED: 1,
    Outcome.TIMED_OUT: 3,
    Outcome.CANCELLED: 130,
}


def test_action_yml_lists_every_result_value() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    listed = set(re.findall(r"`([a-z-]+)`", action["outputs"]["result"]["description"]))
    assert {o.value for o in Outcome} <= listed


def test_the_docs_exit_code_table_matches_the_code() -> None:
    doc = (ROOT / "docs" / "action-reference.md").read_text(encoding="utf-8")
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| [^|]+ \| (.+) \|$", doc, re.M)}
    for outcome, code in EXIT.items():
        assert f"`{outcome.value}`" in rows[code], (outcome, code, rows.get(code))


def test_errors_end_with_the_documented_exit_codes() -> None:
    cases: list[tuple[StreampixelDeployError, Outcome]] = [
        (BuildRejected("x", "why"), Outcome.REJECTED),
        (WaitTimeout("x"), Outcome.TIMED_OUT),
        (Cancelled("x"), Outcome.CANCELLED),
        (InputError("x"), Outcome.FAILED),
        (StreampixelDeployError("x"), Outcome.FAILED),
    ]
    for error, outcome in cases:
        result = fail(Result(command="deploy"), error)
        assert result.outcome is outcome
        assert result.exit_code == (2 if isinstance(error, InputError) else EXIT[outcome])
