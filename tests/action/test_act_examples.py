"""Every example workflow rehearses green in a real Actions runner (nektos/act, self-hosted mode, no Docker) with the
repository variable ``STREAMPIXEL_API_URL=emulator`` (issue 28 item 3): ``examples/rollback.yml`` with its default
``previous`` included, and deploy-then-rollback in one job (``examples/rehearse.yml``).

The examples run as a user copies them, with four stand-ins for what this machine cannot reach: the action itself
(``--local-repository`` pointing the pinned ``streampixel-deploy/streampixel-deploy@<sha>`` at a snapshot of this
working tree), ``actions/checkout`` (copies the snapshot into the workspace), ``actions/upload-artifact`` and
``actions/download-artifact`` (a folder shared by the jobs), and, in the two release workflows, the Unreal Engine
packaging step, replaced by the synthetic build of ``streampixel-deploy demo --make-build`` (no UE here). Nothing else
of an example is changed. Each run takes 20-90 s (the first one installs the action's venv; the others reuse it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streampixel_deploy.emulator.seeding import LIVE_ID, PREVIOUS_ID

from .conftest import ROOT, load, runner_env, tool
from .test_act import ACT_TIMEOUT, STAND_IN, _snapshot, run_act

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(ACT_TIMEOUT + 60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="act's self-hosted mode is exercised on Linux"),
]

OWN_ACTION = re.compile(r"uses:\s*(streampixel-deploy/streampixel-deploy@[0-9a-f]{40})")
UPLOAD_ID = r"[0-9a-f]{24}"

CHECKOUT = """\
name: checkout stand-in
description: act cannot fetch actions/checkout; copy the snapshot of the repository ($SRC_REPO) instead.
inputs:
  persist-credentials: {description: unused}
  lfs: {description: unused}
runs:
  using: composite
  steps:
    - shell: bash
      run: cp -a "$SRC_REPO"/. "$GITHUB_WORKSPACE"/
"""
UPLOAD = """\
name: upload-artifact stand-in
description: keeps the artifact in $ARTIFACTS_DIR/<name> (a single folder uploads its contents, as GitHub's does)
inputs:
  name: {description: artifact name}
  path: {description: a folder or a glob of files}
  if-no-files-found: {description: unused}
  retention-days: {description: unused}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", FROM: "${{ inputs.path }}"}
      run: |
        set -euo pipefail
        mkdir -p "$ARTIFACTS_DIR/$NAME"
        if [ -d "$FROM" ]; then cp -a "$FROM"/. "$ARTIFACTS_DIR/$NAME"/; else cp -a $FROM "$ARTIFACTS_DIR/$NAME"/; fi
"""
DOWNLOAD = """\
name: download-artifact stand-in
description: copies $ARTIFACTS_DIR/<name> into path
inputs:
  name: {description: artifact name}
  path: {description: where to put it}
runs:
  using: composite
  steps:
    - shell: bash
      env: {NAME: "${{ inputs.name }}", TO: "${{ inputs.path }}"}
      run: mkdir -p "$TO" && cp -a "$ARTIFACTS_DIR/$NAME"/. "$TO"/
"""
#: The Unreal Engine packaging step of the release examples (Windows, RunUAT): the synthetic build instead.
UE_STEP = re.compile(r"      - name: Package \(BuildCookRun\)\n.*?(?=      - uses: actions/upload-artifact)", re.DOTALL)
SYNTHETIC = """\
      - name: Package (stand-in for BuildCookRun, the synthetic build)
        shell: bash
        run: |
          "$SP_TEST_PYTHON" -m streampixel_deploy demo --make-build dist/Windows
          cd dist/Windows && "$SP_TEST_PYTHON" -m zipfile -c "$GITHUB_WORKSPACE/MyGame-$GITHUB_REF_NAME.zip" *
"""


@dataclass(frozen=True)
class Example:
    event: str
    payload: dict[str, object]
    jobs: int
    #: regular expressions the log must match (after act's colours are removed)
    shows: tuple[str, ...]


EXAMPLES = {
    "rehearse.yml": Example(
        "workflow_dispatch",
        {},
        1,
        (
            rf"Rehearsal approved - upload {UPLOAD_ID}, \d+ bytes, sha256 [0-9a-f]{{64}}, rollback target {LIVE_ID}",
            rf"Rehearsed rollback: {LIVE_ID} is live again",
        ),
    ),
    "rollback.yml": Example(
        "workflow_dispatch",
        {"inputs": {"upload-id": "previous"}},
        1,
        (rf"Live build is now {PREVIOUS_ID} \(Approved\)",),
    ),
    "release-on-tag.yml": Example(
        "push",
        {"ref": "refs/tags/v1.2.3"},
        2,
        (rf"result=approved upload-id={UPLOAD_ID} \(roll back to {LIVE_ID} with the rollback workflow\)",),
    ),
    "manual-release.yml": Example(
        "workflow_dispatch",
        {},
        3,
        (rf"Rehearsal: build {UPLOAD_ID} is not in this job's emulator", r"distributed and live"),
    ),
    "on-streampixel-approved.yml": Example(
        "repository_dispatch",
        {
            "action": "streampixel.build.approved",
            "client_payload": {
                "event": "build.approved",
                "projectId": "67944b8a3f323be4b89a2272",
                "uploadId": "6650b0000000000000000042",
                "status": "Approved",
                "projectName": "Showroom",
                "deliveryId": "d-1",
            },
        },
        1,
        (r"Build 6650b0000000000000000042 is approved; run your smoke tests",),
    ),
}


@dataclass(frozen=True)
class Lab:
    repo: Path
    cache: Path
    artifacts: Path
    stand_ins: dict[str, Path]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A snapshot of the working tree (with the synthetic build rehearse.yml expects), the stand-ins and one cache
    for the act runs of this module (the first installs the action's venv; the others reuse it)."""
    if shutil.which("git") is None:
        pytest.skip("git is not on PATH (act reads the event's commit from a git repository)")
    base = tmp_path_factory.mktemp("act-examples")
    repo, cache, artifacts = base / "repo", base / "cache", base / "artifacts"
    for folder in (repo, cache, artifacts):
        folder.mkdir()
    _snapshot(repo)
    subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "demo", "--make-build", str(repo / "Build" / "Windows")],
        check=True,
        capture_output=True,
    )
    git = ["git", "-c", "user.name=act test", "-c", "user.email=act@example.invalid", "-c", "commit.gpgsign=false"]
    for argv in (["add", "-A"], ["commit", "-q", "-m", "synthetic build"], ["tag", "v1.2.3"]):
        subprocess.run([*git, *argv], cwd=repo, check=True, capture_output=True)
    stand_ins = {}
    for name, text in {"checkout": CHECKOUT, "upload": UPLOAD, "download": DOWNLOAD, "setup-python": STAND_IN}.items():
        (base / name).mkdir()
        (base / name / "action.yml").write_text(text, encoding="utf-8")
        stand_ins[name] = base / name
    yield Lab(repo, cache, artifacts, stand_ins)
    shutil.rmtree(base, ignore_errors=True)


