"""Install streampixel-deploy into a private venv for the composite action (action.yml's `install` step).

It runs with whatever Python 3.10+ the runner has, before any venv exists: standard library only, and it never
imports ``streampixel_deploy``. The venv lives under ``$SP_VENV_ROOT/streampixel-deploy/<key>/venv`` where the
key is the package version plus the sha256 of the runtime and build locks, and is reused when a finished one
(marked by a ``ready`` file) is there, for example a deploy step followed by a distribute step in one job.

Environment (mapped in action.yml): ``SP_VENV_ROOT`` (``runner.temp``), ``GITHUB_OUTPUT`` (gets
``python=<venv python>``), ``GITHUB_STEP_SUMMARY`` (optional; says why when the install fails).
The action's folder is the parent of this file's folder; it is only read, never written to.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parent.parent
# What the package build needs from the action's folder besides src/ (pyproject.toml names the readme and license).
BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE")

Runner = Callable[[Sequence[str]], None]
"""Runs one command and raises subprocess.CalledProcessError when it fails."""


class SetupError(Exception):
    """The action cannot be installed; the message says why."""


def locks(action: Path) -> tuple[Path, Path]:
    """The hash-locked runtime and build requirements, in the order pip gets them."""
    return action / "requirements" / "runtime.txt", action / "requirements" / "build.txt"


def read_version(action: Path) -> str:
    """The package version from ``src/streampixel_deploy/_version.py``, read as text (nothing is imported)."""
    path = action / "src" / "streampixel_deploy" / "_version.py"
    match = re.search(r"__version__\s*=\s*[\"']([^\"']+)", path.read_text(encoding="utf-8"))
    if not match:
        raise SetupError(f"no __version__ in {path}")
    return match.group(1)


def venv_key(action: Path) -> str:
    """``<version>-<first 16 hex digits of sha256(runtime lock + build lock)>``: a new lock gets a new venv."""
    digest = hashlib.sha256(b"".join(lock.read_bytes() for lock in locks(action))).hexdigest()
    return f"{read_version(action)}-{digest[:16]}"


def venv_python(env_dir: Path, platform: str = sys.platform) -> Path:
    return env_dir / ("Scripts/python.exe" if platform == "win32" else "bin/python")


def is_ready(root: Path, python: Path) -> bool:
    """A venv that a previous run finished: its ``ready`` mark is written only after every install succeeded."""
    return (root / "ready").is_file() and python.is_file()


def stage_source(action: Path, stage: Path) -> None:
    """Copy what the package build reads into ``stage``, so that the action's own folder is never written to."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(action / "src", stage / "src", ignore=ignore)
    for name in BUILD_FILES:
        if (action / name).is_file():
            shutil.copy2(action / name, stage / name)


def pip_commands(python: Path, action: Path, stage: Path) -> list[list[str]]:
    """The locked dependencies (hashes required), then the package itself without resolving anything more."""
    runtime, build = locks(action)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    return [
        [*pip, "--require-hashes", "-r", str(runtime), "-r", str(build)],
        [*pip, "--no-deps", "--no-build-isolation", str(stage)],
    ]


def run_checked(argv: Sequence[str]) -> None:
    subprocess.run(list(argv), check=True)


def create_venv(env_dir: Path) -> None:
    venv.EnvBuilder(with_pip=True).create(env_dir)


def install(
    action: Path,
    venv_root: Path,
    *,
    run: Runner = run_checked,
    make_venv: Callable[[Path], None] = create_venv,
    platform: str = sys.platform,
    say: Callable[[str], None] = print,
) -> Path:
    """Find or create the venv for this action's version and locks; returns its Python.

    A half-made venv (no ``ready`` mark) is removed and made again. When pip fails, the venv's folder is removed
    and SetupError is raised.
    """
    started = time.monotonic()
    key = venv_key(action)
    root = venv_root / "streampixel-deploy" / key
    env_dir = root / "venv"
    python = venv_python(env_dir, platform)
    if is_ready(root, python):
        say(f"Reusing the venv {env_dir} (key {key})")
        return python
    shutil.rmtree(root, ignore_errors=True)
    say(f"Creating the venv {env_dir} (key {key}) with Python {sys.version.split()[0]}")
    make_venv(env_dir)
    stage = root / "source"
    stage_source(action, stage)
    try:
        for argv in pip_commands(python, action, stage):
            run(argv)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise SetupError(f"pip exited with {exc.returncode} while installing the action's locked dependencies") from exc
    (root / "ready").write_text(key + "\n", encoding="utf-8")
    say(f"Installed in {time.monotonic() - started:.1f}s")
    return python


def report_failure(why: str, summary: str | None, say: Callable[[str], None] = print) -> None:
    """An error annotation, and the same reason in the job summary (when the runner gives one)."""
    say(f"::error title=streampixel-deploy could not be installed::{why}; see the log above.")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(f"## ❌ Streampixel deploy: not run\n\n{why} (is PyPI reachable from this runner?).\n")


def main(
    environ: Mapping[str, str] = os.environ,
    action: Path = ACTION_ROOT,
    *,
    run: Runner = run_checked,
    make_venv: Callable[[Path], None] = create_venv,
) -> int:
    try:
        venv_root = Path(environ["SP_VENV_ROOT"])
        output = environ["GITHUB_OUTPUT"]
    except KeyError as exc:
        report_failure(f"{exc.args[0]} is not set (this script runs as a step of action.yml)", None)
        return 1
    try:
        python = install(action, venv_root, run=run, make_venv=make_venv)
    except SetupError as exc:
        report_failure(str(exc), environ.get("GITHUB_STEP_SUMMARY"))
        return 1
    with open(output, "a", encoding="utf-8") as fh:
        fh.write(f"python={python}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
