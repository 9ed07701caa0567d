"""The emulator's in-memory store: accounts, projects, builds, rate-limit slots and logs.

Every method is thread-safe (one re-entrant lock); readers get copies, never live records.
``reset()`` bumps a generation counter so that pipeline threads still running for the old
builds stop touching the store.

Rate limits (docs/streampixel-api.md §5): upload-file (both paths) and distribute-file each have their own
budget of one request per window (120 s by default) **per userId**, so two projects of one
account share it. The docs do not say whether rejected requests count (§11.12); the emulator
consumes the slot only when a request is accepted (2xx), after every validation has passed.
A request that is answered with 4xx therefore never burns the slot (``rate_limit_counts: every-request``
reads the docs the other way: see ``api``). The window is fixed: it starts
at the accepted request and ends ``rate_limit_window_seconds`` later.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from streampixel_deploy.emulator.config import (
    APPROVED,
    DOWNLOADING,
    EVENT_FOR_STATUS,
    PENDING,
    REJECT,
    EmulatorConfig,
    validate_settings,
)
from streampixel_deploy.emulator.net import shown_url
from streampixel_deploy.emulator.webhooks import Notice, envelope, iso_now

_LOG_LIMIT = 10_000


def new_object_id(numeric: bool = False) -> str:
    """24 lowercase hex characters, shaped like a MongoDB ObjectId (time + random); ``numeric`` (``id_type:
    number``): decimal digits that fit a JSON number exactly (below 2**53), answered as a number."""
    if numeric:
        return str(int(time.time() * 1000) * 1000 + secrets.randbelow(1000))
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def id_value(value: str | None, id_type: str) -> str | int | None:
    """An ID as the answer spells it: a JSON number under ``id_type: number`` when it is all digits."""
    if id_type == "number" and value is not None and value.isdigit():
        return int(value)
    return value


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    api_key: str


@dataclass
class BuildRecord:
    id: str
    project_id: str
    url: str
    status: str
    date: str
    objection: str | None
    auto_release: bool
    #: every status the build entered, with when; starts with the one it was created in
    history: list[dict[str, str]] = field(default_factory=list)
    #: monotonic time from which Get Project lists it (``listing_lag_seconds``); 0: from the start
    listed_from: float = 0.0

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append({"status": self.status, "at": self.date})

    def api_view(self) -> dict[str, Any]:
        """The ``files[]`` entry of Get Project (docs/streampixel-api.md §6.4)."""
        return {
            "_id": self.id,
            "url": self.url,
            "status": self.status,
            "date": self.date,
            "objection": self.objection,
        }


@dataclass
class ProjectRecord:
    id: str
    owner: str
    name: str
    region: str
    status: str
    webhook_url: str | None
    webhook_events: list[str]
    enabled: bool
    readonly: bool
    custom_domain: str | None
    subscription_status: str
    live_users: int
    users_in_queue: int
    created_at: str
    updated_at: str
    live_upload_id: str | None
    builds: list[BuildRecord] = field(default_factory=list)


class Store:
    """Thread-safe state of one emulator; built from (and reset to) an ``EmulatorConfig``."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = copy.deepcopy(config)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._generation = 0
        self._started_at = iso_now()
        self.settings = copy.deepcopy(config)
        self._load()

    def _load(self) -> None:
        self.settings = copy.deepcopy(self._config)
        self._users: dict[str, UserRecord] = {}
        self._projects: dict[str, ProjectRecord] = {}
        self._builds: dict[str, BuildRecord] = {}
        for user in self._config.users:
            self._users[user.user_id] = UserRecord(user.user_id, user.api_key)
            for p in user.projects:
                created = p.created_at or self._started_at
                copied = {
                    f.name: copy.copy(getattr(p, f.name))
                    for f in dataclasses.fields(ProjectRecord)
                    if hasattr(p, f.name)
                }
                project = ProjectRecord(
                    **{**copied, "owner": user.user_id, "created_at": created, "updated_at": created}
                )
                for f in p.files:
                    date = f["date"] or created
                    build = BuildRecord(f["_id"], p.id, f["url"], f["status"], date, f["objection"], auto_release=True)
                    project.builds.append(build)
                    self._builds[build.id] = build
                self._projects[p.id] = project
        self._slots: dict[tuple[str, str], float] = {}
        self._requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=_LOG_LIMIT)
        self._webhooks: collections.deque[dict[str, Any]] = collections.deque(maxlen=_LOG_LIMIT)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._generation

    def reset(self) -> None:
        """Back to the loaded config: builds, rate limits, settings and logs are cleared."""
        with self._lock:
            self._generation += 1
            self._load()
            self._changed.notify_all()

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Patch runtime settings (validated; raises ``EmulatorConfigError``); returns them all."""
        with self._lock:
            values = validate_settings(patch, base=self.settings)
            self.settings = dataclasses.replace(self.settings, **values)
            return self.settings.runtime_settings()

    # -- reads -----------------------------------------------------------------------------------

    def user(self, user_id: str) -> UserRecord | None:
        with self._lock:
            return self._users.get(user_id)

    def project(self, project_id: str) -> ProjectRecord | None:
        with self._lock:
            project = self._projects.get(project_id)
            return copy.deepcopy(project) if project else None

    def projects_of(self, user_id: str) -> list[ProjectRecord]:
        with self._lock:
            return [copy.deepcopy(p) for p in self._projects.values() if p.owner == user_id]

    def build(self, upload_id: str) -> BuildRecord | None:
        with self._lock:
            build = self._builds.get(upload_id)
            return copy.deepcopy(build) if build else None

    # -- writes ----------------------------------------------------------------------------------

    def create_build(self, project_id: str, url: str, auto_release: bool) -> tuple[str, Notice]:
        """Append a ``pending`` build to the project; returns its id and the uploaded webhook."""
        with self._lock:
            project = self._projects[project_id]
            numeric = self.settings.id_type == "number"
            upload_id = new_object_id(numeric)
            while upload_id in self._builds:
                upload_id = new_object_id(numeric)
            now = iso_now()
            build = BuildRecord(upload_id, project_id, url, PENDING, now, None, auto_release=auto_release)
            build.listed_from = time.monotonic() + self.settings.listing_lag_seconds
            project.builds.append(build)
            project.updated_at = now
            self._builds[upload_id] = build
            self._changed.notify_all()
            return upload_id, self._notice(project, build)

    def transition(
        self,
        upload_id: str,
        status: str,
        *,
        generation: int,
        objection: str | None = None,
        make_live: bool = False,
    ) -> Notice | None:
        """Move a build to ``status``; None (and no change) when the store was reset meanwhile."""
        with self._lock:
            build = self._builds.get(upload_id)
            if generation != self._generation or build is None:
                return None
            project = self._projects[build.project_id]
            now = iso_now()
            build.status = status
            build.objection = objection if status == REJECT else None
            build.history.append({"status": status, "at": now})
            project.updated_at = now
            if make_live and status == APPROVED:
                project.live_upload_id = upload_id
            self._changed.notify_all()
            return self._notice(project, build)

    def try_acquire(self, user_id: str, bucket: str) -> float | None:
        """Take the user's slot for ``bucket``; returns the seconds left when it is taken."""
        now = time.monotonic()
        with self._lock:
            until = self._slots.get((user_id, bucket))
            if until is not None and until > now:
                return until - now
            self._slots[(user_id, bucket)] = now + self.settings.rate_limit_window_seconds
            return None

    def _notice(self, project: ProjectRecord, build: BuildRecord) -> Notice:
        # before the build's file is in hand (docs/streampixel-api.md §9.2)
        early = build.status in (PENDING, DOWNLOADING)
        before_upload = build.status == PENDING and self.settings.webhook_upload_id == "null-early"
        payload = envelope(
            EVENT_FOR_STATUS[build.status],
            project.id,
            None if before_upload else id_value(build.id, self.settings.id_type),
            None if early and self.settings.webhook_file_url == "null-early" else build.url,
            build.status,
            build.objection,
        )
        return Notice(project.webhook_url, tuple(project.webhook_events), payload, build.id)

    # -- logs ------------------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._requests))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def log_webhook(self, entry: dict[str, Any]) -> None:
        """Keep a delivery for the state views, its URL shown without a token (``net.shown_url``)."""
        with self._lock:
            self._webhooks.append({**entry, "url": shown_url(entry.get("url"))})
            self._changed.notify_all()

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._webhooks))

    # -- inspection ------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Everything, as plain JSON data (``GET /_emulator/state``)."""
        now = time.monotonic()
        with self._lock:
            limits: dict[str, dict[str, float]] = {uid: {} for uid in self._users}
            for (uid, bucket), until in self._slots.items():
                if until > now:
                    limits.setdefault(uid, {})[bucket] = round(until - now, 3)
            return {
                "settings": self.settings.runtime_settings(),
                "users": [
                    {
                        "user_id": u.user_id,
                        "api_key": "***",  # never shown: the dump goes over HTTP and into logs
                        "projects": [p.id for p in self._projects.values() if p.owner == u.user_id],
                    }
                    for u in self._users.values()
                ],
                "projects": [self._dump_project(p) for p in self._projects.values()],
                "rate_limits": limits,
                "webhook_deliveries": copy.deepcopy(list(self._webhooks)),
            }

    @staticmethod
    def _dump_project(p: ProjectRecord) -> dict[str, Any]:
        return {
            "id": p.id,
            "user_id": p.owner,
            "name": p.name,
            "region": p.region,
            "status": p.status,
            "enabled": p.enabled,
            "readonly": p.readonly,
            "webhook_url": shown_url(p.webhook_url),
            "webhook_events": list(p.webhook_events),
            "live_upload_id": p.live_upload_id,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "files": [
                {**b.api_view(), "auto_release": b.auto_release, "history": copy.deepcopy(b.history)} for b in p.builds
            ],
        }

    def wait_for_status(self, upload_id: str, status: str, timeout: float) -> dict[str, Any]:
        """Block until the build has ``status``; returns its ``files[]`` entry.

        Raises ``RuntimeError`` at once when the build is rejected while another status is
        awaited, and ``TimeoutError`` when ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                build = self._builds.get(upload_id)
                if build is not None and build.status == status:
                    return build.api_view()
                if build is not None and build.status == REJECT:
                    raise RuntimeError(f"build {upload_id} was rejected: {build.objection}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    current = build.status if build else "unknown build"
                    raise TimeoutError(
                        f"build {upload_id} did not reach {status!r} within {timeout} s (current: {current!r})"
                    )
                self._changed.wait(remaining)
