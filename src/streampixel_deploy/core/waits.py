"""Waits that say what they wait for: a CI log shows nothing else while a run waits.

Every wait longer than :data:`ANNOUNCE_AFTER` seconds names what it waits for and until when (a UTC clock time and
the seconds left), then repeats a short line at least every :data:`REPEAT_EVERY` seconds while it lasts. A
:class:`Wait` is one such wait; :func:`pause` cuts a pause into pieces so that its lines come on time. The run's
:class:`~streampixel_deploy.core.http.Clock` pauses through it, so a rate-limit pause, a ``Retry-After``, a backoff
and the follower's polls (run/follow.py: one wait over many polls) all speak the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

#: A wait that may last longer than this says what it waits for and until when.
ANNOUNCE_AFTER = 10.0
#: While it lasts, a short line at least this often.
REPEAT_EVERY = 30.0

#: Where a wait's lines go (a reporter's ``info``).
Tell = Callable[[str], None]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Wait:
    """One wait for ``what`` (a noun phrase: "a Distribute stage") that ends at ``ends`` on the ``now`` clock.

    :meth:`begin` says it when it may last longer than ANNOUNCE_AFTER; :meth:`beat` repeats a short line when
    REPEAT_EVERY seconds passed without one (:meth:`heard`: another line was just printed)."""

    def __init__(
        self,
        tell: Tell,
        what: str,
        ends: float,
        now: Callable[[], float],
        wall: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.tell, self.what, self.ends = tell, what, ends
        self.now, self._wall = now, wall
        self._last: float | None = None  # when this wait last said something; None: it says nothing

    def left(self) -> float:
        return max(0.0, self.ends - self.now())

    def until(self) -> str:
        """The end as a clock time (``05:14:02 UTC``)."""
        return (self._wall() + timedelta(seconds=self.left())).strftime("%H:%M:%S UTC")

    def _when(self) -> str:
        if math.isinf(self.ends):
            return "until it is stopped"
        if self.left() <= 0:
            return f"it was due at {self.until()}; one more look"
        return f"until {self.until()} ({self.left():.0f} s left)"

    def begin(self) -> Wait:
        """Say what is waited for and until when, when that may take longer than ANNOUNCE_AFTER."""
        if self.left() > ANNOUNCE_AFTER:
            self.tell(f"Waiting for {self.what} {self._when()}.")
            self._last = self.now()
        return self

    def due_in(self) -> float:
        """Seconds until the next short line is due (infinity when this wait says nothing)."""
        return math.inf if self._last is None else max(0.0, self._last + REPEAT_EVERY - self.now())

    def beat(self) -> None:
        """The short line, when it is due and the wait is not over."""
        if self._last is not None and self.due_in() <= 0:
            self.tell(f"Still waiting for {self.what}: {self._when()}.")
            self._last = self.now()

    def heard(self) -> None:
        """Another line was just printed (a new stage): the next short line is due REPEAT_EVERY from now."""
        if self._last is not None:
            self._last = self.now()


def pause(seconds: float, rest: Callable[[float], bool], now: Callable[[], float], what: str, voice: Voice) -> bool:
    """``rest(seconds)`` (True: cancelled). ``voice`` a :class:`Wait`: in pieces that end when its next line is due,
    saying it; a place to tell: a pause longer than ANNOUNCE_AFTER is a wait for ``what`` of its own."""
    if not isinstance(voice, Wait):
        if voice is None or seconds <= ANNOUNCE_AFTER:
            return rest(seconds)
        voice = Wait(voice, what, now() + seconds, now).begin()
    end = now() + seconds
    while (left := end - now()) > 0:
        if rest(min(left, max(voice.due_in(), 0.001))):
            return True
        if end > now():  # the pause goes on: its line, when due (the caller speaks next otherwise)
            voice.beat()
    return False


#: How a pause speaks: as part of a caller's wait, through a place to tell when it is long, or not at all.
Voice = Wait | Tell | None
