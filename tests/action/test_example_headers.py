"""Each example workflow's header names exactly the secrets and variables its jobs use (issue 12)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yml"))


def _listed(text: str, kind: str) -> set[str]:
    """The names a header line lists; a line ending in a comma goes on in the next comment line."""
    match = re.search(rf"^# {kind}: ((?:.*,\n# )*.*)$", text, re.MULTILINE)
    assert match, f"the header has no '# {kind}:' line"
    names = match.group(1).replace("\n# ", " ").split(",")
    return {name.strip() for name in names if name.strip() not in ("", "none")}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_header_lists_exactly_what_the_workflow_uses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    body = text[text.index("\nname:") :]
    used_secrets = set(re.findall(r"\bsecrets\.([A-Za-z0-9_]+)", body)) - {"GITHUB_TOKEN"}
    used_vars = set(re.findall(r"\bvars\.([A-Za-z0-9_]+)", body))
    assert _listed(text, "Secrets") == used_secrets
    assert _listed(text, "Variables") == used_vars


OWN_ACTION = re.compile(r"uses:\s*streampixel-deploy/streampixel-deploy(?:/[\w-]+)?@(\S+)(.*)$", re.MULTILINE)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_pin_a_commit_that_exists_and_lint_without_suppressions(path: Path) -> None:
    # Issue 28.1: `@v1` can never resolve (0.x releases move `v0`) and needed `zizmor: ignore` to lint. An example
    # pins a full commit SHA of this repository, with a comment saying what it is, as the README advises.
    text = path.read_text(encoding="utf-8")
    assert "zizmor: ignore" not in text
    pins = OWN_ACTION.findall(text)
    assert pins, "the example does not use the action"
    root = path.parents[1]
    shallow = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True, check=False
    )
    for ref, comment in pins:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{ref!r} is not a full commit SHA"
        assert re.match(r"\s*# (main, \d{4}-\d{2}-\d{2}|v\d+\.\d+\.\d+)$", comment), f"no version comment: {comment!r}"
        if shallow.stdout.strip() == "false":  # a shallow clone may not hold it; a full one must
            found = subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{ref}^{{commit}}"], check=False)
            assert found.returncode == 0, f"{ref} is not a commit of this repository"
