"""POST /projects/test-webhook: a real delivery to a local receiver, and how its outcome is reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator

from .helpers import Client, Route, StubServer, fast_config, free_port, showroom


def emulator_with_hook(make_emulator: Callable[..., Emulator], url: str, **settings: Any) -> Emulator:
    cfg = fast_config(**settings)
    showroom(cfg).webhook_url = url
    showroom(cfg).webhook_events = ["build.approved"]  # webhook.test ignores the event filter
    return make_emulator(cfg)


def test_test_webhook_delivered(make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer) -> None:
    api: Client = make_client(emulator_with_hook(make_emulator, stub.url + "/hook"))
    response = api.post("/projects/test-webhook")
    assert (response.status_code, response.json()) == (
        200,
        {"success": True, "message": "Test webhook delivered", "statusCode": 200},
    )
    (payload,) = stub.wait_for(1)
    assert set(payload) == {"event", "projectId", "uploadId", "fileUrl", "status", "objection", "timestamp"}
    assert (payload["event"], payload["projectId"], payload["uploadId"], payload["fileUrl"]) == (
        "webhook.test",
        DEFAULT_PROJECT_ID,
        None,
        None,
    )
    assert stub.received[0]["content_type"] == "application/json"


@pytest.mark.parametrize(("status", "headers"), [(500, {}), (404, {}), (302, {"Location": "http://127.0.0.1:9/"})])
def test_test_webhook_non_2xx(
    make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer, status: int, headers: dict[str, str]
) -> None:
    stub.routes["/hook"] = Route(status, b"nope", headers)
    api: Client = make_client(emulator_with_hook(make_emulator, stub.url + "/hook"))
    response = api.post("/projects/test-webhook")
    assert (response.status_code, response.json()) == (
        200,
        {"success": False, "message": "Webhook endpoint returned non-2xx status", "statusCode": status},
    )
    assert len(stub.received) == 1  # no retries


def test_test_webhook_no_connection(make_emulator: Callable[..., Emulator], make_client: Any) -> None:
    api: Client = make_client(emulator_with_hook(make_emulator, f"http://127.0.0.1:{free_port()}/hook"))
    response = api.post("/projects/test-webhook")
    assert (response.status_code, response.json()) == (
        200,
        {"success": False, "message": "Could not connect to webhook endpoint", "statusCode": 0},
    )


def test_test_webhook_times_out(make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer) -> None:
    stub.routes["/slow"] = Route(200, b"{}", delay=0.6)
    emu = emulator_with_hook(make_emulator, stub.url + "/slow", webhook_timeout_seconds=0.2)
    response = make_client(emu).post("/projects/test-webhook")
    message = "Webhook endpoint timed out: it received the test webhook but did not answer within 0.2 s"
    assert response.json() == {"success": False, "message": message, "statusCode": 0}
    assert stub.received[0]["json"]["event"] == "webhook.test"  # it did arrive: a timeout, not "could not connect"
    assert emu.webhook_deliveries()[-1]["event"] == "webhook.test"


def test_test_webhook_errors(api: Client) -> None:
    none = api.post("/projects/test-webhook")
    assert (none.status_code, none.json()) == (404, {"message": "No webhook URL configured"})
    bad_key = api.post("/projects/test-webhook", apiKey="rotated")
    assert (bad_key.status_code, bad_key.json()) == (401, {"message": "Unauthorized: Invalid API Key"})
