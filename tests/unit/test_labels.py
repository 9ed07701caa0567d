"""Labels belong to the faces: layers below them name a setting with ``ref``; the lifecycle shows the label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streampixel_deploy.api.models import Result
from streampixel_deploy.core.errors import InputError, ref, render_refs
from streampixel_deploy.lifecycle import show_labels
from streampixel_deploy.settings.table import label_of

SRC = Path(__file__).resolve().parents[2] / "src" / "streampixel_deploy"
#: the faces and the settings layer itself may read the spec table; nothing below them
ALLOWED = {"cli.py", "action.py", "demo.py", "lifecycle.py", "rehearsal.py", "settings/table.py"}


def test_no_layer_below_the_faces_reads_the_spec_table_for_a_label() -> None:
    users = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "SPEC_BY_NAME" in path.read_text(encoding="utf-8") and path.relative_to(SRC).as_posix() not in ALLOWED
    )
    assert users == []


def test_a_reference_is_shown_as_the_face_labels_it() -> None:
    text = f"{ref('zip-path')} and {ref('build-dir')} need somewhere to host the zip"
    assert (
        render_refs(text, label_of)
        == "'zip-path' (--zip-path) and 'build-dir' (--build-dir) need somewhere to host the zip"
    )
    assert render_refs(text, lambda name: "--" + name) == "--zip-path and --build-dir need somewhere to host the zip"
    other = "{'a': 1} <b> \u2039Not A Setting\u203a"
    assert render_refs(other, label_of) == other, "only references to settings"


def test_the_published_result_and_its_projects_show_labels() -> None:
    inner = Result("deploy", "p2", message=f"{ref('upload-id')} is missing")
    result = Result("deploy", "p1", message=f"{ref('wait')} true", previous_unknown=f"see {ref('github-token')}")
    result.projects = (inner,)
    show_labels(result, label_of)
    assert result.message == "'wait' (--wait) true"
    assert result.previous_unknown == "see 'github-token' (--github-token)"
    assert inner.message == "'upload-id' (--upload-id) is missing"


@pytest.mark.parametrize("name", ["zip-path", "s3-bucket", "timeout-minutes"])
def test_an_input_error_from_below_names_the_setting(name: str) -> None:
    error = InputError(f"{ref(name)} is wrong", name)
    assert error.setting == name and re.fullmatch(
        r"'[a-z0-9-]+' \(--[a-z0-9-]+\) is wrong", render_refs(str(error), label_of)
    )
