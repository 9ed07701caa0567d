"""Configuration of the Streampixel emulator: users, projects, seed builds and runtime settings.

A YAML file uses snake_case keys that mirror the dataclass fields below. Anything left out takes
the built-in default: ``stage_delays`` is merged stage by stage over the defaults, and a missing
``users`` key means the default users (a given ``users`` list replaces them entirely).
``load_config(None)`` returns the defaults shipped in ``defaults.yaml`` next to this module.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from streampixel_deploy.emulator.profiles import CHOICES, PROFILES

DEFAULT_USER_ID = "663d0a1b2c3e4f5a6b7c8d9e"
DEFAULT_API_KEY = "sp-emulator-0000000000000000"
DEFAULT_PROJECT_ID = "67944b8a3f323be4b89a2272"

#: Raw pipeline statuses exactly as the API spells them (docs/streampixel-api.md §8.1).
PENDING = "pending"
DOWNLOADING = "Downloading Files"
EXTRACTING = "Extracting & Scanning"
SAVING = "Saving to Repository"
DISTRIBUTE = "Distribute"
APPROVED = "Approved"
REJECT = "Reject"
STATUSES = (PENDING, DOWNLOADING, EXTRACTING, SAVING, DISTRIBUTE, APPROVED, REJECT)
#: The statuses that have a configurable delay.
STAGES = (PENDING, DOWNLOADING, EXTRACTING, SAVING, DISTRIBUTE)
#: Webhook event fired on entering each status (docs/streampixel-api.md §9.1).
EVENT_FOR_STATUS = {
    PENDING: "build.uploaded",
    DOWNLOADING: "build.downloading",
    EXTRACTING: "build.extracting",
    SAVING: "build.saving",
    DISTRIBUTE: "build.distributing",
    APPROVED: "build.approved",
    REJECT: "build.rejected",
}
BUILD_EVENTS = tuple(EVENT_FOR_STATUS.values())
DISTRIBUTE_RESPONSES = ("g3", "g2")
FILES_ORDERS = ("oldest-first", "newest-first")

#: Settings that may be changed while the emulator runs (``Emulator.configure`` / ``/_emulator/config``).
RUNTIME_SETTINGS = (
    "stage_delays",
    "rate_limit_window_seconds",
    "send_retry_after",
    "strict_file_url",
    "require_exe",
    "webhook_timeout_seconds",
    "download_timeout_seconds",
    "upload_status_code",
    "distribute_response",
    "files_order",
    "distribute_lag_seconds",
    "webhook_duplicates",
    "listing_lag_seconds",
    "max_page_size",
    *CHOICES,
)

#: Seconds settings that may be 0.
_ZERO_OK = ("rate_limit_window_seconds", "distribute_lag_seconds", "listing_lag_seconds")
_DEFAULTS_RESOURCE = "defaults.yaml"
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


class EmulatorConfigError(ValueError):
    """The emulator configuration (file, dict or runtime patch) is invalid."""


@dataclass
class ProjectConfig:
    id: str
    name: str
    region: str = "us-east-1"
    status: str = "active"
    webhook_url: str | None = None
    webhook_events: list[str] = field(default_factory=lambda: list(BUILD_EVENTS))
    enabled: bool = True
    readonly: bool = False
    #: Seed builds: dicts with ``_id``, ``url``, ``status``, ``date``, ``objection``.
    files: list[dict[str, Any]] = field(default_factory=list)
    live_upload_id: str | None = None
    custom_domain: str | None = None
    subscription_status: str = "active"
    live_users: int = 0
    users_in_queue: int = 0
    created_at: str | None = None


@dataclass
class UserConfig:
    user_id: str
    api_key: str
    projects: list[ProjectConfig] = field(default_factory=list)


@dataclass
class EmulatorConfig:
    users: list[UserConfig] = field(default_factory=list)
    stage_delays: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.4))
    rate_limit_window_seconds: float = 120.0
    send_retry_after: bool = False
    strict_file_url: bool = False
    require_exe: bool = True
    webhook_timeout_seconds: float = 10.0
    download_timeout_seconds: float = 30.0
    upload_status_code: int = 201
    distribute_response: str = "g3"
    files_order: str = "oldest-first"
    # Readings of the docs where they disagree (see profiles.py and docs/emulator.md).
    approval_order: str = "distribute-then-approved"
    status_labels: str = "raw"
    distribute_lag_seconds: float = 0.0
    rate_limit_counts: str = "accepted"
    reject_at: str = "where-found"
    webhook_order: str = "in-order"
    webhook_duplicates: bool = False
    webhook_file_url: str = "always"
    endpoints: str = "all"
    forbidden_message: str = "per-page"
    get_project_auth: str = "apikey"
    # Shapes of an answer (issue 25; profiles.py and docs/emulator.md).
    response_envelope: str = "bare"
    id_type: str = "string"
    number_format: str = "number"
    date_format: str = "iso"
    webhook_upload_id: str = "always"
    error_bodies: str = "http-status"
    rate_limit_header: str = "retry-after"
    #: a build created by upload-file is left out of Get Project ``files[]`` for this long
    #: (docs/streampixel-api.md §11.22)
    listing_lag_seconds: float = 0.0
    #: the largest ``limit`` that ``GET /projects`` honours
    max_page_size: int = 100
    #: The profile the settings started from (explicit settings win over it).
    profile: str = "default"

    @classmethod
    def default(cls, profile: str | None = None) -> EmulatorConfig:
        """The built-in defaults (``defaults.yaml``), under ``profile`` when given."""
        return load_config(None, profile=profile)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorConfig:
        """Build a validated config from snake_case keys; missing keys take their defaults."""
        _check_keys("emulator config", data, [f.name for f in dataclasses.fields(cls)])
        if "users" in data:
            users = [_user(u, i) for i, u in enumerate(_list(data, "users", "emulator config"))]
            _check_unique(users)
        else:
            users = load_config(None).users
        profile = data.get("profile", "default")
        if profile not in PROFILES:
            raise EmulatorConfigError(f"profile must be one of {list(PROFILES)}")
        given = {k: v for k, v in data.items() if k not in ("users", "profile")}
        settings = validate_settings({**PROFILES[profile], **given})
        return cls(users=users, profile=profile, **settings)

    def to_dict(self) -> dict[str, Any]:
        """Plain snake_case data, the same shape ``from_dict`` and the YAML file accept."""
        return dataclasses.asdict(self)

    def runtime_settings(self) -> dict[str, Any]:
        """The settings that ``Emulator.configure`` may change, as plain data."""
        return copy.deepcopy({name: getattr(self, name) for name in RUNTIME_SETTINGS})


def load_config(path: str | Path | None, profile: str | None = None) -> EmulatorConfig:
    """Load a YAML config file, or the built-in defaults when ``path`` is None.

    ``profile`` (the ``--profile`` flag) replaces the file's ``profile:``; settings the file gives still win.
    """
    if path is None:
        text = resources.files(__package__).joinpath(_DEFAULTS_RESOURCE).read_text("utf-8")
        where = _DEFAULTS_RESOURCE
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise EmulatorConfigError(f"cannot read emulator config {path}: {exc}") from exc
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EmulatorConfigError(f"{where} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EmulatorConfigError(f"{where} must hold a mapping at the top level")
    if profile is not None:
        data["profile"] = profile
    if path is None:  # the shipped defaults spell out every setting: under a profile, the profile's win
        data = {k: v for k, v in data.items() if k not in PROFILES.get(data.get("profile", "default"), {})}
    try:
        return EmulatorConfig.from_dict(data)
    except EmulatorConfigError as exc:
        raise EmulatorConfigError(f"{where}: {exc}") from exc


def validate_settings(patch: dict[str, Any], base: EmulatorConfig | None = None) -> dict[str, Any]:
    """Validate runtime settings; ``stage_delays`` is merged over ``base`` (or the defaults)."""
    _check_keys("settings", patch, RUNTIME_SETTINGS)
    base = base or EmulatorConfig()
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if key == "stage_delays":
            out[key] = _stage_delays(value, base.stage_delays)
        elif key in ("send_retry_after", "strict_file_url", "require_exe", "webhook_duplicates"):
            out[key] = _bool(value, key)
        elif key == "upload_status_code":
            if not _is_int(value) or not 200 <= value <= 299:
                raise EmulatorConfigError("upload_status_code must be an integer from 200 to 299")
            out[key] = value
        elif key == "max_page_size":
            if not _is_int(value) or value < 1:
                raise EmulatorConfigError("max_page_size must be a positive integer")
            out[key] = value
        elif key == "distribute_response":
            out[key] = _choice(value, key, DISTRIBUTE_RESPONSES)
        elif key == "files_order":
            out[key] = _choice(value, key, FILES_ORDERS)
        elif key in CHOICES:
            out[key] = _choice(value, key, CHOICES[key])
        else:
            out[key] = _seconds(value, key, positive=key not in _ZERO_OK)
    return out


def _user(data: Any, index: int) -> UserConfig:
    where = f"users[{index}]"
    if not isinstance(data, dict):
        raise EmulatorConfigError(f"{where} must be a mapping")
    _check_keys(where, data, ("user_id", "api_key", "projects"))
    projects = [_project(p, f"{where}.projects[{i}]") for i, p in enumerate(_list(data, "projects", where))]
    return UserConfig(
        user_id=_str(data.get("user_id"), f"{where}.user_id"),
        api_key=_str(data.get("api_key"), f"{where}.api_key"),
        projects=projects,
    )


def _project(data: Any, where: str) -> ProjectConfig:
    if not isinstance(data, dict):
        raise EmulatorConfigError(f"{where} must be a mapping")
    _check_keys(where, data, [f.name for f in dataclasses.fields(ProjectConfig)])
    base = ProjectConfig(id="", name="")
    events = data.get("webhook_events", base.webhook_events)
    if not isinstance(events, list) or any(e not in BUILD_EVENTS for e in events):
        raise EmulatorConfigError(f"{where}.webhook_events must be a list of {list(BUILD_EVENTS)}")
    files = [_seed_file(f, f"{where}.files[{i}]") for i, f in enumerate(_list(data, "files", where))]
    live = _opt_str(data.get("live_upload_id"), f"{where}.live_upload_id")
    if live is not None and live not in {f["_id"] for f in files}:
        raise EmulatorConfigError(f"{where}.live_upload_id must be the _id of one of its files")
    created = _opt_str(data.get("created_at"), f"{where}.created_at")
    if created is not None and not _ISO_RE.match(created):
        raise EmulatorConfigError(f"{where}.created_at must be ISO 8601 UTC, e.g. 2026-02-01T10:15:00.000Z")
    counts = {}
    for key in ("live_users", "users_in_queue"):
        value = data.get(key, 0)
        if not _is_int(value) or value < 0:
            raise EmulatorConfigError(f"{where}.{key} must be a non-negative integer")
        counts[key] = value
    return ProjectConfig(
        id=_str(data.get("id"), f"{where}.id"),
        name=_str(data.get("name"), f"{where}.name"),
        region=_str(data.get("region", base.region), f"{where}.region"),
        status=_str(data.get("status", base.status), f"{where}.status"),
        webhook_url=_opt_str(data.get("webhook_url"), f"{where}.webhook_url"),
        webhook_events=list(events),
        enabled=_bool(data.get("enabled", True), f"{where}.enabled"),
        readonly=_bool(data.get("readonly", False), f"{where}.readonly"),
        files=files,
        live_upload_id=live,
        custom_domain=_opt_str(data.get("custom_domain"), f"{where}.custom_domain"),
        subscription_status=_str(
            data.get("subscription_status", base.subscription_status),
            f"{where}.subscription_status",
        ),
        created_at=created,
        **counts,
    )


def _seed_file(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise EmulatorConfigError(f"{where} must be a mapping")
    _check_keys(where, data, ("_id", "url", "status", "date", "objection"))
    status = data.get("status", APPROVED)
    if status not in STATUSES:
        raise EmulatorConfigError(f"{where}.status must be one of {list(STATUSES)}")
    date = _opt_str(data.get("date"), f"{where}.date")
    if date is not None and not _ISO_RE.match(date):
        raise EmulatorConfigError(f"{where}.date must be ISO 8601 UTC, e.g. 2026-04-30T19:00:00.000Z")
    return {
        "_id": _str(data.get("_id"), f"{where}._id"),
        "url": _str(data.get("url"), f"{where}.url"),
        "status": status,
        "date": date,
        "objection": _opt_str(data.get("objection"), f"{where}.objection"),
    }


def _check_unique(users: list[UserConfig]) -> None:
    seen: dict[str, set[str]] = {"user_id": set(), "api_key": set(), "project id": set(), "file _id": set()}
    values = [("user_id", u.user_id) for u in users] + [("api_key", u.api_key) for u in users]
    values += [("project id", p.id) for u in users for p in u.projects]
    values += [("file _id", f["_id"]) for u in users for p in u.projects for f in p.files]
    for kind, value in values:
        if value in seen[kind]:
            raise EmulatorConfigError(f"duplicate {kind} {value!r}")
        seen[kind].add(value)


def _stage_delays(value: Any, base: dict[str, float]) -> dict[str, float]:
    if not isinstance(value, dict):
        raise EmulatorConfigError(f"stage_delays must be a mapping of {list(STAGES)} to seconds")
    _check_keys("stage_delays", value, STAGES)
    merged = {stage: float(base.get(stage, 0.4)) for stage in STAGES}
    for stage, seconds in value.items():
        merged[stage] = _seconds(seconds, f"stage_delays[{stage!r}]", positive=False)
    return merged


def _seconds(value: Any, where: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EmulatorConfigError(f"{where} must be a number of seconds")
    if value < 0 or (positive and value == 0):
        raise EmulatorConfigError(f"{where} must be {'> 0' if positive else '>= 0'}")
    return float(value)


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise EmulatorConfigError(f"{where} must be one of {list(choices)}")
    return str(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise EmulatorConfigError(f"{where} must be true or false")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EmulatorConfigError(f"{where} must be a non-empty string")
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise EmulatorConfigError(f"{where}.{key} must be a list")
    return value


def _check_keys(where: str, data: dict[str, Any], allowed: Any) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise EmulatorConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
