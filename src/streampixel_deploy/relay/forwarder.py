"""The forwarder: one background thread that takes spooled events in arrival order to GitHub.

The in-memory queue is bounded (``queue-size``); when it is full, events still go to the spool and are
acknowledged, and the thread refills the queue from the spool once it has room (that is also how the spool
is replayed at start). One thread keeps the dispatches in the order Streampixel sent them.

Each event: optional ``verify`` (Get Project; a mismatch is dropped, a Streampixel error is retried), then
``repository_dispatch`` with retries: exponential backoff with jitter from ``retry-initial-seconds`` up to
``retry-max-seconds``, or exactly what GitHub asked (``Retry-After``, rate-limit reset; at least
``rate-limit-floor-seconds`` after a rate limit that names no time). An acknowledged event is never given up
on for a transient reason; it leaves the spool only when GitHub accepted it or refused it for good.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Literal, TypedDict

import requests

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.core.errors import AuthError, Cancelled, NotFound, StreampixelDeployError
from streampixel_deploy.core.http import Clock, Policy
from streampixel_deploy.github.dispatch import GitHubDispatcher
from streampixel_deploy.github.rest import GITHUB_POLICY, Answer
from streampixel_deploy.relay.config import RelayConfig
from streampixel_deploy.relay.events import Envelope, EnvelopeError, mismatch, parse_envelope
from streampixel_deploy.relay.log import JsonLog
from streampixel_deploy.relay.spool import Spool

NAME_TTL_SECONDS = 300.0
NAME_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Item:
    id: str
    envelope: Envelope | None = None  # None: read it from the spool
    received_at: float = 0.0  # epoch seconds


@dataclass(frozen=True)
class Verdict:
    kind: Literal["ok", "mismatch", "error"]
    reason: str = ""
    project_name: str | None = None


class ProjectLookup:
    """Get Project for ``verify`` and for ``projectName``; names are cached for a few minutes."""

    def __init__(self, client: StreampixelClient | None) -> None:
        self.client = client
        self._names: dict[str, tuple[float, str | None]] = {}

    def name(self, project_id: str) -> str | None:
        cached = self._names.get(project_id)
        if cached and time.monotonic() - cached[0] < NAME_TTL_SECONDS:
            return cached[1]
        if self.client is None:
            return None
        try:
            project = self.client.get_project(project_id)
        except StreampixelDeployError:
            name = cached[1] if cached else None
            # remember the failure for a minute, so an unreachable Streampixel does not slow every event
            self._names[project_id] = (time.monotonic() - NAME_TTL_SECONDS + NAME_RETRY_SECONDS, name)
            return name
        self._remember(project_id, project.name or None)
        return project.name or None

    def verify(self, envelope: Envelope) -> Verdict:
        if self.client is None:
            return Verdict("error", "verify needs Streampixel credentials")
        try:
            project = self.client.get_project(envelope.project_id)
        except NotFound:
            return Verdict("mismatch", f"project {envelope.project_id} does not exist for this user")
        except AuthError as exc:
            return Verdict("error", f"Streampixel refused the credentials (check api-key/user-id): {exc.message}")
        except StreampixelDeployError as exc:
            return Verdict("error", exc.message)
        name = project.name or None
        self._remember(envelope.project_id, name)
        reason = mismatch(envelope, project)
        return Verdict("ok", project_name=name) if reason is None else Verdict("mismatch", reason)

    def _remember(self, project_id: str, name: str | None) -> None:
        self._names[project_id] = (time.monotonic(), name)


def relay_policy(config: RelayConfig) -> Policy:
    """GitHub's policy with the relay's settings: its backoff, rate-limit floor and request timeout."""
    return replace(
        GITHUB_POLICY,
        backoff=config.retry_initial_seconds,
        backoff_max=config.retry_max_seconds,
        rate_limit_window=config.rate_limit_floor_seconds,
        connect_timeout=min(GITHUB_POLICY.connect_timeout, config.github_timeout_seconds),
        request_budget=config.github_timeout_seconds,
    )


class Forwarder:
    def __init__(
        self,
        config: RelayConfig,
        spool: Spool,
        log: JsonLog,
        lookup: ProjectLookup,
        github_session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self.spool = spool
        self.log = log
        self.lookup = lookup
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=config.queue_size)
        self._lock = threading.Lock()
        self._tracked: set[str] = set()  # ids in the queue or in flight
        self._overflow = True  # start by loading whatever the spool holds
        self._stopping = threading.Event()
        #: every wait of the thread (no deadline; stopping the relay ends a wait at once); one over 10 s says in the
        #: log what it waits for and until when, then a line at least every 30 s (core/waits.py), as a run's do
        self.clock = Clock(cancel=self._stopping, what="the relay", tell=lambda line: log.info("wait", detail=line))
        self.dispatcher = GitHubDispatcher.create(
            config.github_api_url,
            config.github_repository,
            config.github_token,
            self.clock,
            relay_policy(config),
            github_session,
        )
        self._thread: threading.Thread | None = None
        self.forwarded = 0
        self.failed = 0
        self.retries = 0
        self.dropped: collections.Counter[str] = collections.Counter()
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self.last_error: str | None = None
        self.last_delivery: float | None = None
        self.github_ok: bool | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="relay-forwarder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the request in flight (bounded); what is not delivered stays in the spool."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.dispatcher.close()

    # -- intake ----------------------------------------------------------------------------------

    def submit(self, item: Item) -> None:
        """Queue an event that is already in the spool; when the queue is full the spool keeps it."""
        with self._lock:
            if self._overflow or item.id in self._tracked:
                return  # the refill from the spool takes (or took) it
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._overflow = True
                self.log.warning("queue.full", queueSize=self.config.queue_size, spooled=self.spool.count())
                return
            self._tracked.add(item.id)

    def depth(self) -> int:
        return self._queue.qsize()

    def drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] += 1

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._next()
            if item is None:
                continue
            try:
                self._process(item)
            except Exception as exc:  # never let one event kill the thread; it stays in the spool
                self.log.error("event.error", id=item.id, error=f"{type(exc).__name__}: {exc}")
                with self._lock:
                    self._overflow = True  # the next refill from the spool picks it up again
                self._wait(self.config.retry_initial_seconds, "process the event again")
            finally:
                with self._lock:
                    self._tracked.discard(item.id)

    def _next(self) -> Item | None:
        try:
            return self._queue.get(timeout=0.05)
        except queue.Empty:
            pass
        with self._lock:
            if not self._overflow:
                return None
            for event_id in self.spool.pending_ids():
                if event_id in self._tracked:
                    continue
                try:
                    self._queue.put_nowait(Item(event_id))
                except queue.Full:
                    break
                self._tracked.add(event_id)
            else:
                self._overflow = False
        return None

    def _load(self, item: Item) -> Item | None:
        if item.envelope is not None:
            return item
        record = self.spool.read(item.id)
        if record is None:
            if self.spool.exists(item.id):
                self.spool.fail(item.id)
                self.log.error("spool.unreadable", id=item.id, action="moved to failed/")
            return None
        try:
            envelope = parse_envelope(record.get("envelope"))
        except EnvelopeError as exc:
            self.spool.fail(item.id)
            self.log.error("spool.unreadable", id=item.id, error=str(exc), action="moved to failed/")
            return None
        received = record.get("receivedAt")
        return Item(item.id, envelope, float(received) if isinstance(received, (int, float)) else time.time())

    def _process(self, raw: Item) -> None:
        item = self._load(raw)
        if item is None or item.envelope is None:
            return
        envelope = item.envelope
        fields = _fields(item)
        if self.config.verify:
            verdict = self._verify(envelope, fields)
            if verdict is None:
                return  # stopping; the event stays in the spool
            if verdict.kind == "mismatch":
                self.spool.delete(item.id)
                self.drop("verify-mismatch")
                self.log.warning("event.dropped", reason="verify-mismatch", detail=verdict.reason, **fields)
                return
            project_name = verdict.project_name
        else:
            project_name = self.lookup.name(envelope.project_id)
        payload = envelope.client_payload(project_name, item.id)
        attempt = 0
        while not self._stopping.is_set():
            attempt += 1
            try:
                answer = self.dispatcher.dispatch(envelope.event_type, payload)
            except Cancelled:
                return  # stopping; the event stays in the spool
            if answer.ok:
                # Count and log first, then delete from the spool: an empty spool means "all accounted for".
                latency_ms = max(0.0, (time.time() - item.received_at) * 1000.0)
                with self._lock:
                    self.forwarded += 1
                    self.latencies_ms.append(latency_ms)
                    self.last_delivery = time.time()
                    self.github_ok = True
                self.log.info(
                    "event.forwarded",
                    eventType=envelope.event_type,
                    attempts=attempt,
                    latencyMs=round(latency_ms, 1),
                    **fields,
                )
                self.spool.delete(item.id)
                return
            if answer.kind == "failed":
                path = self.spool.fail(item.id)
                with self._lock:
                    self.failed += 1
                    self.last_error = answer.detail
                self.log.error("event.failed", status=answer.status, detail=answer.detail, kept=str(path), **fields)
                return
            delay = self._delay(attempt, answer)
            with self._lock:
                self.retries += 1
                self.last_error = answer.detail
                self.github_ok = False
            self.log.warning(
                "github.retry",
                status=answer.status,
                detail=answer.detail,
                attempt=attempt,
                retryInSeconds=round(delay, 3),
                configProblem=answer.config_problem or None,
                **fields,
            )
            self._wait(delay, "send the event to GitHub")

    def _verify(self, envelope: Envelope, fields: dict[str, object]) -> Verdict | None:
        attempt = 0
        rechecked = False
        while not self._stopping.is_set():
            verdict = self.lookup.verify(envelope)
            if verdict.kind == "ok":
                return verdict
            if verdict.kind == "mismatch":
                if rechecked or self.config.verify_recheck_seconds <= 0:
                    return verdict
                rechecked = True  # Get Project may lag the webhook by a moment: look once more
                self._wait(self.config.verify_recheck_seconds, "read the project again (verify-recheck-seconds)")
                continue
            attempt += 1
            delay = self.dispatcher.policy.backoff_delay(attempt)
            self.log.warning(
                "verify.retry", detail=verdict.reason, attempt=attempt, retryInSeconds=round(delay, 3), **fields
            )
            self._wait(delay, "ask Streampixel about the event")
        return None

    def _wait(self, seconds: float, doing: str) -> None:
        """Wait on the clock before another try to do ``doing``; stopping the relay ends the wait (the loops then
        see ``_stopping``)."""
        with contextlib.suppress(Cancelled):
            self.clock.sleep(seconds, doing)

    def _delay(self, attempt: int, answer: Answer) -> float:
        """What GitHub asked for, else the policy's backoff; after a rate limit at least its window."""
        if answer.wait is not None:
            return answer.wait
        policy = self.dispatcher.policy
        delay = policy.backoff_delay(attempt)
        if answer.rate_limited:
            delay = max(delay, policy.rate_limit_window)
        return delay

    # -- figures ---------------------------------------------------------------------------------

    def snapshot(self) -> Figures:
        with self._lock:
            latencies = sorted(self.latencies_ms)
            return {
                "forwarded": self.forwarded,
                "failed": self.failed,
                "retries": self.retries,
                "dropped": dict(self.dropped),
                "lastError": self.last_error,
                "github": "unknown" if self.github_ok is None else ("ok" if self.github_ok else "failing"),
                "latencyMsP50": _percentile(latencies, 0.5),
                "latencyMsP95": _percentile(latencies, 0.95),
            }


class Figures(TypedDict):
    """The forwarder's counts, for ``/healthz``."""

    forwarded: int
    failed: int
    retries: int
    dropped: dict[str, int]
    lastError: str | None
    github: Literal["unknown", "ok", "failing"]
    latencyMsP50: float | None
    latencyMsP95: float | None


def _fields(item: Item) -> dict[str, object]:
    envelope = item.envelope
    if envelope is None:
        return {"id": item.id}
    return {"id": item.id, "event": envelope.event, "projectId": envelope.project_id, "uploadId": envelope.upload_id}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[index], 1)
