"""Real webhooks from the emulator reach the fake GitHub API as repository_dispatch events, outages included."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID

from .conftest import BUILD_EVENTS, GITHUB_TOKEN, PROJECT_NAME, RELAY_TOKEN, REPOSITORY, Stack, wait_until


def test_a_real_build_arrives_as_dispatches_in_order(stack: Stack, build_zip: Path) -> None:
    relay = stack.relay()
    upload_id = stack.upload(build_zip)
    stack.emu.wait_for_status(upload_id, "Approved")

    dispatches = stack.github.wait_for_dispatches(len(BUILD_EVENTS))
    assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
    sent = stack.wait_webhooks(upload_id, len(BUILD_EVENTS))
    assert all(s["status_code"] == 202 for s in sent)  # what Streampixel saw: acknowledged
    for delivery, dispatch in zip(sent, dispatches, strict=True):
        expected = dict(delivery["payload"], projectName=PROJECT_NAME)
        assert {k: v for k, v in dispatch.client_payload.items() if k != "deliveryId"} == expected
        assert dispatch.repository == REPOSITORY
    approved = dispatches[-1].client_payload
    assert approved["uploadId"] == upload_id and approved["status"] == "Approved"
    assert approved["projectId"] == DEFAULT_PROJECT_ID
    assert len({d.client_payload["deliveryId"] for d in dispatches}) == len(dispatches)

    request = next(r for r in stack.github.requests if r.path.endswith("/dispatches"))
    assert request.method == "POST" and request.path == f"/repos/{REPOSITORY}/dispatches"
    assert request.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.status == 204
    wait_until(lambda: not stack.spooled(), what="an empty spool")
    health = stack.session.get(f"{stack.url}/healthz", timeout=5).json()
    assert health["forwarded"] == len(BUILD_EVENTS) and health["spooled"] == 0 and health["status"] == "ok"

    log = "\n".join(json.dumps(r) for r in relay.log.records)
    assert RELAY_TOKEN not in log and GITHUB_TOKEN not in log
    assert len(relay.log.find("event.forwarded")) == len(BUILD_EVENTS)


def test_a_rejected_build_carries_its_objection(stack: Stack, broken_zip: Path) -> None:
    stack.relay()
    upload_id = stack.upload(broken_zip)
    dispatches = stack.github.wait_for_dispatches(4)
    assert [d.event_type for d in dispatches] == [
        "streampixel.build.uploaded",
        "streampixel.build.downloading",
        "streampixel.build.extracting",
        "streampixel.build.rejected",
    ]
    rejected = dispatches[-1].client_payload
    assert rejected["uploadId"] == upload_id and rejected["status"] == "Reject"
    assert rejected["objection"] and "exe" in rejected["objection"].lower()


def test_distributing_an_archived_build_is_relayed(stack: Stack, build_zip: Path) -> None:
    """autoRelease false: Approved without going live; distribute-file then fires distributing + approved."""
    stack.relay()
    upload_id = stack.upload(build_zip, auto_release=False)
    stack.github.wait_for_dispatches(5)  # uploaded, downloading, extracting, saving, approved
    stack.github.reset()
    response = stack.session.post(
        f"{stack.emu.api_url}/projects/distribute-file",
        json={
            "apiKey": "sp-emulator-0000000000000000",
            "userId": "663d0a1b2c3e4f5a6b7c8d9e",
            "projectId": DEFAULT_PROJECT_ID,
            "uploadId": upload_id,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    dispatches = stack.github.wait_for_dispatches(2)
    assert [d.event_type for d in dispatches] == ["streampixel.build.distributing", "streampixel.build.approved"]
    assert {d.client_payload["uploadId"] for d in dispatches} == {upload_id}


def test_the_test_webhook_is_relayed(stack: Stack) -> None:
    stack.relay()
    result = stack.test_webhook()
    assert result == {"success": True, "message": "Test webhook delivered", "statusCode": 202}
    (dispatch,) = stack.github.wait_for_dispatches(1)
    assert dispatch.event_type == "streampixel.webhook.test"
    assert dispatch.client_payload["uploadId"] is None
    assert dispatch.client_payload["projectName"] == PROJECT_NAME


def test_a_github_outage_loses_nothing(stack: Stack, build_zip: Path) -> None:
    relay = stack.relay()
    stack.github.set_down(True)
    upload_id = stack.upload(build_zip)
    stack.emu.wait_for_status(upload_id, "Approved")
    sent = stack.wait_webhooks(upload_id, len(BUILD_EVENTS))
    assert all(s["status_code"] == 202 for s in sent)  # Streampixel was answered while GitHub was down
    time.sleep(1.0)  # a while: the relay keeps retrying (backoff capped at retry-max-seconds = 0.2)
    assert sum(r.status == 503 for r in stack.github.requests) >= 3
    assert stack.github.dispatches == []
    health = stack.session.get(f"{stack.url}/healthz", timeout=5).json()
    assert health["status"] == "degraded" and health["github"] == "failing"
    assert health["spooled"] == len(BUILD_EVENTS) and health["oldestPendingSeconds"] >= 1.0

    stack.github.set_down(False)
    back = time.monotonic()
    dispatches = stack.github.wait_for_dispatches(len(BUILD_EVENTS))
    assert time.monotonic() - back < 2.0  # within one backoff step of GitHub coming back
    assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
    assert [d.client_payload["timestamp"] for d in dispatches] == [s["payload"]["timestamp"] for s in sent]
    wait_until(lambda: not stack.spooled(), what="an empty spool")
    assert relay.health()["status"] == "ok"


def test_a_restart_replays_the_spool(stack: Stack, build_zip: Path) -> None:
    first = stack.relay()
    stack.github.set_down(True)
    upload_id = stack.upload(build_zip)
    stack.emu.wait_for_status(upload_id, "Approved")
    stack.wait_webhooks(upload_id, len(BUILD_EVENTS))
    first.stop()
    assert len(stack.spooled()) == len(BUILD_EVENTS)  # acknowledged, not delivered, on disk

    stack.github.set_down(False)
    second = stack.relay()  # same port, same spool
    dispatches = stack.github.wait_for_dispatches(len(BUILD_EVENTS))
    assert [d.event_type for d in dispatches] == [f"streampixel.{e}" for e in BUILD_EVENTS]
    assert all(d.client_payload["uploadId"] == upload_id for d in dispatches)
    assert second.log.find("relay.started")[0]["replaying"] == len(BUILD_EVENTS)
    wait_until(lambda: not stack.spooled(), what="an empty spool")


def test_retry_after_is_respected(stack: Stack) -> None:
    stack.relay()
    stack.github.fail_next(1, 429, retry_after=1)
    assert stack.test_webhook()["success"] is True
    stack.github.wait_for_dispatches(1)
    attempts = [r for r in stack.github.requests if r.path.endswith("/dispatches")]
    assert [r.status for r in attempts] == [429, 204]
    assert attempts[1].at - attempts[0].at >= 0.95


def test_an_event_github_refuses_for_good_is_set_aside(stack: Stack) -> None:
    relay = stack.relay()
    stack.github.fail_next(1, 422, message="Invalid request.")
    stack.test_webhook()
    stack.test_webhook()
    (dispatch,) = stack.github.wait_for_dispatches(1)  # the second one still goes through
    assert dispatch.event_type == "streampixel.webhook.test"
    assert len(list((stack.spool / "failed").glob("*.json"))) == 1
    assert relay.log.find("event.failed")[0]["status"] == 422


def test_a_full_queue_overflows_to_the_spool(stack: Stack) -> None:
    """queue-size 1: while GitHub is down, extra events wait in the spool and still go out in order."""
    stack.relay(queue_size="1")
    stack.github.set_down(True)
    bodies = [
        {
            "event": "webhook.test",
            "projectId": DEFAULT_PROJECT_ID,
            "uploadId": None,
            "fileUrl": None,
            "status": "test",
            "objection": None,
            "timestamp": f"2026-05-02T09:14:0{i}.000Z",
        }
        for i in range(5)
    ]
    for body in bodies:
        assert stack.post(body).status_code == 202
    assert len(stack.spooled()) == 5
    time.sleep(0.2)
    stack.github.set_down(False)
    dispatches = stack.github.wait_for_dispatches(5)
    assert [d.client_payload["timestamp"] for d in dispatches] == [b["timestamp"] for b in bodies]


def test_without_credentials_project_name_is_null_and_signed_urls_are_redacted(stack: Stack) -> None:
    stack.relay(api_key="", user_id="")
    signed = "https://bucket.s3.amazonaws.com/b/Game.zip?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=0123abcd"
    body = {
        "event": "build.uploaded",
        "projectId": DEFAULT_PROJECT_ID,
        "uploadId": "6650f3a1c2d4e5f60718293a",
        "fileUrl": signed,
        "status": "pending",
        "objection": None,
        "timestamp": "2026-05-02T09:14:07.000Z",
    }
    assert stack.post(body).status_code == 202
    (dispatch,) = stack.github.wait_for_dispatches(1)
    assert dispatch.client_payload["projectName"] is None
    assert dispatch.client_payload["fileUrl"] == (
        "https://bucket.s3.amazonaws.com/b/Game.zip?X-Amz-Credential=***&X-Amz-Signature=***"
    )
    assert "0123abcd" not in json.dumps(dispatch.client_payload)
