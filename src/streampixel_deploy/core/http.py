"""The one request policy: sessions, attempts, backoff with jitter, ``Retry-After`` and a deadline.

Every HTTP call (the Streampixel client, GitHub Deployments, the relay's dispatches) goes through
:meth:`Http.send`, and every wait (a backoff, a rate-limit pause, a poll interval) through :meth:`Clock.sleep`.
Both honour one :class:`Clock`: its deadline (``timeout-minutes`` for a run, none for the relay) and its cancel
event (SIGINT/SIGTERM). The rules, each in one place below:

- **Attempts**: a repeatable request (a GET) is retried on transport errors, 5xx and 429; one that is not
  (upload-file, distribute-file, a dispatch) only when nothing was sent, or after a 429 (refused before any work).
- **Backoff**: ``backoff * 2**(n-1)`` capped at ``backoff_max``, equal jitter (never zero, never above the cap).
- **Retry-After**: seconds (leniently: ``1.5``, ``-5``, ``1e9``) or an HTTP-date, clamped to
  ``[RETRY_AFTER_FLOOR, RETRY_AFTER_CEILING]``; a 429 without a usable value waits the service's documented
  window on a rate-limited endpoint (Streampixel: 120 s per user, docs/streampixel-api.md §5), else the backoff.
- **Deadline**: no wait ends past it (``WaitTimeout`` at once); each request gets ``min(budget, time left)`` in
  total and its body is read in pieces with that budget checked between them, so a trickle is cut.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from streampixel_deploy import _version
from streampixel_deploy.core import interrupts, waits
from streampixel_deploy.core.errors import Cancelled, WaitTimeout
from streampixel_deploy.core.ratelimit import RETRY_AFTER_FLOOR, parse_retry_after, rate_limit_delay
from streampixel_deploy.core.redact import redact_url

USER_AGENT = f"streampixel-deploy/{_version.__version__} (+https://github.com/streampixel-deploy)"
#: Streampixel's documented rate-limit window: one upload-file / distribute-file per user every 2 minutes.
STREAMPIXEL_WINDOW = 120.0
#: The most of a response body we read (the API's JSON is a few kB; a dashboard page is not an answer).
MAX_BODY_BYTES = 8 * 1024 * 1024
_PIECE = 64 * 1024
#: Another attempt is only worth starting with at least this much time left.
MIN_ATTEMPT = 0.5


def make_session() -> requests.Session:
    """The one place sessions are made: User-Agent, JSON accept header, no hidden transport retries."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0)  # Http.send owns every retry, so each one is counted and timed
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


class Clock:
    """The time of a run: a deadline, a cancel event, and the only way to wait.

    ``now`` and ``pause`` are seams for tests (a fake clock); by default they are ``time.monotonic`` and a wait on
    the cancel event (``core.interrupts.wait``: in slices on the main thread, so that Ctrl+C ends it on Windows
    too), so a wait ends at once when the run is cancelled. A wait longer than ``waits.ANNOUNCE_AFTER`` says what
    it waits for and until when, and repeats a short line while it lasts (core/waits.py), through ``announce`` (a
    caller's :class:`~streampixel_deploy.core.waits.Wait` or place to tell) or else ``tell``.
    """

    def __init__(
        self,
        budget_seconds: float | None = None,
        cancel: threading.Event | None = None,
        now: Callable[[], float] = time.monotonic,
        pause: Callable[[float], bool] | None = None,
        what: str = "timeout-minutes",
        tell: waits.Tell | None = None,
    ) -> None:
        self.now = now
        #: where a wait longer than waits.ANNOUNCE_AFTER says what it waits for, when its caller names no place
        self.tell = tell
        self.cancel = cancel or threading.Event()
        self._pause = pause or (lambda seconds: interrupts.wait(self.cancel, seconds, self.now))
        self.started = now()
        self.deadline = math.inf if budget_seconds is None else self.started + max(0.0, budget_seconds)
        self.budget_seconds = budget_seconds
        self.what = what

    def elapsed(self) -> float:
        return self.now() - self.started

    def remaining(self) -> float:
        return self.deadline - self.now()

    def has_time_for(self, wait: float) -> bool:
        """Whether another attempt after waiting ``wait`` seconds still has a moment (MIN_ATTEMPT) to run."""
        return self.remaining() > wait + MIN_ATTEMPT

    def check(self, doing: str = "") -> None:
        """Raise Cancelled or WaitTimeout if the run must stop now."""
        if self.cancel.is_set():
            raise Cancelled(f"Cancelled{' while ' + doing if doing else ''}.")
        if self.remaining() <= 0:
            raise self.timeout(doing)

    def timeout(self, doing: str, extra: str = "") -> WaitTimeout:
        limit = f"{self.budget_seconds / 60:g} minutes" if self.budget_seconds is not None else "the deadline"
        where = f" while {doing}" if doing else ""
        return WaitTimeout(f"{self.what} ({limit}) ran out{where}.{' ' + extra if extra else ''}")

    def sleep(
        self,
        seconds: float,
        doing: str = "",
        extra: str = "",
        *,
        waiting_for: str | None = None,
        announce: waits.Voice = None,
    ) -> None:
        """Wait ``seconds``; a wait that would end past the deadline raises WaitTimeout at once. ``waiting_for`` names
        what a long wait is for (default: another try to ``doing``)."""
        self.check(doing)
        if seconds > self.remaining():
            raise self.timeout(doing, extra)
        what = waiting_for or (f"another try to {doing}" if doing else "the next try")
        if seconds > 0 and waits.pause(seconds, self._pause, self.now, what, announce or self.tell):
            raise Cancelled(f"Cancelled{' while ' + doing if doing else ''}.")
        self.check(doing)

    def sleep_at_most(self, seconds: float, doing: str = "", *, announce: waits.Voice = None) -> None:
        """Wait ``seconds`` or until the deadline, whichever comes first (a poll interval); the caller says
        what running out of time means."""
        if self.cancel.is_set():
            raise Cancelled(f"Cancelled{' while ' + doing if doing else ''}.")
        seconds = max(0.0, min(seconds, self.remaining()))
        if seconds > 0 and waits.pause(
            seconds, self._pause, self.now, f"the next poll ({doing})", announce or self.tell
        ):
            raise Cancelled(f"Cancelled{' while ' + doing if doing else ''}.")


