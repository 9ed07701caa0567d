"""Following a build to Approved or Reject: a pure :func:`observe` and the small loop that feeds it.

:func:`observe` is a function of what was seen and when: ``observe(seen, build, now) -> Decision``. It holds
every rule about the pipeline's statuses, so the rules are tested for every reading of the docs with a fake
clock and no server (tests/unit/test_follow.py). :func:`follow` only polls, reports and sleeps.

Rules (where Streampixel's docs are silent, the choice is ours and documented in docs/architecture.md):

- Each new raw status is recorded; a known one that ranks above the best seen so far is a stage, a known one
  that does not is an out-of-order regression and ignored, an unknown one is reported once and waited on.
- A build missing from ``files[]`` is tolerated for ``listing_grace`` seconds (a fresh build may be listed late).
- After distribute-file, the ``Approved`` from before the distribution is stale: it counts only once some
  non-final status was seen, or after ``settle_polls`` polls and ``settle_seconds`` (distribution may be too
  quick to see), and the timeline notes that no Distribute stage was observed.
- Polling backs off x1.25 while nothing changes, up to ``max_interval``; a change resets it.
- With autoRelease a build is live once it was seen distributed: ``Distribute`` (or the dashboard's
  ``Distributing to the Servers``) before ``Approved``, or ``Current Live Build``. The docs also describe the
  other order (``… Saving → Approved → Distribute → Approved``, docs/streampixel-api.md §8.4, §11.14): an
  ``Approved`` that no ``Distribute`` preceded is followed for ``distribution_grace`` more (60 s, or 8 polls when
  polling is faster); a ``Distribute`` after it is progress, not a regression. If none comes, the build is approved
  with live unknown.
- A grace after Approved (the settle, the distribution) ends early when its next poll could not come before the
  run's deadline (``timeout-minutes``): the run ends approved, live unknown, with what it knows, not with a timeout
  that calls the build "still Approved". When the deadline comes anyway (polls that failed or answered late), the
  last answer is read once more with these rules.
- Every wait says what it waits for and until when, then a short line at least every 30 s (core/waits.py): the
  build's end until the deadline, or a grace above (:class:`Awaiting`: the listing, the distribution, the settle).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass

from streampixel_deploy.api.models import Build, BuildStatus, Project, live_label
from streampixel_deploy.core.errors import ApiError, BuildRejected, TransportError, WaitTimeout
from streampixel_deploy.core.waits import Wait
from streampixel_deploy.run.context import Run, transient

#: How long a freshly submitted build may be missing from files[] before we give up on it.
LISTING_GRACE = 120.0
#: After distribute-file, how long an unchanged "Approved" is accepted as "already distributed".
DISTRIBUTE_SETTLE_POLLS = 3
DISTRIBUTE_SETTLE_SECONDS = 60.0
#: With autoRelease, how long an Approved that no Distribute preceded is followed for the distribution.
DISTRIBUTION_GRACE = 60.0
DISTRIBUTION_GRACE_POLLS = 8


@dataclass(frozen=True)
class Rules:
    interval: float
    max_interval: float
    listing_grace: float = LISTING_GRACE
    after_distribute: bool = False
    settle_polls: int = DISTRIBUTE_SETTLE_POLLS
    settle_seconds: float = DISTRIBUTE_SETTLE_SECONDS
    #: the build should become live by itself (deploy with autoRelease): Approved alone does not say it is
    expect_distribution: bool = False
    distribution_grace: float = DISTRIBUTION_GRACE
    #: the run's end on the same clock as ``now``: a grace after Approved never waits past it
    deadline: float = math.inf

    @classmethod
    def for_run(
        cls,
        interval: float,
        timeout_seconds: float,
        after_distribute: bool = False,
        expect_distribution: bool = False,
        deadline: float = math.inf,
    ) -> Rules:
        return cls(
            interval=interval,
            max_interval=max(interval, min(60.0, interval * 4)),
            listing_grace=min(LISTING_GRACE, timeout_seconds),
            after_distribute=after_distribute,
            settle_seconds=min(DISTRIBUTE_SETTLE_SECONDS, timeout_seconds),
            expect_distribution=expect_distribution,
            distribution_grace=min(DISTRIBUTION_GRACE, DISTRIBUTION_GRACE_POLLS * interval),
            deadline=deadline,
        )

    def last_poll(self, seen: Seen, now: float) -> bool:
        """No further poll can come before the run's deadline: a grace after Approved ends with this one."""
        return now + seen.interval >= self.deadline


@dataclass(frozen=True)
class Seen:
    """Everything the follower remembers between polls."""

    interval: float
    last_raw: str | None = None
    best_rank: int = -1
    seen_moving: bool = False
    missing_since: float | None = None
    settle_polls: int = 0
    stale_since: float | None = None
    distributed: bool = False  # Distribute (or its dashboard words) seen
    approved_since: float | None = None  # an Approved that no Distribute preceded, first seen then


