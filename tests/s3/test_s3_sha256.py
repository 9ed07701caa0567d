"""OrderedSha256 on its own: parts read by several threads, out of order and resent, hashed in file order with a
bounded look-ahead (no server needed)."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest

from streampixel_deploy.hosting.s3_sha256 import OrderedSha256, Stopped

BLOCK = 16 * 1024


def _read_part(hasher: OrderedSha256, data: bytes, start: int, end: int, rng: random.Random) -> None:
    """What one s3transfer thread does with its part: admit, read a block, feed; sometimes start over."""
    resend_at = rng.choice([None, None, start + (end - start) // 2])
    pos = start
    while pos < end:
        amount = min(rng.choice([BLOCK, 3 * BLOCK + 5, 1000]), end - pos)
        hasher.admit(pos, amount)
        hasher.feed(start, pos, data[pos : pos + amount])
        pos += amount
        if resend_at is not None and pos >= resend_at:
            resend_at, pos = None, start  # botocore resends the part: seek back to its start
        if rng.random() < 0.05:
            time.sleep(0.001)


@pytest.mark.parametrize("seed", range(6))
def test_parallel_parts_are_hashed_in_order_within_the_limit(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test schedules, not secrets
    part = 256 * 1024
    data = os.urandom(13 * part + 12345)
    limit = 2 * part
    deadline = time.monotonic() + 20  # a reader still waiting then is stuck: it stops (Stopped) instead of hanging
    hasher = OrderedSha256(len(data), limit, lambda: time.monotonic() > deadline)
    starts = list(range(0, len(data), part))
    # Like s3transfer: parts start in file order, at most `workers` at a time.
    workers = threading.Semaphore(5)
    errors: list[BaseException] = []

    def run(start: int, rng: random.Random) -> None:
        try:
            _read_part(hasher, data, start, min(start + part, len(data)), rng)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            workers.release()

    threads = []
    for start in starts:
        workers.acquire()
        thread = threading.Thread(target=run, args=(start, random.Random(rng.random())))  # noqa: S311
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(30)
    assert not errors, f"a reader waited for room that never came: {errors[0]!r}"
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    # The limit, plus one block per thread: readers admitted together may each add the block they were reading.
    assert hasher.peak_held <= limit + 6 * (3 * BLOCK + 5)


def test_no_digest_of_part_of_the_file() -> None:
    hasher = OrderedSha256(10, 100, lambda: False)
    hasher.feed(0, 0, b"01234")
    with pytest.raises(RuntimeError, match="saw 5 of 10 bytes"):
        hasher.hexdigest()
    hasher.feed(0, 5, b"56789")
    assert hasher.hexdigest() == hashlib.sha256(b"0123456789").hexdigest()


def test_a_gap_inside_a_part_is_refused() -> None:
    hasher = OrderedSha256(100, 100, lambda: False)
    hasher.feed(50, 50, b"x" * 10)
    with pytest.raises(RuntimeError, match="read 70 before 60"):
        hasher.feed(50, 70, b"y")


@pytest.mark.parametrize("how", ["abandon", "stop"])
def test_a_reader_waiting_for_the_frontier_is_released(how: str) -> None:
    """The part holding the frontier failed (abandon) or the upload is cancelled (stop): waiters stop."""
    stop, waiting = threading.Event(), threading.Event()

    def stopped() -> bool:  # looked at only by a reader that waits
        waiting.set()
        return stop.is_set()

    hasher = OrderedSha256(300, 100, stopped)
    hasher.feed(100, 100, b"a" * 100)  # part 2 read ahead: the look-ahead is full
    outcome: list[str] = []

    def reader() -> None:
        try:
            hasher.admit(200, 50)
            outcome.append("admitted")
        except Stopped:
            outcome.append("stopped")

    thread = threading.Thread(target=reader)
    thread.start()
    assert waiting.wait(5), "the reader ahead did not wait for the frontier"
    assert outcome == []  # waiting: part 1 has not been read
    if how == "abandon":
        hasher.abandon()
    else:
        stop.set()
    thread.join(2)
    assert outcome == ["stopped"]


def test_the_frontier_never_waits() -> None:
    """A read at the frontier goes although the look-ahead is full; reaching the part held ahead hashes it, which
    lets the next read go. A reader that waited would look at the stop flag: here that stops it (Stopped) instead
    of hanging the test."""
    waited: list[int] = []

    def stopped() -> bool:
        waited.append(hasher.hashed)
        return True

    hasher = OrderedSha256(300, 10, stopped)
    hasher.feed(100, 100, b"a" * 100)
    hasher.admit(0, 100)  # at the frontier: admitted at once although the look-ahead is full
    hasher.feed(0, 0, b"b" * 100)
    assert hasher.hashed == 200  # the held part was hashed when the frontier reached it
    hasher.admit(200, 100)  # so nothing is held: the last part goes at once
    hasher.feed(200, 200, b"c" * 100)
    assert waited == []
    assert hasher.hexdigest() == hashlib.sha256(b"b" * 100 + b"a" * 100 + b"c" * 100).hexdigest()


def test_a_waiting_reader_is_woken_only_when_it_can_go() -> None:
    """The frontier's own blocks are hashed as they come and free nothing held ahead: they must not wake the
    readers waiting for room (every wake-up is a context switch: some 40,000 per 4 GiB upload otherwise)."""
    checks: list[None] = []

    def stopped() -> bool:  # the waiter looks at the stop flag each time it wakes
        checks.append(None)
        waiting.set()
        return False

    waiting = threading.Event()

    hasher = OrderedSha256(300, 100, stopped)
    hasher.feed(100, 100, b"a" * 100)  # part 2 read ahead: the look-ahead is full
    admitted = threading.Event()

    def reader() -> None:
        try:
            hasher.admit(200, 50)
            admitted.set()
        except Stopped:
            pass

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert waiting.wait(5), "the reader ahead did not wait for room"
        woken_before = len(checks)
        for pos in range(99):  # part 1 read a byte at a time at the frontier: hashed at once, nothing freed
            hasher.admit(pos, 1)
            hasher.feed(0, pos, b"b")
            time.sleep(0.001)  # as a socket would: the waiter gets the chance to run
        assert not admitted.is_set()
        assert len(checks) - woken_before <= 2  # a tick may pass; not one wake-up per block
        hasher.feed(0, 99, b"b")  # the frontier reaches part 2: it is hashed and the reader can go
        assert admitted.wait(1)
    finally:
        if not admitted.is_set():
            hasher.abandon()
        thread.join(2)
    hasher.feed(200, 200, b"c" * 100)
    assert hasher.hexdigest() == hashlib.sha256(b"b" * 100 + b"a" * 100 + b"c" * 100).hexdigest()
