"""Outgoing webhooks (docs/streampixel-api.md §9): the envelope, one-shot delivery and the background sender.

Delivery is a JSON ``POST`` with a timeout (10 s by default) and no retries; any 2xx is success.
Pipeline events go through one background thread **per project** in the order they were fired, so
the pipeline never waits for a receiver and a slow receiver delays only its own project's events.
``webhook_order: roughly`` lets a project's sender hold an event for up to ``REORDER_WINDOW`` seconds
and deliver the next one first (adjacent events swapped); ``webhook_duplicates`` delivers each event
twice. ``POST /projects/test-webhook`` delivers synchronously instead, because its response reports
what the receiver answered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from streampixel_deploy.emulator.net import http_request, open_url

logger = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
#: ``status`` of the ``webhook.test`` envelope; Streampixel's docs leave it undocumented.
TEST_STATUS = "test"
#: ``webhook_order: roughly``: how long a sender waits for a project's next event to deliver it first.
REORDER_WINDOW = 0.25


def iso_now() -> str:
    """Current UTC time as ISO 8601 with milliseconds and ``Z``, like the API."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    event: str,
    project_id: str,
    upload_id: str | int | None,
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
    #: the build's ID for the delivery log, whatever the payload says (``null-early``, a numeric ``id_type``)
    build_id: str | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.url) and self.payload.get("event") in self.events


@dataclass(frozen=True)
class Delivery:
    """What a receiver answered: ``status_code`` 0 means no HTTP answer at all."""

    status_code: int
    error: str | None = None
    #: no answer within the timeout; ``connected``: the receiver had accepted the connection (and the request)
    timed_out: bool = False
    connected: bool = False

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
    except urllib.error.URLError as exc:  # before the request was sent: connecting (or resolving) failed
        timed_out = isinstance(exc.reason, TimeoutError)
        return Delivery(0, f"URLError: {exc.reason}", timed_out=timed_out)
    except TimeoutError as exc:  # sent, then no answer in time
        return Delivery(0, f"{type(exc).__name__}: {exc}", timed_out=True, connected=True)
    except (OSError, ValueError) as exc:
        return Delivery(0, f"{type(exc).__name__}: {exc}", connected=isinstance(exc, ConnectionError))


def probe_result(delivery: Delivery, timeout: float) -> dict[str, Any]:
    """The body of ``POST /projects/test-webhook`` for one delivery (docs/streampixel-api.md §6.6)."""
    if delivery.ok:
        message = "Test webhook delivered"
    elif delivery.status_code:
        message = "Webhook endpoint returned non-2xx status"
    elif delivery.timed_out and delivery.connected:
        message = f"Webhook endpoint timed out: it received the test webhook but did not answer within {timeout:g} s"
    elif delivery.timed_out:
        message = f"Webhook endpoint timed out: no connection within {timeout:g} s"
    elif delivery.connected:
        message = "Webhook endpoint closed the connection without an answer"
    else:
        message = "Could not connect to webhook endpoint"
    return {"success": delivery.ok, "message": message, "statusCode": delivery.status_code}


_Item = tuple[str, dict[str, Any], str | None]


class WebhookSender:
    """Delivers pipeline webhooks from one background thread per project, in firing order (by default)."""

    def __init__(
        self,
        timeout: Callable[[], float],
        record: Callable[[dict[str, Any]], None],
        readings: Callable[[], tuple[str, bool]] = lambda: ("in-order", False),
    ) -> None:
        """``readings()``: the current ``(webhook_order, webhook_duplicates)`` settings."""
        self._timeout = timeout
        self._record = record
        self._readings = readings
        self._lanes: dict[str, tuple[queue.Queue[_Item | None], threading.Thread]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        self._stopping.clear()

    def notify(self, notice: Notice | None) -> None:
        """Queue ``notice`` on its project's sender when the project has a webhook URL subscribed to its event."""
        if notice is None or not notice.wanted or not notice.url:
            return
        project_id = str(notice.payload.get("projectId"))
        with self._lock:
            if self._stopping.is_set():
                return
            lane = self._lanes.get(project_id)
            if lane is None:
                items: queue.Queue[_Item | None] = queue.Queue()
                name = f"emulator-webhooks-{project_id}"
                lane = (items, threading.Thread(target=self._run, args=(items,), name=name, daemon=True))
                self._lanes[project_id] = lane
                lane[1].start()
        lane[0].put((notice.url, notice.payload, notice.build_id))

    def stop(self, timeout: float = 2.0) -> None:
        """Drop what is still queued and wait (bounded, in all) for the deliveries in flight."""
        with self._lock:
            self._stopping.set()
            lanes, self._lanes = list(self._lanes.values()), {}
        for items, _ in lanes:
            items.put(None)  # wakes the sender up to end
        deadline = time.monotonic() + timeout
        for _, thread in lanes:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, lane: queue.Queue[_Item | None]) -> None:
        while True:
            item = lane.get()
            if item is None or self._stopping.is_set():
                return
            batch = [item]
            order, duplicates = self._readings()
            if order == "roughly":  # hold this event a moment: if the next one comes, it goes first
                later: _Item | None = None
                with contextlib.suppress(queue.Empty):
                    later = lane.get(timeout=REORDER_WINDOW)
                if self._stopping.is_set():
                    return
                if later is not None:
                    batch.insert(0, later)
            for url, payload, build_id in batch:
                for _ in range(2 if duplicates else 1):
                    if self._stopping.is_set():
                        return
                    self._send(url, payload, build_id)

    def _send(self, url: str, payload: dict[str, Any], build_id: str | None) -> None:
        result = deliver(url, payload, self._timeout())
        if not result.ok:
            logger.info("webhook %s to %s failed: %s", payload["event"], url, result.error)
        self._record(
            {
                "event": payload["event"],
                "url": url,
                "upload_id": build_id if build_id is not None else payload["uploadId"],
                "status_code": result.status_code,
                "error": result.error,
                "payload": payload,
            }
        )
