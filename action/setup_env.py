"""Install streampixel-deploy into a private venv for the composite action (called by ``action/launch.py``).

It runs with whatever Python 3.10+ the runner has, before any venv exists: standard library only, and it never
imports ``streampixel_deploy``. The venv lives under ``<home>/streampixel-deploy/<key>/venv``, where the key is
the package version, the Python's minor version and a sha256 of the runtime lock, the package's
sources and the base interpreter, so that a finished venv (marked by a ``ready`` file) is only reused for exactly
what it was made from. ``<home>`` is the runner's tool cache when it can be written (kept across jobs on a
self-hosted runner), else ``runner.temp`` (one job).

Two installers, both from hash-locked files:

- **uv** (the default): uv itself is installed from ``requirements/uv.txt`` (hashes required) by the Python's
  own pip, or by the pip wheel that ``ensurepip`` bundles, into ``<home>/streampixel-deploy/uv-<key>`` (kept
  with the venvs); the venv is made without pip, uv installs ``requirements/runtime.txt`` into it, and the
  package's sources are staged beside the venv and put on its path (a ``.pth`` file and a ``dist-info``).
- **pip** (the fallback, with a one-line notice, when uv cannot be installed, cannot be started or fails, or
  ``SP_INSTALLER=pip``): a venv with pip and ``pip install --require-hashes`` of the runtime lock; the sources are
  put on its path as with uv (nothing is built: no build backend to download, 5 s less here).

A venv is made in a temporary folder beside its final place and renamed into it when finished, so runners that
share a tool cache never see (or remove) each other's half-made venvs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform as platform_module
import re
import secrets
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Sequence
from pathlib import Path

ACTION_ROOT = Path(__file__).resolve().parent.parent
INSTALLERS = ("auto", "uv", "pip")
SKIP = ("__pycache__", "*.egg-info", "*.pyc")
STALE_DAYS = 30  # tool-cache entries unused this long are removed
HOME_NAME = "streampixel-deploy"

Runner = Callable[[Sequence[str]], None]
"""Runs one command and raises subprocess.CalledProcessError when it fails."""
VenvMaker = Callable[[Path, bool], None]
"""Makes a venv at the path, with pip when the flag is true."""


class SetupError(Exception):
    """The action cannot be installed; the message says why."""


def runtime_lock(action: Path) -> Path:
    """The hash-locked runtime requirements: all the venv holds besides the linked sources."""
    return action / "requirements" / "runtime.txt"


def uv_lock(action: Path) -> Path:
    return action / "requirements" / "uv.txt"


def read_version(action: Path) -> str:
    """The package version from ``src/streampixel_deploy/_version.py``, read as text (nothing is imported)."""
    path = action / "src" / "streampixel_deploy" / "_version.py"
    match = re.search(r"__version__\s*=\s*[\"']([^\"']+)", path.read_text(encoding="utf-8"))
    if not match:
        raise SetupError(f"no __version__ in {path}")
    return match.group(1)


def source_files(action: Path) -> list[Path]:
    """What ``stage_source`` copies: the files under src/ (no caches)."""
    found = [
        path
        for path in (action / "src").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        if not any(part.endswith(".egg-info") for part in path.parts)
    ]
    return sorted(found)


def interpreter_id() -> str:
    """The base interpreter a venv is made from: a venv only works with the Python it was made with."""
    return f"{sys.implementation.name}-{'.'.join(map(str, sys.version_info[:3]))}-{sys.base_prefix}"


def venv_key(action: Path, interpreter: str | None = None) -> str:
    """``<version>-py<XY>-<16 hex digits>``: a new lock, source file or interpreter gets a new venv."""
    digest = hashlib.sha256()
    digest.update(runtime_lock(action).read_bytes())
    for path in source_files(action):
        digest.update(path.relative_to(action).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update((interpreter or interpreter_id()).encode())
    minor = f"{sys.version_info[0]}{sys.version_info[1]}"
    return f"{read_version(action)}-py{minor}-{digest.hexdigest()[:16]}"


def uv_key(action: Path) -> str:
    """uv's folder: the lock's sha256 and the platform (a tool cache can hold more than one runner's)."""
    digest = hashlib.sha256(uv_lock(action).read_bytes()).hexdigest()[:16]
    return f"uv-{digest}-{sys.platform}-{platform_module.machine().lower() or 'unknown'}"


def venv_python(env_dir: Path, platform: str = sys.platform) -> Path:
    return env_dir / ("Scripts/python.exe" if platform == "win32" else "bin/python")


def site_packages(env_dir: Path, platform: str = sys.platform) -> Path:
    """The venv's site-packages (CPython's layout; the venv is made by this same interpreter)."""
    if platform == "win32":
        return env_dir / "Lib" / "site-packages"
    return env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def is_ready(root: Path, python: Path) -> bool:
    """A venv that was finished: its ``ready`` mark is written only after every install succeeded."""
    return (root / "ready").is_file() and python.is_file()


def stage_source(action: Path, stage: Path) -> None:
    """Copy the sources into ``stage`` (beside the venv, on its path), so that the action's own folder is never
    written to and a later checkout of the action cannot change a finished venv."""
    shutil.copytree(action / "src", stage / "src", ignore=shutil.ignore_patterns(*SKIP))


def link_source(action: Path, root: Path, platform: str = sys.platform) -> None:
    """Put the staged sources on the venv's path: a ``.pth`` file (relative, so the folder can be renamed) and a
    ``dist-info`` so that the package is known to ``importlib.metadata`` as installed."""
    site = site_packages(root / "venv", platform)
    version = read_version(action)
    pth = site / "streampixel_deploy.pth"
    pth.write_text(os.path.relpath(root / "source" / "src", site) + "\n", encoding="utf-8")
    info = site / f"streampixel_deploy-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: streampixel-deploy\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "INSTALLER").write_text("streampixel-deploy action\n", encoding="utf-8")
    names = [pth.name, *(f"{info.name}/{n}" for n in ("METADATA", "INSTALLER", "RECORD"))]
    (info / "RECORD").write_text("".join(f"{n},,\n" for n in names), encoding="utf-8")


def pip_commands(python: Path, action: Path) -> list[list[str]]:
    """The runtime lock into the venv with the venv's own pip, hashes required."""
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return [[*pip, "--require-hashes", "-r", str(runtime_lock(action))]]


def uv_commands(uv: Path, python: Path, action: Path) -> list[list[str]]:
    """The runtime lock into the venv, hashes required; ``--no-config``: the workspace's uv settings do not apply."""
    uv_pip = [str(uv), "pip", "install", "--quiet", "--no-config", "--python", str(python)]
    return [[*uv_pip, "--require-hashes", "-r", str(runtime_lock(action))]]


def pip_launcher(platform: str = sys.platform) -> list[str] | None:
    """How this Python runs pip: its own ``pip`` module, else the pip wheel that ensurepip bundles (a wheel runs
    as ``python pip.whl/pip``; Debian keeps them in /usr/share/python-wheels), else None."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    spec = importlib.util.find_spec("ensurepip")
    folders = [Path(spec.origin).parent / "_bundled"] if spec and spec.origin else []
    if platform != "win32":
        folders.append(Path("/usr/share/python-wheels"))
    wheels = sorted(w for folder in folders for w in folder.glob("pip-*.whl"))
    return [sys.executable, str(wheels[-1] / "pip")] if wheels else None


def uv_install_command(pip: Sequence[str], action: Path, target: Path) -> list[str]:
    options = ["--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes", "--target", str(target)]
    return [*pip, "install", *options, "-r", str(uv_lock(action))]


def uv_executable(folder: Path, platform: str = sys.platform) -> Path:
    """Where ``pip install --target`` put uv's binary: ``bin`` (``bin/uv.exe`` on Windows: ``--target`` keeps
    the wheel's ``.data/scripts`` under ``bin`` there too), or ``Scripts`` on Windows; the first that exists, so
    ask only after the install (before it, the answer is a guess)."""
    names = ["bin/uv.exe", "Scripts/uv.exe"] if platform == "win32" else ["bin/uv"]
    return next((folder / n for n in names if (folder / n).is_file()), folder / names[0])


def run_checked(argv: Sequence[str]) -> None:
    subprocess.run(list(argv), check=True)


def create_venv(env_dir: Path, with_pip: bool) -> None:
    venv.EnvBuilder(with_pip=with_pip).create(env_dir)


def _temporary(home: Path, name: str) -> Path:
    return home / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def _publish(work: Path, final: Path, python: Path) -> None:
    """Rename a finished folder into place; when another runner got there first, keep theirs."""
    (work / "ready").write_text(final.name + "\n", encoding="utf-8")
    try:
        work.rename(final)
    except OSError:
        if not is_ready(final, python):
            raise


def ensure_uv(action: Path, home: Path, *, run: Runner, platform: str, say: Callable[[str], None]) -> Path | None:
    """uv from the tool cache, else installed there from its lock; None when it cannot be had (pip then)."""
    final = home / uv_key(action)
    if is_ready(final, uv_executable(final, platform)):
        (final / "ready").touch()
        say(f"Using uv from {final}")
        return uv_executable(final, platform)
    pip = pip_launcher(platform)
    if pip is None:
        say("No pip to install uv with; using pip instead")
        return None
    shutil.rmtree(final, ignore_errors=True)
    work = _temporary(home, final.name)
    try:
        run(uv_install_command(pip, action, work))
        exe = uv_executable(work, platform)  # where pip really put it
        if not exe.is_file():
            raise SetupError(f"uv's wheel has no {exe.relative_to(work)}")
        where = exe.relative_to(work)
        _publish(work, final, final / where)
    except (subprocess.CalledProcessError, SetupError, OSError) as exc:
        say(f"uv could not be installed ({_one_line(exc)}); using pip instead")
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final / where


def _one_line(exc: BaseException) -> str:
    """An exception as one short line for a notice (an OSError's text can hold the path and a newline)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def prune(home: Path, keep: set[str], now: float | None = None, days: int = STALE_DAYS) -> list[str]:
    """Remove the tool cache's venvs and uv folders unused for ``days`` (their ``ready`` mark is touched on each
    use) and temporary folders as old; never one named in ``keep``. Returns the names removed."""
    limit = (time.time() if now is None else now) - days * 86400
    removed = []
    for entry in sorted(home.iterdir()) if home.is_dir() else []:
        if entry.name in keep or not entry.is_dir():
            continue
        mark = entry / "ready"
        try:
            used = (mark if mark.is_file() else entry).stat().st_mtime
        except OSError:
            continue
        if used < limit:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def install(
    action: Path,
    home: Path,
    *,
    installer: str = "auto",
    run: Runner = run_checked,
    make_venv: VenvMaker = create_venv,
    platform: str = sys.platform,
    say: Callable[[str], None] = print,
) -> Path:
    """Find or make the venv for this action's version, locks, sources and Python; returns its Python.

    ``home`` is ``<tool cache or runner.temp>/streampixel-deploy``. A folder without a ``ready`` mark is made
    again. When every installer fails, nothing is left behind and SetupError is raised.
    """
    if installer not in INSTALLERS:
        raise SetupError(f"SP_INSTALLER must be one of {', '.join(INSTALLERS)}, not {installer!r}")
    started = time.monotonic()
    key = venv_key(action)
    final = home / key
    python = venv_python(final / "venv", platform)
    if is_ready(final, python):
        (final / "ready").touch()
        say(f"Reusing the venv {final / 'venv'} (key {key})")
        return python
    home.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)  # an older action's half-made venv
    uv = ensure_uv(action, home, run=run, platform=platform, say=say) if installer != "pip" else None
    if uv is None and installer == "uv":
        raise SetupError("uv could not be installed (SP_INSTALLER=uv allows no fallback)")
    work = _temporary(home, key)
    try:
        try:
            used = _make(action, work, uv, run=run, make_venv=make_venv, platform=platform, say=say)
        except SetupError as exc:
            if uv is None or installer == "uv":
                raise
            say(f"{exc}; trying pip instead")
            shutil.rmtree(work, ignore_errors=True)
            used = _make(action, work, None, run=run, make_venv=make_venv, platform=platform, say=say)
        _publish(work, final, python)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"Installed with {used} in {time.monotonic() - started:.1f}s: {final / 'venv'} (key {key})")
    return python


def _make(
    action: Path,
    work: Path,
    uv: Path | None,
    *,
    run: Runner,
    make_venv: VenvMaker,
    platform: str,
    say: Callable[[str], None],
) -> str:
    """Make the venv in ``work`` with uv (when given) or pip; returns the installer's name."""
    name = "uv" if uv else "pip"
    say(f"Creating the venv with Python {sys.version.split()[0]} and {name}")
    env_dir = work / "venv"
    make_venv(env_dir, uv is None)
    python = venv_python(env_dir, platform)
    stage_source(action, work / "source")
    commands = uv_commands(uv, python, action) if uv else pip_commands(python, action)
    try:
        for argv in commands:
            run(argv)
    except subprocess.CalledProcessError as exc:
        raise SetupError(
            f"{name} exited with {exc.returncode} while installing the action's locked dependencies"
        ) from exc
    except OSError as exc:  # the installer's binary cannot be started (missing, not executable)
        if uv:  # not kept: every later job would fall back to pip
            shutil.rmtree(uv.parent.parent, ignore_errors=True)
        raise SetupError(f"{name} could not be started ({_one_line(exc)})") from exc
    link_source(action, work, platform)
    return name
