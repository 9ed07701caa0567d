"""Each example workflow's header names exactly the secrets and variables its jobs use (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yml"))


def _listed(text: str, kind: str) -> set[str]:
    match = re.search(rf"^# {kind}: (.*)$", text, re.MULTILINE)
    assert match, f"the header has no '# {kind}:' line"
    return {name.strip() for name in match.group(1).split(",") if name.strip() not in ("", "none")}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_header_lists_exactly_what_the_workflow_uses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    body = text[text.index("\nname:") :]
    used_secrets = set(re.findall(r"\bsecrets\.([A-Za-z0-9_]+)", body)) - {"GITHUB_TOKEN"}
    used_vars = set(re.findall(r"\bvars\.([A-Za-z0-9_]+)", body))
    assert _listed(text, "Secrets") == used_secrets
    assert _listed(text, "Variables") == used_vars
