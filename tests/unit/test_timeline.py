"""tests/timeline.py's report: CPU by file, the costliest tests and when each worker ran dry."""

from __future__ import annotations

from tests.timeline import report


def test_the_report_names_the_costly_file_and_the_worker_that_ran_dry_early() -> None:
    rows = [
        {"id": "tests/a.py::one", "worker": "gw0", "start": 100.0, "end": 130.0, "cpu": 25.0},
        {"id": "tests/a.py::two", "worker": "gw0", "start": 130.0, "end": 160.0, "cpu": 5.0},
        {"id": "tests/b.py::three", "worker": "gw1", "start": 100.0, "end": 110.0, "cpu": 2.0},
    ]
    text = report(rows)
    assert text.splitlines()[0] == "3 tests over 60 s, 32 s of CPU"
    assert "     30.0 s  tests/a.py" in text and "      2.0 s  tests/b.py" in text
    costly = text.split("Costliest tests (CPU, wall):\n")[1].splitlines()
    assert costly[0].endswith("tests/a.py::one")
    assert "gw1        1 tests  busy     10 s  dry at     10 s" in text
    assert "gw0        2 tests  busy     60 s  dry at     60 s" in text