@dataclass(frozen=True)
class Policy:
    """How hard to try one request. One instance per service; see the module docstring for the rules."""

    service: str = "Streampixel"
    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 30.0
    #: a 429 without a usable Retry-After from a rate-limited endpoint waits this long (the documented window);
    #: from any other endpoint it waits the backoff (never less than the floor)
    rate_limit_window: float = STREAMPIXEL_WINDOW
    #: every endpoint of the service is rate-limited in that sense (GitHub documents one wait for all)
    window_on_every_429: bool = False
    connect_timeout: float = 10.0
    #: each read, and the whole request (connect, headers and body) in total
    request_budget: float = 60.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff_delay(self, attempt: int) -> float:
        """The wait before attempt ``attempt + 1`` (attempt counts from 1): equal jitter, never zero."""
        ceiling = min(self.backoff_max, self.backoff * 2.0 ** min(attempt - 1, 30))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def rate_limit_wait(
        self, retry_after: str | Mapping[str, str] | None, attempt: int = 1, limited: bool = True
    ) -> float:
        """How long to wait after a 429: what the server asked for (a ``Retry-After`` value, or the answer's
        headers in any form :func:`rate_limit_delay` reads), clamped; else the documented window for a
        rate-limited endpoint (``limited``), or the backoff (at least the floor) for any other."""
        if retry_after is None or isinstance(retry_after, str):
            seconds = parse_retry_after(retry_after)
        else:
            seconds = rate_limit_delay(retry_after)
        if seconds is not None:
            return seconds
        return self.rate_limit_window if limited else max(RETRY_AFTER_FLOOR, self.backoff_delay(attempt))