class Verdict(enum.Enum):
    WAIT = "wait"
    APPROVED = "approved"
    REJECTED = "rejected"
    MISSING = "missing"  # not listed for longer than the grace


@dataclass(frozen=True)
class Stage:
    raw: str
    detail: str | None = None


@dataclass(frozen=True)
class Awaiting:
    """What the follower waits for while a grace of its own runs (else: the build's end, until the deadline)."""

    what: str
    until: float


@dataclass(frozen=True)
class Decision:
    seen: Seen
    verdict: Verdict
    stages: tuple[Stage, ...] = ()
    status: str | None = None  # the raw status to record, when it changed
    objection: str | None = None
    note: str | None = None  # a debug line
    #: with ``expect_distribution``: True when the build was seen distributed, None when that is unknown
    distributed: bool | None = None
    #: a grace running: what it waits for and until when (follow says so; run/follow.py's module docstring)
    awaiting: Awaiting | None = None

    @property
    def next_poll(self) -> float:
        return self.seen.interval


def start(rules: Rules) -> Seen:
    return Seen(interval=rules.interval)


def observe(seen: Seen, rules: Rules, build: Build | None, now: float) -> Decision:
    """One poll's answer: ``build`` as listed, or None when ``files[]`` does not list it."""
    if build is None:
        since = seen.missing_since if seen.missing_since is not None else now
        verdict = Verdict.MISSING if now - since > rules.listing_grace else Verdict.WAIT
        listed = Awaiting("the build to be listed in the project's builds", since + rules.listing_grace)
        return Decision(_slower(dataclasses.replace(seen, missing_since=since), rules), verdict, awaiting=listed)
    seen = dataclasses.replace(seen, missing_since=None)
    status = build.status
    stages: list[Stage] = []
    note = None
    changed = build.raw_status != seen.last_raw
    if changed:
        stale = rules.after_distribute and status is BuildStatus.APPROVED and not seen.seen_moving
        if status is None:
            said = f"; Streampixel said: {build.objection}" if build.objection else ""
            stages.append(Stage(build.raw_status, f"unknown status; still waiting{said}"))
        elif stale:
            pass  # the Approved from before distribute-file: not progress, and no rank to beat
        elif status.rank > seen.best_rank or status.terminal or _late_distribution(seen, rules, status):
            seen = dataclasses.replace(seen, best_rank=status.rank)
            stages.append(Stage(build.raw_status))
        else:
            note = f"Ignoring out-of-order status {build.raw_status!r}."
        seen = dataclasses.replace(seen, last_raw=build.raw_status)
    if status is not None and not status.terminal:
        seen = dataclasses.replace(seen, seen_moving=True)
    if status is BuildStatus.DISTRIBUTE or live_label(build.raw_status):
        seen = dataclasses.replace(seen, distributed=True)
    seen = dataclasses.replace(seen, interval=rules.interval) if changed else _slower(seen, rules)
    recorded = build.raw_status if changed else None
    if status is BuildStatus.REJECT:
        return Decision(seen, Verdict.REJECTED, tuple(stages), recorded, build.objection, note)
    if status is BuildStatus.APPROVED and rules.expect_distribution and not seen.distributed:
        since = seen.approved_since if seen.approved_since is not None else now
        seen = dataclasses.replace(seen, approved_since=since)
        if now - since < rules.distribution_grace and not rules.last_poll(seen, now):
            going = Awaiting(
                _DISTRIBUTE_STAGE + " (Approved, not yet seen being distributed)",
                min(since + rules.distribution_grace, rules.deadline),
            )
            return Decision(seen, Verdict.WAIT, tuple(stages), recorded, note=note, awaiting=going)
        note = f"Approved, but no Distribute stage seen in {now - since:.0f}s: whether it is live is unknown."
        return Decision(seen, Verdict.APPROVED, tuple(stages), recorded, note=note, distributed=None)
    if status is BuildStatus.APPROVED:
        if not rules.after_distribute or seen.seen_moving:
            distributed = True if rules.expect_distribution or rules.after_distribute else None
            return Decision(seen, Verdict.APPROVED, tuple(stages), recorded, note=note, distributed=distributed)
        stale_since = seen.stale_since if seen.stale_since is not None else now
        seen = dataclasses.replace(seen, settle_polls=seen.settle_polls + 1, stale_since=stale_since)
        waited = now - stale_since
        if (seen.settle_polls >= rules.settle_polls and waited >= rules.settle_seconds) or rules.last_poll(seen, now):
            stages.append(Stage(build.raw_status, f"no Distribute stage observed in {waited:.0f}s"))
            return Decision(seen, Verdict.APPROVED, tuple(stages), recorded, note=note, distributed=None)
        settle = Awaiting(
            _DISTRIBUTE_STAGE + " (still listed Approved, as before distribute-file)",
            min(stale_since + rules.settle_seconds, rules.deadline),
        )
        return Decision(seen, Verdict.WAIT, tuple(stages), recorded, note=note, awaiting=settle)
    return Decision(seen, Verdict.WAIT, tuple(stages), recorded, note=note)


