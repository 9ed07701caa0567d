"""A fake clock for :class:`streampixel_deploy.core.http.Clock`: time moves only when something waits."""

from __future__ import annotations


class FakeTime:
    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def pause(self, seconds: float) -> bool:
        """The cancel event's ``wait``: never cancelled, the time simply passes."""
        self.waits.append(seconds)
        self.t += seconds
        return False