@dataclass(frozen=True)
class Reply:
    """A whole answer: status, headers and the body (read within the request's budget)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.text) if self.body.strip() else {}


class RequestFailed(Exception):
    """No usable answer: the request could not be sent, or its answer did not arrive in time.

    ``sent`` is False only when the connection failed before anything was sent (safe to repeat any request);
    ``in_flight`` is True when we stopped waiting for an answer the server may still be producing.
    """

    def __init__(self, reason: str, url: str, sent: bool, in_flight: bool, tls: bool = False) -> None:
        super().__init__(f"{reason} ({redact_url(url)})")
        self.reason = reason
        self.url = url
        self.sent = sent
        self.in_flight = in_flight
        self.tls = tls


@dataclass(frozen=True, eq=False, repr=False)
class Http:
    """Send requests under a :class:`Policy` and a :class:`Clock`; the only caller of ``session.request``."""

    session: requests.Session
    policy: Policy
    clock: Clock
    on_retry: Callable[[str], None] | None = None
    on_wait: waits.Tell | None = None  # where a long wait speaks (else the clock's ``tell``)

    def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        repeatable: bool,
        limited: bool = False,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        budget: float | None = None,
        retry: bool = True,
    ) -> Reply:
        """One request (``what`` names it in messages), retried as the policy allows; returns the last answer.

        A 429 is waited out and repeated for any request (the server refused it before doing anything):
        ``limited`` marks an endpoint with a documented rate-limit window. A 5xx and a broken-off answer are
        repeated only for a ``repeatable`` request. With ``retry=False`` the first answer is returned whatever
        it is. Raises :class:`RequestFailed` when no answer came and no attempt is left (or no time for one),
        ``WaitTimeout`` when the deadline cuts a request or a server-requested wait, and ``Cancelled``.
        """
        attempts = self.policy.attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            self.clock.check(f"waiting to {what}")
            try:
                reply = self._once(method, url, what, params, json_body, data, headers, budget)
            except RequestFailed as failure:
                if attempt >= attempts or failure.tls or (failure.sent and not repeatable):
                    raise
                delay = self.policy.backoff_delay(attempt)
                if not self.clock.has_time_for(delay):
                    if failure.in_flight:  # the server was too slow for the time left: that is a timeout
                        raise self.clock.timeout(f"waiting for {what}", f"The last attempt: {failure}.") from None
                    raise  # no time for another attempt: this failure (refused, reset) is the answer
                self._note(f"{what} failed ({failure.reason}); retrying in {delay:.1f}s.")
                self.clock.sleep(delay, what, announce=self.on_wait)
                continue
            if reply.status not in self.policy.retry_statuses or not retry:
                return reply
            if reply.status == 429:
                limited = limited or self.policy.window_on_every_429
                if attempt >= attempts and not limited:
                    return reply
                # a rate-limited endpoint is waited out until the deadline, however many 429s it takes
                wait = self.policy.rate_limit_wait(reply.headers, attempt, limited)
                self._note(
                    f"{self.policy.service} rate-limited {what} ({_said(reply)}); waiting {wait:.0f}s before "
                    "retrying" + (" (the limit is per user)." if limited else ".")
                )
                self.clock.sleep(
                    wait,
                    f"waiting out a rate limit on {what}",
                    f"{self.policy.service} asked for {wait:.0f}s more; another request by the same user is "
                    "probably running: retry later.",
                    waiting_for=f"the rate limit on {what} to pass",
                    announce=self.on_wait,
                )
                continue
            if not repeatable or attempt >= attempts:
                return reply  # a 5xx to a request that may have done its work: the caller decides
            server_wait = parse_retry_after(reply.headers.get("Retry-After"))
            wait = server_wait if server_wait is not None else self.policy.backoff_delay(attempt)
            if not self.clock.has_time_for(wait):
                return reply
            self._note(f"{what} failed (HTTP {reply.status}); retrying in {wait:.1f}s.")
            self.clock.sleep(wait, what, announce=self.on_wait)

    def _note(self, message: str) -> None:
        if self.on_retry is not None:
            self.on_retry(message)

    def _once(
        self,
        method: str,
        url: str,
        what: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        budget: float | None,
    ) -> Reply:
        own = budget or self.policy.request_budget
        remaining = self.clock.remaining()
        total = min(own, remaining)
        if total <= 0:
            raise self.clock.timeout(f"waiting for {what}")
        ends = self.clock.now() + total

        def cut(failure: RequestFailed) -> Exception:
            """The failure, or a timeout when it was the run's deadline (not the request's budget) that cut it."""
            if remaining < own and self.clock.now() >= ends - 0.05 and not failure.tls:
                return self.clock.timeout(f"waiting for {what}", f"The last attempt: {failure}.")
            return failure

        def exchange() -> Reply:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=data,
                    headers=headers,
                    timeout=(min(self.policy.connect_timeout, total), total),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.RequestException as exc:
                raise cut(_failure(exc, url)) from None
            with response:
                try:
                    body = _read_body(response, lambda: self.clock.now() > ends, f"{total:.0f}s", url)
                except RequestFailed as failure:
                    raise cut(failure) from None
                except Exception as exc:  # urllib3/socket errors while reading the body
                    raise cut(RequestFailed(f"the answer broke off ({type(exc).__name__})", url, True, True)) from None
            return Reply(response.status_code, response.headers, body, response.url or url)

        tell = self.on_wait or self.clock.tell  # a held answer says so (core.waits), Ctrl+C ends it (core.interrupts)
        held = waits.Wait(tell, f"{self.policy.service}'s answer to {what}", ends, self.clock.now) if tell else None
        return interrupts.call(exchange, held)


def _read_body(response: requests.Response, late: Callable[[], bool], budget: str, url: str) -> bytes:
    """The body in pieces (each read bounded by the socket timeout), stopping when ``late()``."""
    body = bytearray()
    while len(body) <= MAX_BODY_BYTES:
        if late():
            raise RequestFailed(f"the answer did not arrive within {budget}", url, sent=True, in_flight=True)
        piece = response.raw.read1(_PIECE)
        if not piece:
            break
        body += piece
    return bytes(body)


def _said(reply: Reply) -> str:
    try:
        message = reply.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message)[:200] if isinstance(message, str) and message else f"HTTP {reply.status}"


def _failure(exc: requests.RequestException, url: str) -> RequestFailed:
    if isinstance(exc, requests.exceptions.SSLError):
        return RequestFailed("the TLS certificate is not trusted", url, sent=False, in_flight=False, tls=True)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return RequestFailed("the connection timed out", url, sent=False, in_flight=False)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return RequestFailed("the server did not answer in time", url, sent=True, in_flight=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        before = _connect_phase(exc)
        reason = "the connection failed" if before else "the connection was reset"
        return RequestFailed(reason, url, sent=not before, in_flight=False)
    return RequestFailed(type(exc).__name__, url, sent=True, in_flight=False)


def _connect_phase(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the error happened before the request left (refused, DNS, connect timeout)."""
    import urllib3.exceptions as u3

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, u3.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (u3.NewConnectionError, u3.ConnectTimeoutError))
