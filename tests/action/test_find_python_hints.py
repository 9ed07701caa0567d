"""action/find_python.py: a Python without venv or ensurepip gets advice that fits the runner's OS (issue 24)."""

from __future__ import annotations

import sys

import pytest

import find_python


@pytest.mark.parametrize(
    ("platform", "says", "never"),
    [
        ("win32", ["python.org", "actions/setup-python"], ["apt-get", "dnf", "brew"]),
        ("darwin", ["brew install python@3.12", "actions/setup-python"], ["apt-get", "dnf", "python.org"]),
        (
            "linux",
            ["apt-get install python3-venv", "dnf install python3", "actions/setup-python"],
            ["brew", "python.org"],
        ),
    ],
)
def test_a_missing_module_gets_advice_for_its_os(platform: str, says: list[str], never: list[str]) -> None:
    why = find_python.problem((3, 12, 0), ["venv", "no_such_module"], platform)
    assert why.startswith("its `no_such_module` module is missing (")
    assert all(text in why for text in says), why
    assert not any(text in why for text in never), why


def test_the_advice_is_for_the_os_it_runs_on() -> None:
    here = find_python.problem((3, 12, 0), ["no_such_module"])
    assert here == find_python.problem((3, 12, 0), ["no_such_module"], sys.platform)
    assert find_python.problem((3, 12, 0), ["no_such_module"], "freebsd14") == find_python.problem(
        (3, 12, 0), ["no_such_module"], "linux"
    )
