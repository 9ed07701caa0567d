"""Property-based tests: parsing of responses and statuses with random and adversarial JSON."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streampixel_deploy.api.client import _parse, snippet
from streampixel_deploy.api.models import BuildStatus, Project, parse_status
from streampixel_deploy.core.errors import StreampixelDeployError
from streampixel_deploy.core.http import Reply
from streampixel_deploy.core.redact import SECRETS, redact_url

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
file_entries = st.fixed_dictionaries(
    {},
    optional={
        "_id": st.one_of(st.text(max_size=30), st.integers(), st.none()),
        "id": st.text(max_size=30),
        "url": json_values,
        "status": st.one_of(st.sampled_from([s.value for s in BuildStatus]), st.text(max_size=30), json_values),
        "date": st.one_of(st.text(max_size=30), st.datetimes().map(lambda d: d.isoformat() + "Z"), json_values),
        "objection": json_values,
    },
)
projects = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "_id": json_values,
        "name": json_values,
        "status": json_values,
        "files": st.one_of(st.lists(st.one_of(file_entries, json_values), max_size=8), json_values),
    },
)


@given(projects)
@settings(max_examples=300)
def test_project_parsing_never_raises(data: dict[str, Any]) -> None:
    project = Project.from_json(data, fallback_id="p")
    for build in project.files:
        assert isinstance(build.id, str) and build.id
        assert isinstance(build.raw_status, str)
    newest = project.newest_first()
    assert sorted(b.id for b in newest) == sorted(b.id for b in project.files)
    assert all(b.status is BuildStatus.APPROVED for b in project.approved_newest_first())


@given(st.one_of(json_values, st.fixed_dictionaries({"files": st.lists(st.one_of(file_entries, json_values))})))
def test_any_json_reads_as_the_builds_it_names(data: Any) -> None:
    """Whatever the body, a project comes out: a body that is not an object is an empty project under the ID asked
    for; in one that is, every entry of files[] with an ``_id`` is a build, in the order of files[]."""
    project = Project.from_json(data, fallback_id="p")
    if not isinstance(data, dict):
        assert project == Project(id="p", name="")
        return
    files = data.get("files")
    entries = files if isinstance(files, list) else []
    positions = [b.position for b in project.files]
    assert positions == sorted(set(positions))  # one build per entry, in files[]'s order
    assert all(isinstance(entries[i], dict) for i in positions)
    named = {i for i, e in enumerate(entries) if isinstance(e, dict) and isinstance(e.get("_id"), str)}
    assert {i for i in named if entries[i]["_id"].strip()} <= set(positions), "a build with an _id was lost"
    for build in project.files:
        if build.position in named:
            assert build.id == entries[build.position]["_id"].strip()


@given(st.sampled_from(list(BuildStatus)), st.lists(st.sampled_from([" ", "  ", "\t"]), max_size=3), st.booleans())
def test_status_recognised_after_normalisation(status: BuildStatus, pad: list[str], upper: bool) -> None:
    raw = "".join(pad) + (status.value.upper() if upper else status.value.lower()) + "".join(pad)
    assert parse_status(raw) is status
    assert parse_status(status.value) is status


SPELLINGS = [s.value for s in BuildStatus] + ["queued", "Current Live Build", "validation  failed", "Archived"]


@given(st.one_of(st.sampled_from(SPELLINGS), st.text(alphabet=string.printable, max_size=40)))
def test_status_reading_ignores_only_case_and_spacing(raw: str) -> None:
    """Case and runs of whitespace never change what a status reads as."""
    assert raw not in SPELLINGS or parse_status(raw) is not None
    assert parse_status(raw) is parse_status(" ".join(raw.split()).upper())
    assert parse_status(raw) is parse_status(f"  {raw.lower()}\t")


@given(st.sampled_from(list(BuildStatus)), st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12))
def test_a_status_word_inside_other_words_is_not_that_status(status: BuildStatus, word: str) -> None:
    """ "Not Approved" is not Approved: only a whole known spelling is recognised, never a part of a status."""
    assert parse_status(f"{word} {status.value}") is None
    assert parse_status(f"{status.value} {word}") is None


def _response(status: int, body: bytes, content_type: str = "application/json") -> Reply:
    return Reply(status, {"Content-Type": content_type}, body, "http://127.0.0.1/x")


SECRET = "sk-PROPERTY-SECRET-0123456789"
SECRETS.add(SECRET)


@given(
    st.integers(min_value=100, max_value=599),
    st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda t: t.encode()),
        st.just(f'{{"message": "bad key {SECRET}"}}'.encode()),
        st.just(f"<html>apikey={SECRET}</html>".encode()),
    ),
)
@settings(max_examples=400)
def test_response_parsing_only_raises_our_errors(status: int, body: bytes) -> None:
    try:
        data = _parse(_response(status, body), "test")
    except StreampixelDeployError as exc:
        assert SECRET not in str(exc)
        assert "\n" not in exc.message or len(exc.message) < 2000
    else:
        assert 200 <= status < 300 and isinstance(data, dict)


@given(st.text(max_size=300))
def test_snippet_is_short_and_single_line(text: str) -> None:
    out = snippet(text)
    assert len(out) <= 160 and "\n" not in out and SECRET not in snippet(text + SECRET)


@given(
    st.sampled_from(["apikey", "X-Amz-Signature", "x-amz-credential", "APIKEY", "X-Amz-Security-Token"]),
    st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=6, max_size=40),
)
def test_redact_url_hides_secret_params(param: str, value: str) -> None:
    shown = redact_url(f"https://h.example/a.zip?{param}={value}&x=1")
    assert f"{param}={value}" not in shown
