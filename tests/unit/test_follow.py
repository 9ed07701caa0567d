"""The pure follower: ``observe(seen, rules, build, now) -> Decision`` with a fake clock, no server, no sleep."""

from __future__ import annotations

from collections.abc import Sequence

from streampixel_deploy.api.models import Build
from streampixel_deploy.run.follow import Decision, Rules, Seen, Verdict, observe, poll_failed, start

RULES = Rules.for_run(interval=5.0, timeout_seconds=3600)
AFTER_DISTRIBUTE = Rules.for_run(interval=5.0, timeout_seconds=3600, after_distribute=True)


def _build(status: str, objection: str | None = None) -> Build:
    return Build(id="b1", url="https://cdn.example/b1.zip", raw_status=status, date=None, objection=objection)


def _feed(rules: Rules, statuses: Sequence[str | None], step: float = 5.0) -> list[Decision]:
    """Feed one status per poll (None: not listed), ``step`` seconds apart."""
    seen: Seen = start(rules)
    decisions = []
    for i, status in enumerate(statuses):
        decision = observe(seen, rules, _build(status) if status is not None else None, now=i * step)
        decisions.append(decision)
        seen = decision.seen
    return decisions


def _stages(decisions: list[Decision]) -> list[str]:
    return [stage.raw for d in decisions for stage in d.stages]


def test_the_documented_pipeline_reaches_approved() -> None:
    pipeline = ["pending", "Downloading Files", "Extracting & Scanning", "Saving to Repository", "Approved"]
    decisions = _feed(RULES, pipeline)
    assert [d.verdict for d in decisions] == [Verdict.WAIT] * 4 + [Verdict.APPROVED]
    assert _stages(decisions) == pipeline


def test_repeated_status_is_one_stage_and_slows_polling() -> None:
    decisions = _feed(RULES, ["pending"] * 10)
    assert _stages(decisions) == ["pending"]
    intervals = [d.next_poll for d in decisions]
    assert intervals[0] == 5.0
    assert intervals[1] == 6.25 and intervals[2] > intervals[1]
    assert max(intervals) == RULES.max_interval == 20.0


def test_a_change_resets_the_interval() -> None:
    decisions = _feed(RULES, ["pending", "pending", "pending", "Downloading Files"])
    assert decisions[2].next_poll > 5.0
    assert decisions[3].next_poll == 5.0


def test_regression_is_ignored_and_noted() -> None:
    decisions = _feed(RULES, ["Downloading Files", "pending", "Approved"])
    assert _stages(decisions) == ["Downloading Files", "Approved"]
    assert decisions[1].note is not None and "out-of-order" in decisions[1].note
    assert decisions[1].status == "pending"  # recorded as seen, not staged


def test_unknown_status_is_reported_once_and_waited_on() -> None:
    decisions = _feed(RULES, ["Warming Caches", "Warming Caches", "Approved"])
    assert decisions[0].stages[0].detail == "unknown status; still waiting"
    assert decisions[1].stages == ()
    assert decisions[-1].verdict is Verdict.APPROVED


def test_reject_carries_the_objection() -> None:
    seen = start(RULES)
    decision = observe(seen, RULES, _build("Reject", "No .exe found"), now=0.0)
    assert decision.verdict is Verdict.REJECTED
    assert decision.objection == "No .exe found"


def test_missing_is_tolerated_for_the_grace_then_fails() -> None:
    rules = Rules.for_run(interval=5.0, timeout_seconds=3600)
    seen = start(rules)
    assert observe(seen, rules, None, now=0.0).verdict is Verdict.WAIT
    seen = observe(seen, rules, None, now=0.0).seen
    assert observe(seen, rules, None, now=rules.listing_grace).verdict is Verdict.WAIT
    assert observe(seen, rules, None, now=rules.listing_grace + 0.1).verdict is Verdict.MISSING


def test_missing_then_listed_resets_the_grace() -> None:
    decisions = _feed(RULES, [None, None, "pending", None], step=60.0)
    assert [d.verdict for d in decisions] == [Verdict.WAIT] * 4  # the grace counts from the last absence


def test_stale_approved_after_distribute_is_not_taken_at_once() -> None:
    decisions = _feed(AFTER_DISTRIBUTE, ["Approved", "Approved"], step=1.0)
    assert [d.verdict for d in decisions] == [Verdict.WAIT, Verdict.WAIT]
    assert _stages(decisions) == []


def test_distribute_seen_then_approved_is_live() -> None:
    decisions = _feed(AFTER_DISTRIBUTE, ["Approved", "Distribute", "Approved"])
    assert decisions[-1].verdict is Verdict.APPROVED
    assert _stages(decisions) == ["Distribute", "Approved"]


