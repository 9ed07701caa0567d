"""The process entry (``main()`` with no arguments) sets the collector for a short-lived process (issue 13).

Start-up made ~150 collections (~50 ms) and the interpreter's shutdown walked every object boto3 and requests made
(~100 ms), both measured in bench/bench_upload.py. Each check runs in a child process: the suite's own collector
stays as it is.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from streampixel_deploy import cli

PROBE = """
import gc, json, sys
from streampixel_deploy import cli
before = gc.get_freeze_count()  # not 0 everywhere: CPython 3.12 starts with a few hundred objects frozen
seen = {}
def fake(argv):
    seen["argv"], seen["threshold"] = argv, gc.get_threshold()
    return 3
cli._main = fake
sys.argv = ["streampixel-deploy", "projects", "--json"]
code = cli.main(%s)
print(json.dumps(dict(seen, code=code, frozen=gc.get_freeze_count() > before, after=gc.get_threshold())))
"""


def _child(argument: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % argument], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_process_entry_collects_less_and_freezes_before_exit() -> None:
    seen = _child("")
    assert seen["argv"] == ["projects", "--json"] and seen["code"] == 3
    assert seen["threshold"] == list(cli.GC_THRESHOLDS)
    assert seen["frozen"] is True  # nothing left for the shutdown's collections to walk


def test_a_caller_with_arguments_keeps_its_collector() -> None:
    seen = _child('["projects"]')
    assert seen["argv"] == ["projects"] and seen["code"] == 3
    assert seen["threshold"] == list(gc.get_threshold())
    assert seen["frozen"] is False
