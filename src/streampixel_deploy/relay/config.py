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

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.redact import SECRETS
from streampixel_deploy.core.settings import DEFAULT_API_URL, check_service_url
from streampixel_deploy.relay.events import KNOWN_EVENTS, valid_id

ENV_PREFIX = "STREAMPIXEL_RELAY_"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
MIN_TOKEN_LENGTH = 16
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
# GitHub: owner 1-39 alphanumerics or hyphens; repository names of letters, digits, '.', '_' and '-'.
_REPO_RE = re.compile(r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})$")


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    kind: str = "str"  # str | int | float | bool | list | secret | path | choice
    default: str | None = None
    #: other variables read when ours is unset (the deploy tool's own STREAMPIXEL_* names)
    fallback_env: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0
    show_default: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")

    def label(self) -> str:
        if self.kind == "secret":
            return f"{self.env} (or --{self.name}-file)"
        return f"{self.flag} ({self.env})"


OPTIONS: tuple[Option, ...] = (
    Option("host", "Address to listen on; use 0.0.0.0 in a container.", default="127.0.0.1"),
    Option("port", "TCP port to listen on (0 picks a free port).", "int", "8080", low=0, high=65535),
    Option(
        "token", "the webhook token, the secret last segment of /webhook/<token> (16+ URL-safe characters)", "secret"
    ),
    Option("github-repository", "Repository that receives the dispatches, as owner/repo."),
    Option("github-token", "the GitHub token (contents: write on the repository)", "secret"),
    Option(
        "github-api-url",
        "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
        default=DEFAULT_GITHUB_API_URL,
    ),
    Option(
        "spool-dir",
        "Directory of the durable spool (events acknowledged but not yet accepted by GitHub).",
        "path",
        "relay-spool",
    ),
    Option(
        "events",
        "Comma-separated Streampixel events to forward (default: all known events).",
        "list",
        ",".join(KNOWN_EVENTS),
        show_default=False,
    ),
    Option("project-ids", "Comma-separated Streampixel project IDs to accept (default: any).", "list", ""),
    Option("verify", "Cross-check every event against GET /projects/{id} before forwarding it.", "bool", "false"),
    Option(
        "api-url",
        "Streampixel API base URL (for verify and the project name; falls back to STREAMPIXEL_API_URL).",
        default=DEFAULT_API_URL,
        fallback_env=("STREAMPIXEL_API_URL",),
    ),
    Option(
        "api-key",
        "the Streampixel API key (for verify and the project name)",
        "secret",
        fallback_env=("STREAMPIXEL_API_KEY",),
    ),
    Option(
        "user-id",
        "Streampixel user ID that owns the API key (falls back to STREAMPIXEL_USER_ID).",
        fallback_env=("STREAMPIXEL_USER_ID",),
    ),
    Option("queue-size", "In-memory queue capacity (the spool holds the overflow).", "int", "1000", low=1, high=1e6),
    Option(
        "max-pending",
        "Most events kept in the spool; beyond it webhooks are answered 503.",
        "int",
        "10000",
        low=1,
        high=1e7,
    ),
    Option(
        "retry-initial-seconds",
        "First delay before retrying GitHub (doubles, with jitter).",
        "float",
        "1",
        low=0.01,
        high=600,
    ),
    Option("retry-max-seconds", "Longest delay between two attempts.", "float", "300", low=0.01, high=3600),
    Option(
        "rate-limit-floor-seconds",
        "Least wait after a GitHub rate limit without Retry-After.",
        "float",
        "60",
        low=0,
        high=3600,
    ),
    Option("github-timeout-seconds", "Read timeout of one GitHub request.", "float", "30", low=0.1, high=300),
    Option(
        "verify-recheck-seconds",
        "Wait before re-reading a project once when an event does not match it.",
        "float",
        "2",
        low=0,
        high=120,
    ),
    Option("log-level", "Least level logged.", "choice", "info", choices=("debug", "info", "warning", "error")),
)
OPTION_BY_NAME = {o.name: o for o in OPTIONS}
SECRET_OPTIONS = tuple(o.name for o in OPTIONS if o.kind == "secret")


