"""The composite action's run step: install (or reuse) the private venv, then run ``streampixel-deploy action``.

action.yml runs it with the Python that its "Find Python" step found (or actions/setup-python gave), from ``sh``
on Linux and macOS and from Windows PowerShell on Windows, so that no runner needs bash. Standard library only.

Environment (mapped in action.yml): ``SP_VENV_ROOT`` (``runner.temp``), ``SP_TOOL_CACHE`` (``runner.tool_cache``:
where the venv is kept across jobs when it can be written), ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, the
``INPUT_*`` variables (passed on to the program untouched) and, from the job, ``SP_INSTALLER`` (``auto``, ``uv``
or ``pip``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import setup_env

Executor = Callable[[Sequence[str], Mapping[str, str]], int]
INSTALL_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_ROOT_USER_ACTION": "ignore"}


def home(environ: Mapping[str, str]) -> tuple[Path, bool]:
    """Where venvs live: ``<tool cache>/streampixel-deploy`` when the runner has a tool cache that can be written
    (kept across jobs on self-hosted runners), else ``<runner.temp>/streampixel-deploy`` (this job). The flag says
    whether it is the tool cache. An empty variable is an unset one (never the working directory: that is the
    user's workspace). Raises KeyError when neither is given."""
    cache = environ.get("SP_TOOL_CACHE", "")
    if cache:
        folder = Path(cache) / setup_env.HOME_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            return folder, True
        except OSError:
            pass
    temp = environ.get("SP_VENV_ROOT", "")
    if not temp:
        raise KeyError("SP_VENV_ROOT")
    return Path(temp) / setup_env.HOME_NAME, False


def merge_stderr() -> None:
    """Send this process's stderr (and its children's) to stdout. Windows PowerShell turns a native command's
    stderr lines into error records; with the runner's ``$ErrorActionPreference = 'stop'`` the first warning pip
    or the program prints would end the step."""
    sys.stderr.flush()
    os.dup2(sys.stdout.fileno(), sys.stderr.fileno())


def execute(argv: Sequence[str], env: Mapping[str, str], platform: str = sys.platform) -> int:
    """Run the program and return its exit code. On POSIX the program replaces this process (``exec``), so the
    runner's signals reach it directly; on Windows it runs as a child, waited for even after Ctrl+C or Ctrl+Break
    (the console sends the events to the child too, and the child ends the run itself: outputs, summary, exit
    code; by default Ctrl+Break would end this process at once and the step with it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if platform != "win32":
        os.execve(argv[0], list(argv), dict(env))  # noqa: S606 (the argv is ours, no shell)
    child = subprocess.Popen(list(argv), env=dict(env))
    if hasattr(signal, "SIGBREAK"):  # Ctrl+Break (the runner's second event) reaches the child too: wait for it
        signal.signal(signal.SIGBREAK, signal.SIG_IGN)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


PYPI_HINT = "is PyPI reachable from this runner?"


def report_failure(
    why: str, environ: Mapping[str, str], hint: str = PYPI_HINT, say: Callable[[str], None] = print
) -> None:
    """An error annotation, the reason in the job summary, and ``result=failed`` (as a run of the program that
    failed before any verdict would write). Every way launch.py fails goes through here."""
    say(f"::error title=streampixel-deploy could not be installed::{why}; see the log above.")
    for name, text in (
        ("GITHUB_STEP_SUMMARY", f"## ❌ Streampixel deploy: not run\n\n{why} ({hint}).\n"),
        ("GITHUB_OUTPUT", "result=failed\n"),
    ):
        path = environ.get(name)
        if path:
            try:
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError as exc:  # the annotation above is still in the log
                say(f"Could not write {name} ({exc})")


def main(
    environ: Mapping[str, str] = os.environ,
    action: Path = setup_env.ACTION_ROOT,
    *,
    platform: str = sys.platform,
    run: setup_env.Runner = setup_env.run_checked,
    make_venv: setup_env.VenvMaker = setup_env.create_venv,
    executor: Executor = execute,
) -> int:
    try:
        folder, shared = home(environ)
    except KeyError as exc:
        hint = "the step's env in action.yml maps it from runner.temp"
        report_failure(f"{exc.args[0]} is not set (this script runs as a step of action.yml)", environ, hint)
        return 1
    print("::group::Install streampixel-deploy", flush=True)
    installer = environ.get("SP_INSTALLER", "auto").strip().lower() or "auto"
    try:
        python = setup_env.install(action, folder, installer=installer, run=run, make_venv=make_venv, platform=platform)
        if shared:
            keep = {setup_env.venv_key(action), setup_env.uv_key(action)}
            for name in setup_env.prune(folder, keep):
                print(f"Removed {folder / name} (unused for {setup_env.STALE_DAYS} days)")
    except (setup_env.SetupError, OSError) as exc:
        print("::endgroup::", flush=True)
        report_failure(str(exc), environ)
        return 1
    except Exception as exc:  # a bug here must still end in result=failed, not in a bare traceback
        traceback.print_exc(file=sys.stdout)
        print("::endgroup::", flush=True)
        report_failure(f"{type(exc).__name__}: {exc}", environ, "a bug in action/launch.py: please report it")
        return 1
    print("::endgroup::", flush=True)
    try:
        return executor([str(python), "-m", "streampixel_deploy", "action"], dict(environ))
    except OSError as exc:  # the venv's Python cannot be started (only the program reports after this point)
        (python.parents[2] / "ready").unlink(missing_ok=True)  # the next run makes this venv again
        report_failure(f"{python} could not be started ({exc})", environ, "the next run makes the venv again")
        return 1


if __name__ == "__main__":
    if sys.platform == "win32":
        merge_stderr()
    for name, value in INSTALL_ENV.items():  # for pip and uv, which inherit this environment
        os.environ.setdefault(name, value)
    sys.exit(main())
