"""Fault rules: make the emulator misbehave on purpose, so clients can be tested against it.

A rule is plain JSON data::

    {"method": "GET" | "POST" | "*", "path": "<regex>", "times": 1, "action": "...", ...}

``path`` is searched (``re.search``) in the request path after ``/pixelStripeApi``; ``times`` is how
many requests the rule affects (-1 = forever). Rules are tried in the order they were added; the
first live match wins. Request actions:

``status``         answer ``status`` (int) with ``body`` (str, default a JSON ``message``),
                   ``content_type`` (default application/json) and optional ``headers``; the request
                   is not handled (nothing is created).
``invalid_json``   answer 200 with a truncated JSON body; with ``"handle": true`` the request is
                   handled first and its real body is truncated.
``reset``          close the connection without answering; the request is not handled.
``delay``          wait ``seconds`` (float), then handle the request normally; with ``"after": true``
                   handle it first (a build IS created), then hold the answer for ``seconds``.
``lost_response``  handle the request normally (a build IS created), then answer ``status``
                   (default 500) or, with ``"reset_after": true``, close without answering.
``trickle``        handle the request normally, send the headers at once, then the body one byte
                   every ``seconds`` (float): an answer that never quite stalls a read timeout.

Response actions, applied to ``GET /projects/{id}`` bodies (``method``/``path`` default to any):

``hide_file``        omit the build ``upload_id`` from ``files[]``; each response that omits it
                     uses up one of ``times``.
``status_sequence``  report the build ``upload_id`` with the next of ``statuses`` (and optional
                     ``objection``) instead of its real status, one per response, until the list is
                     used up (``times`` is ignored). Simulates regressions and unknown strings.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, get_args

RequestAction = Literal["status", "invalid_json", "reset", "delay", "lost_response", "trickle"]
ResponseAction = Literal["hide_file", "status_sequence"]
Action = Literal[RequestAction, ResponseAction]
REQUEST_ACTIONS: tuple[RequestAction, ...] = get_args(RequestAction)
RESPONSE_ACTIONS: tuple[ResponseAction, ...] = get_args(ResponseAction)
ACTIONS: tuple[Action, ...] = REQUEST_ACTIONS + RESPONSE_ACTIONS

_COMMON_KEYS = {"method", "path", "times", "action"}
_ACTION_KEYS: dict[Action, set[str]] = {
    "status": {"status", "body", "content_type", "headers"},
    "invalid_json": {"handle"},
    "reset": set(),
    "delay": {"seconds", "after"},
    "trickle": {"seconds"},
    "lost_response": {"status", "body", "content_type", "headers", "reset_after"},
    "hide_file": {"upload_id"},
    "status_sequence": {"upload_id", "statuses", "objection"},
}


class FaultError(ValueError):
    """A fault rule is malformed."""


@dataclass
class FaultRule:
    id: int
    action: Action
    method: str
    path: str
    times: int
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.path)

    @property
    def live(self) -> bool:
        if self.action == "status_sequence":
            return bool(self.params["statuses"])
        return self.times != 0

    def matches(self, method: str, path: str) -> bool:
        return self.live and self.method in ("*", method.upper()) and self.pattern.search(path) is not None

    def use(self) -> None:
        self.hits += 1
        if self.times > 0:
            self.times -= 1

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON data: its fields (a copy) with ``params`` spread among them."""
        data = dataclasses.asdict(self)
        data.update(data.pop("params"))
        return data


def _is_action(value: object) -> TypeGuard[Action]:
    return value in ACTIONS


