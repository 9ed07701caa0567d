"""Where the suite's time goes: a pytest plugin that records each test's CPU and wall time per worker, and a report.

    scripts/test -p tests.timeline --timeline /tmp/timeline.jsonl
    .venv/bin/python -m tests.timeline /tmp/timeline.jsonl

Each worker appends one JSON line per test (its node ID, the worker, start and end times, and the CPU its process
and the children it waited for used meanwhile). The report gives the CPU by file, the costliest tests, and when each
worker ran dry: on 2 cores a suite is CPU-bound, so CPU is what to cut; a worker that ends long before the others
points at the scheduling. (Children's CPU counts when they are reaped, so a test's share can land on a neighbour.)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import resource
except ImportError:  # Windows: wall time only
    resource = None  # type: ignore[assignment]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--timeline", metavar="PATH", help="append each test's CPU and wall time to PATH (JSON lines)")


def _cpu() -> float:
    if resource is None:
        return 0.0
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    path = item.config.getoption("--timeline")
    if not path:
        yield
        return
    cpu, started = _cpu(), time.time()
    yield
    line = {
        "id": item.nodeid,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "start": started,
        "end": time.time(),
        "cpu": _cpu() - cpu,
    }
    with open(path, "a", encoding="utf-8") as fh:  # one short line per write: workers' lines do not interleave
        fh.write(json.dumps(line) + "\n")


def report(rows: list[dict[str, Any]], top: int = 15) -> str:
    """The CPU by file, the costliest tests and each worker's span, as text."""
    first = min(r["start"] for r in rows)
    last = max(r["end"] for r in rows)
    lines = [f"{len(rows)} tests over {last - first:.0f} s, {sum(r['cpu'] for r in rows):.0f} s of CPU", ""]
    by_file: Counter[str] = Counter()
    for r in rows:
        by_file[r["id"].split("::")[0]] += r["cpu"]
    lines += ["CPU by file:"] + [f"  {cpu:7.1f} s  {name}" for name, cpu in by_file.most_common(top)] + [""]
    costly = sorted(rows, key=lambda r: -r["cpu"])[:top]
    lines += ["Costliest tests (CPU, wall):"]
    lines += [f"  {r['cpu']:6.1f} s {r['end'] - r['start']:6.1f} s  {r['id']}" for r in costly] + [""]
    workers: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        workers[r["worker"]].append(r)
    lines += ["Workers (busy, ran dry at):"]
    for name, mine in sorted(workers.items()):
        busy = sum(r["end"] - r["start"] for r in mine)
        lines.append(
            f"  {name:6} {len(mine):5} tests  busy {busy:6.0f} s  dry at {max(r['end'] for r in mine) - first:6.0f} s"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.timeline PATH", file=sys.stderr)
        return 2
    text = Path(argv[0]).read_text(encoding="utf-8")
    print(report([json.loads(line) for line in text.splitlines() if line.strip()]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
