"""Relay settings: one table of options, read from flags, ``STREAMPIXEL_RELAY_*`` variables and a YAML file.

An option named ``github-repository`` is the flag ``--github-repository``, the variable
``STREAMPIXEL_RELAY_GITHUB_REPOSITORY`` and the YAML key ``github_repository`` (``github-repository`` is
accepted too). Precedence: flag, then variable, then YAML file, then default. Secrets (the webhook token,
the GitHub token, the Streampixel API key) have no plain flag, because a command line is visible to every
user of the machine: give them through a variable, a ``*-file`` option (Docker/Kubernetes secrets) or the
YAML file. Every error is an :class:`~streampixel_deploy.core.errors.InputError` (exit 2) naming the flag and
the variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.redact import SECRETS
from streampixel_deploy.relay.events import KNOWN_EVENTS, valid_id
from streampixel_deploy.settings.spec import Spec, by_name, is_unset, resolve_secret
from streampixel_deploy.settings.table import DEFAULT_API_URL

ENV_PREFIX = "STREAMPIXEL_RELAY_"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
MIN_TOKEN_LENGTH = 16
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
# GitHub: owner 1-39 alphanumerics or hyphens; repository names of letters, digits, '.', '_' and '-'.
_REPO_RE = re.compile(r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})$")


def option(name: str, help: str, kind: str = "str", default: str | None = None, **more: Any) -> Spec:
    """A relay setting: flag, ``STREAMPIXEL_RELAY_*`` variable and YAML key (no action input)."""
    return Spec(name, help, default, kind, env_prefix=ENV_PREFIX, action_input=False, **more)


def seconds(name: str, help: str, default: str, low: float, high: float) -> Spec:
    """A relay setting that is a duration in seconds, between ``low`` and ``high``."""
    return option(name, help, "float", default, low=low, high=high)


OPTIONS: tuple[Spec, ...] = (
    option("host", "Address to listen on; use 0.0.0.0 in a container.", default="127.0.0.1"),
    option("port", "TCP port to listen on (0 picks a free port).", "int", "8080", low=0, high=65535),
    option(
        "token", "the webhook token, the secret last segment of /webhook/<token> (16+ URL-safe characters)", "secret"
    ),
    option("github-repository", "Repository that receives the dispatches, as owner/repo."),
    option("github-token", "the GitHub token (contents: write on the repository)", "secret"),
    option(
        "github-api-url",
        "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
        "url",
        DEFAULT_GITHUB_API_URL,
    ),
    option(
        "spool-dir",
        "Directory of the durable spool (events acknowledged but not yet accepted by GitHub).",
        "path",
        "relay-spool",
    ),
    option(
        "events",
        "Comma-separated Streampixel events to forward (default: all known events).",
        "list",
        ",".join(KNOWN_EVENTS),
        show_default=False,
    ),
    option("project-ids", "Comma-separated Streampixel project IDs to accept (default: any).", "list", ""),
    option("verify", "Cross-check every event against GET /projects/{id} before forwarding it.", "bool", "false"),
    option(
        "api-url",
        "Streampixel API base URL (for verify and the project name; falls back to STREAMPIXEL_API_URL).",
        "url",
        DEFAULT_API_URL,
        fallback_env=("STREAMPIXEL_API_URL",),
    ),
    option(
        "api-key",
        "the Streampixel API key (for verify and the project name)",
        "secret",
        fallback_env=("STREAMPIXEL_API_KEY",),
    ),
    option(
        "user-id",
        "Streampixel user ID that owns the API key (falls back to STREAMPIXEL_USER_ID).",
        fallback_env=("STREAMPIXEL_USER_ID",),
    ),
    option("queue-size", "In-memory queue capacity (the spool holds the overflow).", "int", "1000", low=1, high=1e6),
    option(
        "max-pending",
        "Most events kept in the spool; beyond it webhooks are answered 503.",
        "int",
        "10000",
        low=1,
        high=1e7,
    ),
    seconds("retry-initial-seconds", "First delay before retrying GitHub (doubles, with jitter).", "1", 0.01, 600),
    seconds("retry-max-seconds", "Longest delay between two attempts.", "300", 0.01, 3600),
    seconds("rate-limit-floor-seconds", "Least wait after a GitHub rate limit without Retry-After.", "60", 0, 3600),
    seconds("github-timeout-seconds", "Read timeout of one GitHub request.", "30", 0.1, 300),
    seconds(
        "verify-recheck-seconds", "Wait before re-reading a project once when an event does not match it.", "2", 0, 120
    ),
    option("log-level", "Least level logged.", "choice", "info", choices=("debug", "info", "warning", "error")),
)
OPTION_BY_NAME = by_name(OPTIONS)
SECRET_OPTIONS = tuple(o.name for o in OPTIONS if o.kind == "secret")
_REQUIRED = ("token", "github-repository", "github-token")


def _default(name: str) -> Any:
    """The default OPTIONS gives ``name``, parsed: RelayConfig's defaults, for code that builds one directly."""
    value = OPTION_BY_NAME[name].parse(None)
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class RelayConfig:
    """The relay's validated settings, one field per option of OPTIONS; :func:`build_config` makes one."""

    token: str
    github_repository: str
    github_token: str
    host: str = _default("host")
    port: int = _default("port")
    github_api_url: str = _default("github-api-url")
    spool_dir: Path = _default("spool-dir")
    events: tuple[str, ...] = _default("events")
    project_ids: tuple[str, ...] = _default("project-ids")
    verify: bool = _default("verify")
    api_url: str = _default("api-url")
    api_key: str | None = field(default=None, repr=False)
    user_id: str | None = None
    queue_size: int = _default("queue-size")
    max_pending: int = _default("max-pending")
    retry_initial_seconds: float = _default("retry-initial-seconds")
    retry_max_seconds: float = _default("retry-max-seconds")
    rate_limit_floor_seconds: float = _default("rate-limit-floor-seconds")
    github_timeout_seconds: float = _default("github-timeout-seconds")
    verify_recheck_seconds: float = _default("verify-recheck-seconds")
    log_level: str = _default("log-level")

    def __post_init__(self) -> None:
        for secret in (self.token, self.github_token, self.api_key):
            SECRETS.add(secret)

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        return (
            f"RelayConfig(host={self.host!r}, port={self.port}, github_repository={self.github_repository!r}, "
            f"github_api_url={self.github_api_url!r}, spool_dir={str(self.spool_dir)!r}, verify={self.verify})"
        )

    @property
    def owner(self) -> str:
        return self.github_repository.split("/", 1)[0]

    @property
    def repo(self) -> str:
        return self.github_repository.split("/", 1)[1]

    @property
    def has_streampixel_credentials(self) -> bool:
        return bool(self.api_key and self.user_id)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; keys may be snake_case or kebab-case."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--config {str(path)!r} could not be read ({exc.strerror}).", "config") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"--config {str(path)!r} is not valid YAML: {exc}", "config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"--config {str(path)!r} must hold a mapping of settings (key: value).", "config")
    out: dict[str, Any] = {}
    known = {o.attr for o in OPTIONS} | {o.attr + "_file" for o in OPTIONS if o.kind == "secret"}
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        if norm not in known:
            raise InputError(
                f"--config {str(path)!r}: unknown setting {key!r}. Known settings: {', '.join(sorted(known))}.",
                "config",
            )
        out[norm] = value
    return out