def parse_rule(spec: object, rule_id: int) -> FaultRule:
    """Validate one rule given as JSON data."""
    if not isinstance(spec, dict):
        raise FaultError("a fault rule must be a JSON object")
    action = spec.get("action")
    if not _is_action(action):
        raise FaultError(f"action must be one of {list(ACTIONS)}")
    unknown = sorted(set(spec) - _COMMON_KEYS - _ACTION_KEYS[action])
    if unknown:
        raise FaultError(f"unknown key(s) for action {action!r}: {unknown}")
    method = spec.get("method", "*")
    if not isinstance(method, str) or not method:
        raise FaultError("method must be an HTTP method or '*'")
    path = spec.get("path", "")
    if not isinstance(path, str):
        raise FaultError("path must be a regular expression string")
    try:
        re.compile(path)
    except re.error as exc:
        raise FaultError(f"path is not a valid regular expression: {exc}") from exc
    times = spec.get("times", 1)
    if not _is_int(times) or times < -1 or times == 0:
        raise FaultError("times must be a positive integer or -1 (forever)")
    params = {k: v for k, v in spec.items() if k not in _COMMON_KEYS}
    _check_params(action, params)
    return FaultRule(rule_id, action, method.upper(), path, times, params)


def _check_params(action: Action, params: dict[str, Any]) -> None:
    if action in ("status", "lost_response"):
        default = 500 if action == "lost_response" else None
        status = params.setdefault("status", default)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise FaultError(f"{action} needs 'status': an HTTP status code")
        if not isinstance(params.get("body", ""), str):
            raise FaultError("body must be a string")
        if not isinstance(params.get("content_type", ""), str):
            raise FaultError("content_type must be a string")
        headers = params.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise FaultError("headers must map strings to strings")
    if action == "lost_response" and not isinstance(params.get("reset_after", False), bool):
        raise FaultError("reset_after must be true or false")
    if action == "invalid_json" and not isinstance(params.get("handle", False), bool):
        raise FaultError("handle must be true or false")
    if action in ("delay", "trickle"):
        seconds = params.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise FaultError(f"{action} needs 'seconds': a number >= 0")
        if not isinstance(params.get("after", False), bool):
            raise FaultError("after must be true or false")
    if action in RESPONSE_ACTIONS and not isinstance(params.get("upload_id"), str):
        raise FaultError(f"{action} needs 'upload_id'")
    if action == "status_sequence":
        statuses = params.get("statuses")
        if not isinstance(statuses, list) or not statuses:
            raise FaultError("status_sequence needs 'statuses': a non-empty list of strings")
        if not all(isinstance(s, str) for s in statuses):
            raise FaultError("statuses must be strings")
        params["statuses"] = list(statuses)
        objection = params.get("objection")
        if objection is not None and not isinstance(objection, str):
            raise FaultError("objection must be a string or null")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultSet:
    """The active rules of one emulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: object) -> list[dict[str, Any]]:
        """Add one rule or a list of rules (all validated before any is added)."""
        specs = spec if isinstance(spec, list) else [spec]
        with self._lock:
            rules = [parse_rule(s, next(self._ids)) for s in specs]
            self._rules.extend(rules)
            return [r.to_dict() for r in rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def take(self, method: str, path: str) -> dict[str, Any] | None:
        """The first live request rule matching this request, used up by one; as a dict."""
        with self._lock:
            for rule in self._rules:
                if rule.action in REQUEST_ACTIONS and rule.matches(method, path):
                    rule.use()
                    return rule.to_dict()
        return None

    def filter_files(self, method: str, path: str, files: list[dict[str, Any]]) -> None:
        """Apply ``hide_file`` / ``status_sequence`` rules to a Get Project ``files[]`` in place."""
        with self._lock:
            for rule in self._rules:
                if rule.action not in RESPONSE_ACTIONS or not rule.matches(method, path):
                    continue
                target = rule.params["upload_id"]
                index = next((i for i, f in enumerate(files) if str(f["_id"]) == target), None)
                if index is None:
                    continue
                if rule.action == "hide_file":
                    del files[index]
                    rule.use()
                else:
                    status = rule.params["statuses"].pop(0)
                    rule.hits += 1
                    entry = files[index]
                    entry["status"] = status
                    if status == "Reject":
                        entry["objection"] = rule.params.get("objection") or entry["objection"]
                    else:
                        entry["objection"] = None