_DISTRIBUTE_STAGE = "a Distribute stage"


def _late_distribution(seen: Seen, rules: Rules, status: BuildStatus) -> bool:
    """Distribute after an Approved that no Distribute preceded: the other documented order, so progress."""
    return rules.expect_distribution and status is BuildStatus.DISTRIBUTE and not seen.distributed


def poll_failed(seen: Seen, rules: Rules) -> Decision:
    """A poll that got no usable answer: wait a little longer before the next one."""
    return Decision(_slower(seen, rules), Verdict.WAIT)


def _slower(seen: Seen, rules: Rules) -> Seen:
    return dataclasses.replace(seen, interval=min(rules.max_interval, seen.interval * 1.25))


def follow(run: Run, upload_id: str, after_distribute: bool = False, expect_distribution: bool = False) -> Build:
    """Poll Get Project until the build is Approved or Reject; WaitTimeout when timeout-minutes runs out.

    With ``expect_distribution`` (deploy with autoRelease), ``run.distributed`` says afterwards whether the build
    was seen distributed (None: unknown)."""
    s, r, clock = run.settings, run.result, run.clock
    rules = Rules.for_run(
        s.poll_interval_seconds, s.timeout_seconds, after_distribute, expect_distribution, clock.deadline
    )
    seen = start(rules)
    end = Awaiting(f"build {upload_id} to be " + ("distributed" if after_distribute else "approved"), clock.deadline)
    wait: Wait | None = None
    last: Build | None = None  # the build as last listed
    while True:
        if clock.remaining() > 0:
            clock.check("following the build")
            project = _poll(run)
            build = project.find(upload_id) if project is not None else None
            last = build if project is not None else last
            decision = poll_failed(seen, rules) if project is None else observe(seen, rules, build, clock.now())
        else:  # no time for another poll: the last answer, read once more, may end a grace after Approved
            build = last
            decision = observe(seen, rules, last, clock.now()) if last is not None else poll_failed(seen, rules)
            if decision.verdict is not Verdict.APPROVED:
                raise _still_waiting(run, upload_id)
        seen = decision.seen
        if decision.status is not None:
            r.status = decision.status
        if build is not None and build.objection:
            r.objection = build.objection  # a reason given with any status reaches the outputs, even on a timeout
        for stage in decision.stages:
            run.stage(stage.raw, stage.detail)
        if decision.note:
            run.reporter.debug(decision.note)
        if decision.verdict is Verdict.APPROVED and build is not None:
            run.distributed = decision.distributed
            return build
        if decision.verdict is Verdict.REJECTED:
            r.objection = decision.objection
            raise BuildRejected(
                f"Streampixel rejected build {upload_id}: {decision.objection or 'no objection given'}",
                decision.objection,
            )
        if decision.verdict is Verdict.MISSING:
            raise ApiError(
                f"Build {upload_id} does not appear in project {s.project_id}'s builds after "
                f"{rules.listing_grace:.0f}s. Check the dashboard; it may have been deleted."
            )
        awaiting = decision.awaiting or end
        if wait is None or wait.what != awaiting.what:  # a new wait: say what for and until when
            wait = Wait(run.reporter.info, awaiting.what, awaiting.until, clock.now).begin()
        elif decision.stages:
            wait.heard()
        due = awaiting.until - clock.now()  # a grace ends with a poll, as its line said, not a back-off later
        clock.sleep_at_most(
            min(decision.next_poll, due) if due > 0 else decision.next_poll, "following the build", announce=wait
        )


def _poll(run: Run) -> Project | None:
    """Get Project, or None after a transient failure (warned of; the follower backs off and polls again)."""
    try:
        return run.client.get_project(run.settings.project_id)
    except (TransportError, ApiError) as exc:
        if not transient(exc):
            raise
        run.reporter.warning(f"Polling failed, will retry: {exc}", "Polling")
        return None


def _still_waiting(run: Run, upload_id: str) -> WaitTimeout:
    return WaitTimeout(
        f"Build {upload_id} was still '{run.result.status or 'not listed'}' after "
        f"{run.settings.timeout_minutes:g} minutes (timeout-minutes). It may still finish: check it with "
        f"command: status and upload-id: {upload_id} (CLI: streampixel-deploy status --upload-id {upload_id}), "
        "or raise timeout-minutes." + (f" Streampixel said: {run.result.objection}" if run.result.objection else "")
    )
