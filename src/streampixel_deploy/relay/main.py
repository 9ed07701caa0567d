"""``streampixel-deploy relay``: parse flags, build the config, run until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from streampixel_deploy.core.errors import EXIT_FAILED, EXIT_INPUT, EXIT_OK, InputError
from streampixel_deploy.core.foreground import serve_until_signal
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.relay.config import OPTIONS, build_config, load_yaml
from streampixel_deploy.relay.events import EVENT_TYPE_PREFIX
from streampixel_deploy.relay.log import JsonLog
from streampixel_deploy.relay.server import Relay

DESCRIPTION = (
    "Receive Streampixel webhooks at POST /webhook/<token> and forward each one to GitHub as a "
    f"repository_dispatch event ({EVENT_TYPE_PREFIX}<event>, e.g. {EVENT_TYPE_PREFIX}build.approved)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streampixel-deploy relay",
        description=DESCRIPTION,
        epilog="Precedence: flag, then STREAMPIXEL_RELAY_* variable, then --config file, then default. "
        "Exit codes: 0 stopped cleanly, 1 failed, 2 invalid configuration. See docs/relay.md.",
    )
    parser.add_argument("--config", help="YAML file of settings (snake_case keys) [env STREAMPIXEL_RELAY_CONFIG]")
    for option in OPTIONS:
        if option.kind == "secret":
            fallback = "".join(f", falls back to {name}" for name in option.fallback_env)
            parser.add_argument(
                option.file_flag,
                dest=f"{option.attr}_file",
                metavar="FILE",
                help=f"Read {option.help} from FILE [env {option.env} (the value) or {option.env}_FILE{fallback}]",
            )
            continue
        if option.kind == "bool":
            parser.add_argument(
                option.flag,
                dest=option.attr,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{option.help} [env {option.env}]",
            )
            continue
        shown = option.show_default and option.default not in (None, "")
        default = f" (default {option.default})" if shown else ""
        parser.add_argument(option.flag, dest=option.attr, help=f"{option.help}{default} [env {option.env}]")
    return parser


def relay_main(argv: Sequence[str]) -> int:
    """Run the relay in the foreground; returns the exit code."""
    args = build_parser().parse_args(list(argv))
    flags = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    try:
        config_path = args.config or os.environ.get("STREAMPIXEL_RELAY_CONFIG") or None
        file_values = load_yaml(config_path) if config_path else {}
        config = build_config(flags, os.environ, file_values)
        relay = Relay(config, log=JsonLog(level=config.log_level))
        relay.start()
    except InputError as exc:
        print(scrub(f"InputError: {exc.message}"), file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:  # the port is taken, the address is not ours...
        print(scrub(f"Error: could not listen on {args.host or 'the configured address'}: {exc}"), file=sys.stderr)
        return EXIT_FAILED

    try:
        relay.log.info("relay.stopping", signal=serve_until_signal())
    finally:
        relay.stop()
    return EXIT_OK