def collect_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Raw values from ``STREAMPIXEL_RELAY_*`` (and the documented fallbacks); empty counts as unset."""
    raw: dict[str, str] = {}
    for option in OPTIONS:
        names = (option.env, *option.fallback_env)
        if option.kind == "secret":
            names = (option.env, option.env + "_FILE", *option.fallback_env)
        for name in names:
            value = environ.get(name, "")
            if value.strip():
                raw[option.attr + ("_file" if name == option.env + "_FILE" else "")] = value
                break
    return raw


def build_config(
    flags: Mapping[str, Any], environ: Mapping[str, str], file_values: Mapping[str, Any] | None = None
) -> RelayConfig:
    """Merge flags > environment > YAML > defaults and validate; raises InputError (exit 2)."""
    merged: dict[str, Any] = {}
    for source in (file_values or {}, collect_env(environ), {k: v for k, v in flags.items() if v is not None}):
        for key, value in source.items():
            if key.endswith("_file") and key[: -len("_file")] in merged:
                merged.pop(key[: -len("_file")])  # a later *_file wins over an earlier inline secret
            elif key + "_file" in merged:
                merged.pop(key + "_file")
            merged[key] = value

    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = merged.get(option.attr)
        if option.kind == "secret":
            values[option.attr] = resolve_secret(option, raw, merged.get(option.attr + "_file"))
        else:
            values[option.attr] = option.parse(raw)

    missing = [o for o in OPTIONS if o.name in _REQUIRED and is_unset(values[o.attr])]
    if missing:
        raise InputError(
            "The relay needs " + ", ".join(o.label() for o in missing) + ". See docs/relay.md.",
            missing[0].name,
        )
    token = values["token"]
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_RE.match(token):
        raise InputError(
            f"{_label('token')} must be at least {MIN_TOKEN_LENGTH} URL-safe characters "
            "(letters, digits, '-', '_', '.', '~'). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            "token",
        )
    if any(c.isspace() for c in values["github_token"]):
        raise InputError(f"{_label('github-token')} must not contain whitespace.", "github-token")
    if not _REPO_RE.match(values["github_repository"]):
        raise InputError(
            f"{_label('github-repository')} must be owner/repo, e.g. octo-org/game; "
            f"got {values['github_repository']!r}.",
            "github-repository",
        )
    unknown = [e for e in values["events"] if e not in KNOWN_EVENTS]
    if unknown or not values["events"]:
        raise InputError(
            f"{_label('events')} lists unknown events {', '.join(unknown) or '(none given)'}; "
            f"known events: {', '.join(KNOWN_EVENTS)}.",
            "events",
        )
    bad_ids = [p for p in values["project_ids"] if not valid_id(p)]
    if bad_ids:
        raise InputError(
            f"{_label('project-ids')} holds malformed project IDs: {', '.join(bad_ids)}.",
            "project-ids",
        )
    if values["verify"] and not (values["api_key"] and values["user_id"]):
        raise InputError(
            f"verify needs Streampixel credentials: set {_label('api-key')} and {_label('user-id')}.",
            "verify",
        )
    if values["retry_max_seconds"] < values["retry_initial_seconds"]:
        raise InputError(
            f"{_label('retry-max-seconds')} must not be below {_label('retry-initial-seconds')}.",
            "retry-max-seconds",
        )
    values["events"] = tuple(values["events"])
    values["project_ids"] = tuple(values["project_ids"])
    return RelayConfig(**values)


def _label(name: str) -> str:
    return OPTION_BY_NAME[name].label()
