# The composite action's probe: action.yml's "Find Python" steps run it with each candidate on PATH.
#
# It accepts the Python that runs it when it is 3.10 or newer with venv and ensurepip, and then writes
# `path=<that Python>` to GITHUB_OUTPUT; otherwise it says why and exits 1, and the shell tries the next candidate
# (actions/setup-python runs when none fits). Standard library only, and written so that any Python (2.7, 3.6)
# can parse it and fail politely: no f-strings, no annotations (mypy reads the type comments), nothing on stderr.
import os
import sys

MYPY = False
if MYPY:  # only for the type checker (Python 2 has no typing module)
    from collections.abc import Mapping  # noqa: F401 (used in type comments)

MINIMUM = (3, 10)
#: How to get a Python with venv and ensurepip, by sys.platform; Linux (and any other) last.
SETUP_PYTHON = "or add actions/setup-python before this action"
HINTS = {
    "win32": "install Python from python.org, whose installer includes venv and pip, " + SETUP_PYTHON,
    "darwin": "brew install python@3.12, " + SETUP_PYTHON,
}
OTHER_HINT = "on Debian/Ubuntu: apt-get install python3-venv; on Fedora/RHEL: dnf install python3; " + SETUP_PYTHON


def problem(version, modules, platform=None):
    # type: (tuple[int, ...], list[str], str | None) -> str
    """Why this Python cannot make the action's venv ("" when it can), with what to do on ``platform``."""
    if tuple(version[:2]) < MINIMUM:
        return "Python " + ".".join(str(n) for n in version[:3]) + " is older than 3.10"
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            hint = HINTS.get(sys.platform if platform is None else platform, OTHER_HINT)
            return "its `" + name + "` module is missing (" + hint + ")"
    return ""


def main(environ=None, version=None, modules=None):
    # type: (Mapping[str, str] | None, tuple[int, ...] | None, list[str] | None) -> int
    environ = os.environ if environ is None else environ
    why = problem(version or tuple(sys.version_info[:3]), ["venv", "ensurepip"] if modules is None else modules)
    if why:
        sys.stdout.write("Skipping " + sys.executable + ": " + why + "\n")
        return 1
    output = environ.get("GITHUB_OUTPUT", "")
    if not output:
        sys.stdout.write("GITHUB_OUTPUT is not set (this script runs as a step of action.yml)\n")
        return 1
    with open(output, "a", encoding="utf-8") as fh:
        fh.write("path=" + sys.executable + "\n")
    sys.stdout.write("Using " + sys.executable + " (Python " + sys.version.split()[0] + ")\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
