"""Outgoing webhooks (reference §9): the envelope, one-shot delivery and the background sender.

Delivery is a JSON ``POST`` with a timeout (10 s by default) and no retries; any 2xx is success.
Pipeline events go through one background thread in the order they were fired, so the pipeline
never waits for a receiver. ``POST /projects/test-webhook`` delivers synchronously instead,
because its response reports what the receiver answered.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from streampixel_deploy.emulator.net import http_request, open_url

logger = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
#: ``status`` of the ``webhook.test`` envelope; the reference leaves it undocumented.
TEST_STATUS = "test"


def iso_now() -> str:
    """Current UTC time as ISO 8601 with milliseconds and ``Z``, like the API."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    event: str,
    project_id: str,
    upload_id: str | None,
    file_url: str | None,
    status: str,
    objection: str | None,
) -> dict[str, Any]:
    """The payload of every webhook, exactly the seven documented fields."""
    return {
        "event": event,
        "projectId": project_id,
        "uploadId": upload_id,
        "fileUrl": file_url,
        "status": status,
        "objection": objection,
        "timestamp": iso_now(),
    }


@dataclass(frozen=True)
class Notice:
    """A webhook that a state change asks for, with the project's settings at that moment."""

    url: str | None
    events: tuple[str, ...]
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def wanted(self) -> bool:
        return bool(self.url) and self.payload.get("event") in self.events


@dataclass(frozen=True)
class Delivery:
    """What a receiver answered: ``status_code`` 0 means no HTTP answer at all."""

    status_code: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code <= 299


def deliver(url: str, payload: dict[str, Any], timeout: float) -> Delivery:
    """POST ``payload`` once; never raises."""
    try:
        request = http_request(
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        with open_url(request, timeout) as response:
            response.read()
            return Delivery(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Delivery(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Delivery(0, f"{type(exc).__name__}: {exc}")


def probe_result(delivery: Delivery) -> dict[str, Any]:
    """The body of ``POST /projects/test-webhook`` for one delivery (reference §6.7)."""
    if delivery.ok:
        message = "Test webhook delivered"
    elif delivery.status_code:
        message = "Webhook endpoint returned non-2xx status"
    else:
        message = "Could not connect to webhook endpoint"
    return {"success": delivery.ok, "message": message, "statusCode": delivery.status_code}


class WebhookSender:
    """Delivers pipeline webhooks from one background thread, in firing order."""

    def __init__(
        self,
        timeout: Callable[[], float],
        record: Callable[[dict[str, Any]], None],
    ) -> None:
        self._timeout = timeout
        self._record = record
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self._thread.start()

    def notify(self, notice: Notice | None) -> None:
        """Queue ``notice`` when the project has a webhook URL subscribed to its event."""
        if notice is not None and notice.wanted and notice.url:
            self._queue.put((notice.url, notice.payload))

    def stop(self, timeout: float = 2.0) -> None:
        """Drop what is still queued and wait (bounded) for an in-flight delivery."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            url, payload = item
            result = deliver(url, payload, self._timeout())
            if not result.ok:
                logger.info("webhook %s to %s failed: %s", payload["event"], url, result.error)
            self._record(
                {
                    "event": payload["event"],
                    "url": url,
                    "upload_id": payload["uploadId"],
                    "status_code": result.status_code,
                    "error": result.error,
                    "payload": payload,
                }
            )
