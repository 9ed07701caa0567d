"""The command line: ``streampixel-deploy <command>``.

Settings come from flags, then ``STREAMPIXEL_*`` environment variables, then defaults (see config.SPECS).
"""

from __future__ import annotations

import argparse
import difflib
import gc
import json
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from streampixel_deploy import _version
from streampixel_deploy.core.errors import EXIT_CANCELLED, EXIT_INPUT, Cancelled, StreampixelDeployError
from streampixel_deploy.core.redact import SECRETS, scrub
from streampixel_deploy.settings.spec import read_secret_file
from streampixel_deploy.settings.table import SPECS, build_settings, collect_env
from streampixel_deploy.signals import GRACE, cancellation

if TYPE_CHECKING:
    from streampixel_deploy.api.models import Result

_RUN_COMMANDS = ("deploy", "distribute", "status", "test-webhook")
_ACCOUNT_SETTINGS = ("api-key", "user-id", "project-id", "api-url", "http-timeout-seconds", "summary")
_DESCRIPTIONS = {
    "deploy": "Validate, host and submit a build, then follow it to Approved/Reject.",
    "distribute": "Make an approved build live (release or roll back): an ID, 'latest' or 'previous'.",
    "status": "Show one build, or the project's builds newest first.",
    "projects": "List the user's projects.",
    "test-webhook": "Ask Streampixel to send a test webhook to the project's webhook URL.",
    "emulator": "Run the local Streampixel API emulator.",
    "demo": "Run a full deploy against an embedded emulator (no account needed).",
    "action": "Run as a GitHub Action step (reads INPUT_* variables).",
    "relay": "Forward Streampixel webhooks to GitHub repository_dispatch (see docs/relay.md).",
}


class _Parser(argparse.ArgumentParser):
    """argparse that names the nearest command for a typo (``deploi``: did you mean deploy?)."""

    def error(self, message: str) -> NoReturn:
        typed = re.search(r"invalid choice: '([^']*)'", message)
        if typed:
            choices = re.findall(r"'([^']*)'", message[typed.end() :])
            message += _did_you_mean(typed.group(1), choices)
        super().error(message)


def _did_you_mean(typed: str, candidates: Sequence[str]) -> str:
    near = difflib.get_close_matches(typed, candidates, n=1, cutoff=0.6)
    return f"; did you mean {near[0]}?" if near else ""


def _refuse_unknown(parser: argparse.ArgumentParser, command: str, extra: list[str]) -> NoReturn:
    """End like argparse for arguments the command does not take, naming the nearest flag of that command."""
    command_parser: argparse.ArgumentParser = next(
        action.choices[command] for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    flags = [option for action in command_parser._actions for option in action.option_strings]
    hints = "".join(_did_you_mean(arg.split("=", 1)[0], flags) for arg in extra if arg.startswith("-"))
    command_parser.error(f"unrecognized arguments: {' '.join(extra)}{hints}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="streampixel-deploy",
        description="Deploy packaged Unreal Engine builds to Streampixel.",
        epilog="Exit codes: 0 success, 1 failed, 2 invalid input or configuration (a wrong key and missing credentials "
        "included), 3 timed out, 130 cancelled.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version.__version__}")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks and debug lines.")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND", required=True)
    for name, text in _DESCRIPTIONS.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="Show tracebacks.")
        if name in (*_RUN_COMMANDS, "projects"):
            _add_setting_flags(p, name)
        if name == "emulator":
            p.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
            p.add_argument("--port", type=int, default=0, help="Port (default 0: a free port).")
            p.add_argument("--config", help="YAML file with users, projects and timings.")
            p.add_argument(
                "--profile",
                help="A reading of the disputed docs: default, strict or legacy (see docs/emulator.md); "
                "replaces the config file's profile, whose explicit settings still win.",
            )
            p.add_argument(
                "--control",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="Serve the /_emulator/ control surface (default: only on a loopback --host).",
            )
        if name == "demo":
            p.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
            p.add_argument(
                "--make-build",
                metavar="DIR",
                help="Only write the demo's synthetic packaged build (a folder shaped like UE's Windows output) "
                "into DIR, for a rehearsal's build-dir, and exit.",
            )
    return parser


