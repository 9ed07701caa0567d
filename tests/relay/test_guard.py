"""What the relay refuses or drops: bad tokens, oversized and malformed bodies, unknown and forged events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig

from .conftest import BUILD_EVENTS, RELAY_TOKEN, SEED_UPLOAD_ID, Stack, envelope, wait_until

SENTINEL_UPLOAD_ID = "5e7e1a2b3c4d5e6f7a8b9c0d"


def _forwarded_after_a_good_event(stack: Stack, **fields: Any) -> list[str]:
    """Post an event the relay forwards and wait until GitHub has it: the relay forwards in arrival order, so
    whatever it received before and would forward has been forwarded by then. The upload IDs GitHub got."""
    assert stack.post(envelope(uploadId=SENTINEL_UPLOAD_ID, **fields)).json()["status"] == "queued"
    stack.github.wait_for(lambda gh: any(d.client_payload["uploadId"] == SENTINEL_UPLOAD_ID for d in gh.dispatches))
    return [d.client_payload["uploadId"] for d in stack.github.dispatches]


def test_a_bad_token_is_401_and_nothing_is_forwarded(stack: Stack) -> None:
    relay = stack.relay()
    for token in ("wrong-token-0123456789abcdef", RELAY_TOKEN[:-1], RELAY_TOKEN + "x", ""):
        response = stack.post(envelope(), token=token)
        assert response.status_code == 401, token
        assert response.json() == {"message": "Unauthorized"}
    assert stack.session.post(f"{stack.url}/hook", json=envelope(), timeout=5).status_code == 404
    # the token check comes first: a bad token with a bad body is still 401, not 400
    assert stack.post(None, token="nope", raw=b"{not json").status_code == 401
    assert stack.spooled() == []  # an accepted event is spooled before it is answered
    assert relay.health()["refused"]["401"] == 5
    assert _forwarded_after_a_good_event(stack) == [SENTINEL_UPLOAD_ID]
    assert len(stack.github.requests) == 1


def test_a_real_webhook_to_a_wrong_token_url_fails_streampixels_test(stack: Stack) -> None:
    """Streampixel's own test-webhook call reports the 401, so a pipeline can fail fast."""
    relay = stack.relay()
    cfg = EmulatorConfig.default()
    cfg.users[0].projects[0].webhook_url = f"{stack.url}/webhook/not-the-token-0123456789"
    with Emulator(cfg) as emu:
        response = stack.session.post(
            f"{emu.api_url}/projects/test-webhook",
            json={"apiKey": DEFAULT_API_KEY, "userId": DEFAULT_USER_ID, "projectId": DEFAULT_PROJECT_ID},
            timeout=10,
        )
    assert response.json() == {
        "success": False,
        "message": "Webhook endpoint returned non-2xx status",
        "statusCode": 401,
    }
    assert relay.health()["refused"]["401"] == 1 and relay.health()["received"] == 0
    assert _forwarded_after_a_good_event(stack) == [SENTINEL_UPLOAD_ID]


def test_an_oversized_body_is_413(stack: Stack) -> None:
    stack.relay()
    big = envelope(objection="x" * (70 * 1024))
    response = stack.post(big)
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["message"]
    just_fits = envelope(event="webhook.test", objection="x" * (60 * 1024))
    assert stack.post(just_fits).status_code == 202
    (dispatch,) = stack.github.wait_for_dispatches(1)
    assert len(dispatch.client_payload["objection"]) == 4096  # long strings are cut for GitHub's 64 KB cap
    assert len(stack.github.requests) == 1