@dataclass(frozen=True)
class RelayConfig:
    token: str
    github_repository: str
    github_token: str
    host: str = "127.0.0.1"
    port: int = 8080
    github_api_url: str = DEFAULT_GITHUB_API_URL
    spool_dir: Path = Path("relay-spool")
    events: tuple[str, ...] = KNOWN_EVENTS
    project_ids: tuple[str, ...] = ()
    verify: bool = False
    api_url: str = DEFAULT_API_URL
    api_key: str | None = field(default=None, repr=False)
    user_id: str | None = None
    queue_size: int = 1000
    max_pending: int = 10000
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    rate_limit_floor_seconds: float = 60.0
    github_timeout_seconds: float = 30.0
    verify_recheck_seconds: float = 2.0
    log_level: str = "info"

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
    known = {o.key for o in OPTIONS} | {o.key + "_file" for o in OPTIONS if o.kind == "secret"}
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
                raw[option.key + ("_file" if name == option.env + "_FILE" else "")] = value
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
        raw = merged.get(option.key)
        if option.kind == "secret":
            values[option.key] = _secret(option, raw, merged.get(option.key + "_file"))
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            raw = option.default
        values[option.key] = _parse(option, raw)

    missing = [OPTION_BY_NAME[n] for n in ("token", "github-repository", "github-token") if not values[_k(n)]]
    if missing:
        raise InputError(
            "The relay needs " + ", ".join(o.label() for o in missing) + ". See docs/relay.md.",
            missing[0].name,
        )
    token = values["token"]
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_RE.match(token):
        raise InputError(
            f"{OPTION_BY_NAME['token'].label()} must be at least {MIN_TOKEN_LENGTH} URL-safe characters "
            "(letters, digits, '-', '_', '.', '~'). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            "token",
        )
    if any(c.isspace() for c in values["github_token"]):
        raise InputError(f"{OPTION_BY_NAME['github-token'].label()} must not contain whitespace.", "github-token")
    if not _REPO_RE.match(values["github_repository"]):
        raise InputError(
            f"{OPTION_BY_NAME['github-repository'].label()} must be owner/repo, e.g. octo-org/game; "
            f"got {values['github_repository']!r}.",
            "github-repository",
        )
    values["github_api_url"] = _url(OPTION_BY_NAME["github-api-url"], values["github_api_url"])
    values["api_url"] = _url(OPTION_BY_NAME["api-url"], values["api_url"])
    unknown = [e for e in values["events"] if e not in KNOWN_EVENTS]
    if unknown or not values["events"]:
        raise InputError(
            f"{OPTION_BY_NAME['events'].label()} lists unknown events {', '.join(unknown) or '(none given)'}; "
            f"known events: {', '.join(KNOWN_EVENTS)}.",
            "events",
        )
    bad_ids = [p for p in values["project_ids"] if not valid_id(p)]
    if bad_ids:
        raise InputError(
            f"{OPTION_BY_NAME['project-ids'].label()} holds malformed project IDs: {', '.join(bad_ids)}.",
            "project-ids",
        )
    if values["verify"] and not (values["api_key"] and values["user_id"]):
        raise InputError(
            "verify needs Streampixel credentials: set "
            f"{OPTION_BY_NAME['api-key'].label()} and {OPTION_BY_NAME['user-id'].label()}.",
            "verify",
        )
    if values["retry_max_seconds"] < values["retry_initial_seconds"]:
        raise InputError(
            f"{OPTION_BY_NAME['retry-max-seconds'].label()} must not be below "
            f"{OPTION_BY_NAME['retry-initial-seconds'].label()}.",
            "retry-max-seconds",
        )
    values["events"] = tuple(values["events"])
    values["project_ids"] = tuple(values["project_ids"])
    values["spool_dir"] = Path(values["spool_dir"]).expanduser()
    return RelayConfig(**values)


def _k(name: str) -> str:
    return OPTION_BY_NAME[name].key


def _secret(option: Option, inline: Any, file_name: Any) -> str | None:
    if file_name is not None and str(file_name).strip():
        path = Path(str(file_name).strip()).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(
                f"--{option.name}-file {str(path)!r} could not be read ({exc.strerror}).", option.name
            ) from None
        if not value:
            raise InputError(f"--{option.name}-file {str(path)!r} is empty.", option.name)
        SECRETS.add(value)
        return value
    if inline is None:
        return None
    if not isinstance(inline, str):
        raise InputError(f"{option.label()} must be a string.", option.name)
    value = inline.strip()
    SECRETS.add(value)
    return value or None


def _parse(option: Option, raw: Any) -> Any:
    if option.kind == "list":
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(i).strip() for i in items if str(i).strip()]
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise InputError(f"{option.label()} must be true or false; got {raw!r}.", option.name)
    if option.kind in ("int", "float"):
        try:
            number = float(raw) if option.kind == "float" else int(str(raw).strip())
        except (TypeError, ValueError):
            raise InputError(f"{option.label()} must be a number; got {raw!r}.", option.name) from None
        if not math.isfinite(number) or not option.low <= number <= option.high:
            raise InputError(
                f"{option.label()} must be between {option.low:g} and {option.high:g}; got {raw!r}.", option.name
            )
        return number
    if option.kind == "choice":
        text = str(raw).strip().lower()
        if text not in option.choices:
            raise InputError(f"{option.label()} must be one of {', '.join(option.choices)}; got {raw!r}.", option.name)
        return text
    return None if raw is None else str(raw).strip()


def _url(option: Option, value: str) -> str:
    return check_service_url(value, option.label(), option.name, "a token")