def _add_setting_flags(p: argparse.ArgumentParser, command: str) -> None:
    for spec in SPECS:
        if spec.name == "command":
            continue
        if command in ("projects", "test-webhook") and spec.name not in _ACCOUNT_SETTINGS:
            continue
        default_text = f" (default {spec.default})" if spec.default is not None else ""
        text = f"{spec.help}{default_text} [env {spec.env}]"
        if spec.kind == "bool":  # --dry-run, --dry-run=false, --dry-run false, --no-dry-run
            p.add_argument(spec.flag, dest=spec.attr, nargs="?", const="true", metavar="true|false", help=text)
            p.add_argument(
                f"--no-{spec.name}", dest=spec.attr, action="store_const", const="false", help=argparse.SUPPRESS
            )
        else:
            p.add_argument(spec.flag, dest=spec.attr, help=text)
    for spec in SPECS:
        if spec.kind == "secret" and any(a.dest == spec.attr for a in p._actions):
            p.add_argument(spec.file_flag, dest=f"{spec.attr}_file", help=f"Read {spec.name} from this file.")
    p.add_argument("--json", action="store_true", help="Print the result as one JSON object.")


def _raw_settings(args: argparse.Namespace) -> dict[str, str | None]:
    """Flags over ``STREAMPIXEL_*`` variables; secrets also from ``--<name>-file`` (flags warn: ps shows them)."""
    raw: dict[str, str | None] = dict(collect_env(os.environ))
    for spec in SPECS:
        value = getattr(args, spec.attr, None)
        if value is not None:
            raw[spec.name] = value
        if spec.kind != "secret":
            continue
        key_file = getattr(args, spec.attr + "_file", None)
        if value:
            SECRETS.add(value)
            print(
                f"warning: {spec.flag} is visible to other users in the process list; prefer "
                f"{spec.env} or {spec.file_flag}.",
                file=sys.stderr,
            )
        elif key_file:
            raw[spec.name] = read_secret_file(spec, key_file)
        SECRETS.add(raw.get(spec.name))
    return raw


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; with no ``argv`` it is the process's own entry point (console script, ``python -m``, the action,
    the container), which also sets the garbage collector for a short-lived process (``GC_THRESHOLDS``)."""
    if argv is not None:
        return _main(list(argv))
    gc.set_threshold(*GC_THRESHOLDS)
    code = _main(sys.argv[1:])
    # The process ends next. The collections the interpreter runs while it shuts down would walk every object
    # requests and boto3 made, for nothing: the memory goes back to the OS anyway. Frozen objects are skipped;
    # atexit handlers still run and open files are still flushed and closed.
    gc.freeze()
    return code


#: The collector's thresholds for a CLI process (Python's are 700, 10, 10). Start-up makes a great many long-lived
#: objects (requests, boto3 and the S3 model) and almost no cyclic garbage: at 700 the collector would walk them
#: again and again while the run starts, finding nothing. The transfer's data is bytes, which the collector does not
#: track, so a later collection is as rare as before. Cycles are still collected, in bounded batches (a long wait or
#: the relay).
GC_THRESHOLDS = (50_000, 20, 100)


def _main(argv: list[str]) -> int:
    if argv[:1] == ["relay"]:  # the relay has its own flags (see relay.main)
        from streampixel_deploy.relay import relay_main

        return relay_main(argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _refuse_unknown(parser, args.cmd, extra)
    debug = bool(args.debug) or os.environ.get("RUNNER_DEBUG") == "1"
    if args.cmd == "action":
        from streampixel_deploy.action import run_action

        code: int = run_action()
        return code
    if args.cmd == "emulator":
        return _emulator(args)
    if args.cmd in _RUN_COMMANDS:
        return _failed(args, debug, lambda: _run(args, debug))
    with cancellation(_cleaning_up) as cancel:
        try:
            return _failed(args, debug, lambda: _other(args, cancel))
        except (Cancelled, KeyboardInterrupt):  # the signal landed while reporting an error
            print("Cancelled.", file=sys.stderr)
            return EXIT_CANCELLED


def _cleaning_up(reason: str) -> None:
    print(f"{reason} Cleaning up (at most {GRACE:g}s).", file=sys.stderr, flush=True)


def _failed(args: argparse.Namespace, debug: bool, run: Callable[[], int]) -> int:
    """``run()``, with any error it raises reported as one line (and one JSON object with --json)."""
    try:
        return run()
    except StreampixelDeployError as exc:
        error: StreampixelDeployError = exc
    except KeyboardInterrupt:
        error = Cancelled("Cancelled.")
    except Exception as exc:
        from streampixel_deploy.run.execute import unexpected

        error = unexpected(exc)
        if debug:
            traceback.print_exc()
    message = scrub(error.message)  # plain words; the class name only with --debug
    if debug:
        print(f"{type(error).__name__}: {message}", file=sys.stderr)
    else:
        print(message, file=sys.stderr)
    return _json_failure(args, error.exit_code, message)


def _refused(args: argparse.Namespace, debug: bool, result: Result) -> int:
    """A run whose settings were refused: its message on stderr (and one JSON object with --json)."""
    print(scrub(result.message), file=sys.stderr)
    if debug and result.traceback:
        print(result.traceback, file=sys.stderr)
    return _json_failure(args, result.exit_code, scrub(result.message))


def _json_failure(args: argparse.Namespace, code: int, message: str) -> int:
    if getattr(args, "json", False):  # one JSON object on every path
        _print_json({"command": args.cmd, "result": "failed", "exitCode": code, "message": message})
    return code


def _run(args: argparse.Namespace, debug: bool) -> int:
    """A run command (deploy, distribute, status, test-webhook): its lifecycle, then the result on stdout."""
    from streampixel_deploy.lifecycle import RunLifecycle, publisher_for
    from streampixel_deploy.report.terminal import TerminalReporter

    raw = _raw_settings(args)
    reporter = TerminalReporter(sys.stderr, debug=debug)
    life = RunLifecycle(raw, args.cmd, reporter, publisher_for(raw), debug=debug, environ=os.environ)
    with cancellation(life.first_signal, event=life.cancel):
        try:
            result = life.run()
            if not life.started:  # the settings were refused: one line, as for any refused command line
                return _refused(args, debug, result)
            _print_result(args, debug, result)
        except (Cancelled, KeyboardInterrupt):  # the signal landed while printing: its handler published already
            print("Cancelled.", file=sys.stderr)
            return EXIT_CANCELLED
    return result.exit_code


def _print_result(args: argparse.Namespace, debug: bool, result: Result) -> None:
    from streampixel_deploy.report.text import render_builds, render_result
    from streampixel_deploy.report.workflow import plain

    if args.json:
        _print_json(result.to_json())
    elif result.builds is not None:
        print(plain(scrub(render_builds(result))))
    else:
        print(plain(scrub(render_result(result))))
    if result.exit_code and not args.json:
        print(scrub(result.message), file=sys.stderr)
        if debug and result.traceback:
            print(result.traceback, file=sys.stderr)


def _other(args: argparse.Namespace, cancel: threading.Event) -> int:
    """demo and projects, under the same signal handling: the demo's embedded emulator and temp folder go on a
    cancel."""
    from streampixel_deploy.report.text import render_projects

    if args.cmd == "demo":
        from streampixel_deploy.demo import make_sample_build, run_demo

        if args.make_build:
            return make_sample_build(Path(args.make_build))
        return run_demo(json_output=args.json, cancel=cancel)
    return _account_command(args, _raw_settings(args), render_projects, cancel)


def _account_command(args: argparse.Namespace, raw: dict[str, str | None], render: Any, cancel: threading.Event) -> int:
    from streampixel_deploy.core.http import Clock
    from streampixel_deploy.report.workflow import plain
    from streampixel_deploy.run.execute import make_client

    settings = build_settings(raw, "status", need_project=False)
    client = make_client(settings, os.environ, Clock(settings.timeout_seconds, cancel))
    projects = client.list_projects()
    if args.json:
        _print_json({"projects": [vars(p) for p in projects]})
    else:
        print(plain(scrub(render(projects))))
    return 0


def _print_json(data: dict[str, Any]) -> None:
    print(scrub(json.dumps(data, indent=2, sort_keys=False)))


def _emulator(args: argparse.Namespace) -> int:
    from streampixel_deploy.core.foreground import serve_until_signal
    from streampixel_deploy.emulator import Emulator, load_config

    try:
        config = load_config(args.config, profile=args.profile)
    except (OSError, ValueError) as exc:
        given = f"--config {args.config!r}" if args.config else f"--profile {args.profile!r}"
        print(f"InputError: {given} could not be loaded: {exc}", file=sys.stderr)
        return EXIT_INPUT
    emu = Emulator(config, host=args.host, port=args.port, control=args.control).start()
    print(f"Streampixel emulator listening on {emu.url}", flush=True)
    print(f"  api-url: {emu.api_url}", flush=True)
    print(f"  profile: {config.profile}", flush=True)
    if emu.control_enabled:  # /_emulator/* wants it: curl -H "Authorization: Bearer $token" .../_emulator/state
        print(f"  control-token: {emu.control_token}", flush=True)
    for user in config.users:
        for project in user.projects:
            print(
                f"  user-id {user.user_id}  api-key {user.api_key}  project-id {project.id} ({project.name})",
                flush=True,
            )
    try:
        serve_until_signal()  # SIGTERM too: a runner's cancel, `kill`, a container stop
    finally:
        emu.stop()
    return 0
