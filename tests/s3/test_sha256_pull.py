"""Issue 26: with a reader, a part that would wait for the sha256's look-ahead pulls the frontier itself (reads and
hashes the file there) instead of idling its connection until the part holding the frontier catches up."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest

from streampixel_deploy.hosting.s3_sha256 import PULL_BLOCK, OrderedSha256

BLOCK = 16 * 1024


def test_a_stalled_frontier_does_not_stop_the_parts_ahead() -> None:
    """The part holding the frontier sends nothing for a while (a slow connection): the parts ahead, with room for
    one part in the look-ahead, still read to their ends at once; the digest is the file's."""
    part = 256 * 1024
    data = os.urandom(6 * part)
    reads: list[tuple[int, int]] = []

    def reader(pos: int, count: int) -> bytes:
        reads.append((pos, count))
        return data[pos : pos + count]

    hasher = OrderedSha256(len(data), part, lambda: False, reader)
    stalled = threading.Event()

    def frontier_part() -> None:  # part 1 reads one block, then stalls until the others are done
        hasher.admit(0, BLOCK)
        hasher.feed(0, 0, data[:BLOCK])
        stalled.wait(10)
        for pos in range(BLOCK, part, BLOCK):
            hasher.admit(pos, BLOCK)
            hasher.feed(0, pos, data[pos : pos + BLOCK])

    first = threading.Thread(target=frontier_part)
    first.start()
    started = time.monotonic()
    for start in range(part, len(data), part):  # parts 2-6, one after another, while part 1 stalls
        for pos in range(start, start + part, BLOCK):
            hasher.admit(pos, BLOCK)
            hasher.feed(start, pos, data[pos : pos + BLOCK])
    took = time.monotonic() - started
    stalled.set()
    first.join(10)
    assert took < 1.0, f"the parts ahead waited {took:.1f} s for the stalled frontier"
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    assert reads and hasher.pulled >= part - BLOCK  # the stalled part's bytes were read again, from the file
    assert hasher.peak_held <= part + PULL_BLOCK  # the look-ahead, and one pulled block on its way to the hash


@pytest.mark.parametrize("seed", range(4))
def test_parallel_parts_with_pulls_hash_the_file_in_order(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test schedules, not secrets
    part = 128 * 1024
    data = os.urandom(17 * part + 999)
    hasher = OrderedSha256(len(data), part, lambda: False, lambda pos, n: data[pos : pos + n])
    workers = threading.Semaphore(6)
    errors: list[BaseException] = []

    def run(start: int, rng: random.Random) -> None:
        try:
            end = min(start + part, len(data))
            pos = start
            resend = rng.random() < 0.2
            while pos < end:
                amount = min(rng.choice([BLOCK, 3 * BLOCK + 5, 1000]), end - pos)
                hasher.admit(pos, amount)
                hasher.feed(start, pos, data[pos : pos + amount])
                pos += amount
                if resend and pos > start + part // 2:
                    resend, pos = False, start
                if rng.random() < 0.1:
                    time.sleep(rng.random() * 0.003)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            workers.release()

    threads = []
    for start in range(0, len(data), part):
        workers.acquire()
        thread = threading.Thread(target=run, args=(start, random.Random(rng.random())))  # noqa: S311
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(30)
    assert not errors
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()