def _local_repositories(text: str, lab: Lab) -> list[str]:
    """``--local-repository`` for every remote action the example (and action.yml) uses."""
    pairs = dict.fromkeys(OWN_ACTION.findall(text), lab.repo)
    for step in load(ROOT / "action.yml")["runs"]["steps"]:
        if str(step.get("uses", "")).startswith("actions/setup-python@"):
            pairs[step["uses"]] = lab.stand_ins["setup-python"]
    for ref in re.findall(r"uses:\s*(actions/[\w-]+@[0-9a-f]{40})", text):
        kind = ref.split("/")[1].split("@")[0]
        pairs[ref] = lab.stand_ins[{"upload-artifact": "upload", "download-artifact": "download"}.get(kind, kind)]
    argv = []
    for ref, folder in pairs.items():
        argv += ["--local-repository", f"{ref}={folder}"]
    return argv


def _act(lab: Lab, name: str, example: Example) -> str:
    text = (ROOT / "examples" / name).read_text(encoding="utf-8")
    workflow = lab.repo / ".github" / "act-examples" / name
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(UE_STEP.sub(SYNTHETIC, text), encoding="utf-8")
    event = workflow.with_suffix(".event.json")
    event.write_text(json.dumps(example.payload), encoding="utf-8")
    argv = [
        tool("act"),
        example.event,
        "--workflows",
        str(workflow.relative_to(lab.repo)),
        "--eventpath",
        str(event),
        "-P",
        "ubuntu-latest=-self-hosted",
        "-P",
        "windows-latest=-self-hosted",
        "--var",
        "STREAMPIXEL_API_URL=emulator",
        "--env",
        f"SRC_REPO={lab.repo}",
        "--env",
        f"ARTIFACTS_DIR={lab.artifacts}",
        "--env",
        f"SP_TEST_PYTHON={sys.executable}",
        "--no-cache-server",
        *_local_repositories(text, lab),
    ]
    env = runner_env(XDG_CACHE_HOME=str(lab.cache), NO_COLOR="1")
    return re.sub(r"\x1b\[[0-9;]*m", "", run_act(argv, lab.repo, env))


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_example_rehearses_green_under_act(lab: Lab, name: str) -> None:
    example = EXAMPLES[name]
    log = _act(lab, name, example)
    assert log.count("Job succeeded") == example.jobs and "Job failed" not in log, log[-8000:]
    for pattern in example.shows:
        assert re.search(pattern, log), f"{pattern!r} not in the log of {name}:\n{log[-8000:]}"
    assert "Rehearsal: an embedded Streampixel emulator took this run" in log


def test_every_example_is_rehearsed() -> None:
    assert sorted(EXAMPLES) == sorted(p.name for p in (ROOT / "examples").glob("*.yml"))