BAD_BODIES: dict[str, bytes] = {
    "not json": b"event=build.approved",
    "truncated json": b'{"event": "build.approved"',
    "a json array": b"[]",
    "missing event": json.dumps({k: v for k, v in envelope().items() if k != "event"}).encode(),
    "missing projectId": json.dumps({k: v for k, v in envelope().items() if k != "projectId"}).encode(),
    "missing timestamp": json.dumps({k: v for k, v in envelope().items() if k != "timestamp"}).encode(),
    "projectId with a path": json.dumps(envelope(projectId="../../admin")).encode(),
    "event not a string": json.dumps(dict(envelope(), event=42)).encode(),
    "objection not a string": json.dumps(envelope(objection={"a": 1})).encode(),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_body_that_is_not_the_envelope_is_400(stack: Stack, name: str) -> None:
    if not stack.relays:
        stack.relay()
    response = stack.post(None, raw=BAD_BODIES[name])
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert stack.spooled() == []
    assert stack.github.requests == []


def test_unknown_and_filtered_events_are_acknowledged_and_dropped(stack: Stack) -> None:
    relay = stack.relay(events="build.approved,webhook.test")
    unknown = stack.post(envelope(event="build.exploded"))
    assert unknown.status_code == 202 and unknown.json() == {"status": "dropped", "reason": "unknown-event"}
    filtered = stack.post(envelope(event="build.saving", status="Saving to Repository"))
    assert filtered.json() == {"status": "dropped", "reason": "event-not-forwarded"}
    assert stack.post(envelope()).json()["status"] == "queued"
    assert _forwarded_after_a_good_event(stack) == [SEED_UPLOAD_ID, SENTINEL_UPLOAD_ID]
    assert {d.event_type for d in stack.github.dispatches} == {"streampixel.build.approved"}
    dropped = relay.log.find("event.dropped")
    assert [d["reason"] for d in dropped] == ["unknown-event", "event-not-forwarded"]
    assert dropped[0]["event"] == "build.exploded"


def test_projects_outside_the_allow_list_are_dropped(stack: Stack) -> None:
    allowed = "664f1a2b3c4d5e6f7a8b9c0e"
    stack.relay(project_ids=allowed)
    assert stack.post(envelope()).json() == {"status": "dropped", "reason": "project-not-allowed"}
    assert _forwarded_after_a_good_event(stack, projectId=allowed) == [SENTINEL_UPLOAD_ID]
    assert [d.client_payload["projectId"] for d in stack.github.dispatches] == [allowed]


def test_verify_drops_forged_events_and_forwards_real_ones(stack: Stack, build_zip: Path) -> None:
    relay = stack.relay(verify="true")
    forged: list[dict[str, Any]] = [
        envelope(uploadId="deadbeefdeadbeefdeadbeef"),  # no such build in the project
        envelope(event="build.rejected", status="Reject", objection="forged"),  # the seed build is Approved
        envelope(projectId="000000000000000000000000"),  # no such project
    ]
    for body in forged:
        assert stack.post(body).status_code == 202  # acknowledged: a forger learns nothing
    upload_id = stack.upload(build_zip)
    stack.emu.wait_for_status(upload_id, "Approved")
    dispatches = stack.github.wait_for_dispatches(len(BUILD_EVENTS))
    assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
    assert {d.client_payload["uploadId"] for d in dispatches} == {upload_id}
    dropped = relay.log.find("event.dropped")
    assert [d["reason"] for d in dropped] == ["verify-mismatch"] * 3
    assert "deadbeefdeadbeefdeadbeef is not a build" in dropped[0]["detail"]
    assert "Approved" in dropped[1]["detail"]
    assert relay.health()["dropped"] == {"verify-mismatch": 3}
    log = "\n".join(json.dumps(r) for r in relay.log.records)
    assert DEFAULT_API_KEY not in log


def test_verify_accepts_a_real_event_for_an_existing_build(stack: Stack) -> None:
    stack.relay(verify="true")
    assert stack.post(envelope(uploadId=SEED_UPLOAD_ID)).status_code == 202
    (dispatch,) = stack.github.wait_for_dispatches(1)
    assert dispatch.client_payload["uploadId"] == SEED_UPLOAD_ID


def test_healthz_reports_counts_and_no_secrets(stack: Stack) -> None:
    relay = stack.relay()
    stack.post(envelope())
    stack.github.wait_for_dispatches(1)
    wait_until(lambda: relay.health()["forwarded"] == 1, what="the forwarded count")
    response = stack.session.get(f"{stack.url}/healthz", timeout=5)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["queueDepth"] == 0 and health["spooled"] == 0 and health["received"] == 1
    assert health["latencyMsP50"] is not None
    assert RELAY_TOKEN not in response.text and "octo-org" not in response.text
    assert stack.session.get(f"{stack.url}/", timeout=5).status_code == 404
    assert stack.session.put(f"{stack.url}/webhook/{RELAY_TOKEN}", data=b"{}", timeout=5).status_code == 405
