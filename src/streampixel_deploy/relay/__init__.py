"""The webhook relay: Streampixel webhooks in, GitHub ``repository_dispatch`` events out.

Streampixel sends each webhook once, unsigned, with a 10-second timeout; a GitHub workflow cannot receive a
webhook. The relay answers Streampixel fast, keeps each accepted event in a durable spool, and forwards it to
``POST /repos/{owner}/{repo}/dispatches`` as ``event_type = "streampixel." + event`` with retries, so a
workflow can run ``on: repository_dispatch: types: [streampixel.build.approved]``. See docs/relay.md.

::

    config = build_config({"token": ..., "github_repository": "octo/game", "github_token": ...}, os.environ)
    with Relay(config) as relay:
        print(relay.webhook_url)
"""

from __future__ import annotations

from streampixel_deploy.relay.config import OPTIONS, RelayConfig, build_config, load_yaml
from streampixel_deploy.relay.events import EVENT_TYPE_PREFIX, KNOWN_EVENTS, Envelope, EnvelopeError, parse_envelope
from streampixel_deploy.relay.main import relay_main
from streampixel_deploy.relay.server import MAX_BODY_BYTES, Relay

__all__ = [
    "EVENT_TYPE_PREFIX",
    "KNOWN_EVENTS",
    "MAX_BODY_BYTES",
    "OPTIONS",
    "Envelope",
    "EnvelopeError",
    "Relay",
    "RelayConfig",
    "build_config",
    "load_yaml",
    "parse_envelope",
    "relay_main",
]
