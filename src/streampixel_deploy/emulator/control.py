"""The inspection and control surface for tests, under ``/_emulator/`` (not part of the real API).

==========================  =============================================================
``GET /_emulator/health``   ``{"status": "ok"}``
``GET /_emulator/state``    ``Store.dump()`` plus ``"faults"``: settings, users, projects
                            (with ``files[]``, ``live_upload_id``, per-build ``history``),
                            ``rate_limits`` ``{userId: {"upload-file": seconds_left}}``,
                            ``webhook_deliveries``
``POST /_emulator/reset``   back to the loaded config -> ``{"message": "Emulator reset"}``
``GET|POST /_emulator/config``  runtime settings (POST body: the keys to change) -> the settings
``GET|DELETE /_emulator/requests``  the API request log, a JSON array
``GET|POST|DELETE /_emulator/faults``  fault rules (POST: one rule or an array) -> JSON array
``GET /_emulator/webhooks``  webhook deliveries made so far, a JSON array
``GET /_emulator/inbox``    ``{"dir": ..., "url": "/inbox/"}``: the folder the emulator created (0700)
``POST /_emulator/files``   ``{"path": "<inbox>/file.zip"}`` -> 201 ``{"url": ...}``; only inside the inbox
==========================  =============================================================

Every route but ``health`` and ``inbox`` needs the process's token (``Authorization: Bearer <token>``,
``Emulator.control_token``; the ``emulator`` command prints it): 401 without it. Invalid input answers 400
``{"message": ...}``; a path outside the inbox 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from streampixel_deploy.emulator.api import ApiResponse
from streampixel_deploy.emulator.config import EmulatorConfigError
from streampixel_deploy.emulator.faults import FaultError
from streampixel_deploy.emulator.state import Store


class Controller(Protocol):
    """What the control surface needs from the emulator (``Emulator`` implements it)."""

    @property
    def state(self) -> Store: ...

    def reset(self) -> None: ...

    def configure(self, **settings: Any) -> dict[str, Any]: ...

    def add_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def clear_faults(self) -> None: ...

    def faults(self) -> list[dict[str, Any]]: ...

    def requests(self) -> list[dict[str, Any]]: ...

    def clear_requests(self) -> None: ...

    def webhook_deliveries(self) -> list[dict[str, Any]]: ...

    @property
    def inbox(self) -> Path: ...

    def serve_inbox_file(self, path: str | Path) -> str: ...


Action = Callable[[Controller, Any], ApiResponse]


def _ok(body: Any, status: int = 200) -> ApiResponse:
    return ApiResponse(status, body)


def _state(c: Controller, _: Any) -> ApiResponse:
    return _ok({**c.state.dump(), "faults": c.faults()})


def _reset(c: Controller, _: Any) -> ApiResponse:
    c.reset()
    return _ok({"message": "Emulator reset"})


def _patch_config(c: Controller, body: Any) -> ApiResponse:
    if not isinstance(body, dict):
        return _ok({"message": "send a JSON object of settings to change"}, 400)
    return _ok(c.configure(**body))


def _clear_requests(c: Controller, _: Any) -> ApiResponse:
    c.clear_requests()
    return _ok({"message": "Request log cleared"})


def _add_faults(c: Controller, body: Any) -> ApiResponse:
    return _ok(c.add_faults(body if isinstance(body, list) else [body]), 201)


def _clear_faults(c: Controller, _: Any) -> ApiResponse:
    c.clear_faults()
    return _ok({"message": "Faults cleared"})


def _serve_file(c: Controller, body: Any) -> ApiResponse:
    if not isinstance(body, dict) or not isinstance(body.get("path"), str):
        return _ok({"message": 'send {"path": "/absolute/path/to/file.zip"}'}, 400)
    try:
        return _ok({"url": c.serve_inbox_file(body["path"])}, 201)
    except PermissionError as exc:
        return _ok({"message": str(exc)}, 403)
    except FileNotFoundError as exc:
        return _ok({"message": str(exc)}, 400)


_ROUTES: dict[str, dict[str, Action]] = {
    "/_emulator/health": {"GET": lambda c, _: _ok({"status": "ok"})},
    "/_emulator/state": {"GET": _state},
    "/_emulator/reset": {"POST": _reset},
    "/_emulator/config": {
        "GET": lambda c, _: _ok(c.state.settings.runtime_settings()),
        "POST": _patch_config,
    },
    "/_emulator/requests": {"GET": lambda c, _: _ok(c.requests()), "DELETE": _clear_requests},
    "/_emulator/faults": {
        "GET": lambda c, _: _ok(c.faults()),
        "POST": _add_faults,
        "DELETE": _clear_faults,
    },
    "/_emulator/webhooks": {"GET": lambda c, _: _ok(c.webhook_deliveries())},
    "/_emulator/files": {"POST": _serve_file},
    "/_emulator/inbox": {"GET": lambda c, _: _ok({"dir": str(c.inbox), "url": "/inbox/"})},
}
#: Routes open without the token: liveness, and where a local tool may drop a file to be served.
PUBLIC = frozenset({"/_emulator/health", "/_emulator/inbox"})


def handle(controller: Controller, method: str, path: str, body: bytes) -> ApiResponse:
    methods = _ROUTES.get(path.rstrip("/"))
    if methods is None:
        return ApiResponse(404, {"message": "Not found"})
    action = methods.get(method)
    if action is None:
        return ApiResponse(405, {"message": "Method not allowed"}, {"Allow": ", ".join(methods)})
    data: Any = None
    if body.strip():
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return ApiResponse(400, {"message": "the request body is not valid JSON"})
    try:
        return action(controller, data)
    except (EmulatorConfigError, FaultError) as exc:
        return ApiResponse(400, {"message": str(exc)})