def test_stale_approved_is_accepted_after_the_settle_polls_and_seconds() -> None:
    rules = AFTER_DISTRIBUTE
    polls = int(rules.settle_seconds // 5.0) + 1
    decisions = _feed(rules, ["Approved"] * (polls + 1), step=5.0)
    first_accept = next(i for i, d in enumerate(decisions) if d.verdict is Verdict.APPROVED)
    assert first_accept * 5.0 >= rules.settle_seconds
    assert first_accept + 1 >= rules.settle_polls
    detail = decisions[first_accept].stages[0].detail
    assert detail is not None and "no Distribute stage observed" in detail


def test_short_timeouts_shorten_the_grace_and_the_settle() -> None:
    rules = Rules.for_run(interval=0.1, timeout_seconds=6.0, after_distribute=True)
    assert rules.listing_grace == 6.0 and rules.settle_seconds == 6.0
    assert rules.max_interval == 0.4


def test_a_failed_poll_backs_off() -> None:
    seen = start(RULES)
    decision = poll_failed(seen, RULES)
    assert decision.verdict is Verdict.WAIT and decision.next_poll == 6.25


def test_the_dashboard_vocabulary_is_followed_to_the_end() -> None:
    """Issue 11, case 2: dashboard labels in files[].status (docs/streampixel-api.md §8.2) map to the raw states."""
    labels = ["Queued", "Downloading", "Extracting and Scanning", "Saving to Repository"]
    labels += ["Distributing to the Servers", "Current Live Build"]
    decisions = _feed(RULES, labels)
    assert decisions[-1].verdict is Verdict.APPROVED
    assert all(stage.detail is None for d in decisions for stage in d.stages), "none is 'unknown'"


def test_validation_failed_and_failed_are_rejections_with_their_reason() -> None:
    for label in ("Validation Failed", "Failed"):
        decision = observe(start(RULES), RULES, _build(label, "Corrupt archive"), now=0.0)
        assert decision.verdict is Verdict.REJECTED and decision.objection == "Corrupt archive"


def test_an_unknown_status_with_a_reason_shows_the_reason() -> None:
    """Issue 11, case 5: an undocumented status with a reason no longer loses the reason."""
    decision = observe(start(RULES), RULES, _build("Quarantined", "Manual review required"), now=0.0)
    assert decision.verdict is Verdict.WAIT
    detail = decision.stages[0].detail
    assert detail is not None and "Manual review required" in detail


AUTO = Rules.for_run(interval=5.0, timeout_seconds=3600, expect_distribution=True)


def test_approved_before_distribute_is_not_live_yet() -> None:
    """Issue 11, case 1: the overview's order (Saving → Approved → Distribute → Approved) with autoRelease."""
    decisions = _feed(AUTO, ["Saving to Repository", "Approved", "Distribute", "Approved"])
    assert [d.verdict for d in decisions] == [Verdict.WAIT, Verdict.WAIT, Verdict.WAIT, Verdict.APPROVED]
    assert _stages(decisions) == ["Saving to Repository", "Approved", "Distribute", "Approved"]
    assert decisions[-1].distributed is True


def test_distribute_then_approved_is_live_at_once() -> None:
    decisions = _feed(AUTO, ["Saving to Repository", "Distribute", "Approved"])
    assert decisions[-1].verdict is Verdict.APPROVED and decisions[-1].distributed is True


def test_current_live_build_is_live_at_once() -> None:
    decisions = _feed(AUTO, ["Saving to Repository", "Current Live Build"])
    assert decisions[-1].verdict is Verdict.APPROVED and decisions[-1].distributed is True


def test_approved_never_distributed_ends_after_the_grace_with_live_unknown() -> None:
    assert AUTO.distribution_grace == 40.0  # 8 polls of 5 s (60 s at most)
    decisions = _feed(AUTO, ["Approved"] * 10, step=5.0)
    first = next(i for i, d in enumerate(decisions) if d.verdict is Verdict.APPROVED)
    assert first * 5.0 >= AUTO.distribution_grace
    assert decisions[first].distributed is None
    note = decisions[first].note
    assert note is not None and "whether it is live is unknown" in note
    assert _stages(decisions) == ["Approved"], "one row for the Approved, not one per poll"


def test_without_auto_release_approved_ends_at_once() -> None:
    decisions = _feed(RULES, ["Saving to Repository", "Approved"])
    assert decisions[-1].verdict is Verdict.APPROVED and decisions[-1].distributed is None


def test_a_distribution_never_seen_is_said_so() -> None:
    """Issue 11: distribute follows until the distribution is visible; a run that never sees it says so."""
    rules = AFTER_DISTRIBUTE
    decisions = _feed(rules, ["Approved"] * 20, step=5.0)
    final = next(d for d in decisions if d.verdict is Verdict.APPROVED)
    assert final.distributed is None
    seen = _feed(rules, ["Approved", "Distribute", "Approved"])
    assert seen[-1].verdict is Verdict.APPROVED and seen[-1].distributed is True


def test_a_grace_after_approved_ends_with_the_last_poll_before_the_deadline() -> None:
    """A grace after Approved is cut by the run's deadline: the poll after which none can come ends it, approved
    with live unknown, and the wait it announces ends at the deadline, not past it."""
    for rules in (
        Rules.for_run(interval=5.0, timeout_seconds=22.0, after_distribute=True, deadline=22.0),
        Rules.for_run(interval=5.0, timeout_seconds=22.0, expect_distribution=True, deadline=22.0),
    ):
        decisions = _feed(rules, ["Approved"] * 10, step=5.0)
        first = next(i for i, d in enumerate(decisions) if d.verdict is Verdict.APPROVED)
        assert first == 3, "at 15 s the next poll (backed off to 9.8 s) would come after the deadline"
        assert decisions[first].distributed is None
        assert all(d.awaiting is not None and d.awaiting.until == 22.0 for d in decisions[:first])
