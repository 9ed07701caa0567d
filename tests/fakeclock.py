"""A fake clock for :class:`streampixel_deploy.core.http.Clock`: time moves only when something waits."""

from __future__ import annotations

import itertools

from streampixel_deploy.core.progress import NullReporter


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


class Heard(NullReporter):
    """Every line a user would see (info, warnings, stages), with the fake time it was printed at."""

    def __init__(self, fake: FakeTime) -> None:
        self.fake = fake
        self.lines: list[tuple[float, str]] = []

    def info(self, message: str) -> None:
        self.lines.append((self.fake.now(), message))

    def warning(self, message: str, title: str | None = None) -> None:
        self.lines.append((self.fake.now(), message))

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        self.lines.append((self.fake.now(), f"stage {status}"))

    def longest_silence(self) -> float:
        """The longest time without a line, up to now."""
        times = [t for t, _ in self.lines] + [self.fake.now()]
        return max(b - a for a, b in itertools.pairwise(times))
