"""Issue 25: webhooks in every documented shape reach GitHub (docs/streampixel-api.md §9.2; Streampixel never
retries, §9.3).

``uploadId`` null for an event before the upload exists, IDs as JSON numbers, a status left out: each is read,
spooled and forwarded, never answered 400 (a refused delivery is an event lost for good).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID

from .conftest import BUILD_EVENTS, SEED_UPLOAD_ID, Stack, envelope


@pytest.mark.parametrize("verify", ["false", "true"])
def test_a_null_upload_id_is_relayed(stack: Stack, verify: str) -> None:
    stack.relay(verify=verify)
    answer = stack.post(envelope("build.uploaded", uploadId=None, status="pending", fileUrl=None))
    assert answer.status_code == 202 and answer.json()["status"] == "queued", answer.text
    (dispatch,) = stack.github.wait_for_dispatches(1)
    assert dispatch.event_type == "streampixel.build.uploaded" and dispatch.client_payload["uploadId"] is None


def test_numeric_ids_and_a_missing_status_are_relayed_as_strings(stack: Stack) -> None:
    stack.relay()
    body = envelope(uploadId=SEED_UPLOAD_ID)
    del body["status"]  # the event says it: build.approved
    assert stack.post(body).status_code == 202
    assert stack.post(envelope("webhook.test", projectId=12345, uploadId=None, status=None)).status_code == 202
    first, second = stack.github.wait_for_dispatches(2)
    assert first.client_payload["status"] is None and first.client_payload["uploadId"] == SEED_UPLOAD_ID
    assert second.client_payload["projectId"] == "12345"


def test_a_real_build_under_loose_readings_arrives_whole(stack: Stack, build_zip: Path) -> None:
    """The emulator sends build.uploaded with uploadId null and every other event with a numeric uploadId."""
    stack.emu.configure(webhook_upload_id="null-early", id_type="number")
    stack.relay(verify="true")
    upload_id = str(stack.upload(build_zip))
    stack.emu.wait_for_status(upload_id, "Approved")
    dispatches = stack.github.wait_for_dispatches(len(BUILD_EVENTS))
    assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
    assert dispatches[0].client_payload["uploadId"] is None
    assert {d.client_payload["uploadId"] for d in dispatches[1:]} == {upload_id}
    assert all(d.client_payload["projectId"] == DEFAULT_PROJECT_ID for d in dispatches)
